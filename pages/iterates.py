"""Iterates: one problem, several methods side by side, frame by frame."""

from __future__ import annotations

import ui.boot  # noqa: F401  (first: serialises cold-start imports)

# isort: split
import contextlib
import dataclasses
import warnings

import numpy as np
import pandas as pd
import streamlit as st

import iobs
from iobs.viz.figures import stem_animation, support_raster
from iobs.research.lessons import FLOP_BUDGET, estimate_flops, trace_metrics
from iobs.models import make_model
from ui import caching, common
from ui.prepared import prepared

# Page defaults: an ill-conditioned least-squares problem where IHT visibly struggles and
# the Newton-based methods land on the truth after one step.
KINDS = ("scaled", "correlated", "gaussian", "digits", "logcosh", "logistic")
DIMS = (16, 32, 64, 128, 256, 512, 1024)
RATIOS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0)
DAMPINGS = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
NOISES = (0.0, 0.01, 0.05, 0.1, 0.5)
CONDS = (1.0, 10.0, 100.0, 1e3, 1e4)
KIND, D, RATIO, K_STAR, K, ETA, DAMPING, STEPS, NOISE, COND, RHO = (
    "scaled", 256, 2.0, 16, 32, 1.0, 0.0, 40, 0.0, 100.0, 0.9)
METHODS = ("iht", "topk-iobs", "iobs")
TOL = 1e-6
ZERO = 1e-9    # |theta_i| <= ZERO * max|theta*| counts as zero (round-off, not a support)
DIGIT_CANVAS, DIGIT_SCALE = 16, 2      # digits: a 16 x 16 image, d = 256


def _label(m):
    return iobs.METHODS[m].label


def _problem(kind, d, n, k_star, noise, cond, rho, seed):
    return iobs.make_problem(kind, d=None if kind == "digits" else d, n=n, k_star=k_star,
                             noise=noise, cond=cond, rho=rho, seed=seed, index=seed % 1797,
                             scale=DIGIT_SCALE, canvas=DIGIT_CANVAS)


@caching.memory(max_entries=32)
def problem_info(kind, d, n, k_star, noise, cond, rho, seed):
    """The truth and sizes of the problem (or ``{"error": ...}``)."""
    try:
        prob = _problem(kind, d, n, k_star, noise, cond, rho, seed)
    except ValueError as exc:
        return {"error": str(exc)}
    return {"theta_star": prob.theta_star, "d": prob.d, "n": prob.n, "k_star": prob.k_star,
            "quadratic": prob.quadratic}


@caching.memory(max_entries=32)
def lipschitz(kind, d, n, k_star, noise, cond, rho, seed) -> float:
    """L = lambda_max(H) of the page's problem: the unit of the first-order step."""
    with common.one_thread():
        return float(make_model(_problem(kind, d, n, k_star, noise, cond, rho, seed),
                                0.0).lipschitz())


@caching.shared(max_entries=128)
def run_one(method, kind, d, n, k_star, k, eta, damping, steps, noise, cond, rho, seed):
    """One method on the page's problem, as plain NumPy data (cached per method)."""
    prob = _problem(kind, d, n, k_star, noise, cond, rho, seed)
    if iobs.METHODS[method].eta == "1/L":
        eta = eta / lipschitz(kind, d, n, k_star, noise, cond, rho, seed)
    with warnings.catch_warnings(record=True) as caught, common.one_thread():
        warnings.simplefilter("always")
        try:
            tr = iobs.run(prob, method, k=k, steps=steps, damping=damping, seed=seed, eta=eta)
        except ValueError as exc:
            return {"failure": str(exc)}
    scale = ZERO * max(float(np.abs(prob.theta_star).max()), 1.0)
    support = np.abs(tr.x) > scale
    tr = dataclasses.replace(tr, x=np.where(support, tr.x, 0.0), support=support)
    return {"x": tr.x.astype(np.float32), "support": support, "error": tr.error,
            "rel_error": tr.rel_error, "loss": tr.loss, "seconds": tr.seconds,
            "stopped": tr.stopped, "metrics": trace_metrics(tr, prob.theta_star, TOL),
            "warnings": sorted({str(w.message) for w in caught if w.category is UserWarning})}


def compute(cfg, seed):
    """Problem info and every method's run; errors come back as ``{"error", "fix"}``."""
    keys = ("kind", "d", "n", "k_star", "noise", "cond", "rho")
    info = problem_info(*(cfg[x] for x in keys), seed)
    if "error" in info:
        return {**info, "fix": "move the last changed control back into range"}
    d, n, k = info["d"], info["n"], cfg["k"]
    if k > d:
        return {"error": f"k = {k} is larger than d = {d}",
                "fix": f"lower k to at most {d} or raise d"}
    for m in cfg["methods"]:
        limit = iobs.METHODS[m].max_d
        if limit is not None and d > limit:
            return {"error": f"{_label(m)} handles d <= {limit} (it enumerates supports or "
                             f"prunes one weight at a time); d = {d}",
                    "fix": f"lower d to at most {limit} or drop {_label(m)}"}
    flops = sum(estimate_flops(m, n=n, d=d, k=k, steps=cfg["steps"],
                               quadratic=info["quadratic"]) for m in cfg["methods"])
    if flops > FLOP_BUDGET:
        return {"error": f"this combination needs about {flops / 1e9:.0f} GFLOP, more than "
                         f"the page allows ({FLOP_BUDGET / 1e9:.0f} GFLOP)",
                "fix": "lower the steps, d, n / d or k, or drop greedy OBC / exact"}
    runs, args = {}, (cfg["kind"], cfg["d"], cfg["n"], cfg["k_star"], k, cfg["eta"],
                      cfg["damping"], cfg["steps"], cfg["noise"], cfg["cond"], cfg["rho"], seed)
    with contextlib.ExitStack() as stack:
        tick = stack.enter_context(common.progress("Running the methods ...")) \
            if flops > 2e9 else None
        for i, m in enumerate(cfg["methods"]):
            r = run_one(m, *args)
            if "failure" in r:
                return {"error": f"{_label(m)}: {r['failure']}",
                        "fix": "change the highlighted setting or drop this method"}
            runs[m] = r
            if tick:
                tick((i + 1) / len(cfg["methods"]))
    warns = sorted({w for r in runs.values() for w in r["warnings"]})
    return {**info, "runs": runs, "warnings": warns}


@caching.resource(max_entries=16)
def figures(view: str, _runs, _theta_star, start: int):
    """The view's stem animation and support raster, built once per ``view`` (the settings,
    the seed and the opening frame) and shared by every session showing it: building 40
    frames through Plotly's validation costs about 0.2 s per rerun, measured, and encoding
    them for the browser another 0.1 s (:func:`ui.prepared.prepared` does that once)."""
    stems = stem_animation({_label(m): r["x"] for m, r in _runs.items()}, _theta_star,
                           start=start)
    raster = support_raster({_label(m): r["support"] for m, r in _runs.items()},
                            _theta_star != 0)
    return prepared(stems), prepared(raster)


def sidebar():
    with common.controls():
        st.header("Iterates")
        kind = common.select("Problem", KINDS, KIND, key="it_kind",
                             help="scaled: column scales set cond(H); correlated: "
                                  "Toeplitz rho^|i-j|; digits: θ* is a 16 x 16 digit image")
        cond = rho = None
        if kind == "scaled":
            cond = common.select_slider("Condition number", CONDS, COND, key="it_cond",
                                        format_func=lambda c: f"{c:g}")
        elif kind == "correlated":
            rho = common.slider("Correlation ρ", 0.0, 0.99, RHO, key="it_rho", step=0.01)
        d = common.select_slider("Dimension d", DIMS, D, key="it_d")
        ratio = common.select_slider("Samples n / d", RATIOS, RATIO, key="it_ratio",
                                     format_func=lambda r: f"{r:g}")
        k_star = common.slider("True nonzeros k*", 1, 128, K_STAR, key="it_kstar",
                               help="ignored for digits: k* is the image's nonzeros")
        k = common.slider("Sparsity k", 1, 512, K, key="it_k")
        methods = common.multiselect("Methods", list(iobs.METHODS), METHODS,
                                     key="it_methods", format_func=_label)
        eta = common.slider("Step η", 0.05, 2.0, ETA, key="it_eta", step=0.05,
                            help="Newton fraction for the I-OBS family; for k-IHT/HTP/OMP "
                                 "the gradient step in units of 1/L")
        damping = common.select_slider("Damping λ (× mean diag H)", DAMPINGS, DAMPING,
                                       key="it_damping", format_func=lambda x: f"{x:g}")
        noise = common.select_slider("Noise σ", NOISES, NOISE, key="it_noise",
                                     format_func=lambda x: f"{x:g}")
        steps = common.slider("Steps", 1, 200, STEPS, key="it_steps")
    return dict(kind=kind, d=int(d), n=max(1, int(round(ratio * d))), k_star=int(k_star),
                k=int(k), methods=tuple(methods), eta=float(eta), damping=float(damping),
                steps=int(steps), noise=float(noise), cond=float(cond or COND),
                rho=float(RHO if rho is None else rho))


def main():
    cfg = sidebar()
    st.title("Iterates")
    st.markdown("Each panel is one method on the **same** problem: stems are θ_t, open "
                "circles the truth θ*. Press ▶ Play or drag the iteration slider. "
                + common.badge(common.MEASURED))
    if not cfg["methods"]:
        common.error("No method selected", "pick at least one method in the sidebar")
        return
    if cfg["kind"] != "digits" and cfg["k_star"] > cfg["d"]:
        common.error(f"k* = {cfg['k_star']} is larger than d = {cfg['d']}",
                     f"lower k* to at most {cfg['d']} or raise d")
        return
    res = compute(cfg, common.seed())
    if "error" in res:
        common.error(res["error"], res["fix"])
        return
    for w in res["warnings"]:
        st.warning(w + " (k < k*: raise k to at least k* to make recovery possible)")
    runs = res["runs"]
    for m, r in runs.items():
        if r["stopped"] and not r["stopped"].startswith("reached"):
            fix = "set damping > 0 (e.g. 1e-3)" if "singular" in r["stopped"] or \
                "factorization" in r["stopped"] else "lower η, or add damping"
            common.error(f"{_label(m)} stopped: {r['stopped']}", fix)
    T = max(len(r["error"]) - 1 for r in runs.values())
    points = ["t = 0: every method starts from θ₀ = 0 (no stems yet).",
              "t = 1: one step. The Newton-based methods use the curvature H; on least "
              "squares with η = 1 their quadratic model is exact, so they can land on θ*.",
              f"t = {T}: the last step. Compare how far k-IHT got; the raster below shows "
              "when each method found the right support."]
    step = common.presenter(points, key="it_present")
    start = 1 if step is None else (0, 1, T)[step]
    view = repr((sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in cfg.items()),
                 common.seed()))
    fig, raster = figures(view, runs, res["theta_star"], start)
    common.chart(fig, key="it_stems")
    common.look(f"d = {res['d']}, n = {res['n']}, k* = {res['k_star']}, k = {cfg['k']}. "
                "A stem on a circle is a correct, well-estimated weight; a stem with no "
                "circle is a wrong support entry; a circle with no stem is a missed one. "
                "The figure opens at t = 1. Entries below 1e-9·max|θ*| count as zero (round-off).")
    st.subheader("Support over time")
    common.chart(raster, key="it_raster")
    common.look("Green = kept and true, red = kept but wrong, orange = missed. A method has "
                "found the support when its row turns all green left of the dotted line "
                "and white right of it.")
    st.subheader("Metrics")
    specs = {"final relative error": ".2e", "precision": ".2f", "recall": ".2f",
             "ms per iteration": ".3g"}
    table = pd.DataFrame({_label(m): {k: common.fmt(v, specs.get(k, ".3g"))
                                      for k, v in r["metrics"].items()}
                          for m, r in runs.items()}).T
    st.dataframe(table, width="stretch")
    common.look(f"Tolerance {TOL:g} on ‖θ_t − θ*‖/‖θ*‖; '—' means never reached within the "
                "steps. Seconds are this machine's wall time " + common.badge(common.MEASURED))
    numbers = {f"{m} error": r["error"] for m, r in runs.items()}
    numbers |= {f"{m} loss": r["loss"] for m, r in runs.items()}
    numbers |= {f"{m} seconds": r["seconds"] for m, r in runs.items()}
    numbers |= {f"{m} final theta": r["x"][-1] for m, r in runs.items()}
    numbers["theta_star"] = res["theta_star"]
    common.downloads("iterates", numbers, {**cfg, "seed": common.seed()}, key="it_dl")
    common.show_code(*(iobs.METHODS[m].step for m in runs), title="Show the code "
                     "(the solver steps drawn here)")


main()
