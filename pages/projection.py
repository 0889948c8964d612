"""Inside one projection: Euclidean (IHT) vs Hessian-metric (I-OBS), and the OBS family."""

from __future__ import annotations

import ui.boot  # noqa: F401  (first: serialises cold-start imports)

# isort: split
import itertools

import numpy as np
import pandas as pd
import streamlit as st

import iobs
from iobs import projections
from iobs.research import lessons
from iobs.viz.projection import geometry_2d, geometry_3d, rule_walk_figure, saliency_bars
from ui import caching, common

# Page defaults: a point where magnitude and the H-metric keep different coordinates.
GEO_D, GEO_K, POINT, RHO, COND = 2, 1, (0.8, 1.0, 0.5), 0.5, 10.0
CONDS = (1.0, 2.0, 4.0, 10.0, 20.0, 50.0, 100.0)
BIG_D, BIG_K, BIG_RHO, BIG_NOISE, RULE = 12, 4, 0.5, 0.5, "OBS saliency"
NOISES = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0)


@caching.memory(max_entries=128)
def geometry(d, k, point, rho, cond):
    H = lessons.small_hessian(d, rho, cond)
    return lessons.projection_geometry(H, np.array(point[:d], dtype=float), k)


@caching.memory(max_entries=64)
def walk(d, k, rho, noise, seed):
    """The Newton point of a first I-OBS step (the noisy least-squares fit) and each rule."""
    prob = iobs.make_problem("correlated", d=d, n=4 * d, k_star=k, rho=rho, noise=noise,
                             seed=seed)
    with common.one_thread():
        H = prob.X.T @ prob.X / prob.n
        z = np.linalg.solve(H, prob.X.T @ prob.y / prob.n)
        return {"z": z, "H": H, "theta_star": prob.theta_star,
                "saliency": projections.obs_saliency(z, np.diag(np.linalg.inv(H))),
                "walk": lessons.rule_walk(H, z, k)}


def sidebar():
    with common.controls():
        st.header("Geometry (d = 2 or 3)")
        d = common.select("Dimension", (2, 3), GEO_D, key="pj_d", horizontal=True)
        k = 1 if d == 2 else common.select("Sparsity k", (1, 2), GEO_K, key="pj_k",
                                           horizontal=True)
        point = tuple(common.slider(f"Newton point z{'₁₂₃'[i]}", -2.0, 2.0, POINT[i],
                                    key=f"pj_z{i + 1}", step=0.05) for i in range(d))
        rho = common.slider("Correlation ρ of H", -0.95, 0.95, RHO, key="pj_rho", step=0.05)
        cond = common.select_slider("Curvature spread (cond of the scales)", CONDS, COND,
                                    key="pj_cond", format_func=lambda c: f"{c:g}")
        st.header("Larger d: the OBS family")
        big_d = common.slider("Dimension d", 4, 64, BIG_D, key="pj_bigd")
        big_k = common.slider("Kept weights k", 1, 63, BIG_K, key="pj_bigk")
        big_rho = common.slider("Design correlation ρ", 0.0, 0.99, BIG_RHO, key="pj_bigrho",
                                step=0.01)
        noise = common.select_slider("Noise σ (makes z dense)", NOISES, BIG_NOISE,
                                     key="pj_noise", format_func=lambda x: f"{x:g}")
    return (d, k, point, rho, cond), (big_d, big_k, big_rho, noise)


def geometry_section(d, k, point, rho, cond):
    st.subheader(f"One projection in {d}-D, k = {k}")
    g = geometry(d, k, point, rho, cond)
    common.chart(common.figure(geometry_2d if d == 2 else geometry_3d, g), key="pj_geo")
    verdict = ("they pick the **same** support" if g["agree"] else
               "they keep **different** coordinates")
    common.look(f"Both methods project the same point z onto the sparse set; {verdict}. "
                f"Model increase q = ½(θ − z)ᵀH(θ − z): Euclidean {g['q_euclid']:.3g}, "
                f"H-metric {g['q_hmetric']:.3g}. The H-metric projection is where a level set "
                "of the model first touches the sparse set; the Euclidean one ignores the "
                "tilt of the ellipses. Set ρ = 0 and the spread to 1 (H = I): they agree. "
                + common.badge(common.DERIVED))
    st.markdown("The H-metric projection solves "
                "$\\min_{\\lVert\\theta\\rVert_0\\le k}\\tfrac12(\\theta-z)^\\top H(\\theta-z)$ "
                "(P, eq. 8); for a kept set $Q$ it is "
                "$\\theta_Q = z_Q + H_{QQ}^{-1}H_{QS}z_S$ (derived here, PAPER.md).")
    return g


@st.fragment
def rule_walk(z, rw, rules):
    """The rule slider and its figure: moving it reruns only this part of the page."""
    rule = common.select_slider("Walk the rules", rules, RULE if RULE in rules else rules[0],
                                key="pj_rule")
    step = common.presenter([f"Rule: {r}" for r in rules], key="pj_present")
    if step is not None:
        rule = rules[step]
    common.chart(common.figure(rule_walk_figure, z, rw, rule), key="pj_walk")


def walk_section(big_d, big_k, big_rho, noise):
    st.subheader(f"Larger d = {big_d}: which weights to keep, and how to compensate")
    if big_k >= big_d:
        common.error(f"k = {big_k} keeps every weight of d = {big_d}",
                     f"lower k below {big_d} so that something is pruned")
        return None
    w = walk(big_d, big_k, big_rho, noise, common.seed())
    rw = w["walk"]
    kept_mag, kept_obs = rw["magnitude"]["kept"], rw["OBS saliency"]["kept"]
    common.chart(common.figure(saliency_bars, w["z"], w["saliency"], kept_mag, kept_obs),
                 key="pj_bars")
    n_dis = int((kept_mag != kept_obs).sum()) // 2
    common.look(f"z is the Newton point of the first I-OBS step (a noisy least-squares fit, "
                f"correlated design). Magnitude and OBS saliency disagree on {n_dis} of the "
                f"{big_k} kept weights (shaded): a small weight in a flat direction is cheap "
                "to remove, a small weight with correlated neighbours can be expensive.")
    rules = [r for r in lessons.RULES if rw[r] is not None]
    rule_walk(w["z"], rw, rules)
    exact = "" if rw["exact"] is not None else (f" The exact search is skipped: d = {big_d} > "
                                                f"{projections.EXACT_MAX_D}.")
    rises = [f"{a} → {b}" for a, b in itertools.pairwise(rules)
             if rw[b]["increase"] > rw[a]["increase"] * (1 + 1e-12)]
    order = ("Here the loss increase falls at every step of the walk" if not rises else
             f"Here the loss increase rises at {', '.join(rises)}")
    common.look("Magnitude and OBD only zero weights (no update); OBS saliency, greedy OBC "
                "and exact move the kept weights to compensate — the bottom-left bars. "
                f"{order} {common.badge(common.MEASURED)}: the order of the rules is a "
                "tendency, not a law; only the exact search is guaranteed the lowest "
                "increase (it minimises it over every kept set)." + exact)
    rows = [(r, int(rw[r]["kept"].sum()), "yes" if rw[r]["compensated"] else "no",
             rw[r]["increase"], ", ".join(map(str, np.flatnonzero(rw[r]["kept"]))))
            for r in rules]
    st.dataframe(pd.DataFrame(rows, columns=["rule", "kept", "compensating update",
                                             "loss increase", "kept weights"]),
                 hide_index=True, width="stretch")
    st.caption("Sources: " + "; ".join(f"{r}: {lessons.RULE_SOURCES[r].detail} "
                                       + common.badge(lessons.RULE_SOURCES[r])
                                       for r in lessons.RULES) + ".")
    return w


def main():
    geo, big = sidebar()
    st.title("Inside one projection")
    st.markdown("IHT and I-OBS both take a step and then **project** onto the k-sparse set. "
                "IHT projects in the Euclidean metric (keep the largest |z_i|); I-OBS in the "
                "metric of the Hessian H (keep what is cheapest to lose, and let the kept "
                "weights compensate).")
    g = geometry_section(*geo)
    out = walk_section(*big)
    numbers = {"geometry z": g["z"], "geometry H": g["H"], "euclidean projection": g["euclid"],
               "H-metric projection": g["hmetric"]}
    if out is not None:
        w = out
        numbers |= {"walk z": w["z"], "walk H": w["H"], "walk saliency": w["saliency"]}
        numbers |= {f"{r} theta": v["theta"] for r, v in w["walk"].items() if v is not None}
        numbers |= {f"{r} increase": v["increase"] for r, v in w["walk"].items()
                    if v is not None}
    config = {"geometry (d, k, point, rho, cond)": geo,
              "larger d (d, k, rho, noise)": big, "seed": common.seed()}   # every rule
    common.downloads("projection", numbers, config, key="pj_dl")
    common.show_code(projections.obs_saliency, projections.obs_correction,
                     projections.greedy_obc, projections.exact_support,
                     iobs.METHODS["iobs"].step, title="Show the code (projections and the "
                                                     "I-OBS step)")


main()
