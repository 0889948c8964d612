"""iobs: an interactive companion to "The Iterative Optimal Brain Surgeon" (NeurIPS 2024).

Run with ``streamlit run app.py``. This file is the frame: the page list (registered
explicitly), the shared sidebar and the home page.
"""

from __future__ import annotations

import ui.boot  # noqa: F401  (first: serialises cold-start imports)

# isort: split
from pathlib import Path

import streamlit as st

from iobs.backend import info
from ui import caching, common, handout, lecture

HERE = Path(__file__).parent
HOME_COND = 100.0          # condition number of the live comparison: IHT is visibly slow
HOME_D, HOME_N, HOME_KSTAR, HOME_K, HOME_STEPS = 128, 256, 8, 16, 60

# (file, title, icon, url path, one-line teaser); optional ones appear once the file exists
PAGES = [
    ("pages/iterates.py", "Iterates", ":material/animation:", "iterates",
     "watch θ_t of each method move toward θ*, frame by frame"),
    ("pages/convergence.py", "Convergence vs theory", ":material/trending_down:", "convergence",
     "measured error against the paper's and our bounds, with every assumption checked"),
    ("pages/projection.py", "Inside one projection", ":material/architecture:", "projection",
     "Euclidean vs Hessian-metric projection in 2-D/3-D, and the OBS family of rules"),
    ("pages/phase.py", "Phase transitions", ":material/grid_on:", "phase",
     "where each method recovers θ*, over (n/d, k*/n)"),
    ("pages/reproduce.py", "Reproduce the paper", ":material/description:", "reproduce",
     "the synthetic experiment of §4.1 next to the authors' numbers"),
    ("pages/data.py", "Your data", ":material/upload_file:", "data",
     "compare the solvers on your own X and y (or bundled data): no truth needed"),
    ("pages/prune.py", "Prune a transformer", ":material/content_cut:", "prune",
     "magnitude, OBD, SparseGPT and I-OBS on a tiny transformer"),
]


@caching.shared(max_entries=32)
def _home_runs(cond: float, seed: int) -> dict:
    """Error curves of k-IHT and I-OBS on one ill-conditioned least-squares problem."""
    import warnings

    import iobs

    prob = iobs.make_problem("scaled", d=HOME_D, n=HOME_N, k_star=HOME_KSTAR, cond=cond,
                             seed=seed)
    out = {}
    with warnings.catch_warnings(), common.one_thread():
        warnings.simplefilter("ignore")
        for m in ("iht", "iobs"):
            tr = iobs.run(prob, m, k=HOME_K, steps=HOME_STEPS)
            out[m] = tr.error / max(tr.config["theta_star_norm"], 1e-300)
    return out


def home():
    from iobs.viz.figures import error_curves

    st.title("The Iterative Optimal Brain Surgeon, interactively")
    st.markdown(f"An interactive companion to D. Wu, I.-V. Modoranu, M. Safaryan, "
                f"D. Kuznedelev, D. Alistarh, *The Iterative Optimal Brain Surgeon: Faster "
                f"Sparse Recovery by Leveraging Second-Order Information* (NeurIPS 2024, "
                f"[arXiv 2408.17163](https://arxiv.org/abs/2408.17163)).  \n"
                f"Backend: :green-badge[{info()}]")
    left, right = st.columns([11, 10], gap="large")
    with left:
        st.subheader("The story in four steps")
        st.markdown(
            "**1. Sparse recovery.** Find a vector with at most $k$ nonzeros that fits the "
            "data: $\\min_\\theta f(\\theta)$ s.t. $\\lVert\\theta\\rVert_0\\le k$, e.g. "
            "$f(\\theta)=\\tfrac{1}{2n}\\lVert X\\theta-y\\rVert^2$ with a $k^\\star$-sparse "
            "truth $\\theta^\\star$. " + common.badge(common.PAPER) + "\n\n"
            "**2. IHT.** Take a gradient step, keep the $k$ largest entries: "
            "$\\theta_{t+1}=T_k(\\theta_t-\\eta\\nabla f(\\theta_t))$ — the Euclidean "
            "projection of a first-order step (P, Lemma 1). Ill-conditioning makes it slow. "
            + common.badge(common.LITERATURE) + "\n\n"
            "**3. OBS.** To prune one weight $q$ of a trained model, remove the one with the "
            "smallest saliency $z_q^2/(2[H^{-1}]_{qq})$ and let the others compensate by "
            "$-\\tfrac{z_q}{[H^{-1}]_{qq}}H^{-1}e_q$ (Hassibi & Stork 1993): a projection in "
            "the Hessian metric. " + common.badge(common.LITERATURE) + "\n\n"
            "**4. I-OBS.** Combine them: a Newton point "
            "$\\theta^+=\\theta_t-H_t^{-1}\\nabla f(\\theta_t)$, then the sparse point "
            "closest in the $H_t$-metric, "
            "$\\theta_{t+1}=\\arg\\min_{\\lVert\\theta\\rVert_0\\le k}"
            "\\tfrac12\\lVert\\theta-\\theta^+\\rVert_{H_t}^2$ (P, eq. 8, Algorithm 1). "
            "Locally $e_{t+1}\\le C\\,e_t^2$ (P, Theorem 1): quadratic, free of the "
            "condition number for the top-k variant (P, Lemma 3). " + common.badge(common.PAPER))
    with right:
        st.subheader("Live: k-IHT vs I-OBS")
        cond = common.select_slider("Condition number of H", [1.0, 10.0, 100.0, 1e3, 1e4],
                                    HOME_COND, key="home_cond",
                                    format_func=lambda c: f"{c:g}")
        runs = _home_runs(float(cond), common.seed())
        curves = {"k-IHT": {"y": runs["iht"]}, "I-OBS": {"y": runs["iobs"]}}
        common.chart(common.figure(error_curves, curves,
                                   y_title="relative error ‖θ_t − θ*‖ / ‖θ*‖", height=330),
                     key="home_chart")
        common.look(f"d = {HOME_D}, n = {HOME_N}, k* = {HOME_KSTAR}, k = {HOME_K}, noiseless. "
                    "I-OBS lands on θ* after one step (least squares: the quadratic model is "
                    "exact); k-IHT crawls, more slowly the larger the condition number. "
                    + common.badge(common.MEASURED))
    st.subheader("Pages")
    for path, title, icon, _, teaser in _available():
        st.page_link(path, label=f"**{title}** — {teaser}", icon=icon)


def _available():
    return [p for p in PAGES if (HERE / p[0]).exists()]


def main():
    st.set_page_config(page_title="I-OBS, interactively", page_icon=":material/neurology:",
                       layout="wide")
    common.begin_run()
    pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
    pages += [st.Page(path, title=title, icon=icon, url_path=url)
              for path, title, icon, url, _ in _available()]
    nav = st.navigation(pages)
    lecture.prepare(pages)          # before any widget: a scene sets their values
    common.shared_sidebar(nav)
    lecture.bar()
    with handout.recording() as drawn:
        nav.run()
    common.link_to_view()
    handout.offer(nav, drawn)


main()
