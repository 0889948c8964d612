r"""Pure Plotly builders for the app: NumPy arrays in, ``go.Figure`` out (no Streamlit).

Animations follow the measured recipe (STACK.md): Plotly frames that hold only the data
that changes, as float32 NumPy arrays (sent base64-encoded), ``redraw: False``.
Geometry figures for the projection lesson live in :mod:`iobs.viz.projection`.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from iobs.viz.spec import Prebuilt, skeleton, typed
from iobs.viz.style import color

__all__ = ["FLOOR", "color", "error_curves", "ratio_plot", "stem_animation", "support_raster",
           "RASTER_LABELS"]

FLOOR = 1e-16          # errors below this (machine zero) are drawn at the floor
RASTER_LABELS = ("not kept", "kept and true", "kept but wrong", "missed")
_RASTER_COLORS = ("#ffffff", "#2ca02c", "#d62728", "#ff9f1c")


def _frame_index(T: int, max_frames: int) -> np.ndarray:
    """Iterations shown as frames: all of 0..T, or an even subsample keeping 0, 1 and T."""
    if T + 1 <= max_frames:
        return np.arange(T + 1)
    idx = np.unique(np.r_[0, 1, np.linspace(0, T, max_frames - 1).round().astype(int), T])
    return idx


@skeleton
def _stem_layout(labels: tuple, d: int, height_per_panel: int) -> go.Figure:
    """Panels, styles and axes of :func:`stem_animation`, without data (3 traces a panel:
    the truth, the stems and their heads)."""
    fig = make_subplots(rows=len(labels), cols=1, shared_xaxes=True, vertical_spacing=0.04,
                        subplot_titles=labels)
    for i, lab in enumerate(labels, start=1):
        c = color(lab)
        fig.add_trace(go.Scatter(mode="markers", name="θ* (truth)", legendgroup="truth",
                                 showlegend=i == 1,
                                 marker=dict(symbol="circle-open", size=9, color="#444",
                                             line=dict(width=1.5))), row=i, col=1)
        fig.add_trace(go.Scatter(mode="lines", line=dict(color=c, width=1.5),
                                 name=f"{lab}: θ_t", showlegend=False, hoverinfo="skip"),
                      row=i, col=1)
        fig.add_trace(go.Scatter(mode="markers", marker=dict(color=c, size=6),
                                 name=f"{lab}: θ_t", showlegend=False,
                                 hovertemplate="coordinate %{x}: %{y:.3g}<extra></extra>"),
                      row=i, col=1)
        fig.update_yaxes(title_text="value", row=i, col=1)
    fig.update_xaxes(range=[-0.5, d - 0.5])
    fig.update_xaxes(title_text="coordinate i", row=len(labels), col=1)
    return fig.update_layout(height=max(260, height_per_panel * len(labels) + 120),
                             margin=dict(t=40, b=90, l=60, r=20),
                             legend=dict(orientation="h", yanchor="bottom", y=1.02,
                                         xanchor="right", x=1))


def stem_animation(xs: dict, theta_star, *, max_frames: int = 80, start: int = 1,
                   height_per_panel: int = 210, duration_ms: int = 250) -> go.Figure:
    r"""Animated stem plots of :math:`\theta_t` over :math:`\theta^\star`, one panel per method.

    Parameters
    ----------
    xs : dict
        ``{label: ndarray of shape (T_m + 1, d)}`` iterates per method (runs that stopped
        early hold their last iterate).
    theta_star : ndarray of shape (d,)
    start : int
        Frame shown before Play is pressed (1: the first step, which teaches most).

    Frames carry only what changes, the nonzero coordinates of each iterate (stem segments
    and heads, float32); the truth is static. The slider steps through iterations;
    Play/Pause buttons drive the animation. The panels come from a layout built and checked
    by Plotly once per (methods, d) (:func:`iobs.viz.spec.skeleton`); the data, frames and
    slider steps are added as encoded dicts.
    """
    labels = list(xs)
    d = int(np.asarray(theta_star).shape[0])
    T = max(np.asarray(x).shape[0] for x in xs.values()) - 1
    show = _frame_index(T, max_frames)
    ts = np.asarray(theta_star, dtype=float)
    on = np.flatnonzero(ts)
    start = min(max(int(start), 0), len(show) - 1)

    def stems(x, t):
        """The nonzero coordinates of theta_t only (a k-sparse iterate sends 3k + k points,
        not 3d): stem segments ``(i, 0)-(i, theta_i)`` split by NaN, and the heads."""
        row = x[min(t, x.shape[0] - 1)]
        nz = np.flatnonzero(row)
        sx = np.repeat(nz, 3).astype(np.float32)
        sy = np.full((nz.size, 3), np.nan, dtype=np.float32)
        sy[:, 0], sy[:, 1] = 0.0, row[nz]
        return (dict(x=typed(sx), y=typed(sy.ravel())),
                dict(x=typed(nz), y=typed(row[nz])))

    spec = _stem_layout(tuple(labels), d, int(height_per_panel))
    moving = [j for i in range(len(labels)) for j in (3 * i + 1, 3 * i + 2)]
    frames = [dict(name=str(int(t)), traces=moving,
                   data=[dict(type="scatter", **part) for lab in labels
                         for part in stems(np.asarray(xs[lab]), int(t))])
              for t in show]
    truth = dict(x=typed(on, np.int32), y=typed(ts[on], np.float64))
    for i in range(len(labels)):
        spec["data"][3 * i].update(truth)
    for j, part in zip(moving, frames[start]["data"]):
        spec["data"][j].update(x=part["x"], y=part["y"])
    anim = dict(mode="immediate", frame=dict(duration=duration_ms, redraw=False),
                transition=dict(duration=0))
    spec["layout"].update(
        updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.05, xanchor="left",
                          yanchor="top", showactive=False, pad=dict(t=30), buttons=[
                              dict(label="▶ Play", method="animate",
                                   args=[None, dict(anim, fromcurrent=True)]),
                              dict(label="❚❚ Pause", method="animate",
                                   args=[[None], dict(anim, frame=dict(duration=0,
                                                                       redraw=False))])])],
        sliders=[dict(active=start, x=0.2, len=0.8, y=-0.05, yanchor="top", pad=dict(t=20),
                      currentvalue=dict(prefix="iteration t = "),
                      steps=[dict(label=str(int(t)), method="animate",
                                  args=[[str(int(t))], anim]) for t in show])])
    spec["frames"] = frames
    return Prebuilt(spec)


@skeleton
def _raster_layout(labels: tuple, true_count: int, height_per_panel: int) -> go.Figure:
    """Panels, colour classes and axes of :func:`support_raster`, without cells."""
    fig = make_subplots(rows=len(labels), cols=1, shared_xaxes=True, vertical_spacing=0.06,
                        subplot_titles=labels)
    n = len(_RASTER_COLORS)
    scale = []
    for j, c in enumerate(_RASTER_COLORS):
        scale += [[j / n, c], [(j + 1) / n, c]]
    for i, _ in enumerate(labels, start=1):
        fig.add_trace(go.Heatmap(   # coordinates as categories: one label per column, not
            zmin=-0.5, zmax=n - 0.5, colorscale=scale,                   # one per cell
            showscale=i == 1,
            hovertemplate="t = %{y}<br>coordinate %{x}<br>class %{z}<extra></extra>",
            colorbar=dict(tickvals=list(range(n)), ticktext=list(RASTER_LABELS), len=0.6,
                          y=0.5, thickness=14)), row=i, col=1)
        fig.update_yaxes(title_text="iteration t", autorange="reversed", row=i, col=1)
    fig.add_vline(x=true_count - 0.5, line=dict(color="#444", dash="dot", width=1))
    fig.update_xaxes(type="category", showticklabels=False)
    fig.update_xaxes(title_text="coordinate (true support first, left of the dotted line)",
                     row=len(labels), col=1)
    return fig.update_layout(height=max(240, height_per_panel * len(labels) + 80),
                             margin=dict(t=40, b=50, l=60, r=20))


def support_raster(supports: dict, truth, *, height_per_panel: int = 170) -> go.Figure:
    """Iteration x coordinate raster per method: kept-and-true, kept-but-wrong, missed.

    ``supports`` maps labels to bool arrays (T + 1, d); ``truth`` is the bool (d,) support
    of the truth. Columns are ordered with the true support first so hits line up left.
    """
    labels = list(supports)
    truth = np.asarray(truth, dtype=bool)
    order = np.r_[np.flatnonzero(truth), np.flatnonzero(~truth)]
    names = [str(j) for j in order]
    spec = _raster_layout(tuple(labels), int(truth.sum()), int(height_per_panel))
    tr = truth[order][None, :]
    for trace, lab in zip(spec["data"], labels):
        S = np.asarray(supports[lab], dtype=bool)[:, order]
        z = np.where(S & tr, 1, np.where(S, 2, np.where(tr, 3, 0)))
        trace.update(z=typed(z, np.uint8), x=names)
    return Prebuilt(spec)


@skeleton
def _curves_layout(labels: tuple, bounds: tuple, x_title: str, y_title: str, log_x: bool,
                   height: int, notes: tuple) -> go.Figure:
    """Traces' styles, axes and notes of :func:`error_curves`, without data; ``bounds``:
    (label, source, method) per bound."""
    fig = go.Figure()
    for lab in labels:
        fig.add_trace(go.Scatter(mode="lines+markers", name=lab, marker=dict(size=4),
                                 line=dict(color=color(lab), width=2)))
    for lab, source, method in bounds:
        fig.add_trace(go.Scatter(mode="lines", name=f"bound: {lab} ({source})",
                                 line=dict(color=color(method), width=2, dash="dash")))
    fig.update_yaxes(type="log", title_text=y_title, exponentformat="power")
    fig.update_xaxes(title_text=x_title, type="log" if log_x else "linear")
    annotations = [dict(text=t, xref="paper", yref="paper", x=0, y=0, yanchor="top",
                        yshift=-48 - 18 * i, showarrow=False, xanchor="left", align="left",
                        font=dict(size=11)) for i, t in enumerate(notes)]
    return fig.update_layout(height=height + 18 * len(notes), annotations=annotations,
                             margin=dict(t=30, b=60 + 18 * len(notes), l=70, r=20),
                             legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def _xy(c) -> dict:
    """A curve's encoded x (default 0..T) and y, floored at :data:`FLOOR`."""
    y = np.maximum(np.asarray(c["y"], dtype=float), FLOOR)
    x = np.arange(y.size) if c.get("x") is None else c["x"]
    return dict(x=typed(x, np.float64), y=typed(y, np.float64))


def error_curves(curves: dict, bounds=(), *, x_title: str = "iteration t",
                 y_title: str = "‖θ_t − θ*‖", log_x: bool = False, height: int = 420,
                 notes=()) -> go.Figure:
    """Log-scale error curves with optional dashed bound curves.

    ``curves``: ``{label: {"y": array, "x": array (default 0..T)}}``. ``bounds``: dicts
    with ``label``, ``y``, optional ``x``, ``source`` (shown in the legend) and ``method``
    (whose colour the dashed line takes). Values below :data:`FLOOR` are drawn at it.
    ``notes``: text lines written under the plot (e.g. vacuous bounds). Styles and axes
    come from a layout checked by Plotly once per labels (:func:`iobs.viz.spec.skeleton`).
    """
    bounds = list(bounds)
    spec = _curves_layout(tuple(curves), tuple((b["label"], b.get("source", ""),
                                                b.get("method", b["label"])) for b in bounds),
                          x_title, y_title, bool(log_x), int(height), tuple(notes))
    for trace, c in zip(spec["data"], [*curves.values(), *bounds]):
        trace.update(_xy(c))
    return Prebuilt(spec)


@skeleton
def _ratio_layout(labels: tuple, constants: tuple, height: int) -> go.Figure:
    """Traces' styles, bound lines and axes of :func:`ratio_plot`, without data;
    ``constants``: (c, label, source, method) per bound."""
    fig = go.Figure()
    for lab in labels:
        fig.add_trace(go.Scatter(mode="lines+markers", name=lab,
                                 line=dict(color=color(lab), width=2)))
    for c, lab, source, method in constants:
        fig.add_hline(y=c, line=dict(color=color(method), dash="dash"),
                      annotation_text=f"c = {c:.3g}: {lab} ({source})",
                      annotation_position="top right")
    fig.update_yaxes(type="log", title_text="e_{t+1} / e_t²", exponentformat="power")
    fig.update_xaxes(title_text="iteration t", dtick=1)
    return fig.update_layout(height=height, margin=dict(t=30, b=50, l=70, r=20),
                             legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def ratio_plot(errors: dict, constants=(), *, floor: float = 1e-13,
               height: int = 380) -> go.Figure:
    r"""The local-quadratic view: :math:`e_{t+1}/e_t^2` per method, with the bound constants.

    A method converges quadratically with constant :math:`c` when the ratio stays below
    :math:`c`. Steps where :math:`e_t` or :math:`e_{t+1}` is below ``floor`` (round-off) are
    left out. ``constants``: dicts ``label``, ``c``, ``source``, ``method``.
    """
    spec = _ratio_layout(tuple(errors), tuple((float(b["c"]), b["label"], b.get("source", ""),
                                               b.get("method", b["label"])) for b in constants),
                         int(height))
    for trace, e in zip(spec["data"], errors.values()):
        e = np.asarray(e, dtype=float)
        t = np.flatnonzero((e[:-1] > floor) & (e[1:] > floor))
        trace.update(x=typed(t, np.float64), y=typed(e[t + 1] / e[t] ** 2, np.float64))
    return Prebuilt(spec)
