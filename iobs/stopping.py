r"""The project's stop rules: when a solver loop may end.

Each rule is a small pure function of numbers the loop already has (step lengths, norms,
supports, losses), so the loops (:func:`iobs.fit`, the driver, the app) share one definition.

Truth-free rules (no :math:`\theta^\star` needed; used by :func:`iobs.fit`):

* :func:`contraction_rate` -- the a-posteriori linear rate
  :math:`\hat\rho_t = \lVert\Delta_t\rVert / \lVert\Delta_{t-1}\rVert`,
  :math:`\Delta_t = \theta_{t+1} - \theta_t`;
* :func:`error_estimate` -- the distance to the limit that rate implies,
  :math:`\hat e_{t+1} = \max(1, \hat\rho/(1-\hat\rho))\,\lVert\Delta_t\rVert`;
* :func:`change_converged` -- support unchanged and :math:`\hat e_{t+1} \le
  \mathrm{tol}\,\lVert\theta_{t+1}\rVert` (or a step at round-off level);
* :func:`loss_plateau` -- no new lowest loss over the last ``patience`` steps;
* :func:`interpolates` -- a least-squares fit whose residual is at round-off level: a global
  minimiser, so no step can change it (the residual test of OMP and TST implementations).

Rules that know the truth (:func:`iobs.run`, the phase maps, the paper's figure; arrays
with any leading axes, so single loops and the batched engine share them):
:func:`divergence_limit` / :func:`diverged` (and :func:`loss_diverged` without a truth),
:func:`reached_tol` (the oracle stop), :func:`top_support` and :func:`recovery_verdict`
(recovered, settled on a wrong support, or broken).

Why the rate: for a linearly converging method with :math:`\lVert\theta_{t+1}-\theta_\infty\rVert
\le \rho\lVert\theta_t-\theta_\infty\rVert`, the triangle inequality gives
:math:`\lVert\theta_{t+1}-\theta_\infty\rVert \le \frac{\rho}{1-\rho}\lVert\Delta_t\rVert`; a
bare relative-change test stops IHT with :math:`\rho \approx 0.9` ten times too early.
The factor is floored at 1 so that a step that happened to shrink fast (a noisy
:math:`\hat\rho`) never certifies more than the step length itself.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["EXPLODE", "ROUNDOFF", "STALL", "change_converged", "contraction_rate", "diverged",
           "divergence_limit", "error_estimate", "interpolates", "loss_diverged", "loss_plateau",
           "reached_tol", "recovery_verdict", "top_support"]

ROUNDOFF = 1e-3   # a step below ROUNDOFF * tol * ||theta|| is round-off: stationary whatever rho


def contraction_rate(delta: float, delta_prev: float | None) -> float:
    r"""Estimated linear rate :math:`\hat\rho = \lVert\Delta_t\rVert/\lVert\Delta_{t-1}\rVert`.

    Returns ``inf`` when there is no previous step or it was zero (no estimate).

    >>> contraction_rate(0.5, 1.0)
    0.5
    >>> contraction_rate(0.5, None)
    inf
    """
    if delta_prev is None or delta_prev <= 0.0:
        return math.inf
    return delta / delta_prev


def error_estimate(delta: float, rho: float) -> float:
    r"""A-posteriori distance of :math:`\theta_{t+1}` to the limit for a linear rate ``rho``:

    .. math:: \hat e_{t+1} = \max\left(1, \frac{\hat\rho}{1-\hat\rho}\right)\lVert\Delta_t\rVert,

    ``inf`` when :math:`\hat\rho \ge 1` (not contracting).

    >>> round(error_estimate(1e-3, 0.9), 12)   # IHT-like: the step understates the error 9x
    0.009
    >>> error_estimate(1e-3, 0.01)    # fast: the step length itself
    0.001
    """
    if not rho < 1.0:
        return math.inf
    return max(1.0, rho / (1.0 - rho)) * delta


def change_converged(delta: float, delta_prev: float | None, theta_norm: float, *,
                     tol: float, same_support: bool, same_support_prev: bool) -> bool:
    r"""Truth-free convergence test after the step :math:`\theta_t \to \theta_{t+1}`.

    True when :math:`\mathrm{supp}\,\theta_{t+1} = \mathrm{supp}\,\theta_t` and either

    * :math:`\lVert\Delta_t\rVert \le \mathrm{ROUNDOFF}\cdot\mathrm{tol}\cdot
      \lVert\theta_{t+1}\rVert` (a step at round-off level: stationary), or
    * the support was also unchanged at the previous step (so the rate is measured on one
      face), :math:`\hat\rho < 1` and :func:`error_estimate` :math:`\le
      \mathrm{tol}\,\lVert\theta_{t+1}\rVert`.

    Parameters
    ----------
    delta, delta_prev : float
        :math:`\lVert\Delta_t\rVert` and :math:`\lVert\Delta_{t-1}\rVert` (``None``: none).
    theta_norm : float
        :math:`\lVert\theta_{t+1}\rVert`.
    tol : float
        Relative accuracy asked for.
    same_support, same_support_prev : bool
        Whether the support stayed the same at this step and at the previous one.

    >>> change_converged(1e-7, 1e-4, 1.0, tol=1e-6, same_support=True, same_support_prev=True)
    True
    >>> change_converged(2e-7, 2.2e-7, 1.0, tol=1e-6, same_support=True,
    ...                  same_support_prev=True)       # rho ~ 0.9: error ~ 2e-6 > tol
    False
    """
    if not same_support:
        return False
    if delta <= ROUNDOFF * tol * theta_norm:
        return True
    if not same_support_prev:
        return False
    return error_estimate(delta, contraction_rate(delta, delta_prev)) <= tol * theta_norm


def loss_plateau(losses, *, patience: int = 5, rtol: float = 1e-12) -> bool:
    r"""True when none of the last ``patience`` losses beats the best before them by more
    than ``rtol`` (relative): :math:`\min_{s>t-p} f_s \ge (1-\mathrm{rtol})\min_{s\le t-p} f_s`.

    Catches cycling supports and steps that no longer decrease the objective.

    >>> loss_plateau([3.0, 2.0, 2.5, 2.1, 2.0], patience=3)
    True
    >>> loss_plateau([3.0, 2.0, 1.9, 1.8], patience=3)
    False
    """
    if len(losses) <= patience:
        return False
    best_before = min(losses[:-patience])
    best_recent = min(losses[-patience:])
    return best_recent >= best_before - rtol * abs(best_before)


def interpolates(loss: float, loss0: float, *, tol: float) -> bool:
    r"""True when a least-squares loss :math:`\lVert r\rVert^2/(2n)` is at round-off level:
    :math:`\lVert r\rVert \le \mathrm{ROUNDOFF}\cdot\mathrm{tol}\cdot\lVert r_0\rVert`
    (:math:`r_0 = -y`, the residual at :math:`\theta = 0`). The loss is then at its global
    minimum (zero, up to rounding), so the iterate is a solution whatever the support does
    next; noisy data never get there, exact data stop one confirming step earlier.

    >>> interpolates(1e-30, 1.0, tol=1e-6), interpolates(1e-10, 1.0, tol=1e-6)
    (True, False)
    """
    return loss <= (ROUNDOFF * tol) ** 2 * loss0


# -- rules that know the truth (the teaching API, the phase maps, the paper's figure) --------
# The array functions below take arrays with any leading axes (..., d): one iterate, a block of
# iterates (C, d), or a block of a batch (C, B, d); the single-problem loops and the batched
# engine call the same functions.

EXPLODE = 1e12  # an error this many times the scale of the problem counts as divergence
STALL = 1e-6    # relative change per step that counts as stuck (on a wrong support)


def divergence_limit(err0, theta_star_norm):
    r"""The error beyond which a run has diverged: :data:`EXPLODE`
    :math:`\cdot\max(e_0, \lVert\theta^\star\rVert, 1)` (elementwise for arrays of runs)."""
    return EXPLODE * np.maximum(np.maximum(err0, theta_star_norm), 1.0)


def diverged(loss, err, limit=np.inf):
    """True where a recorded value must not be kept: a non-finite loss or error, or an error
    above ``limit`` (:func:`divergence_limit`; ``inf`` before the first iterate is known)."""
    return ~np.isfinite(loss) | ~np.isfinite(err) | (err > limit)


def loss_diverged(loss: float, loss0: float) -> bool:
    """A loop without a truth diverged: a non-finite loss, or one :data:`EXPLODE` times the
    loss at the start."""
    return not math.isfinite(loss) or loss > EXPLODE * max(loss0, np.finfo(float).tiny)


def reached_tol(err, tol, theta_star_norm):
    r"""The oracle stop: :math:`\lVert\theta_t-\theta^\star\rVert \le \mathrm{tol}\,
    \lVert\theta^\star\rVert`."""
    return err <= tol * theta_star_norm


def _norm(a):
    return np.sqrt(np.vecdot(a, a))


def top_support(theta, k_star):
    r"""Bool mask of :math:`\mathrm{supp}\,T_{k^\star}(\theta)` along the last axis (zeros
    never count as kept). ``k_star``: an int or an int array of theta's leading shape."""
    from iobs.projections import top_k_mask

    S = theta != 0
    ks = np.broadcast_to(k_star, theta.shape[:-1])
    over = S.sum(-1) > ks                       # only rows with more than k* nonzeros cut
    if over.any():
        flat, d = S.reshape(-1, theta.shape[-1]), theta.shape[-1]
        rows = np.flatnonzero(over.ravel())
        flat[rows] &= top_k_mask(np.abs(theta.reshape(-1, d)[rows]), ks.ravel()[rows])
        S = flat.reshape(theta.shape)
    return S


def recovery_verdict(block, prev, *, truth, theta_star, scale, k_star):
    r"""The phase maps' stop rules on iterates ``block`` (C, B, d) that follow ``prev``
    (B, d): ``(ok, done)``, bool of shape (C, B). A problem **recovers** at an iterate with
    :math:`\mathrm{supp}\,T_{k^\star}(\theta_t) = \mathrm{supp}\,\theta^\star` and
    :math:`\lVert\theta_t-\theta^\star\rVert <` ``scale`` (tol times
    :math:`\lVert\theta^\star\rVert`); it is **done** there, or when it has settled on a
    wrong support (the same wrong support twice, relative change :math:`\le` :data:`STALL`),
    or at an inf or NaN entry. ``truth`` (B, d) bool, ``theta_star`` (B, d), ``scale`` (B,),
    ``k_star`` (B,). The budget is the caller's. Rarer tests run only where the cheap ones
    leave the question open."""
    seq = np.concatenate([prev[None], block])                                  # (C+1, B, d)
    S = top_support(seq, k_star)
    right = (S[1:] == truth).all(-1)
    norm = _norm(block)
    ok = right.copy()                                 # ... and near theta*
    if ok.any():
        ok[ok] = _norm(block[ok] - np.broadcast_to(theta_star, block.shape)[ok]) < \
            np.broadcast_to(scale, ok.shape)[ok]
    stuck = ~right & (_norm(block - seq[:-1]) <= STALL * norm)   # ... on the same support
    if stuck.any():
        stuck[stuck] = (S[1:][stuck] == S[:-1][stuck]).all(-1)
    bad = ~np.isfinite(norm)                          # ... with an inf or NaN entry
    if bad.any():
        bad[bad] = ~np.isfinite(block[bad]).all(-1)
    return ok, ok | stuck | bad
