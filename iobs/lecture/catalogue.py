"""Every URL-bound widget of the app, page by page: key, kind, range or options, default.

A lecture names widget values by their URL keys; checking them from the command line must
not run Streamlit, so the pages' controls are described here, statically. The pages keep
their own named defaults; ``tests/test_lecture_catalogue.py`` runs every page under AppTest
and fails when a page's widgets and this table disagree (a key, a kind, a range, a step, an
option or a default), so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

from iobs.research.lessons import RULES
from iobs.research.trials import ORACLE
from iobs.solvers import METHODS

__all__ = ["HOME", "PAGES", "SHARED", "Widget", "widgets_of"]

KINDS = ("slider", "number", "select", "select_slider", "multiselect", "toggle")


@dataclass(frozen=True)
class Widget:
    """One bound control: ``kind`` is one of :data:`KINDS`; sliders and number inputs have
    ``lo``, ``hi`` (and ``step``), the others ``options``. ``default`` is None where the page
    derives it from another control (e.g. the Convergence preset)."""

    label: str
    kind: str
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    options: tuple = ()
    default: object = None

    @property
    def integer(self) -> bool:
        return isinstance(self.lo, int) and isinstance(self.hi, int)

    def describe(self) -> str:
        """The allowed values in words, for error messages."""
        if self.kind in ("slider", "number"):
            grid = f" in steps of {self.step:g}" if self.step not in (None, 1) else ""
            whole = "whole numbers " if self.integer else ""
            return f"{whole}{self.lo:g}..{self.hi:g}{grid}"
        if self.kind == "toggle":
            return "true or false"
        shown = ", ".join(_show(o) for o in self.options)
        return f"{'a list of ' if self.kind == 'multiselect' else 'one of '}{shown}"


def _show(v) -> str:
    return f'"{v}"' if isinstance(v, str) else f"{v:g}" if isinstance(v, float) else str(v)


def _slider(label, lo, hi, default, step=None):
    return Widget(label, "slider", lo, hi, step, (), default)


def _choice(kind, label, options, default):
    return Widget(label, kind, options=tuple(options), default=default)


HOME = "home"      # the lecture's name for the home page (its url path is empty)
SOLVERS = tuple(METHODS)

SHARED = {"seed": Widget("Seed", "number", 0, 2**31 - 1, 1, (), 0)}

PAGES: dict[str, dict[str, Widget]] = {
    HOME: {
        "home_cond": _choice("select_slider", "Condition number of H",
                             (1.0, 10.0, 100.0, 1e3, 1e4), 100.0),
    },
    "iterates": {
        "it_kind": _choice("select", "Problem", ("scaled", "correlated", "gaussian", "digits",
                                                 "logcosh", "logistic"), "scaled"),
        "it_cond": _choice("select_slider", "Condition number", (1.0, 10.0, 100.0, 1e3, 1e4),
                           100.0),
        "it_rho": _slider("Correlation ρ", 0.0, 0.99, 0.9, 0.01),
        "it_d": _choice("select_slider", "Dimension d", (16, 32, 64, 128, 256, 512, 1024), 256),
        "it_ratio": _choice("select_slider", "Samples n / d",
                            (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 4.0), 2.0),
        "it_kstar": _slider("True nonzeros k*", 1, 128, 16),
        "it_k": _slider("Sparsity k", 1, 512, 32),
        "it_methods": _choice("multiselect", "Methods", SOLVERS, ["iht", "topk-iobs", "iobs"]),
        "it_eta": _slider("Step η", 0.05, 2.0, 1.0, 0.05),
        "it_damping": _choice("select_slider", "Damping λ (× mean diag H)",
                              (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0), 0.0),
        "it_noise": _choice("select_slider", "Noise σ", (0.0, 0.01, 0.05, 0.1, 0.5), 0.0),
        "it_steps": _slider("Steps", 1, 200, 40),
    },
    "convergence": {
        "cv_preset": _choice("select", "Preset", ("least squares", "log-cosh near θ*"),
                             "log-cosh near θ*"),
        "cv_kind": _choice("select", "Design", ("scaled", "correlated"), "scaled"),
        "cv_cond": _choice("select_slider", "Condition number",
                           (1.0, 3.0, 10.0, 30.0, 100.0, 1e3, 1e4), 100.0),
        "cv_rho": _slider("Correlation ρ", 0.0, 0.99, 0.9, 0.01),
        "cv_beta": _choice("select_slider", "log-cosh weight β", (0.25, 0.5, 1.0, 2.0, 4.0),
                           1.0),
        "cv_e0": _choice("select_slider", "Start distance e₀ = ‖θ₀ − θ*‖",
                         (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0), 0.2),
        "cv_tight": Widget("Theorem 1 with Lemma 8's ratio", "toggle", default=False),
        # each preset has its own problem size: cv_* for least squares, cv_lc_* for log-cosh
        "cv_d": _choice("select_slider", "Dimension d", (32, 64, 128, 256, 512), 128),
        "cv_ratio": _choice("select_slider", "Samples n / d",
                            (0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 8.0), 2.0),
        "cv_kstar": _slider("True nonzeros k*", 1, 64, 8),
        "cv_kratio": _choice("select_slider", "k / k*",
                             (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0), 2.0),
        "cv_steps": _slider("Steps", 1, 300, 60),
        "cv_lc_d": _choice("select_slider", "Dimension d (log-cosh)", (32, 64, 128, 256, 512),
                           32),
        "cv_lc_ratio": _choice("select_slider", "Samples n / d (log-cosh)",
                               (0.5, 0.75, 1.0, 1.5, 2.0, 4.0, 8.0), 8.0),
        "cv_lc_kstar": _slider("True nonzeros k* (log-cosh)", 1, 64, 4),
        "cv_lc_kratio": _choice("select_slider", "k / k* (log-cosh)",
                                (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 8.0, 16.0), 2.0),
        "cv_lc_steps": _slider("Steps (log-cosh)", 1, 300, 6),
        "cv_eta_iht": _slider("k-IHT step η (× 1/L)", 0.05, 3.0, 1.0, 0.01),
        "cv_eta": _slider("Newton step η (I-OBS family)", 0.05, 2.0, 0.5, 0.05),
        "cv_noise": _choice("select_slider", "Noise σ", (0.0, 0.01, 0.1, 0.5), 0.0),
        "cv_damping": _choice("select_slider", "Damping λ", (0.0, 1e-4, 1e-3, 1e-2, 1e-1), 0.0),
        "cv_methods": _choice("multiselect", "Methods",
                              tuple(m for m in SOLVERS if m != "iobs-exact"),
                              ["iht", "topk-iobs", "iobs"]),
    },
    "projection": {
        "pj_d": _choice("select", "Dimension", (2, 3), 2),
        "pj_k": _choice("select", "Sparsity k", (1, 2), 1),
        "pj_z1": _slider("Newton point z₁", -2.0, 2.0, 0.8, 0.05),
        "pj_z2": _slider("Newton point z₂", -2.0, 2.0, 1.0, 0.05),
        "pj_z3": _slider("Newton point z₃", -2.0, 2.0, 0.5, 0.05),
        "pj_rho": _slider("Correlation ρ of H", -0.95, 0.95, 0.5, 0.05),
        "pj_cond": _choice("select_slider", "Curvature spread",
                           (1.0, 2.0, 4.0, 10.0, 20.0, 50.0, 100.0), 10.0),
        "pj_bigd": _slider("Dimension d", 4, 64, 12),
        "pj_bigk": _slider("Kept weights k", 1, 63, 4),
        "pj_bigrho": _slider("Design correlation ρ", 0.0, 0.99, 0.5, 0.01),
        "pj_noise": _choice("select_slider", "Noise σ", (0.0, 0.1, 0.25, 0.5, 1.0, 2.0), 0.5),
        "pj_rule": _choice("select_slider", "Walk the rules", RULES, "OBS saliency"),
    },
    "phase": {
        "ph_methods": _choice("multiselect", "Methods", (*("iht", "topk-iobs", "iobs", "htp",
                                                           "omp"), ORACLE),
                              ["iht", "topk-iobs", "iobs", "htp", "omp"]),
        "ph_d": _choice("select_slider", "Dimension d", (16, 32, 64, 100, 128, 256), 100),
        "ph_nd": _slider("δ = n/d values", 2, 20, 10),
        "ph_rmax": _slider("Largest ρ = k*/n", 0.1, 1.0, 0.8, 0.05),
        "ph_nr": _slider("ρ values", 2, 20, 16),
        "ph_trials": _slider("Trials per cell", 1, 50, 6),
        "ph_steps": _slider("Iteration budget", 20, 2000, 300, 10),
    },
    "reproduce": {
        "rp_prior": _choice("select", "θ* prior", ("gaussian", "digits"), "gaussian"),
        "rp_scaling": _choice("select", "Step", ("paper", "newton"), "paper"),
        "rp_runs": _slider("Runs", 1, 20, 20),
        "rp_druns": _slider("Runs (digits)", 1, 20, 2),
        "rp_dsteps": _choice("select_slider", "Steps", (250, 500, 1000, 2000, 4000), 2000),
        "rp_run": _slider("Run shown", 0, 19, 0),   # the page caps it at runs - 1
    },
    "data": {
        "yd_source": _choice("select", "Data", ("breast-cancer", "diabetes", "upload"),
                             "breast-cancer"),
        "yd_methods": _choice("multiselect", "Methods",
                              ("iht", "htp", "omp", "topk-iobs", "iobs", "iobs-ws"),
                              ["iht", "htp", "omp", "iobs-ws"]),
        "yd_k": _slider("Features kept k", 1, 60, 10),
        "yd_test": _choice("select_slider", "Held-out fraction",
                           (0.1, 0.2, 0.25, 0.3, 0.4, 0.5), 0.25),
        "yd_loss": _choice("select", "Loss (uploads)", ("squared", "logistic"), "squared"),
    },
    "prune": {
        "pr_model": _choice("select", "Model", ("vit", "gpt"), "vit"),
        # iobs.prune.METHODS, written out: importing iobs.prune's API loads torch
        "pr_method": _choice("select", "Method", ("magnitude", "magnitude-global", "obd",
                                                  "wanda", "obs", "admm", "iobs"), "obs"),
        "pr_sparsity": _slider("Sparsity (%)", 10, 90, 50, 10),
        "pr_pattern": _choice("select", "Pattern", ("unstructured", "2:4"), "unstructured"),
        "pr_calibration": _choice("select_slider", "Calibration examples",
                                  ("auto", 32, 64, 128, 256, 512, 1024), "auto"),
        "pr_damping": _choice("select_slider", "Damping λ (× mean diag H)",
                              (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0), 1e-2),
        "pr_rounds": _slider("I-OBS rounds T", 1, 10, 5),
        "pr_lr": _choice("select_slider", "I-OBS dense-update learning rate",
                         ("auto", 1e-4, 3e-4, 1e-3, 3e-3, 1e-2), "auto"),
        "pr_fresh": Widget("I-OBS: fresh calibration batch each round", "toggle",
                           default=False),
    },
}


def widgets_of(page: str) -> dict[str, Widget]:
    """The widgets a scene on ``page`` may set: the page's own and the shared sidebar's."""
    return {**SHARED, **PAGES[page]}
