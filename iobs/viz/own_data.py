"""Figures of the "Your data" page: training loss against steps and seconds, and the
support each method picks (arrays in, ``go.Figure`` out)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from iobs.viz.spec import Prebuilt, skeleton, typed
from iobs.viz.style import color, label

__all__ = ["loss_curves", "support_map"]


@skeleton
def _loss_layout(methods: tuple, height: int) -> go.Figure:
    """Panels, styles and axes of :func:`loss_curves`, without data (two traces a method)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss vs step",
                                                        "training loss vs seconds"))
    for m in methods:
        for col in (1, 2):
            fig.add_trace(go.Scatter(mode="lines+markers", name=label(m), legendgroup=m,
                                     showlegend=col == 1, marker=dict(size=3),
                                     line=dict(color=color(m), width=2)), row=1, col=col)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_xaxes(title_text="seconds (the whole call, set-up included)", row=1, col=2)
    return fig.update_layout(height=height, margin=dict(t=40, b=50, l=60, r=20),
                             legend=dict(orientation="h", yanchor="bottom", y=1.08, x=0))


def loss_curves(runs: dict, *, height: int = 380) -> go.Figure:
    """Training loss per method against the step (left) and the seconds since the call
    began (right). ``runs``: ``{method: {"loss": (T+1,), "times": (T+1,)}}``; non-finite
    values are left out (never drawn as NaN). The layout is checked by Plotly once per
    methods (:func:`iobs.viz.spec.skeleton`); the curves are added encoded."""
    spec = _loss_layout(tuple(runs), int(height))
    traces = iter(spec["data"])
    for r in runs.values():
        y = np.asarray(r["loss"], dtype=float)
        t = np.asarray(r["times"], dtype=float)
        ok = np.isfinite(y) & np.isfinite(t)
        for x in (np.arange(y.size), t):
            next(traces).update(x=typed(x[ok]), y=typed(y[ok]))
    return Prebuilt(spec)


def support_map(supports: dict, features, *, height: int | None = None) -> go.Figure:
    """Which features each method keeps: a methods x features grid (kept = dark), only the
    features some method keeps; feature names on hover."""
    methods = list(supports)
    S = np.array([np.asarray(supports[m], dtype=bool) for m in methods])       # (M, d)
    cols = np.flatnonzero(S.any(0))
    names = [str(features[j]) for j in cols]
    fig = go.Figure(go.Heatmap(
        z=S[:, cols].astype(np.float32), x=[f"{j}" for j in cols], y=[label(m) for m in methods],
        colorscale=[[0, "#f3f3f3"], [1, "#1f3b73"]], showscale=False, xgap=1, ygap=1,
        customdata=np.array([names] * len(methods)),
        hovertemplate="%{y}<br>feature %{x}: %{customdata}<extra></extra>"))
    fig.update_xaxes(title_text="feature index (kept by at least one method)", type="category")
    fig.update_layout(height=height or 120 + 36 * len(methods),
                      margin=dict(t=20, b=50, l=160, r=20))
    return fig
