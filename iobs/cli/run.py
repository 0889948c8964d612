"""``python -m iobs run``: one problem, several methods, a table."""

from __future__ import annotations

import argparse
import sys
import warnings

from iobs.cli.common import format_table, progress_bar, write_rows

__all__ = ["add_run_parser", "main_run", "summarize"]

EPILOG = """\
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


def main_run(args) -> int:
    import iobs
    from iobs.research import compare

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
    print(format_table(rows))
    if args.out:
        write_rows(args.out, rows, {k_: v for k_, v in vars(args).items() if k_ != "func"})
        print(f"wrote {args.out}")
    return 0




def add_run_parser(sub) -> argparse.ArgumentParser:
    """Register ``run``: several methods on one synthetic problem, a table on stdout."""
    import iobs

    r = sub.add_parser("run", help="run several methods on one problem and print a table",
                       formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG)
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
    r.set_defaults(func=main_run)
    return r
