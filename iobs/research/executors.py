"""Where the phase maps' work units run: a process pool on this machine by default (any
:class:`concurrent.futures.Executor` works, e.g. a Dask client's ``get_executor()``).

A server started with ``IOBS_DASK_SCHEDULER=tcp://host:8786`` (or ``python -m iobs serve
--dask ADDRESS``) hands the Phase page's work to that Dask cluster instead
(:func:`executor_from_environment`), as ``python -m iobs phase --dask`` does."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
import types
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass

__all__ = ["DASK_ENV", "Workers", "default_executor", "executor_from_environment"]

DASK_ENV = "IOBS_DASK_SCHEDULER"


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


@dataclass(frozen=True)
class Workers:
    """An executor, where it runs (in words) and how to release it."""

    executor: Executor
    where: str
    close: Callable[[], None]


def executor_from_environment(workers: int | None = None, *, address: str | None = None,
                              timeout: float = 5.0):
    """:class:`Workers`: the Dask cluster at ``address`` (default
    ``$IOBS_DASK_SCHEDULER``) when there is one, else :func:`default_executor`; ``where`` says
    which in words, ``close()`` releases it. An unreachable scheduler raises ``ValueError``
    naming the address."""
    address = (os.environ.get(DASK_ENV, "") if address is None else address).strip()
    if not address:
        n = workers or os.cpu_count() or 1
        ex = default_executor(n)
        return Workers(ex, f"{n} process{'es' if n > 1 else ''} on this machine", ex.shutdown)
    from distributed import Client

    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise ValueError(f"{DASK_ENV} must name a reachable Dask scheduler; got "
                         f"{address!r} ({exc})") from None
    n = len(client.scheduler_info().get("workers", {}))
    return Workers(client.get_executor(), f"the Dask cluster at {address} ({n} workers)",
                   client.close)
