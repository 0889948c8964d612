"""Time to 1e-6 relative error for every method on reference problems, next to
scikit-learn's OMP, measured side by side in one run (median of repeats, one BLAS thread),
plus the IHT-iteration vs two-products ratio from ``kernels.py``.

    python benchmarks/solvers.py [--quick] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import iobs
from benchmarks.kernels import measure

TOL = 1e-6
METHODS = ["iht", "htp", "omp", "topk-iobs", "iobs", "iobs-ws", "iobs-diag"]
PROBLEMS = [  # (label, make_problem kwargs, k)
    ("gaussian 256x1024 k*=32", dict(kind="gaussian", n=256, d=1024, k_star=32), 32),
    ("gaussian 2000x10000 k*=200", dict(kind="gaussian", n=2000, d=10000, k_star=200), 200),
    ("correlated rho=0.9 1000x4000 k*=50",
     dict(kind="correlated", n=1000, d=4000, k_star=50, rho=0.9), 50),
    ("scaled cond=1e4 1000x2000 k*=50",
     dict(kind="scaled", n=1000, d=2000, k_star=50, cond=1e4), 50),
]


def _ours(prob, method, k, steps):
    damping = 1e-3 if prob.n < prob.d and iobs.METHODS[method].second_order else 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = iobs.run(prob, method, k=k, steps=steps, damping=damping, tol=TOL)
    return tr.seconds_to(TOL), float(tr.rel_error[-1])


def _sklearn_omp(prob, k):
    from sklearn.linear_model import OrthogonalMatchingPursuit

    t0 = time.perf_counter()
    est = OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False).fit(prob.X, prob.y)
    sec = time.perf_counter() - t0
    err = float(np.linalg.norm(est.coef_ - prob.theta_star) / np.linalg.norm(prob.theta_star))
    return (sec if err <= TOL else None), err


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="smallest problem, one repeat")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=3000)
    a = p.parse_args(argv)
    problems = PROBLEMS[:1] if a.quick else PROBLEMS
    repeats = 1 if a.quick else a.repeats
    with threadpool_limits(1):
        k = measure(n=2000, d=10000, k=200, repeats=5) if not a.quick else None
        for label, kw, kk in problems:
            prob = iobs.make_problem(seed=0, **kw)
            rows = {}
            for name in [*METHODS, "sklearn-omp"]:
                res = [(_sklearn_omp(prob, kk) if name == "sklearn-omp"
                        else _ours(prob, name, kk, a.steps)) for _ in range(repeats)]
                secs = [r[0] for r in res]
                rows[name] = (None if None in secs else float(np.median(secs)), res[-1][1])
            best = min((v[0] for n_, v in rows.items() if n_ in ("topk-iobs", "iobs", "iobs-ws")
                        and v[0] is not None), default=None)
            print(f"\n{label}  (k = {kk}; median of {repeats}; one BLAS thread)")
            print(f"  {'method':12s} {'s to 1e-6':>10s} {'ratio to best I-OBS':>20s} "
                  f"{'final rel err':>14s}")
            for name, (sec, err) in rows.items():
                ratio = "-" if sec is None or best is None else f"{sec / best:.2f}x"
                s = "not reached" if sec is None else f"{sec:.4f}"
                print(f"  {name:12s} {s:>10s} {ratio:>20s} {err:14.2e}")
    if k is not None:
        t = k["seconds"]
        print(f"\nIHT iteration / its two matrix-vector products at (2000, 10000): "
              f"{t['iht step'] / t['two products']:.2f}x "
              f"({1e3 * t['iht step']:.1f} ms vs {1e3 * t['two products']:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
