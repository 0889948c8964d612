"""``python -m iobs fit``: a sparse fit of your own X and y from the command line.

``add_parser(subparsers)`` registers the subcommand; ``main(args)`` runs it and returns the
exit code: 0 on success, 2 on bad input with one line on stderr (no traceback).
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_parser", "main"]

EPILOG = """\
X and y: CSV (comma/semicolon/tab separated, optional header row) or .npy; y one column.
example:
  python -m iobs fit --x X.csv --y y.csv --k 10 --loss logistic --out coef.csv
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``fit`` subcommand to ``subparsers`` (``main`` as its ``func``)."""
    from iobs.fit import LOSSES
    from iobs.solvers import METHODS

    p = subparsers.add_parser(
        "fit", help="k-sparse fit of your own data (no truth needed)", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Fit a k-sparse linear (or logistic) model; stops by itself.")
    p.add_argument("--x", required=True, help="features: CSV or .npy, shape (n, d)")
    p.add_argument("--y", required=True, help="target: CSV or .npy, n values")
    p.add_argument("--k", required=True, type=int, help="nonzero coefficients, 1..d")
    p.add_argument("--method", default="iobs-ws", choices=sorted(METHODS))
    p.add_argument("--loss", default="squared", choices=list(LOSSES))
    p.add_argument("--no-intercept", dest="fit_intercept", action="store_false")
    p.add_argument("--tol", type=float, default=1e-6)
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--damping", type=float, default=None)
    p.add_argument("--out", help="write the coefficients: .csv (index,coef) or .json")
    p.set_defaults(func=main)
    return p


def _write(path: str, r) -> None:
    if path.endswith(".json"):
        with open(path, "w") as fh:
            json.dump({"coef": r.coef.tolist(), "intercept": r.intercept,
                       "support": [int(i) for i in r.support.nonzero()[0]],
                       "steps": r.steps, "converged": r.converged, "stopped": r.stopped,
                       "loss": r.loss.tolist(), "seconds": r.seconds,
                       "config": r.config}, fh, indent=1)
    elif path.endswith(".csv"):
        with open(path, "w") as fh:
            fh.write("index,coef\n")
            fh.writelines(f"{i},{c!r}\n" for i, c in enumerate(r.coef.tolist()))
    else:
        raise ValueError(f"--out must end in .csv or .json; got {path!r}")


def main(args) -> int:
    """Run ``fit`` for parsed ``args``; bad input prints one line to stderr, returns 2."""
    from iobs.datafiles import load_xy
    from iobs.fit import fit

    try:
        X, y = load_xy(args.x, args.y)
        r = fit(X, y, k=args.k, method=args.method, loss=args.loss,
                fit_intercept=args.fit_intercept, tol=args.tol, max_steps=args.max_steps,
                damping=args.damping)
        if args.out:
            _write(args.out, r)
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"error: cannot write {args.out}: {exc.strerror}\n")
        return 2
    support = r.support.nonzero()[0].tolist()
    sys.stdout.write(
        f"method     {r.method} (loss {args.loss}, k={r.k}, n={X.shape[0]}, d={X.shape[1]})\n"
        f"support    {len(support)} features: {support}\n"
        f"intercept  {r.intercept:.6g}\n"
        f"steps      {r.steps} ({'converged' if r.converged else 'not converged'})\n"
        f"stopped    {r.stopped}\n"
        f"loss       {r.loss[-1] if r.converged else r.loss.min():.6g} (training)\n"
        f"seconds    {r.seconds:.3g}\n" + (f"wrote      {args.out}\n" if args.out else ""))
    return 0
