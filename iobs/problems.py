r"""Seeded sparse-recovery problems: a design, a sparse truth and an objective.

Least-squares kinds use

.. math:: f(\theta) = \frac{1}{2n}\lVert X\theta - y\rVert^2,\qquad
          \nabla f = X^\top(X\theta - y)/n,\qquad \nabla^2 f = X^\top X / n,

with :math:`y = X\theta^\star + \sigma\varepsilon`. Two non-quadratic kinds:

* ``logcosh``: :math:`f = \frac{1}{2n}\lVert r\rVert^2 + \frac{\beta}{n}\sum_i\log\cosh r_i`,
  :math:`r = X\theta - y`; with ``noise=0`` the truth is the minimizer and every
  assumption of the paper's Theorem 1 holds with computable constants (PAPER.md, R).
* ``logistic``: :math:`f = \frac1n\sum_i[\log(1+e^{x_i^\top\theta}) - b_i x_i^\top\theta]
  + \frac{\gamma}{2}\lVert\theta\rVert^2` with labels :math:`b_i\sim\mathrm{Bernoulli}
  (\sigma(x_i^\top\theta^\star))`; realistic, the assumptions only hold approximately.

Everything random is drawn on the host from ``np.random.default_rng(seed)``, so NumPy
and CuPy runs see the same numbers (:meth:`Problem.to` moves the arrays).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from iobs._validate import check_choice, check_float, check_int, check_memory
from iobs.backend import xp_of

__all__ = ["KINDS", "Problem", "make_problem"]

KINDS = ("gaussian", "correlated", "scaled", "digits", "logcosh", "logistic")
SIGNALS = ("gaussian", "sign")


@dataclass(frozen=True, eq=False)
class Problem:
    """A sparse-recovery instance: ``X`` (n, d), ``y`` (n,), ``theta_star`` (d,).

    ``params`` holds the kind's knobs (``rho``, ``cond``, ``beta``, ...). The objective
    methods accept NumPy or CuPy vectors living where ``X`` lives.
    """

    kind: str
    X: np.ndarray
    y: np.ndarray
    theta_star: np.ndarray
    k_star: int
    noise: float = 0.0
    seed: int = 0
    params: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.X.shape[0])

    @property
    def d(self) -> int:
        return int(self.X.shape[1])

    @property
    def quadratic(self) -> bool:
        """True for least squares (constant Hessian ``X^T X / n``)."""
        return self.kind not in ("logcosh", "logistic")

    def to(self, xp) -> Problem:
        """The same problem with its arrays on backend ``xp`` (NumPy or CuPy)."""
        if xp_of(self.X) is xp:
            return self
        move = xp.asarray if xp is not np else (lambda a: a.get())
        return dataclasses.replace(self, X=move(self.X), y=move(self.y),
                                   theta_star=move(self.theta_star))

    def rows(self, idx) -> Problem:
        """The sub-problem on rows ``idx`` (a mini-batch); same truth and kind."""
        return dataclasses.replace(self, X=self.X[idx], y=self.y[idx])

    # -- objective ----------------------------------------------------------------
    def _margin(self, theta):
        return self.X @ theta - (0 if self.kind == "logistic" else self.y)

    def loss(self, theta) -> float:
        """f(theta) as a Python float."""
        xp = xp_of(self.X)
        z = self._margin(theta)
        if self.kind == "logistic":
            gamma = self.params["ridge"]
            val = xp.mean(xp.logaddexp(0.0, z) - self.y * z) + 0.5 * gamma * theta @ theta
        elif self.kind == "logcosh":
            beta = self.params["beta"]
            a = xp.abs(z)  # log cosh r = |r| + log1p(exp(-2|r|)) - log 2, overflow-free
            logcosh = a + xp.log1p(xp.exp(-2.0 * a)) - np.log(2.0)
            val = 0.5 * xp.mean(z * z) + beta * xp.mean(logcosh)
        else:
            val = 0.5 * xp.mean(z * z)
        return float(val)

    def _weights(self, z):
        """(residual-like vector r, Hessian weights w) so that grad = X^T r / n, H = X^T W X / n."""
        xp = xp_of(z)
        if self.kind == "logistic":
            p = 0.5 * (1.0 + xp.tanh(0.5 * z))  # sigmoid without overflow
            return p - self.y, p * (1.0 - p)
        if self.kind == "logcosh":
            beta = self.params["beta"]
            t = xp.tanh(z)
            return z + beta * t, 1.0 + beta * (1.0 - t * t)
        return z, None

    def grad(self, theta):
        """Gradient of f at theta, shape (d,)."""
        r, _ = self._weights(self._margin(theta))
        g = self.X.T @ r / self.n
        if self.kind == "logistic":
            g = g + self.params["ridge"] * theta
        return g

    def hessian(self, theta):
        """Dense Hessian of f at theta, shape (d, d). Costs O(n d^2): small d only."""
        check_memory("d", "the dense d x d Hessian", 2.0 * 8 * self.d ** 2)
        xp = xp_of(self.X)
        _, w = self._weights(self._margin(theta))
        Xw = self.X if w is None else self.X * w[:, None]
        H = self.X.T @ Xw / self.n
        if self.kind == "logistic":
            H = H + self.params["ridge"] * xp.eye(self.d)
        return H

    def hvp(self, theta, v):
        """Hessian-vector product without forming the Hessian: ``X^T W X v / n``."""
        _, w = self._weights(self._margin(theta))
        Xv = self.X @ v
        out = self.X.T @ (Xv if w is None else w * Xv) / self.n
        if self.kind == "logistic":
            out = out + self.params["ridge"] * v
        return out


def _truth(rng, d, k_star, signal):
    theta = np.zeros(d)
    S = rng.choice(d, size=k_star, replace=False)
    theta[S] = rng.standard_normal(k_star) if signal == "gaussian" else rng.choice([-1.0, 1.0],
                                                                                    k_star)
    return theta


def _digit_image(index: int, scale: int, canvas: int) -> np.ndarray:
    """A scikit-learn digit (8x8, 0..16) upsampled ``scale``x, centred on a canvas, 0..255."""
    from sklearn.datasets import load_digits

    images = load_digits().images
    img = np.kron(images[index % len(images)], np.ones((scale, scale))) * (255.0 / 16.0)
    side = img.shape[0]
    if canvas < side:
        raise ValueError(f"canvas must be >= 8*scale = {side}; got {canvas}")
    out = np.zeros((canvas, canvas))
    o = (canvas - side) // 2
    out[o:o + side, o:o + side] = img
    return out.ravel()


def make_problem(kind: str = "gaussian", *, d: int | None = 128, n: int = 256,
                 k_star: int | None = 16, noise: float = 0.0, seed: int = 0,
                 signal: str = "gaussian", rho: float = 0.9, cond: float = 100.0,
                 beta: float = 1.0, ridge: float = 1e-4, index: int = 0, scale: int = 2,
                 canvas: int = 28) -> Problem:
    r"""Build a seeded sparse-recovery problem.

    Parameters
    ----------
    kind : {"gaussian", "correlated", "scaled", "digits", "logcosh", "logistic"}
        ``gaussian``: :math:`X_{ij}\sim N(0, 1/n)`. ``correlated``: rows
        :math:`\sim N(0, \Sigma/n)` with :math:`\Sigma_{ij} = \rho^{|i-j|}` (an AR(1) along
        the columns). ``scaled``: Gaussian columns times scales log-spaced over a ratio
        :math:`\sqrt{\mathrm{cond}}`, so the column scales alone give :math:`\kappa(H)`
        about ``cond``. ``digits``: :math:`\theta^\star` is a scikit-learn digit image
        (upsampled ``scale``x, centred on a ``canvas`` x ``canvas`` image, pixels 0..255);
        ``d`` is ``canvas**2`` and ``k_star`` its nonzeros. ``logcosh`` / ``logistic``:
        the non-quadratic objectives of the module docstring, Gaussian design.
    d, n, k_star : int
        Dimension, samples, nonzeros of the truth (``1 <= k_star <= d``).
    noise : float
        Standard deviation of the additive noise on ``y`` (regression kinds).
    seed : int
        Seed of ``np.random.default_rng``; same seed, same problem on every backend.
    signal : {"gaussian", "sign"}
        Nonzero values of the truth: :math:`N(0, 1)` or :math:`\pm 1`.

    Examples
    --------
    >>> prob = make_problem("gaussian", d=64, n=32, k_star=4, seed=1)
    >>> prob.X.shape, int((prob.theta_star != 0).sum())
    ((32, 64), 4)
    """
    check_choice("kind", kind, KINDS)
    check_choice("signal", signal, SIGNALS)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    n = check_int("n", n, 1, 10**7)
    noise = check_float("noise", noise, 0.0, 1e6)
    if kind == "digits":
        scale = check_int("scale", scale, 1, 8)
        canvas = check_int("canvas", canvas, 8 * scale, 256)
        if d is not None and check_int("d", d, 1) != canvas ** 2:
            raise ValueError(f"d must equal canvas**2 = {canvas ** 2} for kind='digits'; "
                             f"got {d}")
        d = canvas ** 2
    d = check_int("d", d, 1, 10**8)
    check_memory("n * d", f"a problem with n={n}, d={d}", 1.2 * 8 * n * d)
    rng = np.random.default_rng(seed)
    params: dict = {}
    if kind == "digits":
        index = check_int("index", index, 0, 10**6)
        theta_star = _digit_image(index, scale, canvas)
        k_star = int(np.count_nonzero(theta_star))
        params.update(index=index, scale=scale, canvas=canvas)
    else:
        if k_star is None:
            raise ValueError("k_star must be given (an integer in [1, d]) for kind="
                             f"{kind!r}; got None")
        k_star = check_int("k_star", k_star, 1, d)
        theta_star = _truth(rng, d, k_star, signal)
        params["signal"] = signal
    G = rng.standard_normal((d, n)).T   # (n, d) column-major: columns are contiguous
    if kind == "correlated":
        rho = check_float("rho", rho, 0.0, 1.0, hi_open=True)
        for j in range(1, d):  # AR(1) across columns: corr(x_i, x_j) = rho^|i-j|
            G[:, j] *= np.sqrt(1.0 - rho * rho)
            G[:, j] += rho * G[:, j - 1]
        params["rho"] = rho
    elif kind == "scaled":
        cond = check_float("cond", cond, 1.0, 1e12)
        G *= rng.permutation(np.logspace(0.0, -0.5 * np.log10(cond), d))
        params["cond"] = cond
    if kind == "logistic":
        ridge = check_float("ridge", ridge, 0.0, 1e6)
        G *= 2.0 / np.sqrt(max(k_star, 1))  # margins x_i^T theta* of order 2: informative
        X = G
        p = 1.0 / (1.0 + np.exp(-(X @ theta_star)))
        y = (rng.random(n) < p).astype(np.float64)
        params["ridge"] = ridge
    else:
        G /= np.sqrt(n)                     # in place: peak memory stays at one copy of X
        X = G
        y = X @ theta_star + noise * rng.standard_normal(n)
    if kind == "logcosh":
        params["beta"] = check_float("beta", beta, 0.0, 1e6)
    return Problem(kind=kind, X=X, y=y, theta_star=theta_star, k_star=int(k_star),
                   noise=noise, seed=seed, params=params)


def from_arrays(X, y, theta_star=None, *, loss: str = "squared",
                ridge: float = 1e-4) -> Problem:
    r"""A problem on supplied data (validated and copied to float64).

    Parameters
    ----------
    X : array of shape (n, d)
    y : array of shape (n,)
        Responses (``loss="squared"``) or labels in {0, 1} (``loss="logistic"``).
    theta_star : array of shape (d,), optional
        The truth to measure errors against (default: zeros, so ``error`` is
        :math:`\lVert\theta_t\rVert`).
    loss : {"squared", "logistic"}
        ``"squared"``: :math:`f = \lVert X\theta-y\rVert^2/(2n)` (kind ``"data"``).
        ``"logistic"``: the ``"logistic"`` kind's objective
        :math:`f = \frac1n\sum_i[\log(1+e^{x_i^\top\theta}) - y_i x_i^\top\theta]
        + \frac{\gamma}{2}\lVert\theta\rVert^2`.
    ridge : float
        :math:`\gamma \ge 0` of the logistic objective (ignored for squared loss).

    Raises
    ------
    ValueError
        Naming the argument, for wrong shapes, empty arrays, non-finite values, labels
        other than 0/1 (logistic) or an unknown ``loss``.
    """
    from iobs._validate import check_array

    check_choice("loss", loss, ("squared", "logistic"))
    X = check_array("X", X, ndim=2)
    n, d = X.shape
    check_memory("n * d", f"a problem with n={n}, d={d}", 2.2 * 8 * n * d)
    y = check_array("y", y, ndim=1, shape=(n,))
    ts = np.zeros(d) if theta_star is None else check_array("theta_star", theta_star, ndim=1,
                                                             shape=(d,))
    kind, params = "data", {}
    if loss == "logistic":
        bad = (y != 0.0) & (y != 1.0)
        if bad.any():
            raise ValueError(f"y must hold binary labels 0 or 1 for loss='logistic'; got "
                             f"{float(y[bad][0])!r} at index {int(np.flatnonzero(bad)[0])}")
        kind, params = "logistic", {"ridge": check_float("ridge", ridge, 0.0, 1e6)}
    return Problem(kind=kind, X=np.asfortranarray(X), y=y, theta_star=ts,
                   k_star=int(np.count_nonzero(ts)), params=params)
