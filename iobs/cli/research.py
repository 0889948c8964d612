"""``python -m iobs phase`` and ``python -m iobs reproduce``: the research pages' numbers
without a browser. Files go to ``--out``, a one-line summary to stdout, progress to stderr.

``python -m iobs.cli.research phase ...`` runs the same commands on their own.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time

import numpy as np

from iobs.cli.common import progress_bar

__all__ = ["add_phase_parser", "add_reproduce_parser", "main", "main_phase",
           "main_reproduce", "parse_grid", "reproduce_csv"]

_PHASE_EPILOG = """\
a cell (delta, rho) has n = round(delta d) samples and k* = round(rho n) nonzeros; each
method runs with k = k* and succeeds when ||theta - theta*|| / ||theta*|| < tol with the
exact support. Grids: "start:stop:num" (evenly spaced, both ends included) or "a,b,c".
examples:
  python -m iobs phase --out map.csv                   # the page's default grid
  python -m iobs phase --d 200 --deltas 0.05:1:20 --rhos 0.05:1:20 --trials 20 \\
      --dask tcp://scheduler:8786 --out big.csv        # a Dask cluster does the cells
Load map.csv on the app's "Phase transitions" page.
"""


def parse_grid(text: str) -> list[float]:
    """``"0.1:1:10"`` -> 10 evenly spaced values from 0.1 to 1; ``"0.1,0.5"`` -> a list."""
    try:
        if ":" in text:
            a, b, num = text.split(":")
            return [round(float(v), 6) for v in np.linspace(float(a), float(b), int(num))]
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise ValueError(f"a grid must be 'start:stop:num' or 'a,b,c'; got {text!r}") from exc


def add_phase_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``phase``: Donoho-Tanner success maps (:func:`iobs.research.phase_transition`)."""
    from iobs.research.phase import DEFAULT_DAMPING

    p = subparsers.add_parser("phase", help="phase-transition maps over (n/d, k*/n) to CSV",
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              epilog=_PHASE_EPILOG)
    p.add_argument("--methods", default="iht,topk-iobs,iobs,htp,omp",
                   help="comma-separated method names, or 'oracle' (true-support fit)")
    p.add_argument("--d", type=int, default=100, help="dimension (default 100)")
    p.add_argument("--deltas", default="0.1:1:10", help="n/d grid (default 0.1:1:10)")
    p.add_argument("--rhos", default="0.05:0.8:16", help="k*/n grid (default 0.05:0.8:16)")
    p.add_argument("--trials", type=int, default=6, help="problems per cell (default 6)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=300, help="iteration budget (default 300)")
    p.add_argument("--damping", type=float, default=DEFAULT_DAMPING,
                   help=f"Newton damping when n < d (default {DEFAULT_DAMPING:g} x mean diag H)")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: all)")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="run the cells on a Dask distributed scheduler at ADDRESS")
    p.add_argument("--out", required=True, help="CSV file for the map")
    p.set_defaults(func=main_phase)
    return p


def main_phase(args) -> int:
    """Compute a phase map and write it as CSV (:meth:`iobs.research.phase.PhaseMap.to_csv`)."""
    from iobs.research.phase import default_executor, phase_transition

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    deltas, rhos = parse_grid(args.deltas), parse_grid(args.rhos)
    client = None
    if args.dask:
        from distributed import Client
        client = Client(args.dask)
        executor = client.get_executor()
    else:
        executor = default_executor(args.workers)
    try:
        pm = phase_transition(methods, args.d, deltas, rhos, args.trials, args.seed,
                              executor=executor, steps=args.steps, damping=args.damping,
                              progress=progress_bar(f"phase {len(rhos)}x{len(deltas)} cells"))
    finally:
        if client is None:
            executor.shutdown(wait=True)
        else:
            client.close()
    with open(args.out, "w", newline="") as fh:
        fh.write(pm.to_csv())
    print(f"wrote {args.out}: {len(rhos)} x {len(deltas)} cells x {args.trials} trials x "
          f"{len(methods)} methods in {pm.config['seconds']:.1f} s")
    return 0


def add_reproduce_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``reproduce``: the paper's synthetic figure as CSV."""
    p = subparsers.add_parser("reproduce", help="the paper's synthetic figure (k-IHT vs "
                              "Topk-I-OBS, mean and std over runs) to CSV")
    p.add_argument("--prior", default="gaussian", choices=("gaussian", "digits"),
                   help="gaussian: d=128, n=256, k*=16, k=64; digits: scikit-learn digits "
                        "(in place of MNIST), d=784, n=1568, k=2k*")
    p.add_argument("--runs", type=int, default=20, help="independent runs (default 20)")
    p.add_argument("--steps", type=int, default=None,
                   help="steps (default: the paper's, 750 gaussian / 4000 digits)")
    p.add_argument("--scaling", default="paper", choices=("paper", "newton"),
                   help="paper: the authors' Hessian X^T X (a Newton step damped by 2/n); "
                        "newton: the exact Newton step")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="CSV file: one row per step")
    p.set_defaults(func=main_reproduce)
    return p


def reproduce_csv(result: dict) -> str:
    """``# key: value`` config lines, then ``step`` and ``{method}_{loss|error}_{mean|std}``."""
    buf = io.StringIO()
    cfg = {k: v for k, v in result["config"].items() if k != "theta_star"}
    for k, v in cfg.items():
        buf.write(f"# {k}: {v}\n")
    methods = [m for m in result if m != "config"]
    cols = [f"{m}_{q}_{s}" for m in methods for q in ("loss", "error") for s in ("mean", "std")]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", *cols])
    for t in range(len(result[methods[0]]["loss_mean"])):
        w.writerow([t, *(f"{result[m][f'{q}_{s}'][t]:.8g}" for m in methods
                         for q in ("loss", "error") for s in ("mean", "std"))])
    return buf.getvalue()


def main_reproduce(args) -> int:
    """Run :func:`iobs.research.reproduce.reproduce_synthetic` and write the curves as CSV."""
    from threadpoolctl import threadpool_limits

    from iobs.research.reproduce import reproduce_synthetic

    t0 = time.perf_counter()
    with threadpool_limits(1):   # small matrix-vector steps: extra BLAS threads only spin
        res = reproduce_synthetic(args.prior, runs=args.runs, steps=args.steps,
                                  scaling=args.scaling, seed=args.seed,
                                  progress=progress_bar(f"reproduce {args.prior} "
                                                     f"({args.runs} runs)"))
    with open(args.out, "w", newline="") as fh:
        fh.write(reproduce_csv(res))
    last = {m: res[m]["error_mean"][-1] for m in ("iht", "topk-iobs")}
    print(f"wrote {args.out}: {res['config']['steps']} steps, {args.runs} runs in "
          f"{time.perf_counter() - t0:.1f} s; final mean ||theta - theta*||: "
          f"k-IHT {last['iht']:.4g}, Topk-I-OBS {last['topk-iobs']:.4g}")
    return 0


def main(argv=None) -> int:
    """Stand-alone entry point (``python -m iobs.cli.research phase|reproduce ...``)."""
    parser = argparse.ArgumentParser(prog="python -m iobs.cli.research")
    sub = parser.add_subparsers(dest="command", required=True)
    add_phase_parser(sub)
    add_reproduce_parser(sub)
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")


if __name__ == "__main__":
    sys.exit(main())
