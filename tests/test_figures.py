"""The app's Plotly builders, checked on their figure JSON (no Streamlit, no browser)."""

from __future__ import annotations

import json

import numpy as np
import plotly.graph_objects as go
import pytest

from iobs.research import lessons
from iobs.viz import figures
from iobs.viz import projection as figures_projection


def _decode(v):
    """Plotly JSON arrays are lists or ``{"dtype", "bdata"}`` base64 blocks."""
    if isinstance(v, dict) and "bdata" in v:
        import base64
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, dtype=float)


@pytest.fixture
def iterates():
    rng = np.random.default_rng(0)
    ts = np.zeros(20)
    ts[[2, 5, 11]] = [1.0, -2.0, 0.5]
    xs = {"k-IHT": np.cumsum(rng.normal(size=(9, 20)), 0) * 0.1,
          "I-OBS": np.vstack([np.zeros(20)] + [ts] * 4)}        # stopped early: 5 rows
    return xs, ts


def test_stem_animation_frames_hold_only_the_nonzero_coordinates(iterates):
    xs, ts = iterates
    fig = figures.stem_animation(xs, ts)
    spec = json.loads(fig.to_json())
    assert len(spec["frames"]) == 9                      # t = 0..8, longest run
    moving = spec["frames"][0]["traces"]
    assert len(moving) == 2 * len(xs)                    # stems and heads per panel
    for fr in spec["frames"]:
        for tr in fr["data"]:
            assert set(tr) <= {"x", "y", "type"}         # the truth and styles are static
            assert tr["y"] == [] or tr["y"]["dtype"] == "f4"   # empty: no nonzero yet
    # the early-stopped run holds its last iterate, whose 3 nonzeros are all that is sent:
    # (0, theta_i, gap) per stem, and one head per nonzero
    stems, heads = spec["frames"][-1]["data"][2:4]
    sx, sy = _decode(stems["x"]), _decode(stems["y"]).reshape(-1, 3)
    np.testing.assert_array_equal(sx, np.repeat([2, 5, 11], 3))
    np.testing.assert_allclose(sy[:, 1], ts[[2, 5, 11]], atol=1e-6)
    assert (sy[:, 0] == 0).all() and np.isnan(sy[:, 2]).all()
    np.testing.assert_array_equal(_decode(heads["x"]), [2, 5, 11])
    np.testing.assert_allclose(_decode(heads["y"]), ts[[2, 5, 11]], atol=1e-6)
    assert _decode(spec["frames"][0]["data"][2]["x"]).size == 0     # I-OBS at t = 0: none


def test_stem_animation_controls_do_not_redraw(iterates):
    xs, ts = iterates
    spec = json.loads(figures.stem_animation(xs, ts, start=3).to_json())
    slider = spec["layout"]["sliders"][0]
    assert slider["active"] == 3
    assert [s["label"] for s in slider["steps"]] == [str(t) for t in range(9)]
    assert all(s["args"][1]["frame"]["redraw"] is False for s in slider["steps"])
    play = spec["layout"]["updatemenus"][0]["buttons"][0]
    assert "Play" in play["label"] and play["args"][1]["frame"]["redraw"] is False
    # initial data is the start frame
    np.testing.assert_array_equal(_decode(spec["data"][1]["y"]),
                                  _decode(spec["frames"][3]["data"][0]["y"]))
    np.testing.assert_array_equal(_decode(spec["data"][2]["x"]),
                                  _decode(spec["frames"][3]["data"][1]["x"]))


def test_stem_animation_subsamples_long_runs():
    ts = np.ones(5)
    fig = figures.stem_animation({"k-IHT": np.zeros((501, 5))}, ts, max_frames=50)
    names = [int(f["name"]) for f in json.loads(fig.to_json())["frames"]]
    assert len(names) <= 52 and names[:2] == [0, 1] and names[-1] == 500
    assert names == sorted(names)


def test_support_raster_classes_and_true_support_first():
    truth = np.array([False, True, False, True])
    S = np.array([[True, True, False, False],     # kept&wrong, kept&true, -, missed
                  [False, True, False, True]])
    spec = json.loads(figures.support_raster({"m": S}, truth).to_json())
    z = _decode(spec["data"][0]["z"]).reshape(2, 4)
    # columns reordered: true support (1, 3) first, then (0, 2)
    np.testing.assert_array_equal(z, [[1, 3, 2, 0], [1, 1, 0, 0]])
    assert spec["data"][0]["colorbar"]["ticktext"] == list(figures.RASTER_LABELS)


def test_error_curves_log_floor_and_dashed_bounds():
    fig = figures.error_curves({"I-OBS": {"y": [1.0, 0.0, 0.0]}},
                               [{"label": "Topk", "y": [1.0, 0.5, 0.25],
                                 "source": "from the paper", "method": "Topk-I-OBS"}],
                               notes=["k-IHT: vacuous"])
    spec = json.loads(fig.to_json())
    assert spec["layout"]["yaxis"]["type"] == "log"
    assert _decode(spec["data"][0]["y"]).min() == figures.FLOOR
    bound = spec["data"][1]
    assert bound["line"]["dash"] == "dash" and "from the paper" in bound["name"]
    assert bound["line"]["color"] == figures.color("Topk-I-OBS")
    assert spec["layout"]["annotations"][0]["text"] == "k-IHT: vacuous"


def test_error_curves_against_seconds():
    fig = figures.error_curves({"a": {"y": [1, 0.1], "x": [0.0, 0.5]}}, x_title="seconds")
    assert list(_decode(fig.to_plotly_json()["data"][0]["x"])) == [0.0, 0.5]


def test_ratio_plot_is_e_next_over_e_squared():
    e = np.array([0.1, 0.02, 0.0008, 1e-15])
    spec = json.loads(figures.ratio_plot({"I-OBS": e}, [{"label": "Theorem 1", "c": 3.0,
                                                        "source": "from the paper"}]).to_json())
    y = _decode(spec["data"][0]["y"])
    np.testing.assert_allclose(y, [2.0, 2.0])            # the round-off step is left out
    assert spec["layout"]["shapes"][0]["y0"] == 3.0


def test_one_colour_per_method_by_name_or_label_and_bounds_use_the_method_labels():
    import iobs
    from iobs.viz import style

    colours = {m: style.color(m) for m in iobs.METHODS}
    assert len(set(colours.values())) == len(iobs.METHODS)       # every method its own
    for m, spec in iobs.METHODS.items():
        assert style.color(spec.label) == colours[m] and style.label(m) == spec.label
    assert figures.color("anything") == figures.color("anything")
    prob = iobs.make_problem("gaussian", d=32, n=64, k_star=3, seed=0)
    for m in iobs.METHODS:
        if iobs.METHODS[m].max_d is None or prob.d <= iobs.METHODS[m].max_d:
            assert iobs.theory.bound(m, prob, k=3, steps=3).label.startswith(
                iobs.METHODS[m].label)


def test_geometry_2d_draws_both_projections_of_the_same_point():
    H = lessons.small_hessian(2, 0.5, 10.0)
    g = lessons.projection_geometry(H, np.array([0.8, 1.0]), 1)
    fig = figures_projection.geometry_2d(g)
    names = [t.name or "" for t in fig.data]
    assert any(n.startswith("IHT: Euclidean") for n in names)
    assert any(n.startswith("I-OBS: H-metric") for n in names)
    h = next(t for t in fig.data if (t.name or "").startswith("I-OBS"))
    np.testing.assert_allclose([h.x[0], h.y[0]], g["hmetric"])
    assert fig.layout.yaxis.scaleanchor == "x"           # equal aspect: ellipses look right


@pytest.mark.parametrize("k", [1, 2])
def test_geometry_3d_sparse_set_is_axes_or_planes(k):
    g = lessons.projection_geometry(lessons.small_hessian(3, 0.6, 4.0),
                                    np.array([0.8, 1.0, 0.5]), k)
    fig = figures_projection.geometry_3d(g)
    kinds = [type(t).__name__ for t in fig.data]
    assert kinds.count("Surface") == (1 if k == 1 else 4)
    assert "Scatter3d" in kinds


def test_saliency_bars_shade_disagreements():
    z = np.array([1.0, 0.9, 0.1])
    fig = figures_projection.saliency_bars(z, np.array([0.2, 1.0, 0.05]),
                                           np.array([True, False, False]),
                                           np.array([False, True, False]))
    assert len(fig.layout.shapes) == 2
    assert isinstance(fig.data[0], go.Bar) and isinstance(fig.data[1], go.Bar)


def test_rule_walk_figure_highlights_current_rule():
    H = lessons.small_hessian(6, 0.7, 10.0)
    z = np.array([1.0, -0.8, 0.5, 0.3, -0.2, 0.1])
    walk = lessons.rule_walk(H, z, 2)
    fig = figures_projection.rule_walk_figure(z, walk, "greedy OBC")
    bars = fig.data[-1]
    assert list(bars.x) == list(lessons.RULES)
    colours = list(bars.marker.color)
    assert colours.count("#cccccc") == len(lessons.RULES) - 1
    np.testing.assert_allclose(fig.data[1].y, walk["greedy OBC"]["theta"])


def test_a_skeleton_is_built_once_and_every_call_gets_its_own_copy():
    """Builders fill the dict they get: one call's data must never reach the next."""
    from iobs.viz.spec import skeleton

    built = []

    @skeleton
    def layout(title):
        built.append(title)
        return go.Figure(go.Scatter(mode="lines")).update_layout(title_text=title)

    first = layout("a")
    first["data"][0]["y"] = [1, 2, 3]
    second = layout("a")
    assert built == ["a"] and "y" not in second["data"][0]
    assert second["layout"]["title"]["text"] == "a" and layout("b") and built == ["a", "b"]


def test_error_curves_carry_each_curve_in_its_own_trace():
    fig = figures.error_curves({"k-IHT": {"y": [1.0, 0.5]}, "I-OBS": {"y": [1.0, 1e-20],
                                                                      "x": [0, 3]}})
    spec = json.loads(fig.to_json())
    assert [t["name"] for t in spec["data"]] == ["k-IHT", "I-OBS"]
    np.testing.assert_array_equal(_decode(spec["data"][0]["x"]), [0, 1])
    np.testing.assert_array_equal(_decode(spec["data"][1]["x"]), [0, 3])
    np.testing.assert_allclose(_decode(spec["data"][1]["y"]), [1.0, figures.FLOOR])
