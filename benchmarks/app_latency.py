"""Server time per rerun of each app page, through Streamlit's AppTest (no browser).

For every page: the first run (cold cache: imports + computation), a rerun at the
defaults (warm cache), and reruns after one slider change (a new computation each time;
median over ``--repeats`` different values), in wall time and in this process's CPU time
(wall time on a busy machine includes waiting for a core). Target: a slider change on the
Iterates page at its default d = 256 redraws in under 0.5 s of server time.

    python benchmarks/app_latency.py [--repeats 5]

AppTest runs each non-home page twice per call the first time Streamlit's v1 page mode is
switched off (see ``pages.common._shell``), so these times are slightly pessimistic.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

TARGET_S = 0.5
# page -> (slider key, values to step through after the default)
PAGES = {
    "home": (None, "home_cond", [10.0, 1e3, 1.0, 1e4, 100.0]),
    "iterates": ("pages/iterates.py", "it_k", [31, 30, 29, 28, 27, 26, 25]),
    "convergence": ("pages/convergence.py", "cv_eta", [0.55, 0.6, 0.65, 0.7, 0.75, 0.8]),
    "projection": ("pages/projection.py", "pj_z1", [0.85, 0.9, 0.95, 1.0, 1.05, 1.1]),
    # the research pages recompute on purpose (a new grid, new runs, a new prune): they
    # show progress instead, and their times are reported here, not hidden
    "phase": ("pages/phase.py", "ph_trials", [5, 4, 3]),
    "reproduce": ("pages/reproduce.py", "rp_runs", [19, 18, 17]),
    "prune": ("pages/prune.py", "pr_sparsity", [55, 60, 65, 70, 45]),
}


def _timed_run(at) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one script run."""
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at.run()
    if at.exception:
        raise RuntimeError(f"the page raised: {[e.message for e in at.exception]}")
    return time.perf_counter() - t0, time.process_time() - c0


def measure(page: str | None, key: str, values: list, repeats: int) -> dict:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    if page:
        at.switch_page(page)
    first = _timed_run(at)[0]
    warm = statistics.median(_timed_run(at)[0] for _ in range(3))
    changes = []
    for v in values[:repeats]:
        at.get_by_key(key).set_value(v)
        changes.append(_timed_run(at))
    wall, cpu = zip(*changes)
    return {"first": first, "warm": warm, "change": statistics.median(wall),
            "change_max": max(wall), "change_cpu": statistics.median(cpu)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    print(f"{'page':<12} {'first run':>10} {'rerun (cached)':>15} {'slider change':>14} "
          f"{'(max)':>8} {'(CPU)':>8}   slider")
    results = {}
    for name, (page, key, values) in PAGES.items():
        r = results[name] = measure(page, key, values, args.repeats)
        print(f"{name:<12} {r['first']:>9.2f}s {r['warm']:>14.3f}s {r['change']:>13.3f}s "
              f"{r['change_max']:>7.3f}s {r['change_cpu']:>7.3f}s   {key}")
    ok = results["iterates"]["change"] < TARGET_S
    slow = [n for n, r in results.items() if r["change"] >= TARGET_S]
    print(f"pages over {TARGET_S} s after a slider change: {', '.join(slow) or 'none'}")
    print(f"\nIterates, default d = 256, one slider change: median "
          f"{results['iterates']['change']:.3f} s of server time "
          f"({'meets' if ok else 'misses'} the {TARGET_S} s target; CPU "
          f"{results['iterates']['change_cpu']:.3f} s; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
