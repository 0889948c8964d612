r"""The batched engine: many least-squares problems advancing together, with the solvers'
own steps.

A phase map runs thousands of small problems and the paper's figure 20 runs of 750-4000
steps; one :func:`iobs.run` per problem pays about 40 us of Python per step. Here the
problems are stacked: :class:`GramBatch` is the :class:`iobs.models.StepModel` of B problems
at once (iterates of shape (B, d)), and :func:`advance` calls the very step functions of
:mod:`iobs.solvers` (``iht``, ``htp``, ``omp``, ``topk-iobs``, ``iobs``) on the whole batch,
dropping problems as their stop rule (the caller's ``observe``) ends them. Row i of every
batched call depends on problem i alone (one gemv, LAPACK solve or argpartition per row), so
a problem's iterates do not depend on the batch it ran in; they equal the single-problem
driver's up to rounding (tests/test_engine.py compares them iterate by iterate).

Least squares in Gram form needs only d x d quantities: :math:`\nabla f = H\theta - b`
(:math:`H = X^\top X/n`, :math:`b = X^\top y/n`) and the damped Newton direction
:math:`(H + \lambda I)^{-1}\nabla f = N\theta - q` (:math:`N = I` and :math:`q = \theta_{LS}`
for the exact Newton step).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from iobs.models import NewtonPoint

__all__ = ["BATCHED", "GramBatch", "advance", "newton_map", "refit_rows"]

BATCHED = ("iht", "htp", "omp", "topk-iobs", "iobs")   # methods whose step runs on a batch


def _mv(M, theta):
    return np.matmul(M, theta[:, :, None])[:, :, 0]                           # (B, d)


def refit_rows(H, r, Q, lam):
    r"""Row i: :math:`\theta_Q = (H_{QQ} + \lambda_i I)^{-1} r_Q`, zero off :math:`Q` (the
    support refit of :meth:`iobs.models.LeastSquares.refit` for r = b); NaN where the system
    is singular (the single model's LinAlgError, which its loop turns into a failed run).
    Row by row through LAPACK's LU solve (gesv): supports differ in size from row to row,
    and a direct call skips most of NumPy's per-call overhead (1.4 us against 6.5 us for a
    10 x 10 system, measured)."""
    from scipy.linalg.lapack import dgesv       # lazy: importing the engine needs no SciPy

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


def newton_map(Xt, y, H, b, lam):
    r"""``(N, q, h)`` of one problem: the damped Newton direction
    :math:`(H+\lambda I)^{-1}(H\theta - b) = N\theta - q` and
    :math:`h = \mathrm{diag}((H+\lambda I)^{-1})`, the quantities of
    :class:`iobs.models.LeastSquares` (Woodbury for n < d: :math:`N = X^\top KX`,
    :math:`K = (XX^\top + n\lambda I)^{-1}`); ``N`` None for :math:`N = I` (no damping,
    n >= d). None when the model raises ``SingularHessian`` (no Newton point)."""
    d, n = Xt.shape
    if n < d:
        if lam <= 0.0:
            return None
        K = np.linalg.inv(Xt.T @ Xt + n * lam * np.eye(n))                   # (n, n)
        N = Xt @ (K @ Xt.T)                                                 # (d, d)
        return N, Xt @ (K @ y), (1.0 - np.diagonal(N)) / lam
    Hl = H + lam * np.eye(d)
    try:
        np.linalg.cholesky(Hl)                   # the model's test: SPD or no step
    except np.linalg.LinAlgError:
        return None
    Hinv = np.linalg.inv(Hl)
    N = Hinv @ H if lam else None
    return N, Hinv @ b, np.diagonal(Hinv).copy()


class GramBatch:
    r"""B least-squares problems :math:`f_i = \lVert X_i\theta - y_i\rVert^2/(2n_i)` in Gram
    form: the :class:`iobs.models.StepModel` of iterates of shape (B, d).

    Parameters
    ----------
    H : ndarray of shape (B, d, d)
        :math:`X_i^\top X_i/n_i`.
    b : ndarray of shape (B, d)
        :math:`X_i^\top y_i/n_i`.
    lam : ndarray of shape (B,)
        The damping :math:`\lambda_i` of the refits and corrections.
    N, q, h : optional
        The Newton map of :func:`newton_map` per problem: ``N`` (B, d, d) or None when
        :math:`N = I` for every problem, ``q`` (B, d), ``h`` (B, d). Needed by the Newton
        methods only.
    """

    def __init__(self, H, b, lam, N=None, q=None, h=None):
        self.H, self.b, self.lam, self.N, self.q, self.h = H, b, lam, N, q, h

    def take(self, rows) -> GramBatch:
        """The batch of problems ``rows`` (an index array)."""
        sub = [None if a is None else a[rows]
               for a in (self.H, self.b, self.lam, self.N, self.q, self.h)]
        return GramBatch(*sub)

    def grad(self, theta):
        return _mv(self.H, theta) - self.b

    def newton_point(self, theta, eta) -> NewtonPoint:
        direction = theta - self.q if self.N is None else _mv(self.N, theta) - self.q
        return NewtonPoint(theta, theta - eta * direction)

    def hinv_diag(self, point=None):
        return self.h

    def correction(self, point: NewtonPoint, Q):
        r""":math:`\theta_Q = z_Q + (H_{QQ}+\lambda I)^{-1}H_{QS}z_S`, row by row."""
        z = point.z
        return np.where(Q, z, 0.0) + refit_rows(self.H, _mv(self.H, np.where(Q, 0.0, z)), Q,
                                                self.lam)

    def refit(self, Q, theta=None):
        return refit_rows(self.H, self.b, Q, self.lam)


def advance(step: Callable, model: GramBatch, theta0, *, k, eta, steps: int,
            observe: Callable, block: int = 16, grow: bool = True) -> None:
    r"""Advance every problem of ``model`` with ``step`` (a function of
    :mod:`iobs.solvers`) from ``theta0`` (B, d) for at most ``steps`` steps.

    Steps go in blocks of C iterates (C = 1, 2, 4, ... up to ``block`` with ``grow``,
    else ``block``); after each block ``observe(iterates, prev, rows, t0)`` sees the block's
    iterates (C, B', d) of the problems still running (``rows``, indices into the batch),
    the iterate before the block (B', d) and the step number ``t0`` of ``iterates[0]``, and
    returns ``done`` (C, B') bool: where a problem stopped. Those problems leave the batch (a
    problem that stopped inside a block only wastes the rest of that block, whose later
    iterates the observer ignores). ``k`` (B,) ints and ``eta`` (B, 1) or a float, as the
    steps take them.
    """
    rows = np.arange(len(theta0))
    k, eta, theta, t, C = np.asarray(k), eta, theta0, 0, 1 if grow else block
    with np.errstate(all="ignore"):          # a diverging problem stops at its first inf/NaN
        while rows.size and t < steps:
            C = min(C, steps - t)
            out = np.empty((C, rows.size, theta.shape[1]))
            th = theta
            for c in range(C):
                th = out[c] = step(th, model, k, eta)
            done = observe(out, theta, rows, t + 1).any(0)
            if done.any():
                keep = np.flatnonzero(~done)
                rows, model, k = rows[keep], model.take(keep), k[keep]
                eta = eta[keep] if np.ndim(eta) else eta
                out = out[:, keep]
            theta, t, C = out[-1], t + C, min(2 * C, block) if grow else C
