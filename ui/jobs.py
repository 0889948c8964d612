"""Work a page hands to threads: a bounded store shared by sessions, and a pool runner that
gives its workers the session's script context (cached functions need it)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

from ui import internals

__all__ = ["LRUStore", "run_in_threads"]


class LRUStore:
    """A thread-safe mapping of at most ``size`` entries, least recently used out first.
    ``put`` keeps the stored value when ``better(old, new)`` says the new one is not better
    (default: always replace). Nothing handed out is modified by the store."""

    def __init__(self, size: int, better: Callable | None = None):
        self.size, self.lock, self.items = size, threading.Lock(), OrderedDict()
        self.better = better or (lambda old, new: True)

    def get(self, key):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
            return self.items.get(key)

    def put(self, key, value) -> None:
        with self.lock:
            old = self.items.get(key)
            if old is None or self.better(old, value):
                self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def __len__(self) -> int:
        return len(self.items)


def run_in_threads(fn: Callable, jobs: Iterable, *, workers: int,
                   tick: Callable[[float], None] | None = None, name: str = "job",
                   results: dict | None = None) -> dict:
    """``{job: fn(job)}`` for every job, ``workers`` at a time in threads that carry the
    session's context; ``tick(fraction)`` as jobs finish, on the calling thread (so it may
    draw), with the finished ones already in ``results`` when a dict is passed to fill. A
    rerun does not wait for jobs still queued when this returns early (they are cancelled)."""
    jobs = list(jobs)
    ctx = internals.current_session()

    def work(job):
        internals.attach_session(threading.current_thread(), ctx)
        return job, fn(job)

    results = {} if results is None else results
    pool = ThreadPoolExecutor(workers, thread_name_prefix=name)
    try:
        for f in as_completed([pool.submit(work, job) for job in jobs]):
            job, results[job] = f.result()
            if tick is not None:
                tick(len(results) / len(jobs))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return results
