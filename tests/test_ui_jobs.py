"""ui.jobs: the bounded store shared by sessions and the pool runner of the prune page."""

from __future__ import annotations

import threading

from ui import jobs


def test_store_keeps_at_most_size_entries_least_recently_used_out_first():
    store = jobs.LRUStore(2)
    store.put("a", 1)
    store.put("b", 2)
    assert store.get("a") == 1            # "a" is now the most recently used
    store.put("c", 3)
    assert len(store) == 2 and store.get("b") is None
    assert store.get("a") == 1 and store.get("c") == 3


def test_store_keeps_the_better_value():
    store = jobs.LRUStore(4, better=lambda old, new: len(new) > len(old))
    store.put("k", [1, 2, 3])
    store.put("k", [1])                   # shorter: not better, the longer run stays
    assert store.get("k") == [1, 2, 3]
    store.put("k", [1, 2, 3, 4])
    assert store.get("k") == [1, 2, 3, 4]


def test_store_is_safe_under_concurrent_puts():
    store = jobs.LRUStore(8)

    def fill(offset):
        for i in range(2000):
            store.put((offset + i) % 32, i)
            store.get((offset + i + 1) % 32)

    threads = [threading.Thread(target=fill, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store) == 8


def test_run_in_threads_returns_every_job_and_ticks_to_one():
    ticks = []
    out = jobs.run_in_threads(lambda j: j * j, range(7), workers=2, tick=ticks.append)
    assert out == {j: j * j for j in range(7)}
    assert len(ticks) == 7 and ticks[-1] == 1.0 and ticks == sorted(ticks)
