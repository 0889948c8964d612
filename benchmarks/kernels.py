"""Per-iteration cost of IHT and I-OBS against the kernels they cannot avoid.

Measured side by side in one run, median of repeats, BLAS limited to one thread (these
machines are shared and noisy; ratios are what to read):

* IHT needs ``X theta`` and ``X^T r``: its iteration is compared with those two
  matrix-vector products on a dense vector (a sparse theta lets it read only k columns).
* Topk-I-OBS / I-OBS (n < d, damped) need one ``X^T w`` plus two n x n products
  (``(KG) r`` and ``G w``): their floor is the time of those three products measured
  in the same run.

    python benchmarks/kernels.py [--n 2000 --d 10000 --k 200 --repeats 15]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import iobs
from iobs.models import LeastSquares


def _median_time(fn, repeats):
    fn()                                     # warm caches and lazy imports
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def measure(n=2000, d=10000, k=200, repeats=15, damping=1e-3, seed=0) -> dict:
    """Seconds per call of each kernel and each step, all measured in this call."""
    prob = iobs.make_problem("gaussian", d=d, n=n, k_star=k, seed=seed)
    m = LeastSquares(prob, damping)
    X, Xt = prob.X, m.Xt
    rng = np.random.default_rng(1)
    dense = rng.standard_normal(d)
    r = rng.standard_normal(n)
    theta = iobs.projections.hard_threshold(rng.standard_normal(d), k)
    eta_iht = 1.0 / m.lipschitz()
    m.newton_point(theta, 1.0)                 # factor once (as a run does)
    step = iobs.METHODS
    t = {
        "X theta (dense)": _median_time(lambda: Xt.T @ dense, repeats),
        "X^T r": _median_time(lambda: Xt @ r, repeats),
        "n x n product": _median_time(lambda: m._G @ r, repeats),
        "iht step": _median_time(lambda: step["iht"].step(theta, m, k, eta_iht), repeats),
        "topk-iobs step": _median_time(lambda: step["topk-iobs"].step(theta, m, k, 1.0),
                                       repeats),
        "iobs step": _median_time(lambda: step["iobs"].step(theta, m, k, 1.0), repeats),
    }
    t["two products"] = t["X theta (dense)"] + t["X^T r"]
    bandwidth = X.nbytes / t["X^T r"]        # bytes/s of a memory-bound product, this run
    t["iobs floor"] = t["X^T r"] + 2 * t["n x n product"]
    return {"n": n, "d": d, "k": k, "seconds": t, "bandwidth_GBps": bandwidth / 1e9}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--d", type=int, default=10000)
    p.add_argument("--k", type=int, default=200)
    p.add_argument("--repeats", type=int, default=15)
    a = p.parse_args(argv)
    with threadpool_limits(1):
        res = measure(a.n, a.d, a.k, a.repeats)
    t = res["seconds"]
    print(f"(n, d, k) = ({a.n}, {a.d}, {a.k}); one BLAS thread; median of {a.repeats}; "
          f"measured bandwidth {res['bandwidth_GBps']:.1f} GB/s")
    for name, v in t.items():
        print(f"  {name:18s} {1e3 * v:8.2f} ms")
    print(f"IHT iteration / its two products      : {t['iht step'] / t['two products']:.2f}x")
    print(f"Topk-I-OBS iteration / I-OBS floor     : {t['topk-iobs step'] / t['iobs floor']:.2f}x")
    print(f"I-OBS iteration / I-OBS floor          : {t['iobs step'] / t['iobs floor']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
