"""Plotly figure builders for the pruning page: plain arrays in, ``go.Figure`` out.

No Streamlit and no torch here; tests inspect the figures directly.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["digits_figure", "layer_comparison_figure", "layer_errors_figure", "masks_figure",
           "quality_figure", "rounds_figure", "speed_figure"]

LABELS = {"magnitude": "magnitude (per layer)", "magnitude-global": "magnitude (global)",
          "obd": "OBD (diagonal H)", "wanda": "Wanda (|w|·‖x‖ per row)",
          "obs": "OBS / SparseGPT", "admm": "ADMM (Boža 2024)", "iobs": "I-OBS(T)"}
COLORS = {"magnitude": "#7f7f7f", "magnitude-global": "#bcbd22", "obd": "#ff7f0e",
          "wanda": "#8c564b", "obs": "#1f77b4", "admm": "#2ca02c", "iobs": "#d62728"}


def _axis_title(metric: str) -> str:
    return "test accuracy" if metric == "accuracy" else "test perplexity (log scale)"


def quality_figure(sparsity, quality: dict, dense: float, metric: str, *,
                   selected: float | None = None, extra: dict | None = None) -> go.Figure:
    """Test quality vs sparsity per method, with the dense model as a dashed line.

    ``extra`` = {method: (sparsity, value)} adds hollow markers (e.g. the 2:4 results).
    """
    fig = go.Figure()
    x = 100 * np.asarray(sparsity, dtype=float)
    for method, values in quality.items():
        fig.add_trace(go.Scatter(x=x, y=np.asarray(values, dtype=float), mode="lines+markers",
                                 name=LABELS.get(method, method),
                                 line={"color": COLORS.get(method)}))
    for method, (s, value) in (extra or {}).items():
        fig.add_trace(go.Scatter(x=[100 * s], y=[value], mode="markers",
                                 name=f"{LABELS.get(method, method)}, 2:4",
                                 marker={"symbol": "diamond-open", "size": 12,
                                         "color": COLORS.get(method)}))
    fig.add_hline(y=dense, line_dash="dash", line_color="black",
                  annotation_text=f"dense model: {dense:.4g} (measured here)",
                  annotation_position="bottom left")
    if selected is not None:
        fig.add_vline(x=100 * selected, line_dash="dot", line_color="gray")
    fig.update_layout(title="Quality vs sparsity (measured here)", legend_title="method",
                      xaxis_title="sparsity of the block linears (%)",
                      yaxis_title=_axis_title(metric), hovermode="x unified")
    if metric == "perplexity":
        fig.update_yaxes(type="log")
    return fig


def rounds_figure(rounds: list[dict], best_round: int | None, metric: str) -> go.Figure:
    """I-OBS(T): calibration vs held-out quality and loss per round; best round starred."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(metric, "cross-entropy loss (nats)"))
    t = [r["round"] for r in rounds]
    for col, (cal_key, held_key) in enumerate(
            [("calibration", "held_out"), ("calibration_loss", "held_out_loss")], start=1):
        for key, name, color in [(cal_key, "calibration set", "#1f77b4"),
                                 (held_key, "held-out (val split)", "#d62728")]:
            fig.add_trace(go.Scatter(x=t, y=[r[key] for r in rounds], mode="lines+markers",
                                     name=name, legendgroup=name, showlegend=col == 1,
                                     line={"color": color}), row=1, col=col)
        if best_round is not None:
            best = rounds[t.index(best_round)]
            fig.add_trace(go.Scatter(x=[best_round], y=[best[held_key]], mode="markers",
                                     name=f"best held-out round ({best_round})",
                                     showlegend=col == 1, legendgroup="best",
                                     marker={"symbol": "star", "size": 18, "color": "gold",
                                             "line": {"color": "black", "width": 1}}),
                          row=1, col=col)
    fig.update_xaxes(title_text="round t (1 = one-shot OBS)", dtick=1)
    fig.update_layout(title="I-OBS(T): calibration vs held-out, per round (measured here)")
    return fig


def masks_figure(masks: list, names: list[str], *, columns: int = 4) -> go.Figure:
    """Kept (1) / pruned (0) weights of each layer as heatmaps (rows = outputs)."""
    rows = -(-len(masks) // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=names,
                        horizontal_spacing=0.04, vertical_spacing=0.12)
    for i, mask in enumerate(masks):
        keep = np.asarray(mask, dtype=np.uint8)
        fig.add_trace(go.Heatmap(z=keep, zmin=0, zmax=1, showscale=False,
                                 colorscale=[[0, "#f7f7f7"], [1, "#08306b"]],
                                 hovertemplate="out %{y}, in %{x}: %{z}<extra></extra>"),
                      row=i // columns + 1, col=i % columns + 1)
    fig.update_yaxes(autorange="reversed", showticklabels=False)
    fig.update_xaxes(showticklabels=False)
    fig.update_layout(title="Masks: dark = kept weight (rows = outputs, columns = inputs)",
                      height=260 * rows)
    return fig


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


def layer_comparison_figure(names: list[str], calibration: dict, heldout: dict) -> go.Figure:
    """Relative output error ‖(Ŵ − W)X‖/‖WX‖ per layer and method on the calibration inputs
    (left) and on held-out inputs (right), log scale (ALPS's Table 1 metric)."""
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True,
                        subplot_titles=("calibration inputs", "held-out inputs (val split)"))
    for col, errors in enumerate((calibration, heldout), start=1):
        for method, values in errors.items():
            fig.add_trace(go.Bar(x=names, y=np.asarray(values, dtype=float),
                                 name=LABELS.get(method, method), legendgroup=method,
                                 showlegend=col == 1, marker_color=COLORS.get(method)),
                          row=1, col=col)
    fig.update_yaxes(type="log", title_text="‖(Ŵ − W)X‖ / ‖WX‖", row=1, col=1)
    fig.update_layout(barmode="group", legend_title="method",
                      title="Layer reconstruction error per method (measured here)")
    return fig


def digits_figure(images, labels, dense, pruned, *, columns: int = 6) -> go.Figure:
    """Test digits titled 'true, dense · pruned'; a changed prediction is marked with ✗.

    One heatmap of the images tiled with a blank gap (not one subplot each: building 12
    subplots took ~85 ms per rerun, this ~5 ms), the titles as annotations above each tile.
    """
    images = np.asarray(images, dtype=float)
    count, h, w = images.shape
    rows, gap, top = -(-count // columns), 2, 4            # blank pixels between / above
    H, W = h + gap + top, w + gap
    canvas = np.zeros((rows * H, columns * W))     # the gaps: 0, drawn white (no NaN)
    notes = []
    for i, (img, t, d, p) in enumerate(zip(images, labels, dense, pruned, strict=True)):
        r, c = divmod(i, columns)
        canvas[r * H + top : r * H + top + h, c * W : c * W + w] = img
        notes.append(dict(x=c * W + (w - 1) / 2, y=r * H + top - 0.8, showarrow=False,
                          yanchor="bottom",
                          text=f"true {t}<br>dense {d} · pruned {p}{' ✗' if p != t else ''}",
                          font=dict(size=11, color="#b2182b" if p != t else "#222222")))
    fig = go.Figure(go.Heatmap(z=canvas, colorscale="gray_r", showscale=False,
                               zmin=min(0.0, float(images.min())), hoverinfo="skip"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", scaleratio=1)
    fig.update_layout(title="Test digits: true label · dense · pruned prediction",
                      annotations=notes, height=190 * rows, plot_bgcolor="white",
                      margin=dict(l=10, r=10, t=60, b=10))
    return fig


def speed_figure(speed: dict) -> go.Figure:
    """Latency and weight memory: dense, masked (zeros stored) and CSR."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=(
        f"latency, batch of {speed['batch']} (ms)", "weight memory of pruned layers (KB)"))
    fig.add_trace(go.Bar(x=["model: dense", "model: masked"],
                         y=[speed["model_dense_ms"], speed["model_masked_ms"]],
                         marker_color=["#7f7f7f", "#1f77b4"], name="whole model"), row=1, col=1)
    fig.add_trace(go.Bar(x=["linears: dense", "linears: CSR"],
                         y=[speed["layers_dense_ms"], speed["layers_csr_ms"]],
                         marker_color=["#7f7f7f", "#d62728"], name="pruned linears"),
                  row=1, col=1)
    fig.add_trace(go.Bar(x=["dense", "masked", "CSR"],
                         y=[speed["dense_bytes"] / 1e3, speed["masked_bytes"] / 1e3,
                            speed["csr_bytes"] / 1e3],
                         marker_color=["#7f7f7f", "#1f77b4", "#d62728"], name="memory"),
                  row=1, col=2)
    fig.update_layout(title=f"Sparsity is not speed: {speed['sparsity']:.0%} zeros "
                            "(measured here, CPU, one thread)", showlegend=False)
    return fig
