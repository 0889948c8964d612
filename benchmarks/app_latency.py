"""Server time per rerun of each app page, through Streamlit's AppTest (no browser).

For every page: the first run (cold cache: imports + computation), a rerun at the
defaults (warm cache), and reruns after one change of the page's main slider (median over
``--repeats`` different values), in wall time and in this process's CPU time (wall time on
a busy machine includes waiting for a core). Target: every page redraws in under 0.5 s of
server time after a change of its main slider at the defaults.

The research pages also get a second knob that forces new work on purpose (a fresh phase
grid, new runs of the paper's experiment, new I-OBS prunes), reported as "other knob" so
that what the caches save is not mistaken for what a computation costs.

    python benchmarks/app_latency.py [--repeats 5] [--pages phase prune ...]

AppTest runs each non-home page twice per call the first time Streamlit's v1 page mode is
switched off (see ``ui.state.ensure_frame``), so these times are slightly pessimistic.
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
# page -> (file, main slider key, values stepped through after the default,
#          other knob key or None, its values)
PAGES = {
    "home": (None, "home_cond", [10.0, 1e3, 1.0, 1e4, 100.0], None, []),
    "iterates": ("pages/iterates.py", "it_k", [31, 30, 29, 28, 27, 26, 25], None, []),
    "convergence": ("pages/convergence.py", "cv_eta", [0.55, 0.6, 0.65, 0.7, 0.75, 0.8],
                    None, []),
    "projection": ("pages/projection.py", "pj_z1", [0.85, 0.9, 0.95, 1.0, 1.05, 1.1],
                   None, []),
    # trials are seeded one by one: fewer reuse the computed ones, more compute only the new
    "phase": ("pages/phase.py", "ph_trials", [5, 7, 4, 8, 3], "ph_steps", [290, 310, 280]),
    # runs are seeded one by one; the seed starts every run afresh
    "reproduce": ("pages/reproduce.py", "rp_runs", [19, 18, 17, 16, 15], "seed", [1, 2, 3]),
    # the slider steps along the sweep the first visit prunes; rounds re-run every I-OBS prune
    "prune": ("pages/prune.py", "pr_sparsity", [60, 70, 80, 40, 30], "pr_rounds", [4, 6, 3]),
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


def _changes(at, key, values) -> tuple[float, float, float]:
    """(median wall, max wall, median CPU) seconds of the reruns after setting each value."""
    out = []
    for v in values:
        at.get_by_key(key).set_value(v)
        out.append(_timed_run(at))
    wall, cpu = zip(*out)
    return statistics.median(wall), max(wall), statistics.median(cpu)


def measure(page: str | None, key: str, values: list, repeats: int, other: str | None = None,
            other_values: list = ()) -> dict:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    if page:
        at.switch_page(page)
    first = _timed_run(at)[0]
    warm = statistics.median(_timed_run(at)[0] for _ in range(3))
    change, change_max, change_cpu = _changes(at, key, values[:repeats])
    out = {"first": first, "warm": warm, "change": change, "change_max": change_max,
           "change_cpu": change_cpu, "other": None}
    if other:
        out["other"] = _changes(at, other, list(other_values)[:repeats])[:2]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    args = ap.parse_args(argv)
    print(f"{'page':<12} {'first run':>10} {'rerun (cached)':>15} {'slider change':>14} "
          f"{'(max)':>8} {'(CPU)':>8}   {'slider':<12} {'other knob':>11}")
    results = {}
    for name in args.pages:
        page, key, values, other, other_values = PAGES[name]
        r = results[name] = measure(page, key, values, args.repeats, other, other_values)
        tail = (f"{r['other'][0]:>6.2f}s (max {r['other'][1]:.2f}s, {other})" if other
                else "")
        print(f"{name:<12} {r['first']:>9.2f}s {r['warm']:>14.3f}s {r['change']:>13.3f}s "
              f"{r['change_max']:>7.3f}s {r['change_cpu']:>7.3f}s   {key:<12} {tail}",
              flush=True)
    slow = [n for n, r in results.items() if r["change"] >= TARGET_S]
    print(f"\npages over {TARGET_S} s after a change of their main slider: "
          f"{', '.join(slow) or 'none'} (load average {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)")
    return 1 if slow else 0


if __name__ == "__main__":
    raise SystemExit(main())
