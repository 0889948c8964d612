"""I-OBS against peer sparse-recovery libraries, side by side on the same seeded problems.

For every problem and solver: the whole call's time, final relative error
``||theta - theta*|| / ||theta*||`` and support hits ``|supp(theta) ∩ supp(theta*)| / k*``
(median over repeats, solvers interleaved within each repeat), and a table of time ratios
to our best I-OBS variant (the fastest of iobs-ws, topk-iobs, iobs, iobs-obc whose call
ends at relative error <= 1e-6).

Every solver, ours included, is timed over its whole call as a user makes it, with its own
stop: ours is ``iobs.fit(X, y, k=k*, method=...)`` (truth-free stop, intercept fitted, as
called with its defaults); then the final error is checked, and a call that ends above
1e-6 "did not reach 1e-6". Extra information, labelled ``oracle``: ``iobs.run(...,
tol=1e-6)`` stops as soon as the error to θ* reaches 1e-6 (it needs θ*), once per problem.
All on one thread (threadpoolctl for BLAS/OpenMP, XLA and numba limited through the
environment). The summary checks the targets: our best >= 3x faster than the fastest peer
that reaches 1e-6, >= 5x faster than abess and scikit-learn's OMP.

Usage::

    pip install -r benchmarks/requirements.txt
    python benchmarks/peers.py --quick       # gaussian-256, 1 repeat, 15 s budget (< 1 min)
    python benchmarks/peers.py --repeats 5 --out peers.json
    python benchmarks/peers.py --problems gaussian-256 sign-256 --solvers iobs sklearn
"""
from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from _peers import PEERS, make_context
from _peers.ours import BASELINES, IOBS_VARIANTS, TOL, guarded, max_steps, oracle, run_ours
from _peers.report import ratio_table, summarise, target_check, write_out

PROBLEMS = {  # name -> make_problem arguments; ordered by size (the skip rule relies on it)
    "gaussian-256": dict(kind="gaussian", n=256, d=1024, k_star=32, signal="gaussian"),
    "sign-256": dict(kind="gaussian", n=256, d=1024, k_star=32, signal="sign"),
    "gaussian-1000": dict(kind="gaussian", n=1000, d=4000, k_star=100, signal="gaussian"),
    "sign-1000": dict(kind="gaussian", n=1000, d=4000, k_star=100, signal="sign"),
    "correlated-1000": dict(kind="correlated", n=1000, d=4000, k_star=50, rho=0.9),
    "gaussian-2000": dict(kind="gaussian", n=2000, d=10000, k_star=200, signal="gaussian"),
    "sign-2000": dict(kind="gaussian", n=2000, d=10000, k_star=200, signal="sign"),
}
SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
                     "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
                     "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false "
                                  "intra_op_parallelism_threads=1"}


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="gaussian-256 only, 1 repeat")
    p.add_argument("--repeats", type=int, default=5, help="timed calls per solver (median)")
    p.add_argument("--problems", nargs="+", choices=list(PROBLEMS), default=list(PROBLEMS))
    p.add_argument("--solvers", nargs="+", default=None,
                   help="keep solvers whose name contains one of these (case-insensitive)")
    p.add_argument("--damping", type=float, default=None,
                   help="damping passed to iobs.fit (default: fit's own default)")
    p.add_argument("--no-oracle", action="store_true",
                   help="skip the oracle column (iobs.run stopping on the truth)")
    p.add_argument("--budget", type=float, default=None,
                   help="seconds per call (default 60, 15 with --quick); slower solvers are "
                        "skipped on larger problems")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=None, help="results as .csv or .json")
    args = p.parse_args(argv)
    if args.quick:
        args.problems, args.repeats = ["gaussian-256"], 1
    if args.budget is None:
        args.budget = 15.0 if args.quick else 60.0
    if args.repeats < 1:
        p.error(f"--repeats must be >= 1; got {args.repeats}")
    return args


def solver_table(patterns):
    """``name -> (package, kind, fit_or_method, note)`` for ours, our baselines and peers."""
    table = {f"iobs:{m}": ("iobs", "ours", m, "I-OBS variant") for m in IOBS_VARIANTS}
    table |= {f"iobs:{m}": ("iobs", "baseline", m, "in iobs, not I-OBS") for m in BASELINES}
    table |= {name: (pkg, "peer", fit, note) for name, (pkg, fit, note) in PEERS.items()}
    if patterns:
        table = {k: v for k, v in table.items() if any(p.lower() in k.lower() for p in patterns)}
    return table


def call_peer(fit, prob, k, ctx):
    """Time one peer call; returns (seconds, theta, warning class names)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        theta = np.asarray(fit(prob.X, prob.y, k, ctx), dtype=float).ravel()
        seconds = time.perf_counter() - t0
    return seconds, theta, sorted({w.category.__name__ for w in caught})


GUARDED = ("iobs-obc",)  # O((d - k) d^2) per step: only these run under a deadline


def measure(spec, prob, k, ctx, args):
    """One timed call of one solver on one problem -> a dict of its results."""
    _pkg, kind, target, _note = spec
    if kind == "peer":
        seconds, theta, warns = call_peer(target, prob, k, ctx)
        return dict(seconds=seconds, wall=seconds, theta=theta, warnings=warns)
    steps = max_steps(target, k)
    if target in GUARDED:   # a step can take minutes: run it in a child with a deadline
        run = guarded(run_ours, prob, target, k, steps=steps, damping=args.damping,
                      timeout=args.budget)
    else:                   # in this process, like the peers (a forked child's first touches
        run = run_ours(prob, target, k, steps=steps, damping=args.damping)  # inflate times)
    return dict(seconds=run.wall, wall=run.wall, theta=run.theta, steps=run.steps,
                first_step=run.first_step, sec_per_step=run.sec_per_step, stopped=run.stopped,
                converged=run.converged, max_steps=steps, warnings=list(run.warnings))


def measure_oracle(spec, prob, k, args):
    """``(seconds, steps)`` to 1e-6 with the oracle stop (ours only), or None."""
    _pkg, kind, target, _note = spec
    if kind == "peer" or args.no_oracle:
        return None
    steps = max_steps(target, k)
    try:
        if target in GUARDED:
            return guarded(oracle, prob, target, k, steps=steps, damping=args.damping,
                           timeout=args.budget)
        return oracle(prob, target, k, steps=steps, damping=args.damping)
    except Exception:   # extra information only: a failure leaves the column empty
        return None


def warm_up(solvers, args, state, log):
    """One untimed call per solver on a tiny problem: imports, numba/JAX compilation.

    A solver that cannot be imported is marked broken for the whole run.
    """
    import iobs

    prob = iobs.make_problem("gaussian", n=64, d=128, k_star=4, seed=args.seed)
    ctx = make_context(prob.X, prob.y)
    for name, (_pkg, kind, target, _note) in solvers.items():
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if kind == "peer":
                    target(prob.X, prob.y, prob.k_star, ctx)
                else:
                    run_ours(prob, target, prob.k_star, steps=2, damping=args.damping)
                    oracle(prob, target, prob.k_star, steps=2, damping=args.damping)
        except ImportError as exc:
            state["broken"][name] = f"not installed: {type(exc).__name__}: {exc}"[:200]
        except Exception:  # reported when the real problems run
            pass
        log(f"  warm-up {name}: {time.perf_counter() - t0:.1f} s"
            + (f" ({state['broken'][name]})" if name in state["broken"] else ""))


def run_problem(pname, solvers, args, state, log):
    import iobs

    cfg = PROBLEMS[pname]
    prob = iobs.make_problem(seed=args.seed, **cfg)
    k, size = prob.k_star, prob.n * prob.d
    ctx = make_context(prob.X, prob.y)
    log(f"\n== {pname}: n={prob.n}, d={prob.d}, k*={k}, "
        f"{cfg.get('signal', 'rho=' + str(cfg.get('rho')))}, seed={args.seed} ==")
    runs = {name: [] for name in solvers}
    failed = {}
    for name in solvers:  # skip rule: too slow on a smaller problem
        if name in state["broken"]:
            failed[name] = state["broken"][name]
        elif name in state["slow"]:
            prev_size, prev_sec = state["slow"][name]
            if prev_sec * size / prev_size > args.budget:
                failed[name] = (f"skipped: {prev_sec:.1f} s at n*d={prev_size:,} "
                                f"(> {args.budget:.0f} s budget scaled to this size)")
    for _ in range(args.repeats):  # interleaved: every solver once per repeat
        for name, spec in solvers.items():
            if name in failed:
                continue
            try:
                r = measure(spec, prob, k, ctx, args)
            except ImportError as exc:
                failed[name] = state["broken"].setdefault(
                    name, f"not installed: {type(exc).__name__}: {exc}"[:200])
                continue
            except TimeoutError as exc:  # ours, run in a child process: over the budget
                failed[name] = f"too slow: {exc}"
                state["slow"][name] = (size, 2 * args.budget)
                continue
            except Exception as exc:  # a peer's own failure must not stop the benchmark
                failed[name] = f"failed: {type(exc).__name__}: {exc}"[:200]
                continue
            if not runs[name]:
                r["oracle"] = measure_oracle(spec, prob, k, args)
            runs[name].append(r)
            log(f"  {name}: {r['wall']:.3f} s")
            state["slow"][name] = (size, r["wall"])
            if r["wall"] > args.budget / 4:  # slow: keep what was measured, no more repeats
                failed.setdefault(name, None)
    return prob, runs, {k_: v for k_, v in failed.items() if v}


def main(argv=None) -> int:
    args = parse_args(argv)
    for var, value in SINGLE_THREAD_ENV.items():  # before jax / numba are first imported
        os.environ.setdefault(var, value)
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root
    from threadpoolctl import threadpool_info, threadpool_limits

    log = functools.partial(print, flush=True)  # progress shows when piped
    solvers = solver_table(args.solvers)
    state = {"slow": {}, "broken": {}}
    records = []
    with threadpool_limits(limits=1):
        warm_up(solvers, args, state, log)
    # again: the peers' imports loaded more thread pools (scipy's OpenBLAS, OpenMP, ...)
    with threadpool_limits(limits=1):
        pools = sorted({f"{i['internal_api']}:{i['prefix']}={i['num_threads']}"
                        for i in threadpool_info()})
        log(f"threads per pool (threadpoolctl): {', '.join(pools)}; XLA and numba: 1 "
            f"(environment). ours: iobs.fit(X, y, k=k*, method=m), damping="
            f"{'fit default' if args.damping is None else format(args.damping, 'g')}; "
            f"repeats={args.repeats}, budget={args.budget:g} s")
        for pname in args.problems:
            prob, runs, failed = run_problem(pname, solvers, args, state, log)
            rows, text = summarise(pname, prob, solvers, runs, failed, tol=TOL)
            records.extend(rows)
            log(text)
    log("\n" + ratio_table(records, args.problems))
    log("\n" + target_check(records, args.problems))
    if args.out is not None:
        write_out(records, args.out)
        log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
