"""Large d on the CPU without forming d x d: peak memory against the size of X.

Each method runs in its own subprocess (so each peak is its own): the problem is made
(column-major, or row-major with ``--order C`` as ``np.loadtxt`` gives it), the peak
resident memory is reset, then ``fit:<method>`` calls ``iobs.fit(X, y, k=k*)`` with its own
stop (intercept fitted: X is centred inside the products) and ``<method>`` takes a few
``iobs.run`` steps. The child reports the peak resident memory of the call (Linux
``VmHWM`` after a reset, X included) and the bytes of X. Prints peak / size(X); the target
is under 2x (at most one X-sized allocation besides X itself).

    python benchmarks/scale.py [--d 40000 --n 10000 --steps 3 --order C]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, sys, time, warnings
import numpy as np
sys.path.insert(0, {root!r})
import iobs
from threadpoolctl import threadpool_limits
warnings.simplefilter("ignore")

def hwm():   # peak resident bytes since the last reset (Linux)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024

prob = iobs.make_problem("gaussian", d={d}, n={n}, k_star={k}, seed=0)
X = np.ascontiguousarray(prob.X) if {order!r} == "C" else prob.X
if X is not prob.X:
    import dataclasses
    prob = dataclasses.replace(prob, X=X)
open("/proc/self/clear_refs", "w").write("5")      # reset VmHWM: the peak of the call
t0 = time.perf_counter()
method = {method!r}
with threadpool_limits(2):
    if method.startswith("fit:"):
        r = iobs.fit(prob.X, prob.y, k={k}, method=method[4:], max_steps={fit_steps})
        theta, stopped = r.coef, r.stopped
    else:
        tr = iobs.run(prob, method, k={k}, steps={steps}, damping=1e-3)
        theta, stopped = tr.x[-1], tr.stopped
err = float(np.linalg.norm(theta - prob.theta_star) / np.linalg.norm(prob.theta_star))
print(json.dumps({{"x_bytes": prob.X.nbytes, "peak": hwm(),
    "seconds": time.perf_counter() - t0, "rel_error": err, "stopped": stopped}}))
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d", type=int, default=40000)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--methods", default="fit:iobs-ws,fit:iht,iht,iobs-ws,topk-iobs,iobs")
    p.add_argument("--fit-steps", type=int, default=20, help="max_steps of the fit: rows")
    p.add_argument("--order", choices=("F", "C"), default="F", help="memory order of X")
    a = p.parse_args(argv)
    k = max(a.d // 50, 1)
    print(f"d = {a.d}, n = {a.n}, k = k* = {k}, X {a.order}-ordered; iobs.run: {a.steps} "
          f"steps, damping 1e-3; iobs.fit: its own stop, at most {a.fit_steps} steps")
    print(f"  {'method':14s} {'peak/size(X)':>13s} {'peak GB':>8s} {'X GB':>6s} "
          f"{'seconds':>8s} {'rel err':>9s}")
    for method in a.methods.split(","):
        code = CHILD.format(root=str(ROOT), d=a.d, n=a.n, k=k, steps=a.steps, method=method,
                            order=a.order, fit_steps=a.fit_steps)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"  {method:14s} failed: {out.stderr.strip().splitlines()[-1]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {method:14s} {r['peak'] / r['x_bytes']:13.2f} {r['peak'] / 1e9:8.2f} "
              f"{r['x_bytes'] / 1e9:6.2f} {r['seconds']:8.1f} {r['rel_error']:9.2e}"
              + (f"  ({r['stopped']})" if r["stopped"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
