"""The paper's synthetic figure against the authors' saved arrays (read from
``../shared/reference`` at test time, never copied into the project)."""

from __future__ import annotations

import base64
import csv
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from iobs.cli.research import main as cli_main
from iobs.research.reproduce import reproduce_synthetic
from iobs.viz.research import (AUTHORS_GAUSSIAN, REFERENCE_LABEL, RULE_LABEL,
                                   digit_images, phase_curves, phase_maps, synthetic_curves)

REF = Path(__file__).resolve().parents[2] / "shared" / "reference" / "authors-synthetic"
STEM = "slinearreg_{}_750steps_20exprs_n256_d128_k64_kstar16.npy"
PREFIX = {"topk-iobs": "topkwt", "iht": "kiht"}
CHECK_STEPS = (100, 300, 500, 749)
LABELS = {"iht": "k-IHT", "topk-iobs": "Topk-I-OBS"}


def _traces(fig) -> list[dict]:
    """A figure's traces as sent to the browser, with its base64 arrays decoded (the
    builders add their data encoded, so ``fig.data`` holds none of it)."""
    def plain(v):
        if isinstance(v, dict) and "bdata" in v:
            a = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
            return a.reshape([int(n) for n in v["shape"].split(",")]) if "shape" in v else a
        return v
    return [{k: plain(v) for k, v in t.items()} for t in fig.to_dict()["data"]]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Tiny matrix-vector steps: extra BLAS threads only spin on a shared machine."""
    with threadpool_limits(1):
        yield


def _authors(method: str, what: str) -> np.ndarray:
    """(20 runs, 750 steps): ``loss[t]`` before update t, ``dist[t]`` after update t."""
    path = REF / f"{PREFIX[method]}_{STEM.format(what)}"
    if not path.exists():
        pytest.skip(f"the authors' arrays are not here ({path}); they live in ../shared")
    return np.load(path, allow_pickle=False).astype(np.float64)


@pytest.fixture(scope="module")
def paper():
    with threadpool_limits(1):
        return reproduce_synthetic("gaussian", runs=20, scaling="paper")


@pytest.mark.parametrize("method", ["topk-iobs", "iht"])
def test_gaussian_means_lie_within_the_authors_across_run_spread(paper, method):
    loss, dist = _authors(method, "loss"), _authors(method, "dist")
    ours = paper[method]
    for t in CHECK_STEPS:
        # their loss[t] is our step t; their dist[t] (after update t) is our error[t + 1]
        assert abs(ours["loss_mean"][t] - loss[:, t].mean()) <= loss[:, t].std(), t
        assert abs(ours["error_mean"][t + 1] - dist[:, t].mean()) <= dist[:, t].std(), t


@pytest.mark.parametrize("method", ["topk-iobs", "iht"])
def test_quoted_reference_means_match_the_authors_arrays(method):
    loss, dist = _authors(method, "loss"), _authors(method, "dist")
    for t, v in AUTHORS_GAUSSIAN[method]["loss"].items():
        assert loss[:, t].mean() == pytest.approx(v, rel=0.02), t
    for t, v in AUTHORS_GAUSSIAN[method]["error"].items():
        assert dist[:, t].mean() == pytest.approx(v, rel=0.02), t


def test_topk_iobs_beats_iht_at_the_last_step(paper):
    assert paper["topk-iobs"]["error_mean"][-1] < 0.1 * paper["iht"]["error_mean"][-1]


def test_exact_newton_toggle_converges_in_far_fewer_steps(paper):
    newton = reproduce_synthetic("gaussian", runs=3, steps=20, scaling="newton")
    e = newton["topk-iobs"]["error_mean"]
    tol = 1e-6 * e[0]
    steps_newton = int(np.flatnonzero(e <= tol)[0])
    assert steps_newton <= 3
    assert not np.any(paper["topk-iobs"]["error_mean"] <= tol)   # not even in 750 steps


def test_result_shapes_follow_the_contract(paper):
    for m in ("iht", "topk-iobs"):
        for q in ("loss_mean", "loss_std", "error_mean", "error_std"):
            assert paper[m][q].shape == (751,)
            assert np.all(np.isfinite(paper[m][q]))


def test_reproduce_cli_writes_one_row_per_step(tmp_path):
    out = tmp_path / "fig.csv"
    assert cli_main(["reproduce", "--prior", "gaussian", "--runs", "2", "--steps", "15",
                     "--out", str(out)]) == 0
    lines = [ln for ln in out.read_text().splitlines() if not ln.startswith("#")]
    rows = list(csv.DictReader(lines))
    assert len(rows) == 16 and rows[0]["step"] == "0"
    assert float(rows[-1]["topk-iobs_error_mean"]) < float(rows[0]["topk-iobs_error_mean"])


def test_synthetic_figure_labels_the_reference_and_shifts_distances(paper):
    refs = [t for t in _traces(synthetic_curves(paper, LABELS, AUTHORS_GAUSSIAN))
            if t.get("name") == REFERENCE_LABEL]
    assert len(refs) == 4 and sum(bool(t.get("showlegend")) for t in refs) == 1
    dist = [t for t in refs if t["xaxis"] == "x2"]
    assert dist and all(list(t["x"]) == [1, 101, 301, 501, 750] for t in dist)
    assert not [t for t in _traces(synthetic_curves(paper, LABELS))
                if t.get("name") == REFERENCE_LABEL]


def test_phase_figures_draw_one_map_per_method_and_the_rule_of_thumb():
    maps = {"k-IHT": np.eye(2), "I-OBS": np.ones((2, 2))}
    traces = _traces(phase_maps(maps, [0.5, 1.0], [0.1, 0.2], {"k-IHT": [0.15, np.nan]}))
    assert sum(t["type"] == "heatmap" for t in traces) == 2
    np.testing.assert_array_equal(traces[2]["z"], np.ones((2, 2)))     # I-OBS: no curve
    assert list(traces[1]["x"]) == [0.5]                          # the curve's NaN left out
    curves = phase_curves({"k-IHT": [0.1, 0.2]}, [0.5, 1.0], [0.1, 0.3], [0.2, 2.0])
    rule = [t for t in _traces(curves) if t.get("name") == RULE_LABEL]
    assert len(rule) == 1 and list(rule[0]["x"]) == [0.2]     # delta > 1 is off the map


def test_digit_images_are_square_and_upright():
    img = np.arange(16.0)
    z = _traces(digit_images({"truth": img, "other": img}, 4))[0]["z"]
    assert z.shape == (4, 4) and z[-1, 0] == 0.0               # first row drawn at the top


def test_reference_points_beyond_the_computed_steps_are_left_out():
    short = {m: {q: np.ones(201) for q in ("loss_mean", "loss_std", "error_mean", "error_std")}
             for m in LABELS}
    refs = [t for t in _traces(synthetic_curves(short, LABELS, AUTHORS_GAUSSIAN))
            if t.get("name") == REFERENCE_LABEL]
    assert refs and all(max(t["x"]) <= 200 for t in refs)
