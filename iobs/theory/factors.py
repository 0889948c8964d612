r"""The pieces of the convergence bounds for :math:`e_t = \lVert\theta_t - \theta^\star\rVert`:
contraction factors, bound curves, the constants they need, and a check of the paper's
assumptions A1-A4 for a given problem. :mod:`iobs.theory.bounds` assembles them per method.

Every bound carries its ``source``, an :class:`iobs.provenance.Source` with an explicit tag:
"from the paper" (P: Theorem 1, Lemma 3), "from the literature" (L) or "derived here" (R:
our sketch in the function's docstring). A bound
whose factor is >= 1, or whose assumption fails, is returned with ``values=None`` and
``vacuous=True`` and a reason -- never a fake curve. This module imports no solver.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from iobs._validate import check_int
from iobs.provenance import DERIVED, MEASURED, Source

__all__ = [
    "EIG_MAX_D",
    "KIND_TAG",
    "Bound",
    "Constants",
    "assumptions",
    "constants",
    "fitted_rate",
    "lemma3_factor",
    "linear_bound",
    "quadratic_bound",
    "theorem1_factor",
    "topk_factor",
]

EIG_MAX_D = 3000   # exact eigenvalues of the d x d Hessian up to this size
# how each kind of constant is labelled: an exact value or an estimate is computed here; a
# certified bound rests on our derivation (PAPER.md: the log-cosh and logistic constants)
KIND_TAG = {"exact": Source(MEASURED, "computed exactly"),
            "certified bound": Source(DERIVED, "a certified bound"),
            "estimate": Source(MEASURED, "an estimate over random supports")}


def topk_factor(d, k, k_star):
    r"""Top-k expansion :math:`c_T = 1 + \sqrt{(d-k)/(d-k^\star)}` (R, from L).

    For dense :math:`z` and :math:`k^\star`-sparse :math:`\theta^\star`, :math:`k \ge k^\star`:
    :math:`\lVert T_k(z)-\theta^\star\rVert \le c_T\lVert z-\theta^\star\rVert`. Sketch:
    Peste et al. (2021, Lemma 1, as quoted in the paper) gives
    :math:`\lVert T_k(z)-z\rVert^2 \le \frac{d-k}{d-k^\star}\lVert z-\theta^\star\rVert^2`;
    add the triangle inequality. Vectorised over ``k``.

    >>> float(topk_factor(100, 100, 10))
    1.0
    """
    d, k, k_star = (np.asarray(a, dtype=float) for a in (d, k, k_star))
    ratio = np.where(d > k_star, (d - k) / np.maximum(d - k_star, 1.0), 0.0)
    return 1.0 + np.sqrt(np.clip(ratio, 0.0, None))


def theorem1_factor(L, mu, M, d, k, k_star, *, form="paper"):
    r"""Theorem 1 (P): :math:`e_{t+1} \le (1+\sqrt{\tfrac{L}{\mu}\tfrac{d-k^\star}{d-k}})
    \tfrac{M}{2\mu}e_t^2` under A1-A4, :math:`k^\star \le k < d`. ``form="tight"`` uses the
    ratio :math:`(d-k)/(d-k^\star)` that the paper's own Lemma 8 gives (R); the printed
    ratio is looser and undefined at ``k = d`` (returns ``inf`` there)."""
    if form == "tight":
        ratio = (d - k) / max(d - k_star, 1)
    else:
        ratio = math.inf if k >= d else (d - k_star) / (d - k)
    return (1.0 + math.sqrt(L / mu * ratio)) * M / (2.0 * mu)


def lemma3_factor(mu, M, k, k_star):
    r"""Lemma 3 (P), Topk-I-OBS: :math:`e_{t+1} \le (1+\sqrt{k^\star/k})\tfrac{M}{2\mu}e_t^2`
    under A1-A4 -- no condition-number factor."""
    return (1.0 + math.sqrt(k_star / k)) * M / (2.0 * mu)


def linear_bound(e0, factor, steps):
    r""":math:`e_t \le \text{factor}^t e_0`, vectorised over ``t = 0..steps``."""
    return e0 * np.power(float(factor), np.arange(steps + 1, dtype=float))


def quadratic_bound(e0, c, steps):
    r""":math:`e_{t+1} \le c\,e_t^2` iterated from ``e0``; closed form
    :math:`e_t = (c e_0)^{2^t}/c`. Local: it decreases only when :math:`c e_0 < 1`."""
    t = np.arange(steps + 1, dtype=float)
    if c == 0.0:
        return np.where(t == 0, e0, 0.0)
    with np.errstate(over="ignore", under="ignore"):
        return np.power(c * e0, np.power(2.0, t)) / c


@dataclass(frozen=True)
class Constants:
    """Curvature constants of a problem.

    ``kind`` says what each value is: ``"exact"`` (the value itself), ``"certified bound"``
    (a proven lower bound for mu, upper bound for L and M: the log-cosh and logistic
    constants) or ``"estimate"`` (an extreme over random supports: no certificate).
    ``exact`` is the same as booleans (True only for ``"exact"``); ``KIND_TAG`` gives the
    provenance tag each kind is shown with.
    """

    mu: float | None           # lambda_min of the Hessian (global), strong convexity
    L: float | None            # lambda_max (global), smoothness
    M: float                   # Hessian Lipschitz constant (A4)
    mu_s: float                # restricted extremes over random supports of size s
    L_s: float
    s: int
    kind: dict = field(default_factory=dict)
    notes: dict = field(default_factory=dict)

    @property
    def exact(self) -> dict:
        return {key: k == "exact" for key, k in self.kind.items()}

    @property
    def kappa(self):
        return None if not self.mu or self.L is None else self.L / self.mu

    @property
    def kappa_s(self):
        return self.L_s / self.mu_s if self.mu_s > 0 else math.inf


def _gram_eigs(X):
    n, d = X.shape
    if d > EIG_MAX_D:
        return None
    w = np.linalg.eigvalsh(X.T @ X / n)
    return max(float(w[0]), 0.0), float(w[-1])


@functools.lru_cache(maxsize=32)
def _constants(prob, s: int, trials: int) -> Constants:
    X, n, d = prob.X, prob.n, prob.d
    eig = _gram_eigs(X)
    mu_g, L_g = (None, None) if eig is None else eig
    if n < d:
        mu_g = 0.0
    rng = np.random.default_rng(0)
    mus, Ls = [], []
    for _ in range(trials):  # restricted extremes: an estimate, not a certificate
        S = rng.choice(d, size=min(s, d), replace=False)
        w = np.linalg.eigvalsh(X[:, S].T @ X[:, S] / n)
        mus.append(w[0])
        Ls.append(w[-1])
    mu_s, L_s = max(float(min(mus)), 0.0), float(max(Ls))
    xnorm2 = None if eig is None else L_g * n            # ||X||_2^2
    rowmax = float(np.sqrt(np.einsum("ij,ij->i", X, X).max()))   # no n x d temporary
    kind = {"mu": "exact" if eig is not None or n < d else "estimate",
            "L": "exact" if eig is not None else "estimate", "M": "exact",
            "mu_s": "estimate", "L_s": "estimate"}
    notes = {"mu_s": f"min over {trials} random supports of size {s}: an estimate",
             "L_s": f"max over {trials} random supports of size {s}: an estimate"}
    p = prob.params
    if prob.kind == "logcosh":
        beta = p["beta"]
        L_g = None if L_g is None else (1.0 + beta) * L_g
        L_s *= 1.0 + beta
        M = 0.77 * beta * xnorm2 * rowmax / n if xnorm2 is not None else math.nan
        notes.update(L="upper bound (1+beta) lambda_max(X^T X/n)",
                     M="upper bound 0.77 beta ||X||^2 max_i ||x_i|| / n (R)",
                     mu="lower bound lambda_min(X^T X/n) (log cosh'' >= 0)")
        # sup |d^3/dr^3 log cosh r| = 4/(3 sqrt 3) < 0.77: certified bounds, not values
        kind.update({key: "certified bound" for key in ("mu", "L", "M") if kind[key] == "exact"})
        kind["M"] = "certified bound" if xnorm2 is not None else "estimate"
    elif prob.kind == "logistic":
        ridge = p["ridge"]
        mu_g, mu_s = ridge, ridge + 0.0
        L_g = None if L_g is None else 0.25 * L_g + ridge
        L_s = 0.25 * L_s + ridge
        M = xnorm2 * rowmax / (6.0 * math.sqrt(3.0) * n) if xnorm2 is not None else math.nan
        notes.update(mu="the ridge (a certified but tiny lower bound)",
                     L="upper bound lambda_max(X^T X/n)/4 + ridge",
                     M="upper bound ||X||^2 max_i ||x_i|| / (6 sqrt 3 n) (R)")
        kind.update(mu="certified bound", L="certified bound" if eig is not None else "estimate",
                    M="certified bound" if xnorm2 is not None else "estimate")
    else:
        M = 0.0
        notes["M"] = "least squares: the Hessian is constant"
    return Constants(mu=mu_g, L=L_g, M=M, mu_s=mu_s, L_s=L_s, s=s, kind=kind, notes=notes)


def constants(prob, k: int | None = None, *, trials: int = 20) -> Constants:
    """Constants of ``prob``: exact global mu, L (d <= EIG_MAX_D), M, and restricted
    estimates over random supports of size ``s = min(2k + k*, d)``."""
    k = prob.k_star if k is None else check_int("k", k, 1, prob.d)
    return _constants(prob, min(2 * k + prob.k_star, prob.d), trials)


def assumptions(prob, k: int | None = None) -> dict:
    """Which of the paper's A1-A4 hold for ``prob``: ``{name: (holds, why)}``."""
    c = constants(prob, k)
    k = prob.k_star if k is None else k
    out = {}
    if prob.kind == "logistic":
        out["A1"] = (False, "the truth generates the labels but is not the loss minimizer")
    elif prob.noise > 0:
        out["A1"] = (False, f"noise = {prob.noise:g}: the minimizer is not the sparse truth")
    else:
        out["A1"] = (True, f"noiseless: the {prob.k_star}-sparse truth minimizes f")
    if c.mu is None:
        out["A2"] = (None, f"not checked: d = {prob.d} > {EIG_MAX_D}")
    elif c.mu > 0:
        out["A2"] = (True, f"mu = {c.mu:.3g} > 0")
    else:
        why = f"n = {prob.n} < d = {prob.d}: X^T X / n is singular" if prob.n < prob.d \
            else "the Hessian is singular"
        out["A2"] = (False, f"mu = 0 ({why}); damping is needed")
    out["A3"] = (True, f"L_s <= {c.L:.3g}" if c.L is not None else f"L_s ~ {c.L_s:.3g}")
    out["A4"] = (True, "M = 0 (constant Hessian)" if c.M == 0 else f"M <= {c.M:.3g}")
    out["k >= k*"] = (k >= prob.k_star, f"k = {k}, k* = {prob.k_star}")
    return out


@dataclass(frozen=True)
class Bound:
    """A bound curve on ``e_t`` (``values``) or ``None`` with the reason it is not drawn."""

    values: np.ndarray | None
    factor: float | None
    kind: str                 # "linear" (e_{t+1} <= factor e_t) or "quadratic" (<= c e_t^2)
    vacuous: bool
    reason: str
    label: str
    source: Source            # with its explicit provenance tag
    assumptions: dict = field(default_factory=dict)


def fitted_rate(error, floor: float = 1e-10) -> float | None:
    """Measured per-step rate: geometric mean of e_{t+1}/e_t while e_t is above ``floor``."""
    e = np.asarray(error, dtype=float)
    keep = np.flatnonzero(e[:-1] > floor * max(e[0], 1e-300))
    if keep.size == 0:
        return None
    last = keep[-1] + 1
    ratio = max(e[last], 1e-300) / e[0]
    return float(ratio ** (1.0 / last))

