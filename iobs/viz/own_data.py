"""Figures of the "Your data" page: training loss against steps and seconds, and the
support each method picks (arrays in, ``go.Figure`` out)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from iobs.viz.figures import _f32
from iobs.viz.style import color, label

__all__ = ["loss_curves", "support_map"]


def loss_curves(runs: dict, *, height: int = 380) -> go.Figure:
    """Training loss per method against the step (left) and the seconds since the call
    began (right). ``runs``: ``{method: {"loss": (T+1,), "times": (T+1,)}}``; non-finite
    values are left out (never drawn as NaN)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("training loss vs step",
                                                        "training loss vs seconds"))
    for m, r in runs.items():
        y = np.asarray(r["loss"], dtype=float)
        t = np.asarray(r["times"], dtype=float)
        ok = np.isfinite(y) & np.isfinite(t)
        for col, x in ((1, np.arange(y.size)), (2, t)):
            fig.add_trace(go.Scatter(x=_f32(x[ok]), y=_f32(y[ok]), mode="lines+markers",
                                     name=label(m), legendgroup=m, showlegend=col == 1,
                                     marker=dict(size=3), line=dict(color=color(m), width=2)),
                          row=1, col=col)
    fig.update_yaxes(type="log", exponentformat="power")
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_xaxes(title_text="seconds (the whole call, set-up included)", row=1, col=2)
    fig.update_layout(height=height, margin=dict(t=40, b=50, l=60, r=20),
                      legend=dict(orientation="h", yanchor="bottom", y=1.08, x=0))
    return fig


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
