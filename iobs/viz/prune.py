"""Plotly figure builders for the pruning page: plain arrays in, ``go.Figure`` out.

No Streamlit and no torch here; tests inspect the figures' dicts (``to_dict()``: the figures
are :class:`iobs.viz.spec.Prebuilt`). The page draws six figures per setting and builds
them ahead for the sweep's other positions, so each figure's panels, styles, axes and lines
come from a layout built and checked by Plotly once per labels
(:func:`iobs.viz.spec.skeleton`), and a call adds its arrays (encoded by
:func:`iobs.viz.spec.typed`), numbers and per-call text: through Plotly the six took about
0.25 s of server CPU per setting (measured here), this way about 10 ms.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from iobs.viz.spec import Prebuilt, plain, skeleton, typed

__all__ = ["digits_figure", "layer_comparison_figure", "layer_errors_figure", "masks_figure",
           "quality_figure", "rounds_figure", "speed_figure"]

LABELS = {"magnitude": "magnitude (per layer)", "magnitude-global": "magnitude (global)",
          "obd": "OBD (diagonal H)", "wanda": "Wanda (|w|·‖x‖ per row)",
          "obs": "OBS / SparseGPT", "admm": "ADMM (Boža 2024)", "iobs": "I-OBS(T)"}
COLORS = {"magnitude": "#7f7f7f", "magnitude-global": "#bcbd22", "obd": "#ff7f0e",
          "wanda": "#8c564b", "obs": "#1f77b4", "admm": "#2ca02c", "iobs": "#d62728"}


def _axis_title(metric: str) -> str:
    return "test accuracy" if metric == "accuracy" else "test perplexity (log scale)"


@skeleton
def _quality_layout(methods: tuple, extra: tuple, metric: str, selected: bool) -> go.Figure:
    """Traces' styles, the dense line, the selection line and axes of
    :func:`quality_figure`, without data (the lines at 0, their note without text)."""
    fig = go.Figure()
    for method in methods:
        fig.add_trace(go.Scatter(mode="lines+markers", name=LABELS.get(method, method),
                                 line={"color": COLORS.get(method)}))
    for method in extra:
        fig.add_trace(go.Scatter(mode="markers", name=f"{LABELS.get(method, method)}, 2:4",
                                 marker={"symbol": "diamond-open", "size": 12,
                                         "color": COLORS.get(method)}))
    fig.add_hline(y=0.0, line_dash="dash", line_color="black", annotation_text="",
                  annotation_position="bottom left")
    if selected:
        fig.add_vline(x=0.0, line_dash="dot", line_color="gray")
    fig.update_layout(title="Quality vs sparsity (measured here)", legend_title="method",
                      xaxis_title="sparsity of the block linears (%)",
                      yaxis_title=_axis_title(metric), hovermode="x unified")
    if metric == "perplexity":
        fig.update_yaxes(type="log")
    return fig


def quality_figure(sparsity, quality: dict, dense: float, metric: str, *,
                   selected: float | None = None, extra: dict | None = None) -> go.Figure:
    """Test quality vs sparsity per method, with the dense model as a dashed line.

    ``extra`` = {method: (sparsity, value)} adds hollow markers (e.g. the 2:4 results).
    """
    extra = extra or {}
    spec = _quality_layout(tuple(quality), tuple(extra), metric, selected is not None)
    x = typed(100 * np.asarray(sparsity, dtype=float), np.float64)
    for trace, values in zip(spec["data"], quality.values()):
        trace.update(x=x, y=typed(values, np.float64))
    for trace, (s, value) in zip(spec["data"][len(quality):], extra.values()):
        trace.update(x=plain([100 * s]), y=plain([value]))
    dense_line, *chosen = spec["layout"]["shapes"]
    dense_line.update(y0=dense, y1=dense)
    spec["layout"]["annotations"][0].update(y=dense,
                                            text=f"dense model: {dense:.4g} (measured here)")
    for line in chosen:
        line.update(x0=100 * selected, x1=100 * selected)
    return Prebuilt(spec)


_ROUND_SERIES = (("calibration set", "#1f77b4"), ("held-out (val split)", "#d62728"))
_ROUND_KEYS = (("calibration", "held_out"), ("calibration_loss", "held_out_loss"))


@skeleton
def _rounds_layout(metric: str, best: bool) -> go.Figure:
    """Panels, series' styles, the star and axes of :func:`rounds_figure`, without data
    (the star's name is per call)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(metric, "cross-entropy loss (nats)"))
    for col in (1, 2):
        for name, color in _ROUND_SERIES:
            fig.add_trace(go.Scatter(mode="lines+markers", name=name, legendgroup=name,
                                     showlegend=col == 1, line={"color": color}),
                          row=1, col=col)
        if best:
            fig.add_trace(go.Scatter(mode="markers", showlegend=col == 1, legendgroup="best",
                                     marker={"symbol": "star", "size": 18, "color": "gold",
                                             "line": {"color": "black", "width": 1}}),
                          row=1, col=col)
    fig.update_xaxes(title_text="round t (1 = one-shot OBS)", dtick=1)
    return fig.update_layout(
        title="I-OBS(T): calibration vs held-out, per round (measured here)")


def rounds_figure(rounds: list[dict], best_round: int | None, metric: str) -> go.Figure:
    """I-OBS(T): calibration vs held-out quality and loss per round; best round starred."""
    spec = _rounds_layout(metric, best_round is not None)
    t = [r["round"] for r in rounds]
    traces = iter(spec["data"])
    for keys in _ROUND_KEYS:
        for key in keys:
            next(traces).update(x=plain(t), y=plain(r[key] for r in rounds))
        if best_round is not None:
            best = rounds[t.index(best_round)]
            next(traces).update(name=f"best held-out round ({best_round})",
                                x=plain([best_round]), y=plain([best[keys[1]]]))
    return Prebuilt(spec)


@skeleton
def _masks_layout(names: tuple, count: int, columns: int) -> go.Figure:
    """Panels, colour scale and axes of :func:`masks_figure`, without masks."""
    rows = -(-count // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=names,
                        horizontal_spacing=0.04, vertical_spacing=0.12)
    for i in range(count):
        fig.add_trace(go.Heatmap(zmin=0, zmax=1, showscale=False,
                                 colorscale=[[0, "#f7f7f7"], [1, "#08306b"]],
                                 hovertemplate="out %{y}, in %{x}: %{z}<extra></extra>"),
                      row=i // columns + 1, col=i % columns + 1)
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    return fig.update_layout(
        title="Masks: dark = kept weight (rows = outputs, columns = inputs)",
        height=260 * rows)


def masks_figure(masks: list, names: list[str], *, columns: int = 4) -> go.Figure:
    """Kept (1) / pruned (0) weights of each layer as heatmaps (rows = outputs)."""
    spec = _masks_layout(tuple(names), len(masks), columns)
    for trace, mask in zip(spec["data"], masks):
        trace.update(z=typed(mask, np.uint8))
    return Prebuilt(spec)


def layer_errors_figure(names: list[str], errors: dict) -> go.Figure:
    """Relative reconstruction error ‖ΔW X‖²/‖W X‖² per layer and method (log scale)."""
    fig = go.Figure()
    for method, values in errors.items():
        fig.add_trace(go.Bar(x=names, y=np.asarray(values, dtype=float),
                             name=LABELS.get(method, method),
                             marker_color=COLORS.get(method)))
    fig.update_layout(barmode="group", title="Layer reconstruction error (measured here)",
                      yaxis_title="‖ΔW X‖² / ‖W X‖²", yaxis_type="log")
    return fig


@skeleton
def _comparison_layout(calibration: tuple, heldout: tuple) -> go.Figure:
    """Panels, bars' styles and axes of :func:`layer_comparison_figure`, without data."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=("calibration inputs", "held-out inputs (val split)"))
    for col, methods in enumerate((calibration, heldout), start=1):
        for method in methods:
            fig.add_trace(go.Bar(name=LABELS.get(method, method), legendgroup=method,
                                 showlegend=col == 1, marker_color=COLORS.get(method)),
                          row=1, col=col)
    fig.update_yaxes(type="log", title_text="‖(Ŵ − W)X‖ / ‖WX‖", row=1, col=1)
    return fig.update_layout(barmode="group", legend_title="method",
                             title="Layer reconstruction error per method (measured here)")


def layer_comparison_figure(names: list[str], calibration: dict, heldout: dict) -> go.Figure:
    """Relative output error ‖(Ŵ − W)X‖/‖WX‖ per layer and method on the calibration inputs
    (left) and on held-out inputs (right), log scale (ALPS's Table 1 metric)."""
    spec = _comparison_layout(tuple(calibration), tuple(heldout))
    x = plain(names)
    for trace, values in zip(spec["data"], [*calibration.values(), *heldout.values()]):
        trace.update(x=x, y=typed(values, np.float64))
    return Prebuilt(spec)


_RIGHT, _WRONG = "#222222", "#b2182b"       # a digit's title: prediction kept / changed


def _tiles(count: int, columns: int, h: int, w: int):
    """Rows and the tiles' pitch of :func:`digits_figure`: blank pixels between tiles and
    above each (room for its title)."""
    rows, gap, top = -(-count // columns), 2, 4
    return rows, top, h + gap + top, w + gap


@skeleton
def _digits_layout(count: int, columns: int, h: int, w: int) -> go.Figure:
    """The heatmap's style, the hidden square axes and the titles' places and font of
    :func:`digits_figure`, without pixels (titles without text)."""
    rows, top, H, W = _tiles(count, columns, h, w)
    notes = [dict(x=c * W + (w - 1) / 2, y=r * H + top - 0.8, showarrow=False,
                  yanchor="bottom", text="", font=dict(size=11, color=_RIGHT))
             for r, c in (divmod(i, columns) for i in range(count))]
    fig = go.Figure(go.Heatmap(colorscale="gray_r", showscale=False, hoverinfo="skip"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", scaleratio=1)
    return fig.update_layout(title="Test digits: true label · dense · pruned prediction",
                             annotations=notes, height=190 * rows, plot_bgcolor="white",
                             margin=dict(l=10, r=10, t=60, b=10))


def digits_figure(images, labels, dense, pruned, *, columns: int = 6) -> go.Figure:
    """Test digits titled 'true, dense · pruned'; a changed prediction is marked with ✗.

    One heatmap of the images tiled with a blank gap (not one subplot each: building 12
    subplots took ~85 ms per rerun), the titles as annotations above each tile.
    """
    images = np.asarray(images, dtype=float)
    count, h, w = images.shape
    rows, top, H, W = _tiles(count, columns, h, w)
    spec = _digits_layout(count, columns, h, w)
    canvas = np.zeros((rows * H, columns * W))     # the gaps: 0, drawn white (no NaN)
    for i, (img, t, d, p, note) in enumerate(zip(images, labels, dense, pruned,
                                                  spec["layout"]["annotations"], strict=True)):
        r, c = divmod(i, columns)
        canvas[r * H + top : r * H + top + h, c * W : c * W + w] = img
        note["text"] = f"true {t}<br>dense {d} · pruned {p}{' ✗' if p != t else ''}"
        note["font"]["color"] = _WRONG if p != t else _RIGHT
    spec["data"][0].update(z=typed(canvas, np.float64), zmin=min(0.0, float(images.min())))
    return Prebuilt(spec)


@skeleton
def _speed_layout(batch) -> go.Figure:
    """Panels, bars (their categories and colours) and axes of :func:`speed_figure`,
    without heights (the title's sparsity is per call)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        f"latency, batch of {batch} (ms)", "weight memory of pruned layers (KB)"))
    fig.add_trace(go.Bar(x=["model: dense", "model: masked"],
                         marker_color=["#7f7f7f", "#1f77b4"], name="whole model"), row=1, col=1)
    fig.add_trace(go.Bar(x=["linears: dense", "linears: CSR"],
                         marker_color=["#7f7f7f", "#d62728"], name="pruned linears"),
                  row=1, col=1)
    fig.add_trace(go.Bar(x=["dense", "masked", "CSR"],
                         marker_color=["#7f7f7f", "#1f77b4", "#d62728"], name="memory"),
                  row=1, col=2)
    return fig.update_layout(title="Sparsity is not speed", showlegend=False)


def speed_figure(speed: dict) -> go.Figure:
    """Latency and weight memory: dense, masked (zeros stored) and CSR."""
    spec = _speed_layout(speed["batch"])
    heights = ([speed["model_dense_ms"], speed["model_masked_ms"]],
               [speed["layers_dense_ms"], speed["layers_csr_ms"]],
               [speed["dense_bytes"] / 1e3, speed["masked_bytes"] / 1e3,
                speed["csr_bytes"] / 1e3])
    for trace, y in zip(spec["data"], heights):
        trace["y"] = plain(y)
    spec["layout"]["title"]["text"] = (f"Sparsity is not speed: {speed['sparsity']:.0%} zeros "
                                       "(measured here, CPU, one thread)")
    return Prebuilt(spec)
