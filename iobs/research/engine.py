r"""The phase grid's fast path: batches of trials in Gram form (private to
:mod:`iobs.research.phase`).

Every trial here takes the same decisions as the reference :func:`iobs.research.phase._solve`
(tests/test_phase_batched.py compares them trial by trial).
"""

from __future__ import annotations

import numpy as np

from iobs.models import make_model
from iobs.problems import make_problem

ORACLE = "oracle"       # least squares on the true support: the ceiling of every method
_STALL = 1e-6           # relative change per step that counts as stuck (on a wrong support)


def _trial_seed(seed: int, d: int, n: int, k_star: int, t: int) -> int:
    ss = np.random.SeedSequence(seed, spawn_key=(d, n, k_star, t))
    return int(ss.generate_state(1)[0])


def _trial(d, n, k_star, seed, t, k):
    """The problem of trial ``t`` of cell ``(d, n, k*)`` and the sparsity k the methods get."""
    prob = make_problem("gaussian", d=d, n=n, k_star=k_star,
                        seed=_trial_seed(seed, d, n, k_star, t))
    return prob, k_star if k is None else min(d, max(k_star, round(k * k_star)))


# -- the fast path: batches of trials in Gram form -----------------------------------------
# Least squares needs only d x d quantities: grad f = H theta - b (H = X^T X/n, b = X^T y/n)
# and the damped Newton direction (H + lam I)^{-1} grad f = N theta - q. Problems of any n
# stack into (B, d, d) arrays; a step of every live trial is a few batched NumPy calls, and
# the stop rules of `_solve` run on blocks of iterates at once. Row i of each batched call
# depends on problem i alone (one gemv, LAPACK solve or sort per row), so an outcome does not
# depend on which batch the trial ran in.

_GRAM_MAX_D = 512   # above: d x d per problem costs more than the matrix-free reference
_BATCH = 16         # problems advanced together: their (B, d, d) matrices stay in cache
_BLOCK = 16         # iterates checked at once (blocks grow 1, 2, 4, ... up to this)
_EXACT_L_D = 256    # iobs.models._max_eig's exact spectrum up to this d, Lanczos above
_FIRST, _SECOND = ("iht", "htp"), ("topk-iobs", "iobs")


def _newton_map(Xt, G, y, H, b, lam):
    r"""``(A, q, h)``: the Newton point :math:`\theta - (H+\lambda I)^{-1}(H\theta - b) =
    A\theta + q` (:math:`A = I - N`) and :math:`h = \mathrm{diag}((H+\lambda I)^{-1})`, the
    quantities of :class:`iobs.models.LeastSquares` (Woodbury for n < d: :math:`N = X^\top KX`,
    :math:`K = (G + n\lambda I)^{-1}`, :math:`G = XX^\top`); None where it raises
    ``SingularHessian``."""
    d, n = Xt.shape
    if n < d:
        if lam <= 0.0:
            return None
        K = np.linalg.inv(G + n * lam * np.eye(n))                           # (n, n)
        N = Xt @ (K @ Xt.T)                                                 # (d, d)
        q, h = Xt @ (K @ y), (1.0 - np.diagonal(N)) / lam
    else:
        Hl = H + lam * np.eye(d)
        try:
            np.linalg.cholesky(Hl)                   # the reference's test: SPD or no step
        except np.linalg.LinAlgError:
            return None
        Hinv = np.linalg.inv(Hl)
        N, q, h = Hinv @ H, Hinv @ b, np.diagonal(Hinv).copy()
    N *= -1.0
    N[np.diag_indices(d)] += 1.0                                            # A = I - N
    return N, q, h


def _gram_problems(methods, d, jobs, seed, k, damping, tol):
    r"""Stacked arrays (leading axis B) of the trials ``jobs = [(n, k*, t), ...]``: the
    reference's problems, step sizes 1/L and damping. :math:`L = 1.001\,\lambda_{\max}(H)`
    as the model's exact spectrum (from the n x n :math:`XX^\top/n` when n < d: the same
    nonzero eigenvalues, cheaper); above :data:`_EXACT_L_D` the model's own (Lanczos) value."""
    first = any(m in _FIRST for m in methods)
    second = any(m in _SECOND for m in methods)
    B = len(jobs)
    P = {"H": np.empty((B, d, d)), "b": np.empty((B, d)), "ts": np.empty((B, d)),
         "scale": np.empty(B), "k": np.empty(B, dtype=int),
         "ks": np.array([ks for _, ks, _ in jobs])}
    if first:
        P["eta"] = np.empty(B)
    if second:
        P |= {"A2": np.zeros((B, d, d)), "c2": np.zeros((B, d)), "h": np.ones((B, d)),
              "lam": np.zeros(B), "newton": np.zeros(B, dtype=bool)}
    for i, (n, ks, t) in enumerate(jobs):
        prob, P["k"][i] = _trial(d, n, ks, seed, t, k)
        model = make_model(prob, 0.0)                 # X^T and diag H as the reference
        Xt, y, H = model.Xt, prob.y, P["H"][i]
        np.matmul(Xt, Xt.T, out=H)
        H /= n
        P["b"][i], P["ts"][i] = Xt @ y / n, prob.theta_star
        P["scale"][i] = tol * float(np.linalg.norm(prob.theta_star))
        G = Xt.T @ Xt if n < d else None              # (n, n): the same nonzero spectrum
        if first:
            L = model.lipschitz() if d > _EXACT_L_D else 1.001 * max(
                float(np.linalg.eigvalsh(H if G is None else G / n)[-1]), 0.0)
            P["eta"][i] = 1.0 / max(L, np.finfo(float).tiny)
        if second:
            lam = P["lam"][i] = (damping if n < d else 0.0) * float(model.Hdiag.mean())
            nm = _newton_map(Xt, G, y, H, P["b"][i], lam)
            if nm is not None:
                P["newton"][i] = True
                P["A2"][i], P["c2"][i], P["h"][i] = nm
    P["truth"] = P["ts"] != 0
    if first:                                     # gradient step z = A theta + c
        A = P["A1"] = -P["eta"][:, None, None] * P["H"]
        A[:, np.arange(d), np.arange(d)] += 1.0
        P["c1"] = P["eta"][:, None] * P["b"]
    return P


def _top_rows(a, k):
    """Row i: mask of the k[i] largest entries of a[i] (a (B, d)). Where the k-th value is
    tied (zeros, or a measure-zero coincidence) the reference's argpartition decides."""
    B, d = a.shape
    mask = a >= np.sort(a, axis=1)[np.arange(B), d - k][:, None]
    tied = mask.sum(1) != k
    for i in np.flatnonzero(tied) if tied.any() else ():
        mask[i] = False
        mask[i, np.argpartition(-a[i], k[i] - 1)[:k[i]]] = True
    return mask


def _refit_rows(H, r, Q, lam):
    r"""Row i: :math:`\theta_Q = (H_{QQ} + \lambda_i I)^{-1} r_Q`, zero off :math:`Q` (the
    support refit of :meth:`iobs.models.LeastSquares.refit` for r = b); NaN where the system
    is singular (the reference's LinAlgError). Row by row through LAPACK's LU solve (gesv):
    supports differ in size from row to row, and a direct call skips most of NumPy's
    per-call overhead (1.4 us against 6.5 us for a 10 x 10 system, measured)."""
    from scipy.linalg.lapack import dgesv       # lazy: importing iobs.research.phase needs no SciPy

    out = np.zeros(r.shape)
    for i in range(len(r)):
        idx = Q[i].nonzero()[0]
        if idx.size:
            M = H[i].take(idx, 0).take(idx, 1)                                 # (s, s)
            if lam[i]:
                M.flat[::idx.size + 1] += lam[i]
            x, info = dgesv(M.T, r[i, idx], overwrite_a=1, overwrite_b=1)[2:]   # M = M^T
            out[i, idx] = np.nan if info else x
    return out


def _mv(M, theta):
    return np.matmul(M, theta[:, :, None])[:, :, 0]                           # (B, d)


def _topk_rows(theta, P):
    """k-IHT (z = theta - eta grad f) and Topk-I-OBS (z = the Newton point): T_k(z)."""
    z = _mv(P["A"], theta) + P["c"]
    return np.where(_top_rows(np.abs(z), P["k"]), z, 0.0)


def _htp_rows(theta, P):
    """HTP: Q = supp T_k(theta - eta grad f), then the least-squares refit on Q."""
    z = _mv(P["A"], theta) + P["c"]
    return _refit_rows(P["H"], P["b"], _top_rows(np.abs(z), P["k"]), P["lam"])


def _omp_rows(theta, P):
    """OMP: add the largest |grad_j f| off Q = supp theta while |Q| < k, refit on Q."""
    Q = theta != 0
    score = np.where(Q, -1.0, np.abs(_mv(P["H"], theta) - P["b"]))
    grow = np.flatnonzero(Q.sum(1) < P["k"])
    Q[grow, score[grow].argmax(1)] = True
    return _refit_rows(P["H"], P["b"], Q, P["lam"])


def _iobs_rows(theta, P):
    """I-OBS: Q = top-k of z_i^2 / [H^{-1}]_ii at the Newton point z, then
    theta_Q = z_Q + (H_QQ + lam I)^{-1} H_QS z_S."""
    z = _mv(P["A"], theta) + P["c"]
    Q = _top_rows(z * z / P["h"], P["k"])
    return np.where(Q, z, 0.0) + _refit_rows(P["H"], _mv(P["H"], np.where(Q, 0.0, z)), Q,
                                             P["lam"])


_STEPS = {"iht": _topk_rows, "topk-iobs": _topk_rows, "htp": _htp_rows, "omp": _omp_rows,
          "iobs": _iobs_rows}


def _supports(seq, P):
    """supp T_{k*}(theta) of iterates seq (..., B, d), as :func:`_top`: the nonzeros, cut to
    the k* largest where there are more (only when k > k*)."""
    d = seq.shape[-1]
    S = seq != 0
    if not (P["k"] > P["ks"]).any():
        return S
    flat, kf = S.reshape(-1, d), np.broadcast_to(P["ks"], seq.shape[:-1]).ravel()
    over = np.flatnonzero(flat.sum(1) > kf)
    if over.size:
        flat[over] &= _top_rows(np.abs(seq.reshape(-1, d)[over]), kf[over])
    return S


def _stops(block, prev, P):
    """The stop rules of :func:`_solve` on iterates ``block`` (C, B, d) that follow ``prev``
    (B, d): ``(ok, done)`` of shape (C, B), recovered / stopped at that step (the budget is
    the caller's). The rarer tests run only where the cheap ones leave them open."""
    seq = np.concatenate([prev[None], block])                                  # (C+1, B, d)
    S = _supports(seq, P)
    right = (S[1:] == P["truth"]).all(-1)
    norm = _norm(block)
    ok = right.copy()                                 # ... and near theta*
    if ok.any():
        ok[ok] = _norm(block[ok] - np.broadcast_to(P["ts"], block.shape)[ok]) < \
            np.broadcast_to(P["scale"], ok.shape)[ok]
    stuck = ~right & (_norm(block - seq[:-1]) <= _STALL * norm)   # ... on the same support
    if stuck.any():
        stuck[stuck] = (S[1:][stuck] == S[:-1][stuck]).all(-1)
    bad = ~np.isfinite(norm)                          # ... with an inf or NaN entry
    if bad.any():
        bad[bad] = ~np.isfinite(block[bad]).all(-1)
    return ok, ok | stuck | bad


def _norm(a):
    return np.sqrt(np.vecdot(a, a))


def _iterate_rows(step, P, steps):
    """Advance every problem of ``P`` with ``step`` from theta_0 = 0 until the rules of
    :func:`_solve` stop it: successes, bool (B,). Steps go in blocks of C = 1, 2, 4, ...,
    :data:`_BLOCK` iterates whose stop rules are checked at once; a problem that stopped
    inside a block only wastes the rest of that block (its later iterates are ignored)."""
    B, d = P["b"].shape
    out, live, theta = np.zeros(B, dtype=bool), np.arange(B), np.zeros((B, d))
    t, C = 0, 1
    with np.errstate(all="ignore"):          # a diverging trial fails at its first inf/NaN
        while live.size:
            C = min(C, steps - t)
            block = np.empty((C, live.size, d))
            th = theta
            for c in range(C):
                th = block[c] = step(th, P)
            ok, done = _stops(block, theta, P)
            done[-1] |= t + C >= steps                                          # the budget
            hit = done.any(0)
            if hit.any():
                out[live[hit]] = ok[done.argmax(0)[hit], np.flatnonzero(hit)]
                keep = np.flatnonzero(~hit)
                live, P = live[keep], {key: v.take(keep, 0) for key, v in P.items()}
                block = block[:, keep]
            theta, t, C = block[-1], t + C, min(2 * C, _BLOCK)
    return out


def _method_rows(m, P):
    """``(live, Q)``: the problems on which method ``m`` has a step (the others fail at
    once, as the reference's SingularHessian) and the arrays its step reads there."""
    B = len(P["k"])
    live = P["newton"] if m in _SECOND else np.ones(B, dtype=bool)
    Q = {key: P[key] for key in ("b", "k", "ks", "ts", "truth", "scale")}
    if m != "omp":
        Q |= {"A": P["A1"], "c": P["c1"]} if m in _FIRST else {"A": P["A2"], "c": P["c2"]}
    if m in ("htp", "omp", "iobs"):
        Q |= {"H": P["H"], "lam": P["lam"] if m == "iobs" else np.zeros(B)}
    if m == "iobs":
        Q["h"] = P["h"]
    return live, Q if live.all() else {key: v[live] for key, v in Q.items()}


def _gram_methods(methods, P, steps):
    """Successes (len(methods), B) on the stacked problems ``P``, :data:`_BATCH` problems at
    a time."""
    B = len(P["k"])
    out = np.zeros((len(methods), B), dtype=bool)
    for i, m in enumerate(methods):
        if m == ORACLE:
            theta = _refit_rows(P["H"], P["b"], P["truth"], np.zeros(B))
            out[i] = _stops(theta[None], np.zeros_like(theta), P)[0][0]
            continue
        live, Q = _method_rows(m, P)
        rows = np.flatnonzero(live)
        for s in range(0, rows.size, _BATCH):
            out[i, rows[s:s + _BATCH]] = _iterate_rows(
                _STEPS[m], {key: v[s:s + _BATCH] for key, v in Q.items()}, steps)
    return out
