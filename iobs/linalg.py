"""Dense linear algebra the models share: an SPD inverse that can work in place, the inverse
Cholesky factor of a working-set block (float32 or float64) kept as a factor, the rescue of
a singular block, and the largest eigenvalue of a PSD operator (the step size 1/L). NumPy
or CuPy arrays."""

from __future__ import annotations

import functools

import numpy as np

from iobs import backend
from iobs.backend import xp_of

__all__ = ["RESCUE", "CholeskySolver", "FactoredInverse", "add_to_diagonal",
           "cholesky_inverse", "cholesky_inverse_rescued", "cholesky_solver",
           "cholesky_solver_rescued", "inverse_spd", "max_eig"]

RESCUE = 1e-3   # damping of a singular block, relative to its mean diagonal
_TRSM_MAX = 640  # float32 L^-1 by trsm below this many columns, by trtri from it (measured)


@functools.cache
def _scipy():
    """SciPy's ``(blas, lapack)`` wrappers, imported on first use (``import iobs`` stays
    light) and then kept: a ``from scipy.linalg import ...`` inside a per-step function
    cost 14 us a call, measured, several times a working-set step."""
    from scipy.linalg import blas, lapack

    return blas, lapack


def add_to_diagonal(A, v: float):
    """``A`` (m, m) with ``v`` added to its diagonal in place, through a strided view of a
    contiguous buffer (``A[diag_indices(m)]`` builds two index arrays, 18 us a call at
    m = 96, measured; it stays the way for a non-contiguous ``A``, whose flat reshape would
    be a copy); nothing to do when ``v`` is 0 (undamped blocks)."""
    if not v:
        return A
    flat = A if A.flags.c_contiguous else A.T if A.flags.f_contiguous else None
    if flat is None:
        A[xp_of(A).diag_indices(A.shape[0])] += v
    else:
        flat.reshape(-1)[::A.shape[0] + 1] += v
    return A


def inverse_spd(A, *, overwrite: bool = False):
    """Explicit inverse of an SPD matrix through its Cholesky factor (done once per run).

    With ``overwrite`` (large, once per run) SciPy's LAPACK potrf + potri work in place (no
    n x n temporaries beyond ``A``); otherwise NumPy alone, so that per-step inverses never
    mix two BLAS thread pools. A non-SPD ``A`` raises ``numpy.linalg.LinAlgError``.
    """
    xp = xp_of(A)
    if xp is np and not overwrite:               # small, per step: stay on NumPy's BLAS
        np.linalg.cholesky(A)                    # raises LinAlgError unless SPD
        return np.linalg.inv(A)
    if xp is np:
        lapack = _scipy()[1]
        a = A.T if A.flags.c_contiguous else A   # symmetric: the F-ordered view is A itself
        c, info = lapack.dpotrf(a, lower=1, overwrite_a=int(overwrite), clean=0)
        if info == 0:
            c, info = lapack.dpotri(c, lower=1, overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError("matrix is not positive definite")
        n, B = c.shape[0], 512
        for s in range(0, n, B):                 # potri fills the lower triangle only
            e = min(s + B, n)
            blk = np.tril(c[s:e, s:e])
            c[s:e, s:e] = blk + np.tril(blk, -1).T
            c[s:e, e:] = c[e:, s:e].T
        return c
    L = backend.cholesky(A)
    Linv = backend.solve_triangular(L, xp.eye(A.shape[0]), lower=True)
    return Linv.T @ Linv


def cholesky_inverse(A):
    r"""The inverse :math:`L^{-1}` of the lower Cholesky factor of an SPD ``A`` (m, m):
    :math:`A^{-1} = L^{-\top}L^{-1}`, so :math:`\mathrm{diag}(A^{-1})` is the column sums of
    :math:`(L^{-1})^2` and :math:`A^{-1}v = L^{-\top}(L^{-1}v)`. A third of the work of an
    explicit inverse (potrf + trtri: :math:`2m^3/3` flops against :math:`2m^3`; measured 6 ms
    against 25 ms at m = 600, one thread). NumPy has no triangular routines, so SciPy's LAPACK
    does it; run it inside :func:`iobs.backend.blas_threads`, which keeps SciPy's pool to one
    thread (two pools spinning in one loop ran 1.5x slower, measured). Float32 or float64,
    as ``A`` is; in float32 below :data:`_TRSM_MAX` columns :math:`L^{-1}` is a triangular
    solve against I (trsm), which OpenBLAS runs 2-3x faster than its strtri there (m = 96 to
    300, one thread, measured; slower from about 800). A non-SPD ``A`` raises
    ``numpy.linalg.LinAlgError``."""
    xp = xp_of(A)
    if xp is np:
        blas, lapack = _scipy()
        single = A.dtype == np.float32
        potrf = lapack.spotrf if single else lapack.dpotrf
        L, info = potrf(A, lower=1, clean=1)
        if info != 0:
            raise np.linalg.LinAlgError("matrix is not positive definite")
        if single and L.shape[0] < _TRSM_MAX:
            return blas.strsm(1.0, L, np.eye(L.shape[0], dtype=np.float32, order="F"),
                              lower=1, overwrite_b=1)
        L, info = (lapack.strtri if single else lapack.dtrtri)(L, lower=1)
        if info != 0:
            raise np.linalg.LinAlgError("matrix is not positive definite")
        return L
    L = backend.cholesky(A)
    return backend.solve_triangular(L, xp.eye(A.shape[0], dtype=A.dtype), lower=True)


def cholesky_solver(A):
    r"""A solver for an SPD ``A`` (k, k) kept as its lower Cholesky factor: ``solver @ v``
    is :math:`A^{-1}v` by two triangular solves (LAPACK potrs on NumPy), never an explicit
    inverse or :math:`L^{-1}` (trtri would cost more than the factorization itself when the
    system is solved once or twice). A non-SPD ``A`` raises ``numpy.linalg.LinAlgError``."""
    xp = xp_of(A)
    if xp is np:
        lapack = _scipy()[1]
        # clean=0: the upper triangle keeps A's values; potrs reads the lower one only
        L, info = lapack.dpotrf(A.T if A.flags.c_contiguous else A, lower=1, clean=0)
        if info != 0:
            raise np.linalg.LinAlgError("matrix is not positive definite")
        return CholeskySolver(L)
    return CholeskySolver(backend.cholesky(A))


def max_eig(matvec, d, xp):
    """Largest eigenvalue of a PSD operator: Lanczos (ARPACK) on NumPy, power iteration
    on CuPy; padded by 0.1% so that 1/L stays a safe step."""
    v0 = np.random.default_rng(12345).standard_normal(d)
    if d <= 256:                                  # small: the exact spectrum is cheap
        M = matvec(xp.eye(d))
        return 1.001 * max(float(xp.linalg.eigvalsh(0.5 * (M + M.T))[-1]), 0.0)
    if xp is np:
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = LinearOperator((d, d), matvec=matvec, dtype=np.float64)
        lam = float(eigsh(op, k=1, which="LA", v0=v0, tol=1e-5,
                          return_eigenvectors=False)[0])
        return 1.001 * lam
    v = xp.asarray(v0 / np.linalg.norm(v0))
    lam = 0.0
    for _ in range(200):
        w = matvec(v)
        new = float(xp.linalg.norm(w))
        if new == 0.0:
            return 0.0
        v, done, lam = w / new, abs(new - lam) <= 1e-9 * new, new
        if done:
            break
    return 1.001 * lam


class FactoredInverse:
    """:math:`A^{-1} = L^{-\top}L^{-1}` kept as its factor: ``inv @ v`` is two triangular
    products (never the explicit inverse: its trtri + multiply cost twice the factor's)."""

    def __init__(self, Li):
        self.Li = Li

    def __matmul__(self, v):
        return self.Li.T @ (self.Li @ v)


class CholeskySolver:
    r""":math:`A^{-1}` kept as the lower Cholesky factor ``L`` of :math:`A = LL^\top`:
    ``solver @ v`` solves :math:`LL^\top x = v` (potrs on NumPy, two triangular solves on
    CuPy)."""

    def __init__(self, L):
        self.L = L

    def __matmul__(self, v):
        if xp_of(self.L) is np:
            x, _info = _scipy()[1].dpotrs(self.L, v, lower=1)    # L is SPD's factor: info 0
            return x
        return backend.cho_solve(self.L, v)


def _rescued(H):
    """``H`` (in float64) plus ``RESCUE`` times its mean diagonal (a fresh array)."""
    xp = xp_of(H)
    H = H.astype(xp.float64)
    return add_to_diagonal(H, RESCUE * max(float(xp.diagonal(H).mean()),
                                           np.finfo(float).tiny))


def cholesky_inverse_rescued(H):
    r""":func:`cholesky_inverse` of ``H``, or, when ``H`` is not positive definite, of
    ``H`` (in float64) plus ``RESCUE`` times its mean diagonal: named safeguard "singular
    block" (collinear columns without damping). Damping changes how a step moves, not
    where it stops (fixed points have :math:`g_Q = 0`)."""
    try:
        return cholesky_inverse(H)
    except np.linalg.LinAlgError:
        pass
    return cholesky_inverse(_rescued(H))


def cholesky_solver_rescued(H):
    """:func:`cholesky_solver` of ``H`` with the same "singular block" rescue as
    :func:`cholesky_inverse_rescued`."""
    try:
        return cholesky_solver(H)
    except np.linalg.LinAlgError:
        pass
    return cholesky_solver(_rescued(H))
