r"""Pure Plotly builders for the two research pages: phase transitions and the paper's
synthetic figure. NumPy arrays in, ``go.Figure`` out (no Streamlit), so tests can read them
(from ``to_dict()``: the figures are :class:`iobs.viz.spec.Prebuilt`).

Each figure's panels, trace styles and axes are built and checked by Plotly once per labels
(:func:`iobs.viz.spec.skeleton`); a call adds its arrays encoded (:func:`iobs.viz.spec.typed`):
a phase page's slider move redraws the maps and curves, about 45 and 18 ms through Plotly
(measured here), and a first visit to Reproduce draws 12 bands of 751 steps (about 70 ms);
this way each takes 1-2 ms.

The reference means of the authors' code are the handful of values quoted in PAPER.md
("The synthetic experiment", means over 20 runs of the arrays saved by the first author's
prototype, repository ``DiyuanWu/woodtaylor_simulation``); the arrays themselves are never
shipped. Their ``dist[t]`` is measured *after* update ``t``, i.e. at our step ``t + 1``.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from iobs.viz.figures import FLOOR
from iobs.viz.spec import Prebuilt, plain, skeleton, typed
from iobs.viz.style import color

__all__ = ["AUTHORS_GAUSSIAN", "AUTHORS_MNIST", "REFERENCE_LABEL", "RULE_LABEL",
           "digit_images", "phase_curves", "phase_maps", "synthetic_curves"]

REFERENCE_LABEL = "authors' code"
RULE_LABEL = "rule of thumb (from the literature): n ≈ 2k log(d/k)"
# PAPER.md, "The synthetic experiment": {method: {"loss" | "error": {update t: mean}}}.
AUTHORS_GAUSSIAN = {
    "topk-iobs": {"loss": {0: 0.0585, 100: 0.0253, 300: 0.00665, 500: 4.6e-4, 749: 1.0e-5},
                  "error": {0: 3.779, 100: 2.470, 300: 1.284, 500: 0.340, 749: 0.0502}},
    "iht": {"loss": {0: 0.0583, 100: 0.0335, 300: 0.0107, 500: 4.5e-3, 749: 2.06e-3},
            "error": {0: 3.785, 100: 3.096, 300: 2.065, 500: 1.530, 749: 1.140}},
}
AUTHORS_MNIST = {  # MNIST images as theta*: only the shape compares with our digits
    "topk-iobs": {"error": {0: 2321.0, 1000: 647.8, 2000: 180.8, 3999: 14.1}},
    "iht": {"error": {0: 2323.0, 1000: 1602.0, 2000: 1216.0, 3999: 790.8}},
}
_SUCCESS_SCALE = [[0.0, "#f7f7f7"], [0.5, "#92c5de"], [1.0, "#08306b"]]


@skeleton
def _maps_layout(labels: tuple, with_curve: tuple, height) -> go.Figure:
    """Panels, colour scale and axes of :func:`phase_maps`, without data; ``with_curve``:
    whether each panel draws a 50% curve."""
    fig = make_subplots(rows=1, cols=max(1, len(labels)), subplot_titles=labels,
                        shared_yaxes=True, horizontal_spacing=0.02)
    for c, (lab, curve) in enumerate(zip(labels, with_curve), start=1):
        fig.add_trace(go.Heatmap(
            zmin=0.0, zmax=1.0, colorscale=_SUCCESS_SCALE, showscale=c == len(labels),
            name=lab, colorbar=dict(title=dict(text="success"), len=0.9),
            hovertemplate="δ = %{x:.3g}<br>ρ = %{y:.3g}<br>success %{z:.2f}<extra>"
                          + lab + "</extra>"), row=1, col=c)
        if curve:
            fig.add_trace(go.Scatter(
                mode="lines+markers", name="50% curve", showlegend=c == 1,
                legendgroup="curve", line=dict(color="#ff7f0e", width=2),
                marker=dict(size=4)), row=1, col=c)
        fig.update_xaxes(title_text="δ = n/d", row=1, col=c)
    fig.update_yaxes(title_text="ρ = k*/n", row=1, col=1)
    return fig.update_layout(height=height, margin=dict(t=50, b=50, l=60, r=20),
                             legend=dict(orientation="h", yanchor="bottom", y=1.08, x=0))


def phase_maps(maps: dict, deltas, rhos, curves: dict | None = None, *,
               height: int = 360) -> go.Figure:
    r"""Success-fraction heatmaps side by side, one per method, over
    :math:`\delta = n/d` (x) and :math:`\rho = k^\star/n` (y), with the empirical 50% curve
    drawn on each. ``maps``: ``{label: ndarray (len(rhos), len(deltas))}`` (NaN: not
    computed, drawn blank); ``curves``: ``{label: rho at 50% per delta}``."""
    labels = tuple(maps)
    with_curve = tuple(curves is not None and lab in curves for lab in labels)
    spec = _maps_layout(labels, with_curve, height)
    axes = dict(x=typed(deltas, np.float64), y=typed(rhos, np.float64))
    traces = iter(spec["data"])
    for lab, curve in zip(labels, with_curve):
        next(traces).update(axes, z=typed(maps[lab], np.float64))
        if curve:
            x, y = _finite(deltas, curves[lab])
            next(traces).update(x=typed(x, np.float64), y=typed(y, np.float64))
    return Prebuilt(spec)


def _finite(x, y):
    """The points of a curve where it is defined (a 50% curve is undefined where a column
    never crosses 1/2): drawn as given, with no NaN sent to the browser."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    keep = np.isfinite(x) & np.isfinite(y)
    return x[keep], y[keep]


@skeleton
def _curves_layout(labels: tuple, rule: bool, height) -> go.Figure:
    """Traces' styles and axes of :func:`phase_curves`, without data."""
    fig = go.Figure()
    for lab in labels:
        fig.add_trace(go.Scatter(mode="lines+markers", name=lab,
                                 line=dict(color=color(lab), width=2)))
    if rule:
        fig.add_trace(go.Scatter(mode="lines", name=RULE_LABEL,
                                 line=dict(color="#444444", width=2, dash="dash")))
    fig.update_xaxes(title_text="δ = n/d", range=[0, 1.02])
    fig.update_yaxes(title_text="ρ = k*/n at 50% success", rangemode="tozero")
    return fig.update_layout(height=height, margin=dict(t=30, b=50, l=70, r=20),
                             legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0))


def phase_curves(curves: dict, deltas, rule_rhos=None, rule_deltas=None, *,
                 height: int = 400) -> go.Figure:
    r"""The empirical 50% curves of every method on one plot (recovery below, failure
    above), plus the rule-of-thumb line when ``rule_rhos``/``rule_deltas`` are given
    (:func:`iobs.research.phase.rule_of_thumb_delta`)."""
    spec = _curves_layout(tuple(curves), rule_rhos is not None, height)
    for trace, rho50 in zip(spec["data"], curves.values()):
        x, y = _finite(deltas, rho50)
        trace.update(x=typed(x, np.float64), y=typed(y, np.float64))
    if rule_rhos is not None:
        dl = np.asarray(rule_deltas, float)
        keep = np.isfinite(dl) & (dl > 0) & (dl <= 1.0)
        spec["data"][-1].update(x=typed(dl[keep], np.float64),
                                y=typed(np.asarray(rule_rhos, float)[keep], np.float64))
    return Prebuilt(spec)


def _band(fig, lab, col):
    """The three traces of a mean ± std band (upper edge, lower edge filled to it, mean),
    without data."""
    group = f"{lab}-{col}"
    fig.add_trace(go.Scatter(mode="lines", line=dict(width=0), hoverinfo="skip",
                             showlegend=False, legendgroup=group), row=1, col=col)
    fig.add_trace(go.Scatter(mode="lines", line=dict(width=0), fill="tonexty",
                             fillcolor=_alpha(color(lab), 0.2), hoverinfo="skip",
                             name=f"{lab} ± 1 std", showlegend=False, legendgroup=group),
                  row=1, col=col)
    fig.add_trace(go.Scatter(mode="lines", name=f"{lab} (mean over runs)",
                             line=dict(color=color(lab), width=2), showlegend=col == 1,
                             legendgroup=lab), row=1, col=col)


def _band_data(mean, std, *, log):
    """The band's upper edge, lower edge and mean, in :func:`_band`'s trace order."""
    mean, std = np.asarray(mean, float), np.asarray(std, float)
    lo, hi = mean - std, mean + std
    if log:   # a log axis cannot show mean - std <= 0: clip the lower edge at the floor
        lo, hi, mean = np.maximum(lo, FLOOR), np.maximum(hi, FLOOR), np.maximum(mean, FLOOR)
    return hi, lo, mean


def _alpha(hex_color: str, a: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{a})"


@skeleton
def _synthetic_layout(labels: tuple, refs: tuple, log: bool, height) -> go.Figure:
    """Panels, bands' and markers' styles and axes of :func:`synthetic_curves`, without
    data; ``refs``: (label, column) of each reference-marker trace, in order."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08,
                        subplot_titles=("loss (1/n)‖Xθ_t − y‖²", "distance ‖θ_t − θ*‖"))
    for lab in labels:
        _band(fig, lab, 1)
        _band(fig, lab, 2)
    for i, (lab, col) in enumerate(refs):
        fig.add_trace(go.Scatter(
            mode="markers", name=REFERENCE_LABEL, legendgroup="ref", showlegend=i == 0,
            marker=dict(symbol="x", size=11, color=color(lab),
                        line=dict(width=2, color="#000000")),
            hovertemplate=f"{REFERENCE_LABEL} ({lab})<br>step %{{x}}<br>mean "
                          "%{y:.4g}<extra></extra>"), row=1, col=col)
    kind = "log" if log else "linear"
    fig.update_yaxes(type=kind, exponentformat="power")
    fig.update_xaxes(title_text="step t")
    return fig.update_layout(height=height, margin=dict(t=50, b=50, l=70, r=20),
                             legend=dict(orientation="h", yanchor="bottom", y=1.08, x=0))


def synthetic_curves(result: dict, labels: dict, reference: dict | None = None, *,
                     log: bool = True, height: int = 420) -> go.Figure:
    r"""The paper's synthetic figure: loss :math:`\frac1n\lVert X\theta_t-y\rVert^2` (left)
    and :math:`\lVert\theta_t-\theta^\star\rVert` (right) vs step, mean ± one standard
    deviation over runs, for each method in ``labels`` (``{method key: label}``).

    ``result``: :func:`iobs.research.reproduce.reproduce_synthetic` output. ``reference``: like
    :data:`AUTHORS_GAUSSIAN`; its loss means sit at step ``t``, its distance means at
    ``t + 1`` (the authors record the distance after update ``t``); points beyond the
    computed steps are left out."""
    arrays, refs, points = [], [], []
    for m in labels:
        r = result[m]
        x = typed(np.arange(len(r["loss_mean"])), np.int32)
        for what in ("loss", "error"):
            arrays += [dict(x=x, y=typed(a, np.float64))
                       for a in _band_data(r[f"{what}_mean"], r[f"{what}_std"], log=log)]
    for m, lab in labels.items() if reference else ():
        for col, what, shift in ((1, "loss", 0), (2, "error", 1)):
            last = len(result[m]["loss_mean"]) - 1      # only steps that were computed
            pts = {t + shift: v for t, v in reference.get(m, {}).get(what, {}).items()
                   if t + shift <= last}
            if pts:
                refs.append((lab, col))
                points.append(dict(x=plain(pts), y=plain(pts.values())))
    spec = _synthetic_layout(tuple(labels.values()), tuple(refs), bool(log), height)
    for trace, data in zip(spec["data"], arrays + points):
        trace.update(data)
    return Prebuilt(spec)


@skeleton
def _digits_layout(titles: tuple, height) -> go.Figure:
    """Panels, grey scale and hidden square axes of :func:`digit_images`, without pixels."""
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles,
                        horizontal_spacing=0.03)
    for c, t in enumerate(titles, start=1):
        fig.add_trace(go.Heatmap(colorscale="gray", showscale=False,
                                 hovertemplate="pixel %{z:.0f}<extra>" + t + "</extra>"),
                      row=1, col=c)
        fig.update_xaxes(visible=False, row=1, col=c)
        fig.update_yaxes(visible=False, scaleanchor=f"x{'' if c == 1 else c}", row=1, col=c)
    return fig.update_layout(height=height, margin=dict(t=40, b=10, l=10, r=10))


def digit_images(images: dict, side: int, *, height: int = 300) -> go.Figure:
    """Images side by side (``{title: flat array of side*side pixels}``), white on black, each
    on its own 0..max colour range."""
    spec = _digits_layout(tuple(images), height)
    for trace, img in zip(spec["data"], images.values()):
        img = np.asarray(img, dtype=float).reshape(side, side)
        trace.update(z=typed(img[::-1], np.float64))
    return Prebuilt(spec)
