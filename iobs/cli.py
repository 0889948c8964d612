"""``python -m iobs``: the solvers without a browser.

Subcommands: ``run`` (one problem, several methods, a table), ``reproduce`` (the paper's
synthetic figure), ``phase`` (phase-transition maps), ``train`` and ``prune`` (the tiny
transformers of the pruning demo).
Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import warnings

__all__ = ["main", "build_parser", "summarize", "progress_bar"]

_EPILOG = """\
what the methods do (f = ||X theta - y||^2 / (2n), H = X^T X / n for least squares):
  iht         theta <- T_k(theta - eta grad f)                   gradient step, keep k largest
  htp         top-k support of a gradient step, then refit on it
  omp         add the most correlated column, refit              (reference)
  topk-iobs   theta+ = theta - eta H^-1 grad f; keep k largest   (paper, Alg. 1 Option 1)
  iobs        theta+; keep the k largest OBS saliencies theta+_i^2 / [H^-1]_ii, then the
              OBS correction theta_Q = theta+_Q + H_QQ^-1 H_QS theta+_S
  iobs-obc    theta+; prune one weight at a time with OBS updates (greedy OBC)
  iobs-exact  theta+; optimal support by enumeration (d <= 20)   (paper, Alg. 1 Option 2)
  iobs-diag   diagonal (OBD) curvature instead of H

examples:
  python -m iobs run --problem correlated --rho 0.9 --d 1000 --n 400 --k-star 20 --k 40 \\
      --methods iht,topk-iobs,iobs --damping 1e-3 --steps 200 --out table.csv
  python -m iobs reproduce --prior gaussian --runs 20 --out fig.csv
With n < d the Hessian is singular: the I-OBS family needs --damping > 0 (e.g. 1e-3).
"""


def progress_bar(label: str):
    """A progress callback drawing ``label [#####.....] 50%`` on stderr."""
    def update(frac: float) -> None:
        n = int(round(30 * frac))
        sys.stderr.write(f"\r{label} [{'#' * n}{'.' * (30 - n)}] {100 * frac:3.0f}%")
        if frac >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return update


def summarize(prob, traces: dict, tol: float = 1e-6) -> list[dict]:
    """One row per method: final error, steps and seconds to ``tol``, support recall."""
    truth = prob.theta_star != 0
    rows = []
    for name, tr in traces.items():
        kept = tr.support[-1]
        hits = int((kept & truth).sum())
        rows.append({"method": name, "final_error": float(tr.error[-1]),
                     "rel_error": float(tr.rel_error[-1]), "final_loss": float(tr.loss[-1]),
                     "steps": len(tr.error) - 1, f"steps_to_{tol:g}": tr.steps_to(tol),
                     f"seconds_to_{tol:g}": tr.seconds_to(tol),
                     "seconds": float(tr.seconds[-1]),
                     "support_precision": hits / max(int(kept.sum()), 1),
                     "support_recall": hits / max(int(truth.sum()), 1),
                     "stopped": tr.stopped or ""})
    return rows


def _format_table(rows: list[dict]) -> str:
    cols = list(rows[0])
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)
    cells = [[fmt(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, width))  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in width])] + [line(r) for r in cells])


def write_rows(path: str, rows: list[dict], meta: dict | None = None) -> None:
    """Write rows as CSV (by extension ``.csv``) or JSON (anything else)."""
    if path.endswith(".csv"):
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        with open(path, "w") as fh:
            json.dump({"config": meta or {}, "rows": rows}, fh, indent=2, default=float)


def _cmd_run(args) -> int:
    import iobs
    from iobs.experiments import compare

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    prob = iobs.make_problem(args.problem, d=args.d, n=args.n, k_star=args.k_star,
                             noise=args.noise, seed=args.seed, signal=args.signal,
                             rho=args.rho, cond=args.cond, beta=args.beta)
    k = args.k if args.k is not None else prob.k_star
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        traces = compare(prob, methods, k=k, steps=args.steps, eta=args.eta,
                         damping=args.damping, batch_size=args.batch_size, tol=args.tol,
                         seed=args.seed, backend=args.backend,
                         progress=progress_bar("running") if len(methods) > 1 else None)
    for w in caught:
        sys.stderr.write(f"warning: {w.message}\n")
    rows = summarize(prob, traces)
    print(f"problem {prob.kind}: n={prob.n} d={prob.d} k*={prob.k_star} k={k} "
          f"noise={prob.noise:g} seed={prob.seed}")
    print(_format_table(rows))
    if args.out:
        write_rows(args.out, rows, {k_: v for k_, v in vars(args).items() if k_ != "func"})
        print(f"wrote {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (subcommands from the research and pruning modules when present)."""
    import iobs

    p = argparse.ArgumentParser(
        prog="python -m iobs", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Sparse recovery with IHT and the Iterative Optimal Brain Surgeon (I-OBS):"
                    " minimize f(theta) subject to ||theta||_0 <= k. I-OBS replaces IHT's "
                    "gradient step by a Newton step and its top-k projection by an "
                    "H-metric (OBS) projection.", epilog=_EPILOG)
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="run several methods on one problem and print a table",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    r.add_argument("--problem", default="gaussian", choices=iobs.KINDS)
    r.add_argument("--d", type=int, default=256, help="dimension (default 256)")
    r.add_argument("--n", type=int, default=128, help="samples (default 128)")
    r.add_argument("--k-star", type=int, default=16, help="nonzeros of the truth")
    r.add_argument("--k", type=int, default=None, help="sparsity level (default k*)")
    r.add_argument("--noise", type=float, default=0.0)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--signal", default="gaussian", choices=("gaussian", "sign"))
    r.add_argument("--rho", type=float, default=0.9, help="correlation ('correlated')")
    r.add_argument("--cond", type=float, default=100.0, help="condition number ('scaled')")
    r.add_argument("--beta", type=float, default=1.0, help="log-cosh weight ('logcosh')")
    r.add_argument("--methods", default="iht,topk-iobs,iobs",
                   help=f"comma-separated, from {','.join(iobs.METHODS)}")
    r.add_argument("--steps", type=int, default=100)
    r.add_argument("--eta", type=float, default=None,
                   help="IHT step (default 1/L) or Newton fraction (default 1)")
    r.add_argument("--damping", type=float, default=0.0,
                   help="lambda = damping * mean(diag H); needed when n < d")
    r.add_argument("--batch-size", type=int, default=None)
    r.add_argument("--tol", type=float, default=None, help="stop at this relative error")
    r.add_argument("--backend", default=None, choices=("numpy", "cupy", "auto"))
    r.add_argument("--out", default=None, help="write the table (.csv or .json)")
    r.set_defaults(func=_cmd_run)
    try:
        from iobs import cli_research
        cli_research.add_reproduce_parser(sub)
        cli_research.add_phase_parser(sub)
    except ImportError:
        pass
    try:
        from iobs.prune import cli as prune_cli
        prune_cli.add_train_parser(sub)
        prune_cli.add_prune_parser(sub)
    except ImportError:
        pass
    return p


def main(argv=None) -> int:
    """Entry point: parse, run, and turn bad input into a one-line error (exit code 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
