r"""Sparse fitting on your own data: :func:`fit` stops by itself, without a truth.

(Over 300 lines: validation, the intercepts of both losses and the loop read together.)

.. math:: \min_{\theta, b}\ f(\theta, b)\quad\text{s.t.}\quad\lVert\theta\rVert_0 \le k,

with the squared loss :math:`f = \lVert X\theta + b - y\rVert^2/(2n)` or the logistic loss
:math:`f = \frac1n\sum_i[\log(1+e^{m_i}) - y_i m_i] + \frac{\gamma}{2}\lVert\theta\rVert^2`,
:math:`m = X\theta + b`. The loop calls one solver step at a time
(``METHODS[name].step``), refreshes the intercept, and applies the truth-free rules of
:mod:`iobs.stopping`.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field, fields, replace

import numpy as np

from iobs import backend as _be
from iobs._validate import check_array, check_choice, check_float, check_int
from iobs.design import scan
from iobs.models import LeastSquares, make_model
from iobs.problems import Problem
from iobs.solvers import METHODS
from iobs.stopping import change_converged, interpolates, loss_diverged, loss_plateau

__all__ = ["FitResult", "fit"]

LOSSES = ("squared", "logistic")
PATIENCE = 5          # steps without a new lowest loss before the plateau rule stops
_USES_ETA = {"iht", "htp"}   # first-order methods whose step reads eta (OMP does not)


@dataclass(frozen=True, eq=False)
class FitResult:
    """What :func:`fit` returns (NumPy arrays; ``loss[0]`` is the loss at the start)."""

    coef: np.ndarray       # (d,) at most k nonzeros
    intercept: float
    support: np.ndarray    # (d,) bool, coef != 0
    steps: int
    converged: bool
    stopped: str           # the reason the loop ended, in words
    loss: np.ndarray       # (steps + 1,) training loss per step
    seconds: float         # the whole call, set-up included
    method: str
    k: int
    config: dict = field(default_factory=dict)
    times: np.ndarray | None = None   # (steps + 1,) seconds since the call began, per loss

    def predict(self, X) -> np.ndarray:
        """The linear predictor :math:`X\theta + b` (margins for the logistic loss)."""
        return np.asarray(X, dtype=float) @ self.coef + self.intercept


@dataclass(frozen=True, eq=False)
class _Shifted(Problem):
    """The logistic problem with a fixed intercept: margins :math:`X\\theta + b`."""

    offset: float = 0.0

    def _margin(self, theta):
        return self.X @ theta + self.offset


def _logistic_intercept(m, y_mean: float, b: float, iters: int = 60) -> float:
    r"""Exact unpenalised intercept for margins ``m``: the root of
    :math:`\phi(b) = \mathrm{mean}\,\sigma(m + b) - \bar y` (increasing in b), by Newton's
    method kept inside the bracket :math:`\mathrm{logit}\,\bar y \pm \max|m|`, bisecting
    whenever a Newton step leaves it."""
    xp = _be.xp_of(m)
    c = math.log(y_mean / (1.0 - y_mean))
    M = float(xp.max(xp.abs(m)))
    lo, hi = c - M - 1e-12, c + M + 1e-12
    b = min(max(b, lo), hi)
    for _ in range(iters):
        p = 0.5 * (1.0 + xp.tanh(0.5 * (m + b)))
        phi, dphi = float(p.mean()) - y_mean, float((p * (1.0 - p)).mean())
        lo, hi = (b, hi) if phi < 0 else (lo, b)
        nb = b - phi / dphi if dphi > 0 else 0.5 * (lo + hi)
        if not lo < nb < hi:
            nb = 0.5 * (lo + hi)
        if abs(nb - b) <= 1e-13 * (1.0 + abs(b)):
            return nb
        b = nb
    return b


def _validate(X, y, k, method, loss, tol, max_steps, damping, eta, ridge, center):
    X = check_array("X", X, ndim=2, copy=False, finite=False)   # read only, never copied
    x_mean, dead = scan(X, center=center)    # finite? column means, constant columns
    n, d = X.shape
    y = check_array("y", y, ndim=1, shape=(n,))
    check_choice("method", method, METHODS)
    check_choice("loss", loss, LOSSES)
    k = check_int("k", k, 1, d)
    spec = METHODS[method]
    if spec.max_d is not None and d > spec.max_d:
        raise ValueError(f"d must be <= {spec.max_d} for method {method!r}; got {d}")
    tol = check_float("tol", tol, 0.0, 1.0, lo_open=True, hi_open=True)
    max_steps = check_int("max_steps", max_steps, 1, 10**6)
    if damping is not None:
        damping = check_float("damping", damping, 0.0, 1e6)
    if eta is not None:
        eta = check_float("eta", eta, 0.0, 1e6, lo_open=True)
    ridge = check_float("ridge", ridge, 0.0, 1e6)
    if loss == "logistic":
        bad = (y != 0.0) & (y != 1.0)
        if bad.any():
            raise ValueError(f"y must hold binary labels 0 or 1 for loss='logistic'; got "
                             f"{float(y[bad][0])!r} at index {int(np.flatnonzero(bad)[0])}")
    return X, y, k, tol, max_steps, damping, eta, ridge, x_mean, dead


def fit(X, y, *, k: int, method: str = "iobs-ws", loss: str = "squared",
        fit_intercept: bool = True, tol: float = 1e-6, max_steps: int = 200,
        damping: float | None = None, eta: float | None = None, ridge: float = 1e-4,
        backend: str | None = None) -> FitResult:
    r"""Fit a k-sparse linear model to ``(X, y)``; stops by itself (no truth needed).

    Solves :math:`\min f(\theta, b)` s.t. :math:`\lVert\theta\rVert_0 \le k` with

    * ``loss="squared"``: :math:`f = \lVert X\theta + b - y\rVert^2/(2n)`; with
      ``fit_intercept`` X and y are centred, so :math:`b = \bar y - \bar x^\top\theta`
      exactly and the solver sees :math:`f = \lVert X_c\theta - y_c\rVert^2/(2n)`.
    * ``loss="logistic"``, labels :math:`y_i\in\{0,1\}`:
      :math:`f = \frac1n\sum_i[\log(1+e^{m_i}) - y_i m_i] + \frac{\gamma}{2}
      \lVert\theta\rVert^2`, :math:`m = X\theta + b`. The intercept is unpenalised and
      not counted in k; X is centred and after every solver step b is set to its exact
      minimiser given θ (a 1-D root of :math:`\mathrm{mean}\,\sigma(m) = \bar y`), i.e.
      block-coordinate descent alternating one sparse step in θ with an exact step in b.

    Stop rule (:mod:`iobs.stopping`), after each step :math:`\theta_t\to\theta_{t+1}`,
    :math:`\Delta_t = \theta_{t+1}-\theta_t`, :math:`\hat\rho = \lVert\Delta_t\rVert /
    \lVert\Delta_{t-1}\rVert`:

    1. *converged* when the support is unchanged and
       :math:`\max(1, \hat\rho/(1-\hat\rho))\lVert\Delta_t\rVert \le
       \mathrm{tol}\,\lVert\theta_{t+1}\rVert` (the a-posteriori error bound of a linear
       rate, measured while the support also held at the previous step), or the step is
       at round-off level (:math:`\le 10^{-3}\,\mathrm{tol}\,\lVert\theta_{t+1}\rVert`),
       or (squared loss) the fit reproduces y to rounding, :math:`\lVert r\rVert \le
       10^{-3}\,\mathrm{tol}\,\lVert y_c\rVert` (a global minimum: exact data);
    2. *plateau*: no new lowest loss in ``PATIENCE`` = 5 steps (cycling supports);
    3. ``max_steps`` reached; 4. numerical trouble (singular Hessian, divergence), with a
       ``RuntimeWarning``. In cases 2-4 ``converged`` is False and ``coef`` is the
       iterate with the lowest loss seen; in case 1 it is the last iterate.

    For the logistic loss a step that raises the loss is rejected and eta halved
    (monotone safeguard: pure Newton steps with hard thresholding can cycle on a
    non-quadratic loss); the rejected step counts as a step.

    Parameters
    ----------
    X : array-like of shape (n, d)
    y : array-like of shape (n,)
        Responses, or labels 0/1 for ``loss="logistic"``.
    k : int
        Nonzeros allowed, ``1 <= k <= d``.
    method : str
        A key of :data:`iobs.METHODS` (default ``"iobs-ws"``: Newton step and OBS
        projection on a working set).
    loss : {"squared", "logistic"}
    fit_intercept : bool
        Fit an unpenalised intercept (see above); else :math:`b = 0`.
    tol : float
        Relative accuracy of the stop rule, in (0, 1). Default 1e-6.
    max_steps : int
        Most solver steps. Default 200.
    damping : float, optional
        :math:`\lambda = \text{damping}\cdot\mathrm{mean}(\mathrm{diag}H)` added to the
        Hessian of the Newton methods. Default (None): 1e-3 for the second-order methods
        on least squares whose Hessian is singular (``n <= d``; for ``iobs-ws``, which
        factors a block of at most 3k columns, ``3k > n``), else 0 (the exact Newton point;
        logistic: the ridge makes H positive definite; ``iht``/``htp``/``omp`` need no
        Hessian, and damping would turn their refit into a ridge fit). Damping changes
        how fast the I-OBS steps approach their fixed points, not where those are.
    eta : float, optional
        Gradient step of ``iht``/``htp`` (default :math:`1/L`, the only methods for which
        L is estimated) or Newton-step fraction of the I-OBS family (default 1).
    ridge : float
        :math:`\gamma` of the logistic loss (keeps separable data finite). Default 1e-4.
    backend : {"numpy", "cupy", "auto"}, optional

    Returns
    -------
    FitResult

    Raises
    ------
    ValueError
        Naming the argument, its range and value: non-finite or mis-shaped X or y, labels
        other than 0/1 (or a single class with an intercept) for the logistic loss, k
        outside [1, d], an unknown method or loss, options out of range.

    Notes
    -----
    Columns that are constant (after centring) or zero are dropped before solving
    (named safeguard "dead columns"): their coefficient is 0 and k is capped at the
    number of remaining columns. X is read, never copied or changed: with
    ``fit_intercept`` the squared loss centres it inside the products (the logistic loss,
    whose dense Hessians limit it to a small d, centres a copy). The training loss comes
    from the residual the next step reuses; no iterates are recorded.

    Examples
    --------
    >>> import iobs
    >>> prob = iobs.make_problem("gaussian", d=64, n=128, k_star=4, seed=0)
    >>> r = iobs.fit(prob.X, prob.y + 3.0, k=4)
    >>> r.converged, bool(abs(r.intercept - 3.0) < 1e-8)
    (True, True)
    """
    t_start = time.perf_counter()
    X, y, k, tol, max_steps, damping, eta, ridge, mean_all, dead = _validate(
        X, y, k, method, loss, tol, max_steps, damping, eta, ridge, bool(fit_intercept))
    n, d = X.shape
    logistic = loss == "logistic"
    y_mean = float(y.mean())
    if logistic and fit_intercept and y_mean in (0.0, 1.0):
        raise ValueError(f"y must contain both labels 0 and 1 (two classes) to fit an "
                         f"intercept; got only the class {int(y_mean)}")
    xp = _be.get_xp(backend)
    Xd = X if xp is np else xp.asarray(X)               # on CuPy: the one device copy
    x_mean, live = xp.asarray(mean_all), xp.asarray(~dead)
    d_live = int(live.sum())
    k_used = min(k, d_live)
    spec = METHODS[method]
    if damping is None:
        damping = _default_damping(spec, logistic, n, d_live, k_used)
    config = {"method": method, "k": k, "k_used": k_used, "loss": loss,
              "fit_intercept": bool(fit_intercept), "tol": tol, "max_steps": max_steps,
              "damping": damping, "ridge": ridge if logistic else None, "n": n, "d": d,
              "dead_columns": d - d_live}
    if d_live == 0:
        b = _logistic_intercept(np.zeros(n), y_mean, 0.0) if logistic and fit_intercept \
            else (y_mean if fit_intercept else 0.0)
        return FitResult(np.zeros(d), float(b), np.zeros(d, dtype=bool), 0, True,
                         "no column varies: coef is 0", np.array([np.nan]),
                         time.perf_counter() - t_start, method, k,
                         {**config, "eta": eta, "backend": "numpy"},
                         np.array([time.perf_counter() - t_start]))
    if d_live < d:                                      # dead columns: the only copy of X
        Xd, x_mean = Xd[:, live], x_mean[live]
    yc = xp.asarray(y if logistic or not fit_intercept else y - y_mean)
    prob = Problem(kind="logistic" if logistic else "data",
                   X=(Xd - x_mean) if logistic and fit_intercept else Xd, y=yc,
                   theta_star=xp.zeros(d_live), k_star=0,
                   params={"ridge": ridge} if logistic else {})
    # Least squares: X is centred inside the model (never copied); logistic: dense Hessians
    # of a small d, on the explicitly centred copy.
    model = None if logistic else LeastSquares(
        prob, damping, center=x_mean if fit_intercept else None)
    with _be.blas_threads(prob.n, prob.d):   # the driver's BLAS-thread policy
        theta, steps, losses, stopped, converged, best, b, times = _solve(
            prob, model, spec, k_used, eta, damping, tol, max_steps, logistic,
            fit_intercept, y_mean, xp, t_start)
    if not converged:
        theta, b = best[1], best[2]
    coef = np.zeros(d)
    coef[_be.to_numpy(live)] = _be.to_numpy(theta)
    shift = float(mean_all @ coef)    # mean_all: zeros without an intercept; dead: coef 0
    intercept = (b - shift) if logistic else (y_mean - shift if fit_intercept else 0.0)
    config.update(eta=best[3], backend="numpy" if xp is np else "cupy")
    return FitResult(coef=coef, intercept=float(intercept), support=coef != 0, steps=steps,
                     converged=converged, stopped=stopped, loss=np.array(losses),
                     seconds=time.perf_counter() - t_start, method=method, k=k,
                     config=config, times=np.array(times))


def _default_damping(spec, logistic: bool, n: int, d: int, k: int) -> float:
    """``damping=None``: 1e-3 for the Newton methods on least squares when the Hessian they
    factor is singular (n <= d; for ``iobs-ws`` its block of at most 3k columns, so only
    when 3k > n), else 0 (the exact Newton point)."""
    if not spec.second_order or logistic:
        return 0.0
    if spec.name == "iobs-ws":
        return 1e-3 if 3 * k > n else 0.0
    return 1e-3 if n <= d else 0.0


def _norm(v) -> float:
    """Euclidean norm of a vector as ``numpy.linalg.norm`` computes it (the square root of
    ``v @ v``), without its argument handling (two calls a step)."""
    return math.sqrt(float(v @ v))


def _solve(prob, model, spec, k, eta, damping, tol, max_steps, logistic, fit_intercept,
           y_mean, xp, t_start):
    """The loop (arguments validated). Returns the last iterate, the step count, the
    losses, the reason, the convergence flag, the best (loss, theta, b, eta), b and the
    times of the losses (seconds since ``t_start``)."""
    b = 0.0
    if logistic and fit_intercept:
        prob = _Shifted(**{f.name: getattr(prob, f.name) for f in fields(prob)})
        b = _logistic_intercept(xp.zeros(prob.n), y_mean, 0.0)
        prob = replace(prob, offset=b)
    if model is None:
        model = make_model(prob, damping)
    if eta is None:
        eta = 1.0 if spec.eta == "1" else (
            1.0 / max(model.lipschitz(), np.finfo(float).tiny) if spec.name in _USES_ETA
            else 1.0)
    theta = xp.zeros(prob.d)
    S = theta != 0
    f0 = model.loss(theta)
    losses, best = [f0], (f0, theta, b, eta)
    times = [time.perf_counter() - t_start]
    delta_prev, same_prev = None, False
    stopped, converged = f"reached max_steps={max_steps} before the stop rule held", False
    steps = 0
    for t in range(1, max_steps + 1):
        try:
            new = spec.step(theta, model, k, eta)
        except (ArithmeticError, np.linalg.LinAlgError) as exc:
            stopped = f"numerical trouble at step {t}: {exc}; set damping > 0"
            warnings.warn(f"{spec.name}: {stopped}", RuntimeWarning, stacklevel=3)
            break
        finite = bool(xp.isfinite(new).all())
        if logistic and fit_intercept and finite:
            b = _logistic_intercept(prob.X @ new, y_mean, b)
            prob = replace(prob, offset=b)
            model = make_model(prob, damping)
        f = model.loss(new) if finite else math.nan
        if loss_diverged(f, f0):
            stopped = f"diverged at step {t} (the loss grew without bound); lower eta"
            warnings.warn(f"{spec.name}: {stopped}", RuntimeWarning, stacklevel=3)
            break
        if logistic and f > losses[-1]:
            # Monotone safeguard (non-quadratic loss only): reject the step, halve eta.
            eta *= 0.5
            steps = t
            losses.append(losses[-1])
            times.append(time.perf_counter() - t_start)
            prob, b = (replace(prob, offset=best[2]), best[2]) if fit_intercept else (prob, b)
            model = make_model(prob, damping)
            if loss_plateau(losses, patience=PATIENCE):
                stopped = f"loss plateau at step {t}: no decrease in {PATIENCE} steps"
                break
            continue
        delta = _norm(new - theta)
        S_new = new != 0
        same = bool((S_new == S).all())
        theta, S, steps = new, S_new, t
        losses.append(f)
        times.append(time.perf_counter() - t_start)
        if f < best[0]:
            best = (f, theta, b, eta)
        norm = _norm(theta)
        if not logistic and interpolates(f, f0, tol=tol):
            stopped = (f"converged at step {t}: the fit reproduces y to rounding (training "
                       f"loss {f:.1e}, a global minimum)")
            converged = True
            break
        if change_converged(delta, delta_prev, norm, tol=tol, same_support=same,
                            same_support_prev=same_prev):
            stopped = (f"converged at step {t}: support unchanged, step "
                       f"{delta / max(norm, np.finfo(float).tiny):.1e} of ||coef|| "
                       f"(tol={tol:g})")
            converged = True
            break
        if loss_plateau(losses, patience=PATIENCE):
            stopped = f"loss plateau at step {t}: no decrease in {PATIENCE} steps"
            break
        delta_prev, same_prev = delta, same
    best = (*best[:3], eta)
    return theta, steps, losses, stopped, converged, best, b, times
