r"""Curvature models: what a solver step asks of the objective, behind one interface.

(Over 300 lines: the interface and its two implementations read together; the data access
lives in :mod:`iobs.design`, the factorizations in :mod:`iobs.linalg`.)

A step needs the gradient :math:`g`, the damped Newton point
:math:`\theta^+ = \theta - \eta(H + \lambda I)^{-1}g`, :math:`\mathrm{diag}((H+\lambda I)^{-1})`
for OBS saliency, the OBS correction on a kept set, and a refit on a support (HTP, OMP):
:class:`StepModel`. The Newton point is a value (:class:`NewtonPoint`) that carries what the
model knew at :math:`\theta`; the correction and the saliency take it as an argument, so no
call depends on an earlier one. :class:`CurvatureModel` adds the dense queries of the
single-problem methods (greedy OBC, exact search, diagonal, working set). Implementations:

* :class:`LeastSquares` -- constant :math:`H = X^\top X/n`, matrix-free: the d x d Hessian
  is never formed when ``n < d`` (Woodbury through an n x n system, factored once), a d x d
  factorization once when ``n >= d``; the correction is a k x k solve on columns gathered
  from the row-major :math:`X^\top`.
* :class:`Smooth` -- any objective of :class:`~iobs.problems.Problem`: the dense Hessian at
  the current iterate (small d), used for ``logcosh``, ``logistic`` and mini-batches.
* :class:`iobs.research.engine.GramBatch` -- many least-squares problems stacked, for
  iterates of shape (B, d): the same steps advance them all at once.

Named safeguards: ``damping`` :math:`\lambda = \text{damping}\cdot\mathrm{mean}(\mathrm{diag}H)`
(:func:`damping_lambda`, the one place the formula lives);
a singular Hessian without damping raises :class:`SingularHessian`; factorization failures
surface as ``numpy.linalg.LinAlgError``. The solver driver turns both into a clean stop.
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

import numpy as np

from iobs._validate import check_memory
from iobs.backend import xp_of
from iobs.design import Design
from iobs.linalg import (FactoredInverse, add_to_diagonal, cholesky_inverse,
                         cholesky_inverse_rescued, cholesky_solver, cholesky_solver_rescued,
                         inverse_spd, max_eig)

__all__ = ["FLOAT32_BLOCK", "CurvatureModel", "LeastSquares", "NewtonPoint",
           "SingularHessian", "Smooth", "StepModel", "damping_lambda", "make_model"]


FLOAT32_BLOCK = 64  # working-set blocks of this many columns or more are factored in float32
# (64: at 96 columns the float32 Gram + potrf + trsm cost half the float64 ones, measured at
# (256, 1024, 32); the block only steers, the coefficients stay float64, see block_factor)


class SingularHessian(ArithmeticError):
    """The (undamped) Hessian is singular, so the Newton point does not exist."""


def damping_lambda(damping: float, hdiag) -> float:
    r"""The damping added to the Hessian: :math:`\lambda = \text{damping}\cdot
    \mathrm{mean}(\mathrm{diag}\,H)`, relative so that it does not depend on the scale of
    the data (SparseGPT's ``0.01 * mean(diag H)``). ``hdiag``: the diagonal of H (NumPy,
    CuPy or torch).

    >>> damping_lambda(0.01, np.array([1.0, 3.0]))
    0.02
    """
    return damping * float(hdiag.mean())


class NewtonPoint(NamedTuple):
    r"""The damped Newton point :math:`z = \theta - \eta(H+\lambda I)^{-1}\nabla f(\theta)`
    as a value: ``theta`` (where the curvature was taken), ``z`` (same shape) and ``aux``,
    what the model that made it needs later (:class:`LeastSquares`: :math:`Xz` or None;
    :class:`Smooth`: the damped ``(H, Hinv)`` at theta; a batch: None)."""

    theta: object
    z: object
    aux: object = None


class StepModel(Protocol):
    """What the steps of ``iht``, ``htp``, ``omp``, ``topk-iobs`` and ``iobs`` ask of an
    objective; single problems (theta of shape (d,)) and batches ((B, d)) alike."""

    def grad(self, theta): ...
    def newton_point(self, theta, eta) -> NewtonPoint: ...
    def hinv_diag(self, point: NewtonPoint): ...
    def correction(self, point: NewtonPoint, Q): ...
    def refit(self, Q, theta): ...


class CurvatureModel(StepModel, Protocol):
    """A single problem's model: the step queries, the loss and step size, and the dense
    curvature that greedy OBC, the exact search, OBD and the working set read."""

    d: int

    def loss(self, theta) -> float: ...
    def lipschitz(self) -> float: ...
    def hessian(self, point: NewtonPoint): ...
    def hinv(self, point: NewtonPoint): ...
    def hdiag(self, theta): ...
    def block_factor(self, theta, idx): ...
    def newton_on(self, theta, g, idx, eta): ...


class LeastSquares:
    r"""Matrix-free curvature of :math:`f = \lVert X_c\theta-y\rVert^2/(2n)` with damping.

    ``X`` is read through a :class:`~iobs.design.Design` (never copied; ``center`` centres it
    implicitly, as :func:`iobs.fit` does). For ``n < d`` with :math:`G = X_cX_c^\top` and
    :math:`K = (G + n\lambda I)^{-1}` (n x n, formed once, in place), the Newton direction is

    .. math:: (H+\lambda I)^{-1}\nabla f = X_c^\top w,\qquad
              w = \frac{r - KGr}{n\lambda} = Kr \quad (KG = I - n\lambda K),
              \qquad r = X_c\theta - y,

    one product with :math:`X_c^\top` per iteration, and :math:`X_cz = X_c\theta - \eta Gw`
    comes for free for the OBS correction. ``X theta`` for a k-sparse theta reads k columns
    only, and the residual of the last iterate asked about is kept, so the loss and the next
    gradient share it.
    """

    def __init__(self, prob, damping: float = 0.0, *, center=None):
        self.prob, self.xp = prob, xp_of(prob.X)
        self.design = Design(prob.X, center)
        self.y = prob.y
        self.n, self.d = prob.X.shape
        self.lam = damping_lambda(damping, self.Hdiag) if damping else 0.0
        self._Hinv = None       # (d, d), dense path only
        self._G = self._K = None  # (n, n): X X^T and (n lam I + X X^T)^{-1}, Woodbury path
        self._hinv_diag = None
        self._L = None
        self._gram_cache = (None, None, None)
        self._res = (None, None)  # (theta, X theta - y): the last residual, by identity

    @property
    def woodbury(self) -> bool:
        return self.n < self.d

    @property
    def Xt(self):
        """:math:`X^\\top` (d, n), a view (uncentred models only: the batched engine's input)."""
        if self.design.c is not None:
            raise ValueError("Xt is defined for uncentred models only")
        return self.design.X.T

    @property
    def Hdiag(self):
        """diag(H) = squared column norms / n (one blocked pass the first time)."""
        return self.design.sq_norms() / self.n

    # -- first order --------------------------------------------------------------
    def residual(self, theta):
        r""":math:`X_c\theta - y`; the last one is kept (steps never mutate their input)."""
        if self._res[0] is not theta:
            self._res = (theta, self.design.matvec(theta) - self.y)
        return self._res[1]

    def loss(self, theta) -> float:
        r = self.residual(theta)
        return 0.5 * float(r @ r) / self.n

    def matvec(self, theta):
        """X theta, reading only the support's columns when theta is sparse."""
        return self.design.matvec(theta)

    def grad(self, theta):
        return self.design.rmatvec(self.residual(theta)) / self.n

    def lipschitz(self) -> float:
        r""":math:`L = \lambda_{\max}(X^\top X/n)` (power iteration)."""
        if self._L is None:
            D = self.design
            self._L = max_eig(lambda v: D.rmatvec(D.matvec(v)) / self.n, self.d, self.xp)
        return self._L

    # -- second order -------------------------------------------------------------
    def _factor(self):
        if self.woodbury:
            if self.lam <= 0.0:
                raise SingularHessian(f"H = X^T X / n is singular because n = {self.n} < "
                                      f"d = {self.d}; set damping > 0")
            if self._K is None:
                check_memory("n", "the n x n Woodbury system", 2.5 * 8 * self.n ** 2)
                self._G = self.design.outer()
                M = self._G.copy()
                add_to_diagonal(M, self.n * self.lam)
                self._K = inverse_spd(M, overwrite=True)
        elif self._Hinv is None:
            check_memory("d", "the dense d x d Hessian path", 3.0 * 8 * self.d ** 2)
            H = self.hessian()
            try:
                self._Hinv = inverse_spd(H, overwrite=True)
            except np.linalg.LinAlgError as exc:
                raise SingularHessian("H is singular (rank-deficient X); set damping > 0") \
                    from exc

    def newton_point(self, theta, eta) -> NewtonPoint:
        r""":math:`z = \theta - \eta(H+\lambda I)^{-1}\nabla f(\theta)`, with :math:`Xz` on the
        Woodbury path (free there; the correction reads it)."""
        self._factor()
        r = self.residual(theta)
        if self.woodbury:
            w = self._K @ r                 # = (r - K G r) / (n lam), since K G = I - n lam K
            z = theta - eta * self.design.rmatvec(w)
            return NewtonPoint(theta, z, r + self.y - eta * (self._G @ w))
        return NewtonPoint(theta, theta - eta * (self._Hinv @ (self.design.rmatvec(r) / self.n)))

    def hinv_diag(self, point=None):
        """diag((H + lam I)^{-1}); on the Woodbury path in column blocks (no n x d temp)."""
        self._factor()
        if self._hinv_diag is None:
            if self.woodbury:
                xp = self.xp
                out = xp.empty(self.d)
                for j0, j1 in self.design.blocks():
                    B = self.design.column_block(j0, j1)                     # (n, b)
                    out[j0:j1] = (1.0 - xp.einsum("ij,ij->j", B, self._K @ B)) / self.lam
                self._hinv_diag = out
            else:
                self._hinv_diag = self.xp.diagonal(self._Hinv).copy()
        return self._hinv_diag

    def hdiag(self, theta):
        """diag(H) + lam: the diagonal (OBD) curvature."""
        return self.Hdiag + self.lam

    def hessian(self, point=None):
        check_memory("d", "the dense d x d Hessian", 2.0 * 8 * self.d ** 2)
        return self.design.dense_gram() / self.n + self.lam * self.xp.eye(self.d)

    def hinv(self, point=None):
        """Dense (H + lam I)^{-1}, for greedy OBC and the exact search (small d)."""
        self._factor()
        if self.woodbury:
            check_memory("d", "the dense d x d inverse Hessian", 2.0 * 8 * self.d ** 2)
            Xc = self.design.centred()
            return (self.xp.eye(self.d) - Xc.T @ (self._K @ Xc)) / self.lam
        return self._Hinv

    def block_factor(self, theta, idx):
        r""":math:`L^{-1}` with :math:`H_{WW}+\lambda I = LL^\top` for the sorted columns
        ``idx`` (never the full Hessian). The Gram of columns shared with the previous call's
        set is reused (:meth:`Design.gram`). Blocks of :data:`FLOAT32_BLOCK` columns or more
        are formed and factored in float32 (1.8x faster at 600 columns, measured): the block
        only steers the step (its direction and which coordinates it keeps), while the
        gradient, the residual and :meth:`newton_on`, which sets the coefficients, stay
        float64, so the fixed points are float64-exact. A float32 block that fails to factor
        is redone in float64, then rescued (:func:`iobs.linalg.cholesky_inverse_rescued`)."""
        if len(idx) >= FLOAT32_BLOCK:
            try:
                return cholesky_inverse(self._block(idx, low=True))
            except np.linalg.LinAlgError:
                pass                                   # redone in float64 below
        return cholesky_inverse_rescued(self._block(idx, low=False))

    def _block(self, idx, *, low: bool):
        """H_WW + lam I for the sorted columns idx (float32 with ``low``)."""
        return add_to_diagonal(self.design.gram(idx, low=low)[1] / self.n, self.lam)

    def newton_on(self, theta, g, idx, eta):
        r"""The damped Newton step restricted to the sorted columns ``idx``: the minimiser
        over vectors supported on ``idx`` of :math:`\eta g^\top(u-\theta) +
        \tfrac12(u-\theta)^\top(H+\lambda I)(u-\theta)`,

        .. math:: (H_{QQ}+\lambda I)\,u_Q = [(H+\lambda I)\theta]_Q - \eta g_Q,

        which is the OBS correction of the Newton point onto ``idx`` (float64, a k x k
        system reused while ``idx`` repeats; its fixed points have :math:`g_Q = 0` whatever
        the damping, so a singular system is solved with rescue damping,
        :func:`iobs.linalg.cholesky_inverse_rescued`)."""
        xp = self.xp
        out = xp.zeros(self.d)
        if len(idx) == 0:
            return out
        XQ, Ginv = self._gram(idx, strict=False)
        Xtheta = self.residual(theta) + self.y                          # X_c theta, (n,)
        rhs = XQ.T @ Xtheta / self.n + self.lam * theta[idx] - eta * g[idx]
        out[idx] = u = Ginv @ rhs
        self._res = (out, XQ @ u - self.y)    # the next loss and gradient read it: no gather
        return out

    def _gram(self, idx, strict: bool = True):
        """(X_Q, (X_Q^T X_Q / n + lam I)^{-1}) for support idx, the inverse kept as a
        Cholesky factor (:func:`iobs.linalg.cholesky_solver`); reused while it repeats. A
        singular system raises ``LinAlgError`` (``strict``) or is rescued."""
        key = self.xp.asnumpy(idx).tobytes() if self.xp is not np else idx.tobytes()
        if self._gram_cache[0] != key:
            XQ = self.design.columns(idx)                               # (n, k) gather
            G = XQ.T @ XQ
            G /= self.n
            add_to_diagonal(G, self.lam)
            self._gram_cache = (key, XQ, cholesky_solver(G) if strict else
                                cholesky_solver_rescued(G))
        return self._gram_cache[1], self._gram_cache[2]

    def correction(self, point: NewtonPoint, Q):
        """OBS correction on kept mask Q: theta_Q = z_Q + H_QQ^{-1} H_QS z_S (k x k solve)."""
        xp = self.xp
        z, Xz = point.z, point.aux
        idx = xp.flatnonzero(Q)
        theta = xp.zeros_like(z)
        if idx.size == 0:
            return theta
        XQ, Ginv = self._gram(idx)
        if Xz is None:
            Xz = self.design.matvec(z)
        rS = Xz - XQ @ z[idx]                                           # X_S z_S, (n,)
        theta[idx] = z[idx] + Ginv @ (XQ.T @ rS / self.n)
        return theta

    def refit(self, Q, theta):
        """argmin of f + lam/2 |theta|^2 over vectors supported on Q (a k x k solve)."""
        xp = self.xp
        idx = xp.flatnonzero(Q)
        out = xp.zeros(self.d)
        if idx.size:
            XQ, Ginv = self._gram(idx)
            out[idx] = Ginv @ (XQ.T @ self.y / self.n)
        return out


class Smooth:
    """Dense curvature of any problem objective, evaluated at each iterate (small d)."""

    def __init__(self, prob, damping: float = 0.0):
        self.prob, self.xp = prob, xp_of(prob.X)
        self.d = prob.d
        self.damping = damping
        self._L = None

    def loss(self, theta) -> float:
        return self.prob.loss(theta)

    def grad(self, theta):
        return self.prob.grad(theta)

    def lipschitz(self) -> float:
        """A certified global bound: the Hessian weights are at most 1 + beta (log-cosh),
        1/4 (logistic) or 1 (least squares)."""
        if self._L is None:
            p = self.prob
            w = {"logcosh": 1.0 + p.params.get("beta", 0.0), "logistic": 0.25}.get(p.kind, 1.0)
            gram = max_eig(lambda v: p.X.T @ (p.X @ v) / p.n, self.d, self.xp)
            self._L = w * gram + p.params.get("ridge", 0.0) * (p.kind == "logistic")
        return self._L

    def _damped_hessian(self, theta):
        H = self.prob.hessian(theta)
        return H + damping_lambda(self.damping, self.xp.diagonal(H)) * self.xp.eye(self.d)

    def newton_point(self, theta, eta) -> NewtonPoint:
        """The Newton point, carrying the damped ``(H, Hinv)`` at theta."""
        H = self._damped_hessian(theta)
        try:
            Hinv = inverse_spd(H)
        except np.linalg.LinAlgError as exc:
            raise SingularHessian("the Hessian at the current iterate is singular or "
                                  "indefinite; set damping > 0") from exc
        return NewtonPoint(theta, theta - eta * (Hinv @ self.prob.grad(theta)), (H, Hinv))

    def hinv_diag(self, point: NewtonPoint):
        return self.xp.diagonal(point.aux[1]).copy()

    def hessian(self, point: NewtonPoint):
        return point.aux[0]

    def hinv(self, point: NewtonPoint):
        return point.aux[1]

    def hdiag(self, theta):
        return self.xp.diagonal(self._damped_hessian(theta)).copy()

    def block_factor(self, theta, idx):
        return cholesky_inverse_rescued(self._damped_hessian(theta)[self.xp.ix_(idx, idx)])

    def newton_on(self, theta, g, idx, eta):
        xp = self.xp
        H = self._damped_hessian(theta)
        out = xp.zeros(self.d)
        if len(idx):
            inv = FactoredInverse(cholesky_inverse_rescued(H[xp.ix_(idx, idx)]))
            out[idx] = inv @ (H[idx] @ theta - eta * g[idx])
        return out

    def correction(self, point: NewtonPoint, Q):
        from iobs.projections import obs_correction
        return obs_correction(point.z, point.aux[0], Q)

    def refit(self, Q, theta, iters: int = 30):
        """argmin of f + lam/2 |theta|^2 on support Q by Newton's method (stops when still;
        lam = damping * mean diag H at the current point, as in :class:`LeastSquares`)."""
        xp = self.xp
        th = xp.where(Q, theta, 0.0)
        idx = xp.flatnonzero(Q)
        for _ in range(iters):
            Hfull = self.prob.hessian(th)
            lam = damping_lambda(self.damping, xp.diagonal(Hfull))
            g = self.prob.grad(th)[idx] + lam * th[idx]
            H = Hfull[xp.ix_(idx, idx)] + lam * xp.eye(idx.size)
            step = xp.linalg.solve(H, g)
            th[idx] = th[idx] - step
            if float(xp.linalg.norm(step)) <= 1e-12 * (1.0 + float(xp.linalg.norm(th))):
                break
        return th


def make_model(prob, damping: float):
    """The cheapest exact model for ``prob``: matrix-free for least squares."""
    return LeastSquares(prob, damping) if prob.quadratic else Smooth(prob, damping)
