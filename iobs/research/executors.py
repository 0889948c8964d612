"""Where the phase maps' work units run: a process pool on this machine by default (any
:class:`concurrent.futures.Executor` works, e.g. a Dask client's ``get_executor()``)."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import types
from concurrent.futures import ProcessPoolExecutor

__all__ = ["default_executor"]


def _one_thread():
    """Worker initializer: one BLAS thread per worker (the pool supplies the parallelism),
    for NumPy's and SciPy's separate OpenBLAS builds alike, so both are loaded first."""
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)


@contextlib.contextmanager
def _plain_main():
    """Hide the host's ``__main__`` (a Streamlit page, a notebook, an unguarded script) while
    worker processes start, so that ``spawn``/``forkserver`` children do not re-run it."""
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


def default_executor(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool on this machine, its workers started now: ``forkserver`` where
    available (safe from a threaded server such as Streamlit), one BLAS thread each, and the
    host's ``__main__`` hidden from them (no ``if __name__ == "__main__"`` guard needed)."""
    n = workers or os.cpu_count() or 1
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_one_thread)
    with _plain_main():
        for f in [ex.submit(os.getpid) for _ in range(n)]:
            f.result()
    return ex
