"""Per-iteration cost of IHT and I-OBS against the kernels they cannot avoid, the steps of
``iobs.fit``'s own stop against the oracle's, and one BLAS thread against two.

Measured side by side in one run, median of repeats (these machines are shared and noisy;
ratios are what to read):

* **I-OBS on a working set** (``iobs-ws``, ``iobs.fit``'s default): its step needs one
  ``X^T r`` and the working-set update (gather the block's columns, centre them, their
  Gram block). The step is replayed on the iterates of a real fit (each timed step starts
  from the previous step's cached block, as in the fit) and compared with that floor,
  measured on the same working sets.
* **IHT** needs ``X theta`` and ``X^T r``: its step is compared with those two products on a
  dense vector (a sparse theta lets it read only k columns).
* **Topk-I-OBS / I-OBS** (n < d, damped): one ``X^T w`` plus two n x n products.
* **Steps**: ``iobs.fit``'s truth-free stop against ``iobs.run(..., tol=1e-6)``, which stops
  as soon as the error to theta* reaches 1e-6 (the oracle).
* **Threads**: the whole ``iobs.fit`` call with one BLAS thread and with two.

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
from iobs import backend
from iobs.models import FLOAT32_BLOCK, LeastSquares
from iobs.projections import top_k_mask


def _median_time(fn, repeats, before=None):
    """Median seconds of ``fn()``; ``before()`` (untimed) runs ahead of every call."""
    if before is not None:
        before()
    fn()                                     # warm caches and lazy imports
    ts = []
    for _ in range(repeats):
        if before is not None:
            before()
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts))


def _working_set(theta, g, k):
    score = np.where(theta != 0, np.inf, np.abs(g))
    return np.flatnonzero(top_k_mask(score, min(np.count_nonzero(theta) + 2 * k, theta.size)))


def ws_steps(prob, k, repeats):
    """Per step of a real ``iobs.fit`` path: (step seconds, floor seconds, |W|, new columns)."""
    path = [np.zeros(prob.d)]
    m = LeastSquares(prob, 0.0)
    step = iobs.METHODS["iobs-ws"].step
    while len(path) < 8:
        new = step(path[-1], m, k, 1.0)
        path.append(new)
        if np.array_equal(new != 0, path[-2] != 0) and len(path) > 2:
            break
    rows = []
    X = prob.X
    for t in range(1, len(path)):
        prev = path[t - 1]
        fresh = LeastSquares(prob, 0.0)

        def warm(fresh=fresh, t=t):   # the caches as the fit has them before step t
            fresh._res = (None, None)
            fresh._gram_cache = (None, None, None)
            fresh.design._ws = (None, None, None)
            if t > 1:
                step(path[t - 2], fresh, k, 1.0)
            fresh._res = (None, None)

        sec = _median_time(lambda fresh=fresh, prev=prev: step(prev, fresh, k, 1.0), repeats,
                           before=warm)
        g = m.grad(prev)
        W = _working_set(prev, g, k)
        W_before = _working_set(path[t - 2], m.grad(path[t - 2]), k) if t > 1 else \
            np.array([], dtype=int)
        new_cols = np.setdiff1d(W, W_before)
        low = W.size >= FLOAT32_BLOCK
        dt = np.float32 if low else np.float64
        r = m.residual(prev)

        def floor(W=W, new_cols=new_cols, r=r, dt=dt):
            X.T @ r                                                      # the gradient
            XW = X[:, W].astype(dt)                  # gather (fit also centres: excluded)
            if new_cols.size * 2 >= W.size:
                XW.T @ XW
            else:
                XW[:, np.searchsorted(W, new_cols)].T @ XW

        rows.append((sec, _median_time(floor, repeats), W.size, new_cols.size))
    return rows


def measure(n=2000, d=10000, k=200, repeats=15, damping=1e-3, seed=0) -> dict:
    """Seconds per call of each kernel and each step, all measured in this call."""
    prob = iobs.make_problem("gaussian", d=d, n=n, k_star=k, seed=seed)
    m = LeastSquares(prob, damping)
    X = prob.X
    rng = np.random.default_rng(1)
    dense = rng.standard_normal(d)
    r = rng.standard_normal(n)
    theta = iobs.projections.hard_threshold(rng.standard_normal(d), k)
    eta_iht = 1.0 / m.lipschitz()
    m.newton_point(theta, 1.0)                 # factor once (as a run does)
    step = iobs.METHODS

    def fresh_theta():                         # the model keeps the last residual by identity
        m._res = (None, None)

    t = {
        "X theta (dense)": _median_time(lambda: X @ dense, repeats),
        "X^T r": _median_time(lambda: X.T @ r, repeats),
        "n x n product": _median_time(lambda: m._G @ r, repeats),
        "iht step": _median_time(lambda: step["iht"].step(theta, m, k, eta_iht), repeats,
                                 before=fresh_theta),
        "topk-iobs step": _median_time(lambda: step["topk-iobs"].step(theta, m, k, 1.0),
                                       repeats, before=fresh_theta),
        "iobs step": _median_time(lambda: step["iobs"].step(theta, m, k, 1.0), repeats,
                                  before=fresh_theta),
    }
    t["two products"] = t["X theta (dense)"] + t["X^T r"]
    bandwidth = X.nbytes / t["X^T r"]        # bytes/s of a memory-bound product, this run
    t["iobs floor"] = t["X^T r"] + 2 * t["n x n product"]
    return {"n": n, "d": d, "k": k, "seconds": t, "bandwidth_GBps": bandwidth / 1e9,
            "ws": ws_steps(prob, k, max(3, repeats // 3)), "prob": prob}


def steps_and_threads(prob, k, repeats):
    """Steps of fit's stop against the oracle's; whole fit calls with 1 and 2 threads."""
    out = {}
    for method in ("iobs-ws", "iht"):
        with threadpool_limits(1):
            r = iobs.fit(prob.X, prob.y, k=k, method=method, max_steps=1000)
            trace = iobs.run(prob, method, k=k, steps=1000, tol=1e-6,
                             damping=r.config["damping"])
        err = float(np.linalg.norm(r.coef - prob.theta_star) / np.linalg.norm(prob.theta_star))
        times = {}
        for threads in (1, 2, 1, 2):             # interleaved
            with threadpool_limits(threads):
                times.setdefault(threads, []).append(_median_time(
                    lambda method=method: iobs.fit(prob.X, prob.y, k=k, method=method,
                                                   max_steps=1000), max(1, repeats // 5)))
        out[method] = dict(steps=r.steps, oracle=trace.steps_to(1e-6), err=err,
                           stopped=r.stopped, t1=float(np.median(times[1])),
                           t2=float(np.median(times[2])))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=2000)
    p.add_argument("--d", type=int, default=10000)
    p.add_argument("--k", type=int, default=200)
    p.add_argument("--repeats", type=int, default=15)
    a = p.parse_args(argv)
    with threadpool_limits(1), backend.blas_threads(a.n, a.d):
        res = measure(a.n, a.d, a.k, a.repeats)
    t = res["seconds"]
    print(f"(n, d, k) = ({a.n}, {a.d}, {a.k}); one BLAS thread; median of {a.repeats}; "
          f"measured bandwidth {res['bandwidth_GBps']:.1f} GB/s")
    for name, v in t.items():
        print(f"  {name:18s} {1e3 * v:8.2f} ms")
    print(f"IHT iteration / its two products      : {t['iht step'] / t['two products']:.2f}x "
          f"(target <= 1.3x)")
    print(f"Topk-I-OBS iteration / I-OBS floor     : {t['topk-iobs step'] / t['iobs floor']:.2f}x")
    print(f"I-OBS iteration / I-OBS floor          : {t['iobs step'] / t['iobs floor']:.2f}x")
    print("I-OBS (working set), the steps of a real fit: step / floor (one X^T r + gather, "
          "centre and Gram of the block's new columns), target <= 2x")
    for i, (sec, flo, m, new) in enumerate(res["ws"], 1):
        print(f"  step {i}: |W| = {m:4d} ({new:4d} new, "
              f"{'float32' if m >= FLOAT32_BLOCK else 'float64'} block)  step "
              f"{1e3 * sec:7.2f} ms  floor {1e3 * flo:7.2f} ms  ratio {sec / flo:5.2f}x")
    ratios = [sec / flo for sec, flo, _, _ in res["ws"]]
    print(f"  median ratio {np.median(ratios):.2f}x, max {max(ratios):.2f}x")
    print("iobs.fit (own stop) against the oracle stop, and the whole call on 1 and 2 threads:")
    for method, r in steps_and_threads(res["prob"], a.k, a.repeats).items():
        print(f"  {method:8s} steps {r['steps']:4d} (oracle {r['oracle']}), final error "
              f"{r['err']:.1e}; 1 thread {1e3 * r['t1']:8.1f} ms, 2 threads "
              f"{1e3 * r['t2']:8.1f} ms: two are {r['t1'] / r['t2']:.2f}x faster")
    return 0


if __name__ == "__main__":
    sys.exit(main())
