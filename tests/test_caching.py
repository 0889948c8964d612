"""ui.caching: results computed once, also when sessions ask for them at the same time
(Streamlit's ``st.cache_data`` holds a lock per key while it computes a missed value; the
pages rely on it when a room opens one link)."""

import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

from ui import caching


def test_concurrent_calls_with_the_same_arguments_compute_once():
    calls, guard = [], threading.Lock()

    def slow(x):
        with guard:
            calls.append(x)
        time.sleep(0.3)               # long enough for every caller to arrive meanwhile
        return {"twice": 2 * x}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "no runtime found": Streamlit's bare mode
        f = caching.shared(max_entries=8)(slow)
        with ThreadPoolExecutor(6) as pool:
            out = list(pool.map(f, [1, 1, 1, 1, 2, 2]))
    assert [o["twice"] for o in out] == [2, 2, 2, 2, 4, 4]
    assert sorted(calls) == [1, 2]        # one computation per distinct argument


def test_unhashable_arguments_still_compute_and_cache():
    calls = []

    def total(values):
        calls.append(1)
        return sum(values)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = caching.shared(max_entries=8)(total)
        assert f([1, 2, 3]) == 6 and f([1, 2, 3]) == 6
    assert len(calls) == 1                # Streamlit's own hashing keys the list
