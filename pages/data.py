"""Your data: methods compared on a data set without a truth (bundled or uploaded)."""

from __future__ import annotations

import ui.boot  # noqa: F401  (first: serialises cold-start imports)

# isort: split
import hashlib

import numpy as np
import pandas as pd
import streamlit as st

import iobs
from iobs.research.own_data import bundled, compare_fits, read_uploads
from iobs.viz.own_data import loss_curves, support_map
from ui import caching, common

# Page defaults: breast cancer with k = 10 features, where the methods differ in how fast
# they settle and OMP / working-set I-OBS reach the lowest loss in a few dozen steps.
SOURCES = {"breast-cancer": "bundled, logistic loss", "diabetes": "bundled, with every "
           "product of up to three measurements, squared loss", "upload": "your X and y"}
SOURCE, K, TEST_FRACTION = "breast-cancer", 10, 0.25
METHODS = ("iht", "htp", "omp", "topk-iobs", "iobs", "iobs-ws")
DEFAULT_METHODS = ("iht", "htp", "omp", "iobs-ws")
FRACTIONS = (0.1, 0.2, 0.25, 0.3, 0.4, 0.5)
UPLOAD_MB = 20            # per file; larger uploads are refused before parsing
MAX_CELLS = 2_000_000     # n x d the page fits live (larger: `python -m iobs fit`)


@caching.memory(max_entries=16)
def bundled_data(name):
    return bundled(name)


@caching.memory(max_entries=8)
def parsed_upload(x_id, y_id, loss, _fx, _fy):
    """The uploads parsed once per upload (keyed by Streamlit's file ids, so a rerun neither
    re-parses nor re-hashes the bytes: a 10 MB CSV takes about 1 s to parse); a refusal
    comes back as ``{"error": message}``."""
    try:
        X, y = read_uploads(_fx.getvalue(), _fy.getvalue(), loss, max_mb=UPLOAD_MB,
                            max_cells=MAX_CELLS)
    except ValueError as exc:
        return {"error": str(exc)}
    return {"X": X, "y": y}


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs={np.ndarray: lambda a: (
        a.shape, hashlib.sha1(np.ascontiguousarray(a).tobytes()).hexdigest())})
def compute(X, y, methods, k, loss, test_fraction, seed):
    """Every method fitted on the training rows (plain NumPy results, shared by sessions)."""
    with common.one_thread():
        return compare_fits(X, y, methods, k=k, loss=loss, test_fraction=test_fraction,
                            seed=seed)


def controls():
    with common.controls("Your data"):
        source = common.select("Data", list(SOURCES), SOURCE, key="yd_source",
                               help=" · ".join(f"{k}: {v}" for k, v in SOURCES.items()))
        methods = common.multiselect("Methods", METHODS, DEFAULT_METHODS, key="yd_methods",
                                     format_func=lambda m: iobs.METHODS[m].label)
        k = common.slider("Features kept k", 1, 60, K, key="yd_k")
        frac = common.select_slider("Held-out fraction", FRACTIONS, TEST_FRACTION,
                                    key="yd_test")
        loss = common.select("Loss (uploads)", ["squared", "logistic"], "squared",
                             key="yd_loss", horizontal=True,
                             help="Bundled data sets come with their own loss.")
    return source, methods, k, frac, loss


def load(source, loss):
    """``(X, y, loss, features, where)`` or None after an st.error."""
    if source != "upload":
        X, y, meta = bundled_data(source)
        return X, y, meta["loss"], meta["features"], meta["source"]
    st.caption(f"CSV (comma, semicolon or tab separated, an optional header row) or .npy; "
               f"up to {UPLOAD_MB} MB per file. Nothing leaves this server.")
    a, b = st.columns(2)
    fx = a.file_uploader("X: n rows, d columns", type=["csv", "txt", "npy"], key="yd_x")
    fy = b.file_uploader("y: n values", type=["csv", "txt", "npy"], key="yd_y")
    if fx is None or fy is None:
        st.info("Upload X and y to compare the methods on them.", icon=":material/upload:")
        return None
    got = parsed_upload(fx.file_id, fy.file_id, loss, fx, fy)
    if "error" in got:
        common.error(f"This upload cannot be used: {got['error']}", "fix the file and "
                     "upload it again, or pick a bundled data set")
        return None
    X, y = got["X"], got["y"]
    return X, y, loss, [f"column {j}" for j in range(X.shape[1])], "your upload"


def table(res, loss):
    rows = []
    for m, r in res["methods"].items():
        test = r["test"]
        rows.append({"method": iobs.METHODS[m].label, "steps": r["steps"],
                     "converged": r["converged"], "training loss": common.fmt(r["loss"][-1]),
                     **({"held-out RMSE": common.fmt(test["rmse"])} if loss == "squared" else
                        {"held-out accuracy": f"{test['accuracy']:.1%}",
                         "held-out log-loss": common.fmt(test["log_loss"])}),
                     "seconds": common.fmt(r["seconds"], ".2g"),
                     "features kept": int(r["support"].sum()), "stop": r["stopped"]})
    return pd.DataFrame(rows)


def main():
    st.title("Your data")
    st.markdown("Bring a design matrix X and a target y (or take a data set that ships with "
                "scikit-learn) and compare the solvers where nobody knows θ*: by the "
                "training loss they reach, how fast, the error on held-out rows, and the "
                "features they pick.")
    source, methods, k, frac, loss = controls()
    got = load(source, loss)
    if got is None:
        return
    X, y, loss, features, where = got
    if not methods:
        common.error("No method selected", "pick at least one method in the sidebar")
        return
    if k > X.shape[1]:
        common.error(f"k = {k} is more than the {X.shape[1]} features of this data",
                     f"lower k to at most {X.shape[1]}")
        return
    res = common.attempt(compute, X, y, tuple(methods), k, loss, frac, common.seed(),
                         fix="check the data and the settings in the sidebar")
    if res is None:
        return
    cfg = res["config"]
    st.caption(f"{where}: n = {X.shape[0]} rows ({cfg['n_train']} to fit, {cfg['n_test']} "
               f"held out, seed {cfg['seed']}), d = {X.shape[1]} features, {loss} loss; X "
               "standardised with the training rows only. " + common.badge(common.MEASURED))
    st.info("No truth here: no distance to θ* and no bound can be drawn; compare losses and "
            "held-out error instead.", icon=":material/info:")
    st.dataframe(table(res, loss), width="stretch", hide_index=True)
    common.chart(common.figure(loss_curves, res["methods"]), key="yd_loss_chart")
    common.look("Each method stops by itself (support unchanged and the step below tol, or a "
                "loss plateau): the right panel is what you wait for, set-up included.")
    common.chart(common.figure(support_map, {m: r["support"] for m, r in res["methods"].items()},
                               features),
                 key="yd_support")
    common.look("Where the methods agree on a feature, it is kept in every row; hover for "
                "the feature's name.")
    numbers = {f"{m} {q}": np.asarray(r[q], dtype=float) for m, r in res["methods"].items()
               for q in ("loss", "times", "coef")}
    common.downloads("your_data", numbers, {**cfg, "source": where, "methods": methods},
                     key="yd_dl")
    common.show_code(iobs.fit, compare_fits, title="Show the code (the fit and its stop)")


main()
