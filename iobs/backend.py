r"""Array backend: NumPy on the CPU, CuPy on a GPU when one is usable.

This is the only module that imports CuPy. The choice is made by
``IOBS_BACKEND=numpy|cupy|auto`` (default ``auto``: CuPy when it imports *and*
``cupy.cuda.is_available()``), or per call with ``get_xp(name)``. Problems are always
generated on the host with NumPy, so the same seed gives the same numbers on both
backends; results cross back to NumPy with :func:`to_numpy`.

``cupyx.scipy.linalg`` has no ``cho_factor``: every Cholesky solve in the package goes
through :func:`cho_solve` (``cholesky`` + two triangular solves) on both backends.
"""

from __future__ import annotations

import contextlib
import functools
import os

import numpy as np

__all__ = [
    "blas_controller",
    "blas_threads",
    "cho_solve",
    "cholesky",
    "cupy_available",
    "get_xp",
    "info",
    "solve_triangular",
    "synchronize",
    "to_numpy",
    "xp_of",
]

_CHOICES = ("numpy", "cupy", "auto")
_INSTALL_HINT = ("install CuPy for your CUDA version (pip install -r requirements-gpu.txt, "
                 "e.g. cupy-cuda12x) on a machine with an NVIDIA GPU, or use backend='numpy'")


@functools.lru_cache(maxsize=1)
def _cupy():
    """Return the cupy module when it imports and a GPU is usable, else None."""
    try:
        import cupy
    except Exception:  # ImportError, or a broken CUDA install raising at import
        return None
    try:
        return cupy if cupy.cuda.is_available() else None
    except Exception:
        return None


def cupy_available() -> bool:
    """True when CuPy imports and at least one GPU is usable."""
    return _cupy() is not None


def get_xp(name: str | None = None):
    """Return the array module for backend ``name`` (``None`` reads ``IOBS_BACKEND``).

    Raises
    ------
    ValueError
        For an unknown name, or ``"cupy"`` when CuPy or a GPU is missing.
    """
    name = name or os.environ.get("IOBS_BACKEND") or "auto"
    if not isinstance(name, str) or name.strip().lower() not in _CHOICES:
        raise ValueError(f"backend must be one of {_CHOICES}; got {name!r}")
    name = name.strip().lower()
    if name == "numpy":
        return np
    cp = _cupy()
    if name == "cupy" and cp is None:
        raise ValueError(f"backend='cupy' needs CuPy and a usable GPU, and none was found: "
                         f"{_INSTALL_HINT}")
    return cp if cp is not None else np


def xp_of(a):
    """The array module that owns ``a`` (NumPy for anything that is not a CuPy array)."""
    cp = _cupy()
    if cp is not None and isinstance(a, cp.ndarray):
        return cp
    return np


def to_numpy(a):
    """Copy a CuPy array to the host; NumPy arrays and scalars pass through."""
    if hasattr(a, "get") and type(a).__module__.startswith("cupy"):
        return a.get()
    return np.asarray(a)


def synchronize(xp) -> None:
    """Wait for queued GPU work (for honest timings); a no-op on NumPy."""
    if xp is not np:
        xp.cuda.Stream.null.synchronize()


def info(name: str | None = None) -> str:
    """A short badge: ``"NumPy (CPU)"`` or ``"CuPy (<GPU name>)"``."""
    xp = get_xp(name)
    if xp is np:
        return "NumPy (CPU)"
    props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
    gpu = props["name"]
    return f"CuPy ({gpu.decode() if isinstance(gpu, bytes) else gpu})"


def solve_triangular(L, B, *, lower: bool = True, trans: bool = False):
    """Solve ``L x = B`` (or ``L^T x = B`` with ``trans``) for triangular ``L``."""
    if xp_of(L) is np:
        import scipy.linalg
        return scipy.linalg.solve_triangular(L, B, lower=lower, trans=1 if trans else 0,
                                             check_finite=False)
    import cupyx.scipy.linalg  # lazy: fails to import without cuBLAS
    return cupyx.scipy.linalg.solve_triangular(L, B, lower=lower, trans=1 if trans else 0)


def cholesky(A):
    """Lower Cholesky factor of a symmetric positive definite ``A``.

    Raises ``numpy.linalg.LinAlgError`` when ``A`` is not positive definite (on CuPy,
    where a failed factorization returns NaNs, that is checked and raised here too).
    """
    xp = xp_of(A)
    L = xp.linalg.cholesky(A)
    if xp is not np and not bool(xp.isfinite(L).all()):
        raise np.linalg.LinAlgError("matrix is not positive definite")
    return L


def cho_solve(L, B):
    """Solve ``A x = B`` given the lower Cholesky factor ``L`` of ``A``."""
    return solve_triangular(L, solve_triangular(L, B, lower=True), lower=True, trans=True)


_SMALL = 1 << 22  # n * d up to this (X <= 32 MB): one BLAS thread is faster (no spinning)


@functools.lru_cache(maxsize=1)
def blas_controller():
    """One snapshot of the loaded BLAS pools (NumPy's and SciPy's OpenBLAS are separate)."""
    import scipy.linalg  # noqa: F401  (load SciPy's pool so that the snapshot sees it)
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


@functools.lru_cache(maxsize=1)
def _other_pools():
    """The BLAS pools that are not NumPy's own (SciPy's bundled OpenBLAS in the wheels; none
    where both share one library, as in conda)."""
    own = os.path.dirname(np.__file__)
    ctl = blas_controller()
    paths = [lib.filepath for lib in ctl.lib_controllers
             if lib.user_api == "blas" and not lib.filepath.startswith(own)]
    return ctl.select(filepath=paths) if paths else None


def blas_threads(n: int, d: int):
    """Context manager for a loop over an n x d problem: one BLAS thread when it is small
    (thread start-up and spinning cost more than they bring, and two pools contending on a
    busy machine ran several times slower, measured); otherwise NumPy's pool as it is and
    every other pool (SciPy's, which runs the loop's small factorizations) on one thread, so
    that no two pools spin at once (1.5x slower at (2000, 10000), measured). Pools already
    at one thread are left alone (threadpoolctl's own ``limit`` costs 18 us a call,
    measured, as much as a small problem's whole validation)."""
    if n * d <= _SMALL:
        return _one_thread(_blas_libs())
    other = _other_pools()
    return _one_thread(other.lib_controllers) if other is not None else contextlib.nullcontext()


@functools.lru_cache(maxsize=1)
def _blas_libs():
    return blas_controller().select(user_api="blas").lib_controllers


@contextlib.contextmanager
def _one_thread(libs):
    """Set the pools ``libs`` (threadpoolctl controllers) to one thread; restore on exit."""
    changed = [(lib, t) for lib in libs if (t := lib.get_num_threads()) != 1]
    for lib, _ in changed:
        lib.set_num_threads(1)
    try:
        yield
    finally:
        for lib, t in changed:
            lib.set_num_threads(t)
