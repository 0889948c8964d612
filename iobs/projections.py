r"""Sparse projections: Euclidean (top-k) and Hessian-aware (OBS family).

Given a dense point :math:`z` (the Newton point :math:`\theta^+` of I-OBS) and a positive
definite :math:`H`, the Hessian-aware projection solves (P, eq. 8)

.. math:: \min_{\lVert\theta\rVert_0\le k}\ \tfrac12(\theta - z)^\top H(\theta - z).

For a kept set :math:`Q` (pruned set :math:`S = Q^c`) the minimizer is (R)
:math:`\theta_Q = z_Q + H_{QQ}^{-1}H_{QS}z_S,\ \theta_S = 0`, and the cost of pruning
:math:`S` is :math:`\tfrac12 z_S^\top[(H^{-1})_{SS}]^{-1}z_S`; for one weight :math:`q` it is
the OBS saliency :math:`z_q^2 / (2[H^{-1}]_{qq})` (Hassibi & Stork 1993). Choosing
:math:`S` is combinatorial: :func:`exact_support` enumerates (tiny d only),
:func:`greedy_obc` removes one weight at a time (Frantar & Alistarh 2022, OBC),
:func:`obs_saliency` ranks single-weight costs (WoodFisher-style).

All functions work on NumPy or CuPy arrays and return fresh arrays.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from iobs._validate import check_int
from iobs.backend import to_numpy, xp_of

__all__ = [
    "EXACT_MAX_D",
    "exact_support",
    "greedy_obc",
    "hard_threshold",
    "obs_correction",
    "obs_saliency",
    "pruning_cost",
    "top_k_mask",
]

EXACT_MAX_D = 20  # C(20, 10) = 184,756 subsets: about a second; beyond that, refuse


def top_k_mask(score, k):
    """Boolean mask of the ``k`` largest entries of ``score`` along its last axis.

    ``score`` of shape (d,) with an int ``k``, or (B, d) rows with ``k`` an int or an int
    array of shape (B,) (one k per row, as the batched engine passes). Ties go as
    ``argpartition`` breaks them, row by row: a row's selection never depends on the others.
    """
    xp = xp_of(score)
    d = score.shape[-1]
    if score.ndim == 1:
        k = check_int("k", k, 0, d)
        mask = xp.zeros(d, dtype=bool)
        if k == d:
            mask[:] = True
        elif k:
            mask[xp.argpartition(-score, k - 1)[:k]] = True
        return mask
    B = score.shape[0]
    ks = np.broadcast_to(to_numpy(xp.asarray(k)), (B,))      # (B,) on the host
    mask = xp.zeros(score.shape, dtype=bool)
    for kk in np.unique(ks):                                # one argpartition per distinct k
        rows = xp.asarray(np.flatnonzero(ks == kk))
        kk = int(kk)
        if kk >= d:
            mask[rows] = True
        elif kk > 0:
            idx = xp.argpartition(-score[rows], kk - 1, axis=1)[:, :kk]     # (R, k)
            mask[rows[:, None], idx] = True
    return mask


def hard_threshold(z, k):
    r"""The top-k operator :math:`T_k(z)`: keep the ``k`` largest :math:`|z_i|`, zero the rest
    (row by row for z of shape (B, d), see :func:`top_k_mask`).

    Examples
    --------
    >>> hard_threshold(np.array([0.5, -3.0, 2.0, 0.1]), 2)
    array([ 0., -3.,  2.,  0.])
    """
    xp = xp_of(z)
    return xp.where(top_k_mask(xp.abs(z), k), z, 0.0)


def obs_saliency(z, Hinv_diag):
    r"""Single-weight OBS costs :math:`\rho_i = z_i^2 / (2[H^{-1}]_{ii})` (Hassibi & Stork 1993).

    With :math:`H = cI` this ranks like :math:`|z_i|` (then I-OBS equals IHT).
    """
    return z * z / (2.0 * Hinv_diag)


def obs_correction(z, H, Q):
    r"""Best point on kept set ``Q`` in the H-metric: the OBS compensating update.

    Returns :math:`\theta` with :math:`\theta_Q = z_Q + H_{QQ}^{-1}H_{QS}z_S`,
    :math:`\theta_S = 0` (a :math:`k\times k` solve; ``Q`` a boolean mask).
    """
    xp = xp_of(z)
    S = ~Q
    theta = xp.zeros_like(z)
    if not bool(Q.any()):
        return theta
    HQQ = H[xp.ix_(Q, Q)]
    rhs = H[xp.ix_(Q, S)] @ z[S]
    theta[Q] = z[Q] + xp.linalg.solve(HQQ, rhs)
    return theta


def pruning_cost(z, H, Q) -> float:
    r"""Increase of the model :math:`\tfrac12(\theta-z)^\top H(\theta-z)` at the corrected point."""
    delta = obs_correction(z, H, Q) - z
    return float(0.5 * delta @ (H @ delta))


def greedy_obc(z, Hinv, k: int):
    r"""Greedy OBC: prune ``d - k`` weights one at a time, each with its exact OBS update.

    Repeats: :math:`j = \arg\min_j w_j^2/[H^{-1}]_{jj}` over the remaining weights;
    :math:`w \leftarrow w - (w_j/[H^{-1}]_{jj})H^{-1}_{:,j}`;
    :math:`H^{-1} \leftarrow H^{-1} - H^{-1}_{:,j}H^{-1}_{j,:}/[H^{-1}]_{jj}` (Frantar &
    Alistarh 2022). Cost :math:`O((d-k)d^2)`. Returns ``(theta, Q)``.
    """
    xp = xp_of(z)
    d = z.shape[0]
    k = check_int("k", k, 0, d)
    w = z.copy()
    Hi = Hinv.copy()
    alive = xp.ones(d, dtype=bool)
    for _ in range(d - k):
        diag = xp.diagonal(Hi)
        score = xp.where(alive, w * w / diag, xp.inf)
        j = int(xp.argmin(score))
        w = w - (w[j] / Hi[j, j]) * Hi[:, j]
        Hi = Hi - xp.outer(Hi[:, j], Hi[j, :]) / Hi[j, j]
        w[j] = 0.0
        alive[j] = False
        Hi[j, j] = 1.0  # the pruned row/column is now zero; keep the diagonal finite
    w[~alive] = 0.0
    return w, alive


def exact_support(z, H, k: int, *, chunk: int = 4096):
    r"""Optimal kept set by enumeration: :math:`\arg\min_S z_S^\top[(H^{-1})_{SS}]^{-1}z_S`.

    Refuses ``d > EXACT_MAX_D`` (the search is combinatorial, NP-hard in general).
    Returns ``(theta, Q)`` with the OBS correction applied.
    """
    xp = xp_of(z)
    d = z.shape[0]
    if d > EXACT_MAX_D:
        raise ValueError(f"d must be <= {EXACT_MAX_D} for the exact support search "
                         f"(C(d, k) subsets); got {d}")
    k = check_int("k", k, 0, d)
    zn, Hn = to_numpy(z), to_numpy(H)
    Hinv = np.linalg.inv(Hn)
    m = d - k
    best_cost, best_S = math.inf, ()
    if m > 0:
        combos = itertools.combinations(range(d), m)
        while batch := list(itertools.islice(combos, chunk)):
            S = np.array(batch)                                   # (B, m)
            A = Hinv[S[:, :, None], S[:, None, :]]                # (B, m, m)
            zs = zn[S]                                            # (B, m)
            cost = np.einsum("bi,bi->b", zs, np.linalg.solve(A, zs[..., None])[..., 0])
            i = int(np.argmin(cost))
            if cost[i] < best_cost:
                best_cost, best_S = float(cost[i]), tuple(S[i])
    Q = np.ones(d, dtype=bool)
    Q[list(best_S)] = False
    Q = xp.asarray(Q)
    return obs_correction(z, H, Q), Q
