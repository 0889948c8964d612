"""Large d on the CPU without forming d x d: peak memory against the size of X.

Each method runs in its own subprocess (so each peak is its own): the problem is made,
then ``iobs.run`` takes a few steps; the child reports its peak resident memory
(``ru_maxrss``) and the bytes of X. Prints peak / size(X) (the target is under 2x).

    python benchmarks/scale.py [--d 40000 --n 10000 --steps 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import json, resource, sys, time, warnings
sys.path.insert(0, {root!r})
import iobs
from threadpoolctl import threadpool_limits
warnings.simplefilter("ignore")
prob = iobs.make_problem("gaussian", d={d}, n={n}, k_star={k}, seed=0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
with threadpool_limits(2):
    tr = iobs.run(prob, {method!r}, k={k}, steps={steps}, damping=1e-3)
print(json.dumps({{"x_bytes": prob.X.nbytes, "after_problem": base,
    "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    "seconds": time.perf_counter() - t0, "rel_error": float(tr.rel_error[-1]),
    "stopped": tr.stopped}}))
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--d", type=int, default=40000)
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--methods", default="iht,iobs-ws,topk-iobs,iobs")
    a = p.parse_args(argv)
    k = max(a.d // 50, 1)
    print(f"d = {a.d}, n = {a.n}, k = k* = {k}, {a.steps} steps, damping 1e-3")
    print(f"  {'method':10s} {'peak/size(X)':>13s} {'peak GB':>8s} {'X GB':>6s} "
          f"{'seconds':>8s} {'rel err':>9s}")
    for method in a.methods.split(","):
        code = CHILD.format(root=str(ROOT), d=a.d, n=a.n, k=k, steps=a.steps, method=method)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode != 0:
            print(f"  {method:10s} failed: {out.stderr.strip().splitlines()[-1]}")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"  {method:10s} {r['peak'] / r['x_bytes']:13.2f} {r['peak'] / 1e9:8.2f} "
              f"{r['x_bytes'] / 1e9:6.2f} {r['seconds']:8.1f} {r['rel_error']:9.2e}"
              + (f"  ({r['stopped']})" if r["stopped"] else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
