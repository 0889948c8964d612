r"""One phase-map trial, two ways with the same steps and the same stop rule: the reference
through the driver (:func:`solve_trial`) and batches of trials on the engine
(:func:`_run_cells`, the work unit that :mod:`iobs.research.phase` hands to executors)."""

from __future__ import annotations

import numpy as np

from iobs.driver import iterate
from iobs.models import SingularHessian, damping_lambda, make_model
from iobs.problems import make_problem
from iobs.research.engine import BATCHED, GramBatch, advance, newton_map, refit_rows
from iobs.solvers import METHODS
from iobs.stopping import recovery_verdict

__all__ = ["ORACLE", "solve_trial", "trial_problem"]

ORACLE = "oracle"       # least squares on the true support: the ceiling of every method
_GRAM_MAX_D = 512       # above: d x d per problem costs more than the matrix-free reference
_BATCH = 16             # problems advanced together: their (B, d, d) matrices stay in cache
_EXACT_L_D = 256        # iobs.linalg.max_eig's exact spectrum up to this d, Lanczos above


def _trial_seed(seed: int, d: int, n: int, k_star: int, t: int) -> int:
    ss = np.random.SeedSequence(seed, spawn_key=(d, n, k_star, t))
    return int(ss.generate_state(1)[0])


def trial_problem(d: int, n: int, k_star: int, seed: int, t: int, k: float | None = None):
    """``(problem, k)``: trial ``t`` of the cell ``(d, n, k*)`` and the sparsity the methods
    get (``k`` a multiple of k*, default k = k*)."""
    prob = make_problem("gaussian", d=d, n=n, k_star=k_star,
                        seed=_trial_seed(seed, d, n, k_star, t))
    return prob, k_star if k is None else min(d, max(k_star, round(k * k_star)))


def _targets(probs, tol):
    """The stop rule's view of the problems: truth, theta*, scale = tol |theta*|, k*."""
    ts = np.stack([p.theta_star for p in probs])
    return {"truth": ts != 0, "theta_star": ts, "k_star": np.array([p.k_star for p in probs]),
            "scale": tol * np.linalg.norm(ts, axis=1)}


def _damping(method, n, d, damping):
    """Newton methods get ``damping`` when n < d; first-order ones never (it would bias HTP's
    and OMP's refits)."""
    return damping if (method != ORACLE and METHODS[method].second_order and n < d) else 0.0


def solve_trial(prob, method: str, k: int, steps: int, tol: float, damping: float) -> bool:
    """One trial of one method through :func:`iobs.driver.iterate` (the reference): True on
    recovery within ``steps`` iterations (:func:`iobs.stopping.recovery_verdict`)."""
    target = _targets([prob], tol)
    if method == ORACLE:
        theta = make_model(prob, 0.0).refit(target["truth"][0], np.zeros(prob.d))
        return bool(recovery_verdict(theta[None, None], np.zeros((1, prob.d)), **target)[0])
    gen = iterate(prob, method, k=k, damping=damping, xp=np)
    try:
        prev = next(gen).theta[None]                                          # theta_0
        for it in gen:
            ok, done = recovery_verdict(it.theta[None, None], prev, **target)
            if done[0, 0] or it.t >= steps:
                return bool(ok[0, 0])
            prev = it.theta[None]
    except (SingularHessian, np.linalg.LinAlgError):
        return False
    finally:
        gen.close()
    return False


def _gram_form(probs, methods, damping):
    r"""The stacked arrays of :class:`GramBatch` for the problems: H, b, the step sizes 1/L
    of the first-order methods and, for the Newton methods, the damping, the Newton map and
    which problems have one. :math:`L = 1.001\,\lambda_{\max}(H)` as the model's exact
    spectrum (from :math:`XX^\top/n` when n < d: the same nonzero eigenvalues, cheaper);
    above :data:`_EXACT_L_D` the model's own (Lanczos) value."""
    B, d = len(probs), probs[0].d
    first = any(not METHODS[m].second_order for m in methods if m != ORACLE)
    second = any(METHODS[m].second_order for m in methods if m != ORACLE)
    F = {"H": np.empty((B, d, d)), "b": np.empty((B, d)), "eta": np.ones((B, 1)),
         "lam": np.zeros(B), "N": np.zeros((B, d, d)) if second else None,
         "q": np.zeros((B, d)), "h": np.ones((B, d)), "newton": np.zeros(B, dtype=bool)}
    for i, prob in enumerate(probs):
        n = prob.n
        model = make_model(prob, 0.0)                   # X^T and diag H as the reference
        Xt, H = model.Xt, F["H"][i]
        np.matmul(Xt, Xt.T, out=H)
        H /= n
        F["b"][i] = Xt @ prob.y / n
        if first:
            L = model.lipschitz() if d > _EXACT_L_D else 1.001 * max(float(np.linalg.eigvalsh(
                H if n >= d else Xt.T @ Xt / n)[-1]), 0.0)
            F["eta"][i] = 1.0 / max(L, np.finfo(float).tiny)
        if second:
            lam = F["lam"][i] = damping_lambda(damping if n < d else 0.0, model.Hdiag)
            nm = newton_map(Xt, prob.y, H, F["b"][i], lam)
            if nm is not None:
                F["newton"][i] = True
                N, F["q"][i], F["h"][i] = nm
                F["N"][i] = np.eye(d) if N is None else N      # N = I: theta - q exactly
    return F


def _batch_outcomes(methods, probs, k, steps, tol, damping):
    """Successes (len(methods), B) of the problems ``probs`` (same d), all advancing at once
    through :func:`iobs.research.engine.advance` with the solvers' own steps."""
    B, d = len(probs), probs[0].d
    target, F = _targets(probs, tol), _gram_form(probs, methods, damping)
    out = np.zeros((len(methods), B), dtype=bool)
    for i, m in enumerate(methods):
        if m == ORACLE:
            theta = refit_rows(F["H"], F["b"], target["truth"], np.zeros(B))
            out[i] = recovery_verdict(theta[None], np.zeros_like(theta), **target)[0][0]
            continue
        newton = METHODS[m].second_order
        rows = np.flatnonzero(F["newton"]) if newton else np.arange(B)  # others fail at once
        lam = F["lam"] if m == "iobs" else np.zeros(B)                  # refits: undamped
        model = GramBatch(F["H"], F["b"], lam, N=F["N"], q=F["q"], h=F["h"]).take(rows)
        sub = {key: v[rows] for key, v in target.items()}
        res = out[i]

        def observe(block, prev, live, t0, sub=sub, res=res, rows=rows):
            ok, done = recovery_verdict(block, prev, **{key: v[live] for key, v in sub.items()})
            done[-1] |= t0 + len(block) - 1 >= steps                          # the budget
            hit = np.flatnonzero(done.any(0))
            res[rows[live[hit]]] = ok[done.argmax(0)[hit], hit]
            return done

        advance(METHODS[m].step, model, np.zeros((rows.size, d)), k=k[rows],
                eta=1.0 if newton else F["eta"][rows], steps=steps, observe=observe)
    return out


def _run_cells(methods, d, cells, trials, seed, k, damping, steps, tol, first=0):
    """Work unit (top level, picklable): successes of shape (len(methods), len(cells),
    trials), bool, for trials ``first, ..., first + trials - 1`` of each cell ``(n, k*)``;
    :data:`_BATCH` problems at a time on the batched engine (the reference
    :func:`solve_trial` for other methods and above :data:`_GRAM_MAX_D`)."""
    out = np.zeros((len(methods), len(cells), trials), dtype=bool)
    fast = [i for i, m in enumerate(methods) if d <= _GRAM_MAX_D and (m in BATCHED or
                                                                     m == ORACLE)]
    rest = [i for i in range(len(methods)) if i not in fast]
    jobs = [(j, t) for j in range(len(cells)) for t in range(trials)]        # cell-major
    for j, t in jobs if rest else []:
        prob, kk = trial_problem(d, *cells[j], seed, first + t, k)
        for i in rest:
            out[i, j, t] = solve_trial(prob, methods[i], kk, steps, tol,
                                       _damping(methods[i], prob.n, d, damping))
    for s in range(0, len(jobs) if fast else 0, _BATCH):
        js, ts = (np.array(v) for v in zip(*jobs[s:s + _BATCH]))
        pk = [trial_problem(d, *cells[j], seed, first + t, k) for j, t in zip(js, ts)]
        out[np.array(fast)[:, None], js, ts] = _batch_outcomes(
            [methods[i] for i in fast], [p for p, _ in pk], np.array([kk for _, kk in pk]),
            steps, tol, damping)
    return out
