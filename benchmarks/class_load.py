"""A class on one machine, both ways in one run: one Streamlit process, then ``python -m iobs
serve --workers N`` (nginx in front), each under the same load of :mod:`benchmarks.load`.

Both start cold (the single process with empty caches, the workers with an empty disk cache
in a temporary HOME), so first page loads include the computing. Printed: page-load and
rerun p50/p95, errors, isolation violations, cores busy and peak memory of each server
(process tree), and the issue's targets marked ok / SHORT.

    python benchmarks/class_load.py                       # 40 sessions, a move every ~2 s, 60 s
    python benchmarks/class_load.py --sessions 20 --duration 30 --workers 2 --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import load  # noqa: E402

RERUN_P95_MS, LOAD_P95_MS, PROXY_GAIN = 1500, 4000, 1.5
ROWS = ("load_p50_ms", "load_p95_ms", "first_chart_p50_ms", "first_chart_p95_ms",
        "rerun_p50_ms", "rerun_p95_ms", "reruns", "errors", "isolation_violations",
        "cores_busy", "rss_peak_mb")


def through_proxy(workers: int, sessions: int, duration: float, think: float,
                  same_seed: bool = False) -> dict:
    """The load through ``serve``'s nginx, the serve command's process tree watched."""
    port = load.free_port()
    with tempfile.TemporaryDirectory(prefix="iobs-home-") as home:
        proc = subprocess.Popen([sys.executable, "-m", "iobs", "serve", "--workers",
                                 str(workers), "--port", str(port)], cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env={**os.environ, "HOME": home})
        line = []
        reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(300)
        try:
            if not line or not line[0].startswith("http://"):
                raise RuntimeError("serve did not start")
            return load.main(sessions, duration, think=think, url=line[0].strip(),
                             watch_pid=proc.pid, same_seed=same_seed)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(60)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=40)
    ap.add_argument("--duration", type=float, default=60.0)
    ap.add_argument("--think", type=float, default=2.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--same-seed", action="store_true",
                    help="every session opens the same link (a class following the "
                         "lecturer's) instead of a seed of its own")
    a = ap.parse_args(argv)
    one = load.main(a.sessions, a.duration, think=a.think, same_seed=a.same_seed)
    many = through_proxy(a.workers, a.sessions, a.duration, a.think, a.same_seed)
    print(f"{a.sessions} sessions{' on one link' if a.same_seed else ', a seed each'}, "
          f"a move every ~{a.think:g} s, {a.duration:g} s, every page "
          f"({os.cpu_count()} cores)\n")
    print(f"{'':>22} {'1 process':>12} {f'{a.workers} workers+nginx':>20}")
    for k in ROWS:
        print(f"{k:>22} {one[k]!s:>12} {many[k]!s:>20}")
    print("\nper page rerun p50/p95 ms (1 process | proxy):")
    for page, v in one["rerun_p50_p95_ms_by_page"].items():
        print(f"{page:>14}  {v}  |  {many['rerun_p50_p95_ms_by_page'].get(page)}")
    gain = one["rerun_p95_ms"] / max(many["rerun_p95_ms"], 1e-9)
    checks = [
        ("1 process: rerun p95 <= 1.5 s", one["rerun_p95_ms"] <= RERUN_P95_MS),
        ("1 process: page-load p95 <= 4 s", one["load_p95_ms"] <= LOAD_P95_MS),
        ("both: 0 errors, 0 isolation violations",
         not (one["errors"] or many["errors"] or one["isolation_violations"]
              or many["isolation_violations"])),
        (f"proxy rerun p95 {gain:.2f}x lower (>= {PROXY_GAIN}x)", gain >= PROXY_GAIN),
    ]
    for label, r in (("1 process", one), ("proxy", many)):
        for what in ("error", "isolation"):
            if r[f"{what}_samples"]:
                print(f"{label}, {what} samples: {r[f'{what}_samples']}")
    print("\ntargets:")
    for text, ok in checks:
        print(f"  {'ok   ' if ok else 'SHORT'} {text}")
    if a.json:
        a.json.write_text(json.dumps({"one_process": one, "proxy": many}, indent=1))
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
