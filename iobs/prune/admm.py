r"""ADMM weight update for layer-wise pruning (Boža, TMLR 2024), NumPy only.

Problem (one layer, rows of :math:`W` = outputs, :math:`H = 2XX^\top/N`):

.. math:: \min_{\hat W} \operatorname{tr}\big((W - \hat W) H (W - \hat W)^\top\big)
   \quad \text{s.t. } \hat W_{ij} = 0 \text{ off the mask } M.

Splitting :math:`\hat W = Z` with :math:`Z` in the sparse set, scaled ADMM with penalty
:math:`\rho` iterates

.. math::
   Z^{k+1} = \Pi_{M^{k+1}}(\hat W^k + U^k), \qquad
   U^{k+1} = U^k + \hat W^k - Z^{k+1}, \qquad
   \hat W^{k+1} = \big(W H + \rho (Z^{k+1} - U^{k+1})\big)(H + \rho I)^{-1},

so one factorisation of :math:`H + \rho I` serves every iteration (here: its inverse, from
one Cholesky factor, since the layers are small). The mask :math:`M^k` is chosen on
:math:`|\hat W^k + U^k|` with a sparsity ramped up over the first ``ramp`` iterations by
the cubic schedule :math:`s_k = s - s\,(1 - k/\text{ramp})^3` (Boža §3, after Zhu & Gupta
2017); afterwards the mask is fixed and the result is the exact least-squares solution on
it (:func:`masked_lstsq`): per row :math:`i` with kept set :math:`Q`,
:math:`H_{QQ}\,\hat w_Q = (H w)_Q` (the row's normal equations restricted to Q).

Scaling (as in the authors' code): everything runs in the coordinates
:math:`D = \operatorname{diag}(H)^{1/2}`, :math:`W \to WD`, :math:`H \to D^{-1}HD^{-1}`
(unit diagonal), so the projection ranks weights by Wanda's :math:`|w_{ij}|\sqrt{H_{jj}}`
and :math:`\rho` is relative to a unit diagonal.

Deviations from the paper, all documented here:

* damping :math:`\lambda = \text{damping}\cdot\text{mean}(\operatorname{diag})` (the
  house formula, SparseGPT's 0.01 by default; the authors' code uses 0.1) is added in the
  scaled coordinates, i.e. :math:`\lambda H_{jj}` per input in the original ones, and it
  enters the objective (:math:`H \to H + \lambda I` on both sides, as in their code);
* :math:`\rho` = ``rho`` :math:`\cdot (1 + \lambda)` (the damped scaled diagonal), not the
  absolute 1 of their code: with :math:`H = cI` this makes :math:`\hat W^k + U^k = W` at
  every iteration, so the mask is the magnitude mask and the kept weights do not move;
* the final step is the exact masked least squares (the paper's closing "exact update"
  for small layers) instead of returning :math:`Z` after a fixed number of iterations;
* unstructured masks are chosen over the whole layer (their default); N:M masks ramp
  inside the N:M candidate set, as their code does.

Reference: V. Boža, "Fast and Effective Weight Update for Pruned Large Language Models",
TMLR 2024 (arXiv:2401.02938).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np

from iobs.models import damping_lambda

from .layerwise import _check, _mask

__all__ = ["admm_iterates", "admm_prune", "cubic_schedule", "masked_lstsq"]


def cubic_schedule(sparsity: float, k: int, ramp: int) -> float:
    r"""Sparsity at iteration ``k`` (1-based): :math:`s - s(1 - k/\text{ramp})^3`, then s."""
    if ramp <= 0 or k >= ramp:
        return sparsity
    return sparsity - sparsity * (1.0 - k / ramp) ** 3


def _scaled(W, H, damping):
    """(D, W D, damped D^-1 H D^-1, lambda); dead inputs (H_jj = 0) get D_jj = 1, w = 0."""
    d = np.diag(H).copy()
    dead = d <= 0
    D = np.sqrt(np.where(dead, 1.0, d))
    Hs = H / D[:, None] / D[None, :]
    Hs[dead, :] = 0.0
    Hs[:, dead] = 0.0
    Hs[dead, dead] = 1.0
    Ws = np.where(dead[None, :], 0.0, W) * D[None, :]
    lam = damping_lambda(damping, np.diag(Hs))
    return D, Ws, Hs + lam * np.eye(len(H)), lam


def _projection_mask(score, sparsity, n, m):
    """Boolean *kept* mask: the lowest ``round(sparsity * size)`` scores pruned, only among
    the N:M pattern's candidates when ``m`` (so the last step is exactly N:M)."""
    if not m:
        return ~_mask(score, sparsity, 0, 0)
    candidates = _mask(score, 0.0, n, m)
    return ~_mask(np.where(candidates, score, np.inf), sparsity, 0, 0)


def _setup(W, H, rho, damping):
    """(D, W D, G = W D H_d, (H_d + r I)^{-1}, r): the one factorisation, by Cholesky
    (H_d + r I = L L^T, inverse L^{-T} L^{-1}; r >= rho > 0 keeps it well conditioned)."""
    D, Ws, Hd, lam = _scaled(W, H, damping)
    r = rho * (1.0 + lam)
    L = np.linalg.cholesky(Hd + r * np.eye(len(Hd)))
    Linv = np.linalg.solve(L, np.eye(len(Hd)))
    return D, Ws, Ws @ Hd, Linv.T @ Linv, r


def _step(What, U, keep, G, Ainv, r):
    """One ADMM iteration (module docstring): returns (W_hat, Z, U), fresh arrays."""
    Z = np.where(keep, What + U, 0.0)
    U = U + What - Z
    return (G + r * (Z - U)) @ Ainv, Z, U


def admm_iterates(W, H, keep, *, rho: float = 1.0, damping: float = 0.01,
                  iterations: int = 100) -> Iterator[np.ndarray]:
    r"""ADMM on a fixed mask ``keep``: yields :math:`Z^k` (original coordinates), k = 1, 2, ...

    The convex problem of the module docstring with :math:`M` fixed; the iterates
    converge to :func:`masked_lstsq` (with the same ``damping``). The step, without
    validation: :func:`admm_prune` is the checked driver.
    """
    W, H = np.asarray(W, dtype=np.float64), np.asarray(H, dtype=np.float64)
    D, What, G, Ainv, r = _setup(W, H, rho, damping)
    U = np.zeros_like(What)
    for _ in range(iterations):
        What, Z, U = _step(What, U, keep, G, Ainv, r)
        yield Z / D[None, :]


def masked_lstsq(W, H, keep, *, damping: float = 0.01) -> np.ndarray:
    r"""Exact least squares on a fixed mask: per row :math:`H_{QQ}\hat w_Q = (Hw)_Q`.

    :math:`H` is damped as in :func:`admm_prune` (in the scaled coordinates), so the
    result minimises :math:`(w - \hat w)^\top (H + \lambda\,\operatorname{diag} H)
    (w - \hat w)` over vectors supported on :math:`Q` = the row's kept inputs. A singular
    block (possible only with ``damping=0``) falls back to the minimum-norm solution and
    warns (``RuntimeWarning``).
    """
    W, H = np.asarray(W, dtype=np.float64), np.asarray(H, dtype=np.float64)
    D, Ws, Hd, _ = _scaled(W, H, damping)
    B = Ws @ Hd  # (d_out, d_in): row i is (H w_i)^T
    out = np.zeros_like(Ws)
    for i in range(Ws.shape[0]):
        Q = np.flatnonzero(keep[i])
        if Q.size == 0:
            continue
        A = Hd[np.ix_(Q, Q)]
        try:
            out[i, Q] = np.linalg.solve(A, B[i, Q])
        except np.linalg.LinAlgError:
            warnings.warn("singular masked Hessian block; using the minimum-norm solution",
                          RuntimeWarning, stacklevel=2)
            out[i, Q] = np.linalg.lstsq(A, B[i, Q], rcond=None)[0]
    return np.where(keep, out / D[None, :], 0.0)


def admm_prune(W, H, sparsity: float, *, pattern: str = "unstructured", rho: float = 1.0,
               iterations: int = 20, ramp: int = 15, damping: float = 0.01):
    r"""Prune one layer by ADMM with a gradual mask, then refit exactly; returns (W_hat, keep).

    Parameters
    ----------
    W : ndarray of shape (d_out, d_in)
    H : ndarray of shape (d_in, d_in)
        Layer Hessian :math:`2XX^\top/N` (symmetric positive semi-definite).
    sparsity : float in [0, 1)
        Fraction of zeros in the layer; N/M for ``pattern="N:M"``.
    pattern : "unstructured" or "N:M"
    rho : float > 0
        ADMM penalty relative to the damped unit diagonal (1 = the authors' choice).
    iterations : int >= 1
        ADMM iterations (the authors' code: 20); the mask is fixed after ``ramp``.
    ramp : int in [0, iterations]
        Iterations over which the sparsity rises to ``sparsity`` (cubic schedule; 15 in
        the authors' code); 0 fixes the mask at the first projection.
    damping : float >= 0
        Relative damping of the scaled Hessian (see the module docstring).

    Notes
    -----
    With :math:`H = cI` the result equals :func:`iobs.prune.layerwise.magnitude_prune`.
    Cost: one :math:`d_{in}^3` factorisation, ``iterations`` products of
    :math:`(d_{out}, d_{in}) \times (d_{in}, d_{in})`, and one solve per row at the end.

    Examples
    --------
    >>> import numpy as np
    >>> from iobs.prune.layerwise import layer_hessian, obs_prune, reconstruction_error
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(512, 16)) @ rng.normal(size=(16, 16))
    >>> W, H = rng.normal(size=(8, 16)), layer_hessian(X)
    >>> W_hat, keep = admm_prune(W, H, 0.5)
    >>> int(keep.sum()), bool((W_hat[~keep] == 0).all())
    (64, True)
    """
    W, H, n, m = _check(W, H, pattern, sparsity)
    if not (isinstance(rho, (int, float)) and np.isfinite(rho) and rho > 0):
        raise ValueError(f"rho must be a number in (0, inf); got rho={rho!r}")
    if not (isinstance(iterations, int) and 1 <= iterations <= 100_000):
        raise ValueError(f"iterations must be an integer in [1, 100000]; "
                         f"got iterations={iterations!r}")
    if not (isinstance(ramp, int) and 0 <= ramp <= iterations):
        raise ValueError(f"ramp must be an integer in [0, iterations={iterations}]; "
                         f"got ramp={ramp!r}")
    if not (isinstance(damping, (int, float)) and damping >= 0):
        raise ValueError(f"damping must be a number >= 0; got damping={damping!r}")
    _, What, G, Ainv, r = _setup(W, H, rho, damping)
    U = np.zeros_like(What)
    for k in range(1, iterations + 1):
        if k <= max(ramp, 1):  # the mask moves during the ramp, then stays
            keep = _projection_mask(np.abs(What + U), cubic_schedule(sparsity, k, ramp), n, m)
        What, _, U = _step(What, U, keep, G, Ainv, r)
    return masked_lstsq(W, H, keep, damping=damping), keep
