r"""The bound dispatcher behind :func:`iobs.theory.bound`.

Sketches of the "derived here" (R) bounds, for least squares with
:math:`B = H + \lambda I` (damping) and noiseless data, :math:`e_t = \theta_t - \theta^\star`:

* Newton point: :math:`z - \theta^\star = (I - \eta B^{-1}H)e_t`, and :math:`B, H` commute,
  so :math:`\lVert z-\theta^\star\rVert \le \rho\lVert e_t\rVert`,
  :math:`\rho = \max_{\lambda_i}|1 - \eta\lambda_i/(\lambda_i+\lambda)|` (extremes at
  :math:`\mu, L`). For IHT :math:`B = I/\eta`: :math:`\rho = \max(|1-\eta\mu|, |1-\eta L|)`.
* Top-k: :math:`\lVert T_k(z)-\theta^\star\rVert \le c_T\lVert z-\theta^\star\rVert`
  (:func:`iobs.theory.topk_factor`).
* B-metric projection (I-OBS): :math:`\theta^\star` is feasible, so
  :math:`\lVert\theta_{t+1}-z\rVert_B \le \lVert\theta^\star - z\rVert_B`, hence
  :math:`e_{t+1} \le (1+\sqrt{\kappa_B})\lVert z-\theta^\star\rVert`. Proved for the exact
  support search; the saliency and greedy rules are heuristics.
* Diagonal B: the same argument in the B-norm gives
  :math:`\lVert e_t\rVert \le \sqrt{\kappa_B}(2\rho_B)^t\lVert e_0\rVert` with
  :math:`\rho_B = \max|1-\eta\lambda_i(B^{-1/2}HB^{-1/2})|`.
"""

from __future__ import annotations

import math

import numpy as np

from iobs._validate import check_choice, check_float, check_int
from iobs.models import damping_lambda
from iobs.provenance import DERIVED, LITERATURE, PAPER, Source
from iobs.theory.factors import (
    EIG_MAX_D,
    Bound,
    assumptions,
    constants,
    lemma3_factor,
    linear_bound,
    quadratic_bound,
    theorem1_factor,
    topk_factor,
)

__all__ = ["bound"]

_CHECKED = Source(DERIVED, "our check of the assumptions")   # why no bound is drawn
_NEWTON = ("topk-iobs", "iobs", "iobs-obc", "iobs-exact", "iobs-diag")

def _damped_rho(eta, lam, mu, L):
    return max(abs(1.0 - eta * x / (x + lam)) if x + lam > 0 else 1.0 for x in (mu, L))


def _diag_rho(prob, eta, lam):
    H = prob.X.T @ prob.X / prob.n
    b = np.diag(H) + lam
    w = np.linalg.eigvalsh(H / np.sqrt(np.outer(b, b)))
    return max(abs(1.0 - eta * w[0]), abs(1.0 - eta * w[-1])), float(b.max() / b.min())


def bound(method: str, prob, *, k: int, eta: float | None = None, steps: int = 100,
          damping: float = 0.0, e0: float | None = None, form: str = "paper",
          batch_size: int | None = None) -> Bound:
    r"""The convergence bound for ``method`` on ``prob`` as a curve over ``t = 0..steps``.

    Parameters mirror :func:`iobs.run` (``eta`` defaults to the solver's: :math:`1/L` for
    IHT, 1 for the Newton family). ``e0`` defaults to :math:`\lVert\theta^\star\rVert` (the
    zero start). ``form`` ("paper" or "tight") picks Theorem 1's printed ratio or the one
    from the paper's Lemma 8 (R).

    Returns
    -------
    Bound
        ``values`` of shape (steps + 1,) or ``None`` with ``vacuous=True`` and ``reason``.

    Examples
    --------
    >>> import iobs
    >>> prob = iobs.make_problem("gaussian", d=32, n=64, k_star=3, seed=0)
    >>> b = bound("topk-iobs", prob, k=3, steps=2)
    >>> b.values.tolist()[1:], b.vacuous
    ([0.0, 0.0], False)
    """
    from iobs.solvers import METHODS

    check_choice("method", method, METHODS)
    k = check_int("k", k, 1, prob.d)
    steps = check_int("steps", steps, 0, 10**6)
    damping = check_float("damping", damping, 0.0, 1e6)
    check_choice("form", form, ("paper", "tight"))
    if eta is not None:
        eta = check_float("eta", eta, 0.0, 1e6, lo_open=True)
    A = assumptions(prob, k)
    c = constants(prob, k)
    e0 = float(np.linalg.norm(prob.theta_star)) if e0 is None else check_float("e0", e0, 0.0)
    label = METHODS[method].label

    def none(reason, source=_CHECKED, kind="linear", factor=None):
        return Bound(None, factor, kind, True, reason, label, source, A)

    if method in ("htp", "omp"):
        return none("no bound is drawn for this reference method",
                    Source(LITERATURE, METHODS[method].source.detail))
    if batch_size is not None:
        return none("stochastic steps: the paper gives no convergence theorem for them",
                    Source(PAPER, "App. B.1"))
    if not A["A1"][0]:
        return none(f"A1 fails: {A['A1'][1]}")
    if k < prob.k_star:
        return none(f"k = {k} < k* = {prob.k_star}: exact recovery is impossible")
    if c.mu is None or c.L is None:
        return none(f"constants not computed for d = {prob.d} > {EIG_MAX_D}")
    mu, L = c.mu, c.L
    if eta is None:
        eta = 1.0 / L if method == "iht" else 1.0
    lam = damping_lambda(damping, np.einsum("ij,ij->j", prob.X, prob.X) / prob.n)
    exact_rule = method in ("iht", "topk-iobs", "iobs-exact", "iobs-diag")
    note = "" if exact_rule else " (proved for the exact support search; a reference here)"
    cT = float(topk_factor(prob.d, k, prob.k_star))

    if method == "iht":
        factor = cT * max(abs(1 - eta * mu), abs(1 - eta * L))
        src = Source(DERIVED, "top-k factor of Peste et al. 2021; compare Jain et al. 2014")
        return _linear(e0, factor, steps, label, src, A)
    if not prob.quadratic:
        if damping > 0 or eta != 1.0:
            return none("the paper's local theorems assume the exact Newton step "
                        "(eta = 1, no damping)", Source(PAPER, "Theorem 1, Lemma 3"),
                        "quadratic")
        if method == "iobs-diag":
            return none("no bound for the diagonal step on a non-quadratic loss")
        if mu <= 0:
            return none(f"A2 fails: {A['A2'][1]}", Source(PAPER, "assumption A2"),
                        "quadratic")
        if method == "topk-iobs":
            cq, src = lemma3_factor(mu, c.M, k, prob.k_star), Source(PAPER, "Lemma 3")
        else:
            cq = theorem1_factor(L, mu, c.M, prob.d, k, prob.k_star, form=form)
            src = Source(PAPER, "Theorem 1") if form == "paper" else \
                Source(DERIVED, "Theorem 1 with the ratio of the paper's Lemma 8")
        return _quadratic(e0, cq, steps, label + note, src + note, A)
    # least squares: linear bounds (M = 0; at eta = 1 without damping they say: one step)
    if mu + lam <= 0:
        return none(f"A2 fails and no damping: {A['A2'][1]}")
    if method == "iobs-diag":
        if prob.d > EIG_MAX_D:
            return none(f"d = {prob.d} > {EIG_MAX_D}: spectrum not computed")
        rho, kB = _diag_rho(prob, eta, lam)
        b = _linear(e0, 2 * rho, steps, label, Source(DERIVED, "diagonal metric"), A)
        if b.values is not None:
            b.values[1:] *= math.sqrt(kB)
        return b
    rho = _damped_rho(eta, lam, mu, L)
    if method == "topk-iobs":
        return _linear(e0, cT * rho, steps, label,
                       Source(DERIVED, "damped Newton step + top-k; at eta = 1 it agrees "
                                       "with the paper's Lemma 3 (M = 0: one step)"), A)
    kB = (L + lam) / (mu + lam)
    return _linear(e0, (1 + math.sqrt(kB)) * rho, steps, label + note,
                   Source(DERIVED, "H-metric projection; at eta = 1 it agrees with the "
                                   "paper's Theorem 1 (M = 0: one step)") + note, A)


def _linear(e0, factor, steps, label, source, A):
    if factor >= 1.0:
        return Bound(None, factor, "linear", True,
                     f"vacuous: the per-step factor {factor:.3g} is >= 1", label, source, A)
    return Bound(linear_bound(e0, factor, steps), factor, "linear", False, "", label,
                 source, A)


def _quadratic(e0, c, steps, label, source, A):
    if not math.isfinite(c):
        return Bound(None, c, "quadratic", True, "undefined (k = d in the printed form)",
                     label, source, A)
    if c * e0 >= 1.0:
        return Bound(None, c, "quadratic", True,
                     f"local: needs e_0 < 1/c = {1 / c:.3g} but e_0 = {e0:.3g}; start "
                     "closer to the truth", label, source, A)
    return Bound(quadratic_bound(e0, c, steps), c, "quadratic", False, "", label, source, A)
