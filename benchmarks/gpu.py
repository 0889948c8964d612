"""NumPy vs CuPy: seconds per iteration and to 1e-6 relative error, side by side.

Sizes d = 10k, 50k, 100k with n = d/4, k = k* = d/50 (Gaussian design). The same
seeded problem (made on the host) runs on both backends; the table prints the CuPy
speed-up. Then the whole ``iobs.fit(X, y, k=k*)`` call (its own stop, intercept fitted)
on both backends, with the backend the fit reports it ran on. Without a usable GPU the
CuPy half is reported as unavailable and the CPU half
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


def _fit(prob, k, name):
    """(whole-call seconds, final relative error, backend fit reports) of iobs.fit."""
    iobs.fit(prob.X, prob.y, k=k, backend=name, max_steps=1)         # warm-up (kernels)
    t0 = time.perf_counter()
    r = iobs.fit(prob.X, prob.y, k=k, backend=name)
    sec = time.perf_counter() - t0
    err = float(np.linalg.norm(r.coef - prob.theta_star) / np.linalg.norm(prob.theta_star))
    return sec, err, r.config["backend"], r.steps


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
        cpu = _fit(prob, k, "numpy") if d <= a.cpu_max_d else None
        gp = _fit(prob, k, "cupy") if gpu else None
        for label, res in (("numpy", cpu), ("cupy", gp)):
            if res is not None:
                print(f"{d:7d} fit:iobs-ws on {label:5s}: {res[0]:8.3f} s whole call, "
                      f"{res[3]} steps, error {res[1]:.1e}, ran on {res[2]}")
        if cpu and gp:
            print(f"{d:7d} fit:iobs-ws speed-up {cpu[0] / gp[0]:.2f}x")
        print(f"        (problem made on the host in {made:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
