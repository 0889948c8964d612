"""Results shared by every session, and by every worker process of ``python -m iobs serve``.

``@shared(max_entries=...)`` is Streamlit's own ``st.cache_data`` with:

* a **memory bound**: at most ``max_entries`` results per function, and all of them together
  within Streamlit's ``server.maxCacheDataSize`` (pickled bytes; set in
  ``.streamlit/config.toml``, and by ``serve --cache-memory``), least recently used out first;
* **one computation for all workers** when ``IOBS_SHARED_CACHE`` is set (``serve`` sets it):
  results are also written to Streamlit's disk cache (``persist="disk"``, the folder
  ``~/.streamlit/cache``), which every worker on the machine reads before computing;
* **no stale result**: the function's cache key carries a hash of the installed ``iobs``
  sources and model checkpoints (:data:`CODE`), so a changed solver or a retrained model is
  recomputed instead of read back. (Streamlit keys a cached function by its own source only;
  renaming it per code version is the one hook it offers for the code it calls.)

A plain ``streamlit run app.py`` keeps results in memory only, except those of functions
marked ``disk=True`` (the Prune page's prunes), which Streamlit's disk cache keeps under any
server. The tests point ``HOME`` at a temporary folder, so they never read a user's cache.
"""

from __future__ import annotations

import functools
import hashlib
import os
from pathlib import Path

import streamlit as st

import iobs
from iobs.cli import serve

__all__ = ["CODE", "memory", "resource", "shared"]


def _code_hash() -> str:
    root = Path(iobs.__file__).resolve().parent
    h = hashlib.sha1()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in
                       (".py", ".pt", ".json", ".toml", ".npz")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


CODE = _code_hash()  # ~5 ms once per process


# (code object, decorator, options) -> the cached function made for it. Streamlit keys a
# cached function by its source, read with inspect.getsource every time a page defines it,
# i.e. on every rerun (2-3 ms a function, measured); the page's function objects are new
# each rerun but their code objects are not (a server compiles a script once), so the
# cached function made the first time is handed out again.
_MADE: dict = {}


def _once(decorator, func, **options):
    key = (func.__code__, decorator, tuple(sorted(options.items())))
    if key not in _MADE:
        _MADE[key] = decorator(func, **options)
    return _MADE[key]


def shared(*, max_entries: int, disk: bool = False):
    """Decorator: ``st.cache_data`` keeping at most ``max_entries`` results in memory,
    shared through the disk by the worker processes of ``serve``; ``disk=True`` keeps them
    on disk under any server (results worth keeping across restarts, such as a model's
    prunes: a restarted server reads them back instead of computing them again)."""
    persist = "disk" if disk or os.environ.get(serve.SHARED_CACHE_ENV) else None
    if persist:
        _trim_disk()

    def wrap(func):
        func.__qualname__ = f"{func.__qualname__}__iobs_{CODE}"
        return _once(st.cache_data, func, show_spinner=False, max_entries=max_entries,
                     persist=persist)

    return wrap


@functools.cache
def _trim_disk() -> tuple[int, int]:
    """Once per process, before the first result is kept on disk: the oldest-written
    results go until the disk cache fits ``IOBS_CACHE_DISK`` (default 2gb; ``serve
    --cache-disk``). Entries of older code versions are never read again, so they go first."""
    try:
        limit = serve.size_bytes(os.environ.get(serve.DISK_CACHE_ENV, serve.CACHE_DISK))
    except ValueError:                  # a malformed bound: the default one, not a crash
        limit = serve.size_bytes(serve.CACHE_DISK)
    return serve.disk_cache(limit=limit)


def memory(*, max_entries: int | None = None):
    """Decorator: ``st.cache_data`` in this process only (cheap or per-upload results)."""
    return lambda func: _once(st.cache_data, func, show_spinner=False,
                              max_entries=max_entries)


def resource(*, max_entries: int | None = None):
    """Decorator: ``st.cache_resource`` (models, pools, figures: shared, never copied)."""
    return lambda func: _once(st.cache_resource, func, show_spinner=False,
                              max_entries=max_entries)
