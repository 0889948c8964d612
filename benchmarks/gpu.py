"""NumPy vs CuPy: seconds per iteration and to 1e-6 relative error, side by side.

Sizes d = 10k, 50k, 100k with n = d/4, k = k* = d/50 (Gaussian design). The same
seeded problem (made on the host) runs on both backends; the table prints the CuPy
speed-up. Without a usable GPU the CuPy half is reported as unavailable and the CPU half
still runs (``--cpu-max-d`` caps the CPU sizes: the largest take minutes on a CPU).

    python benchmarks/gpu.py                        # on the GPU machine (< 5 minutes)
    python benchmarks/gpu.py --sizes 10000 --cpu-max-d 10000   # CPU half only, here
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import iobs
from iobs import backend

METHODS = ("iht", "iobs-ws", "topk-iobs")
TOL = 1e-6


def _per_iteration(prob, method, k, name, steps):
    """(seconds per iteration after set-up, seconds to TOL or None) on backend ``name``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        damping = 1e-3 if method != "iht" else 0.0
        iobs.run(prob, method, k=k, steps=1, damping=damping, backend=name)   # warm-up
        tr = iobs.run(prob, method, k=k, steps=steps, damping=damping, backend=name,
                      tol=TOL)
    t = np.diff(tr.seconds)
    return float(np.median(t)) if t.size else float("nan"), tr.seconds_to(TOL)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,50000,100000")
    p.add_argument("--cpu-max-d", type=int, default=50000)
    p.add_argument("--steps", type=int, default=30)
    a = p.parse_args(argv)
    gpu = backend.cupy_available()
    print(f"GPU: {backend.info('cupy') if gpu else 'none usable (CuPy half skipped)'}")
    print(f"{'d':>7s} {'method':10s} {'numpy s/it':>11s} {'cupy s/it':>10s} {'speed-up':>9s} "
          f"{'numpy s->1e-6':>14s} {'cupy s->1e-6':>13s}")
    for d in (int(s) for s in a.sizes.split(",")):
        n, k = d // 4, max(d // 50, 1)
        t0 = time.perf_counter()
        prob = iobs.make_problem("gaussian", d=d, n=n, k_star=k, seed=0)
        made = time.perf_counter() - t0
        for method in METHODS:
            steps = a.steps if method != "iht" else 3 * a.steps
            cpu = _per_iteration(prob, method, k, "numpy", steps) if d <= a.cpu_max_d \
                else (float("nan"), None)
            gp = _per_iteration(prob, method, k, "cupy", steps) if gpu else (float("nan"), None)
            fmt = lambda v: "-" if v is None or v != v else f"{v:.4f}"  # noqa: E731
            ratio = cpu[0] / gp[0] if gpu and cpu[0] == cpu[0] else float("nan")
            print(f"{d:7d} {method:10s} {fmt(cpu[0]):>11s} {fmt(gp[0]):>10s} "
                  f"{fmt(ratio):>9s} {fmt(cpu[1]):>14s} {fmt(gp[1]):>13s}")
        print(f"        (problem made on the host in {made:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
