r"""Small numerical helpers behind the app's lessons (NumPy only, no Streamlit, no Plotly).

* :func:`trace_metrics` -- the Iterates page's table (final error, support precision and
  recall, iterations and seconds to a tolerance).
* :func:`small_hessian`, :func:`projection_geometry` -- the 2-D/3-D picture of one
  projection: level sets of :math:`q(\theta) = \tfrac12(\theta - z)^\top H(\theta - z)`,
  the Euclidean (IHT) and the :math:`H`-metric (I-OBS) projections of the same point.
* :func:`convergence_study` -- the Convergence page: runs, bound curves, constants and
  assumption checks for one problem, as plain data.
* :func:`rule_walk` -- magnitude -> OBD -> OBS saliency -> greedy OBC -> exact on one
  Newton point, each rule's kept set, compensating update and loss increase.
"""

from __future__ import annotations

import warnings

import numpy as np

from iobs import theory
from iobs.driver import run
from iobs.provenance import DERIVED, LITERATURE, PAPER, Source
from iobs.projections import (
    EXACT_MAX_D,
    exact_support,
    greedy_obc,
    obs_correction,
    obs_saliency,
    top_k_mask,
)

__all__ = ["FLOP_BUDGET", "RULES", "RULE_SOURCES", "convergence_study", "estimate_flops",
           "projection_geometry", "rule_walk", "small_hessian", "trace_metrics"]

RULES = ("magnitude", "OBD", "OBS saliency", "greedy OBC", "exact")
RULE_SOURCES = {   # where each projection rule of the walk comes from
    "magnitude": Source(PAPER, "IHT's Euclidean projection, Lemma 1"),
    "OBD": Source(LITERATURE, "LeCun, Denker & Solla 1990"),
    "OBS saliency": Source(LITERATURE, "Hassibi & Stork 1993"),
    "greedy OBC": Source(LITERATURE, "Frantar & Alistarh 2022"),
    "exact": Source(PAPER, "Algorithm 1, Option 2"),
}
FLOP_BUDGET = 1.5e10   # about 10 s on a busy laptop core: pages refuse more than this


def estimate_flops(method: str, *, n: int, d: int, k: int, steps: int,
                   quadratic: bool = True) -> float:
    """Rough floating-point cost of ``iobs.run(method, ...)`` (set-up + ``steps`` steps), so
    that a page can refuse a combination that would hang it."""
    grad = 4.0 * n * d
    if not quadratic:                                      # dense Hessian at every iterate
        per, setup = n * d * d + d ** 3 / 3 + grad, 0.0
    elif n >= d:
        per, setup = grad + 2.0 * d * d, n * d * d + d ** 3
    else:                                                  # Woodbury: n x n factor once
        per, setup = grad + 4.0 * n * d, n * n * d + n ** 3
    if method in ("htp", "omp", "iobs", "topk-iobs") or method.startswith("iobs"):
        per += 2.0 * k * k * n + k ** 3 / 3
    if method == "iobs-obc":
        per += 3.0 * max(d - k, 0) * d * d
        setup += 0.0 if n >= d else n * d * d
    if method == "iobs-exact":
        per += 1e3 * 2.0 ** min(d, 60)
    return float(setup + steps * per)


def trace_metrics(trace, theta_star, tol: float = 1e-6) -> dict:
    """Final relative error, support precision/recall, iterations/seconds to ``tol``."""
    truth = np.asarray(theta_star) != 0
    kept = np.asarray(trace.support[-1], dtype=bool)
    hits = int((kept & truth).sum())
    steps = trace.steps_to(tol)
    T = max(len(trace.error) - 1, 1)
    return {"final relative error": float(trace.rel_error[-1]),
            "precision": hits / max(int(kept.sum()), 1),
            "recall": hits / max(int(truth.sum()), 1),
            f"iterations to {tol:g}": steps,
            f"seconds to {tol:g}": None if steps is None else float(trace.seconds[steps]),
            "ms per iteration": 1e3 * float(trace.seconds[-1]) / T,
            "stopped": trace.stopped or ""}


def small_hessian(d: int, rho: float, cond: float) -> np.ndarray:
    r""":math:`H = D\,C\,D` with :math:`C_{ij} = \rho^{|i-j|}` and scales
    :math:`D = \mathrm{diag}(1, \dots, 1/\sqrt{\mathrm{cond}})` (log-spaced): the
    correlation and the spread of curvatures are two separate knobs."""
    i = np.arange(d)
    C = np.power(rho, np.abs(i[:, None] - i[None, :]).astype(float)) if rho else np.eye(d)
    D = np.logspace(0.0, -0.5 * np.log10(cond), d)
    return D[:, None] * C * D[None, :]


def _q(H, z, theta):
    v = theta - z
    return 0.5 * float(v @ H @ v)


def _ellipse(H, z, level, m=181):
    """Points of the 2-D level set q = level (a closed curve)."""
    L = np.linalg.cholesky(H)
    s = np.linspace(0, 2 * np.pi, m)
    u = np.stack([np.cos(s), np.sin(s)])                                  # (2, m)
    return (z[:, None] + np.sqrt(2 * level) * np.linalg.solve(L.T, u))    # (2, m)


def _ellipsoid(H, z, level, m=40):
    L = np.linalg.cholesky(H)
    a, b = np.meshgrid(np.linspace(0, np.pi, m), np.linspace(0, 2 * np.pi, 2 * m))
    u = np.stack([np.sin(a) * np.cos(b), np.sin(a) * np.sin(b), np.cos(a)])   # (3, 2m, m)
    pts = np.linalg.solve(L.T, u.reshape(3, -1)) * np.sqrt(2 * level)
    return z[:, None, None] + pts.reshape(u.shape)


def projection_geometry(H, z, k: int = 1, grid: int = 90) -> dict:
    """Everything the geometry figure draws, for d = 2 or 3.

    Returns the Euclidean projection ``T_k(z)``, the H-metric projection (exact search,
    the best k-sparse point of the model), the model value of each, the level sets
    through them, and for d = 2 a grid of model values for the contours.
    """
    H, z = np.asarray(H, dtype=float), np.asarray(z, dtype=float)
    d = z.shape[0]
    euclid = np.where(top_k_mask(np.abs(z), k), z, 0.0)
    hproj, Q = exact_support(z, H, k)
    out = {"z": z, "H": H, "k": k, "euclid": euclid, "hmetric": hproj,
           "q_euclid": _q(H, z, euclid), "q_hmetric": _q(H, z, hproj),
           "agree": bool(np.array_equal(euclid != 0, Q))}
    if d == 2:
        level_h = _ellipse(H, z, max(out["q_hmetric"], 1e-12))
        r = 1.15 * max(np.abs(np.r_[z, hproj, euclid]).max(), np.abs(level_h).max(), 0.5)
        g = np.linspace(-r, r, grid)
        P = np.stack(np.meshgrid(g, g), axis=-1) - z                           # (g, g, 2)
        out.update(grid=g, q=0.5 * np.einsum("abi,ij,abj->ab", P, H, P),
                   level_euclid=_ellipse(H, z, max(out["q_euclid"], 1e-12)),
                   level_hmetric=level_h)
    elif d == 3:
        out["level_hmetric"] = _ellipsoid(H, z, max(out["q_hmetric"], 1e-12))
    return out


def _drop(z, keep):
    return np.where(keep, z, 0.0)


def rule_walk(H, z, k: int) -> dict:
    r"""Each support rule on the same Newton point ``z``.

    ``magnitude``: top-k of :math:`|z_i|`, no compensation (IHT's projection).
    ``OBD``: top-k of :math:`H_{ii}z_i^2` (diagonal curvature), no compensation.
    ``OBS saliency``: top-k of :math:`z_i^2/[H^{-1}]_{ii}`, then the OBS correction.
    ``greedy OBC``: one weight at a time with its OBS update (Frantar & Alistarh 2022).
    ``exact``: the optimal kept set by enumeration (d <= 20).
    Returns ``{rule: {"theta", "kept", "delta", "increase", "compensated"}}``; the
    increase is :math:`\tfrac12(\theta - z)^\top H(\theta - z)`; ``exact`` is ``None`` when
    d is too large.
    """
    H, z = np.asarray(H, dtype=float), np.asarray(z, dtype=float)
    Hinv = np.linalg.inv(H)
    out = {}
    q = top_k_mask(np.abs(z), k)
    out["magnitude"] = (_drop(z, q), q, False)
    q = top_k_mask(np.diag(H) * z * z, k)
    out["OBD"] = (_drop(z, q), q, False)
    q = top_k_mask(obs_saliency(z, np.diag(Hinv)), k)
    out["OBS saliency"] = (obs_correction(z, H, q), q, True)
    out["greedy OBC"] = (*greedy_obc(z, Hinv, k), True)
    out["exact"] = (*exact_support(z, H, k), True) if z.shape[0] <= EXACT_MAX_D else None
    res = {}
    for rule in RULES:
        if out[rule] is None:
            res[rule] = None
            continue
        theta, kept, comp = out[rule]
        res[rule] = {"theta": theta, "kept": np.asarray(kept, dtype=bool),
                     "delta": np.where(kept, theta - z, 0.0),
                     "increase": _q(H, z, theta), "compensated": comp}
    return res


def _bound_dict(b) -> dict:
    return {"values": b.values, "factor": b.factor, "kind": b.kind, "vacuous": b.vacuous,
            "reason": b.reason, "label": b.label, "source": b.source}


def _max_quadratic_ratio(e, floor: float = 1e-13) -> float | None:
    """Measured constant of a quadratic rate: max of e_{t+1}/e_t^2 above round-off."""
    e = np.asarray(e, dtype=float)
    t = np.flatnonzero((e[:-1] > floor) & (e[1:] > floor))
    return float(np.max(e[t + 1] / e[t] ** 2)) if t.size else None


def convergence_study(prob, methods, *, k: int, eta_iht: float = 1.0, eta: float = 1.0,
                      damping: float = 0.0, steps: int = 60, theta0=None,
                      form: str = "paper") -> dict:
    r"""Run ``methods`` on ``prob`` and collect what the Convergence page shows.

    ``eta_iht`` is the first-order step in units of :math:`1/L` (:math:`L` exact, from
    :func:`iobs.theory.constants`); ``eta`` the Newton fraction of the I-OBS family.
    Returns plain data: per method ``error``, ``seconds``, ``stopped``, ``fitted`` (the
    measured per-step rate, :func:`iobs.theory.fitted_rate`), ``fitted_c`` (the measured
    max of :math:`e_{t+1}/e_t^2`), ``eta`` and ``bound`` (a
    dict of :class:`iobs.theory.Bound`'s fields); and the constants, the top-k factor and
    the A1-A4 checks.
    """
    c = theory.constants(prob, k)
    e0 = float(np.linalg.norm((0 if theta0 is None else theta0) - prob.theta_star))
    out = {"runs": {}, "warnings": [], "e0": e0, "topk_factor":
           float(theory.topk_factor(prob.d, k, prob.k_star)),
           "constants": {"mu": c.mu, "L": c.L, "M": c.M, "mu_s": c.mu_s, "L_s": c.L_s,
                         "kappa_s": c.kappa_s, "s": c.s},
           "exact": dict(c.exact), "kind": dict(c.kind), "notes": dict(c.notes),
           "assumptions": {a: (h, why) for a, (h, why) in theory.assumptions(prob, k).items()}}
    for m in methods:
        first = m in ("iht", "htp", "omp")
        step = eta_iht / c.L if first and c.L else (None if first else eta)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tr = run(prob, m, k=k, steps=steps, eta=step, damping=damping, theta0=theta0)
            try:
                b = _bound_dict(theory.bound(m, prob, k=k, eta=step, steps=steps,
                                             damping=damping, e0=e0, form=form))
            except KeyError:           # a method iobs.theory has no bound for
                b = {"values": None, "factor": None, "kind": "linear", "vacuous": True,
                     "reason": "iobs.theory has no bound for this method", "label": m,
                     "source": Source(DERIVED, "no bound")}
        out["warnings"] += [str(w.message) for w in caught if w.category is UserWarning]
        out["runs"][m] = {"error": tr.error, "seconds": tr.seconds, "stopped": tr.stopped,
                          "fitted": theory.fitted_rate(tr.error),
                          "fitted_c": _max_quadratic_ratio(tr.error), "eta": step, "bound": b}
    out["warnings"] = sorted(set(out["warnings"]))
    return out
