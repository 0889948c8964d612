r"""Pure Plotly builders for the "Inside one projection" lesson (no Streamlit).

Inputs come from :func:`iobs.research.lessons.projection_geometry` and
:func:`iobs.research.lessons.rule_walk`.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

__all__ = ["geometry_2d", "geometry_3d", "rule_walk_figure", "saliency_bars"]

EUCLID, HMETRIC, TRUTH, POINT = "#1f77b4", "#d62728", "#2ca02c", "#222222"
_RULE_COLORS = {"magnitude": "#1f77b4", "OBD": "#2ca02c", "OBS saliency": "#ff7f0e",
                "greedy OBC": "#9467bd", "exact": "#d62728"}


def _pt(fig, p, name, color, symbol, size=13, **kw):
    fig.add_trace(go.Scatter(x=[p[0]], y=[p[1]], mode="markers", name=name,
                             marker=dict(color=color, symbol=symbol, size=size,
                                         line=dict(width=1.5, color=color)), **kw))


def geometry_2d(g: dict, *, height: int = 520) -> go.Figure:
    r"""Level sets of :math:`q(\theta)=\tfrac12(\theta-z)^\top H(\theta-z)`, the sparse set
    (the axes, k = 1), and the Euclidean vs H-metric projections of the Newton point z."""
    z, e, h = g["z"], g["euclid"], g["hmetric"]
    grid, r = g["grid"], float(np.abs(g["grid"]).max())
    top = max(g["q_euclid"], g["q_hmetric"], 1e-9)
    fig = go.Figure(go.Contour(x=grid, y=grid, z=g["q"].astype(np.float32), showscale=False,
                               colorscale=[[0, "#08519c"], [1, "#c6dbef"]], hoverinfo="skip",
                               contours=dict(coloring="lines", start=top / 8, end=3 * top,
                                             size=top / 4), line=dict(width=1),
                               name="level sets of the model q(θ)", showlegend=True))
    for axis in ("x", "y"):
        line = dict(x=[-r, r], y=[0, 0]) if axis == "x" else dict(x=[0, 0], y=[-r, r])
        fig.add_trace(go.Scatter(**line, mode="lines", line=dict(color="black", width=4),
                                 name="sparse set (‖θ‖₀ ≤ 1)", legendgroup="axes",
                                 showlegend=axis == "x", hoverinfo="skip"))
    for key, colour, name in (("level_euclid", EUCLID, "level set through T_k(z)"),
                              ("level_hmetric", HMETRIC, "level set through the H-projection")):
        xy = g[key]
        fig.add_trace(go.Scatter(x=xy[0], y=xy[1], mode="lines", name=name, hoverinfo="skip",
                                 line=dict(color=colour, dash="dash", width=2)))
    for p, colour in ((e, EUCLID), (h, HMETRIC)):
        fig.add_trace(go.Scatter(x=[z[0], p[0]], y=[z[1], p[1]], mode="lines",
                                 line=dict(color=colour, dash="dot"), showlegend=False,
                                 hoverinfo="skip"))
    _pt(fig, z, "Newton point z = θ⁺", POINT, "x")
    _pt(fig, e, f"IHT: Euclidean projection T_k(z), q = {g['q_euclid']:.3g}", EUCLID, "square")
    _pt(fig, h, f"I-OBS: H-metric projection, q = {g['q_hmetric']:.3g}", HMETRIC, "star",
        size=16)
    _pt(fig, h, "θ*ₖ: best k-sparse point of the model (enumeration)", TRUTH,
        "circle-open", size=26)
    fig.update_xaxes(range=[-r, r], title_text="θ₁", zeroline=False)
    fig.update_yaxes(range=[-r, r], title_text="θ₂", scaleanchor="x", scaleratio=1,
                     zeroline=False)
    fig.update_layout(height=height, margin=dict(t=20, b=40, l=50, r=10),
                      legend=dict(x=1.02, y=1, xanchor="left", font=dict(size=12)))
    return fig


def geometry_3d(g: dict, *, height: int = 560) -> go.Figure:
    """d = 3: the level set of the model through the H-metric projection (an ellipsoid that
    touches the sparse set there), the sparse set (axes for k = 1, planes for k = 2)."""
    z, e, h, k = g["z"], g["euclid"], g["hmetric"], g["k"]
    E = g["level_hmetric"].astype(np.float32)
    r = 1.2 * float(max(np.abs(E).max(), np.abs(z).max(), 0.5))
    fig = go.Figure(go.Surface(x=E[0], y=E[1], z=E[2], opacity=0.3, showscale=False,
                               colorscale=[[0, HMETRIC], [1, HMETRIC]], hoverinfo="skip",
                               name="level set through the H-projection", showlegend=True))
    if k == 1:
        for i in range(3):
            ends = np.zeros((3, 2))
            ends[i] = [-r, r]
            fig.add_trace(go.Scatter3d(x=ends[0], y=ends[1], z=ends[2], mode="lines",
                                       line=dict(color="black", width=6), hoverinfo="skip",
                                       name="sparse set (axes)", legendgroup="s",
                                       showlegend=i == 0))
    else:
        u = np.array([-r, r])
        A, B = np.meshgrid(u, u)
        Z = np.zeros_like(A)
        for i, (x, y, zz) in enumerate(((A, B, Z), (A, Z, B), (Z, A, B))):
            fig.add_trace(go.Surface(x=x, y=y, z=zz, opacity=0.12, showscale=False,
                                     colorscale=[[0, "#555"], [1, "#555"]], hoverinfo="skip",
                                     name="sparse set (planes)", showlegend=i == 0))
    for p, colour, sym, name in (
            (z, POINT, "x", "Newton point z = θ⁺"),
            (e, EUCLID, "square", f"IHT: T_k(z), q = {g['q_euclid']:.3g}"),
            (h, HMETRIC, "diamond", f"I-OBS: H-projection, q = {g['q_hmetric']:.3g}")):
        fig.add_trace(go.Scatter3d(x=[p[0]], y=[p[1]], z=[p[2]], mode="markers", name=name,
                                   marker=dict(color=colour, symbol=sym, size=7)))
        if p is not z:
            fig.add_trace(go.Scatter3d(x=[z[0], p[0]], y=[z[1], p[1]], z=[z[2], p[2]],
                                       mode="lines", line=dict(color=colour, dash="dot"),
                                       showlegend=False, hoverinfo="skip"))
    axis = dict(range=[-r, r])
    fig.update_layout(height=height, margin=dict(t=10, b=10, l=10, r=10),
                      scene=dict(xaxis=dict(axis, title="θ₁"), yaxis=dict(axis, title="θ₂"),
                                 zaxis=dict(axis, title="θ₃"), aspectmode="cube"),
                      legend=dict(x=0, y=1))
    return fig


def saliency_bars(z, saliency, kept_mag, kept_obs, *, height: int = 380) -> go.Figure:
    """|z_i| and OBS saliency per weight (each scaled to its maximum), with the weights that
    the two rules keep, and the ones they disagree on shaded."""
    z = np.asarray(z, dtype=float)
    d = z.size
    idx = np.arange(d)
    mag = np.abs(z) / max(np.abs(z).max(), 1e-300)
    sal = np.asarray(saliency) / max(float(np.max(saliency)), 1e-300)
    fig = go.Figure()
    fig.add_trace(go.Bar(x=idx, y=mag, name="|z_i| (magnitude rule)", marker_color="#1f77b4"))
    fig.add_trace(go.Bar(x=idx, y=sal, name="z_i² / [H⁻¹]_ii (OBS saliency)",
                         marker_color="#ff7f0e"))
    for kept, y, sym, colour, name in ((kept_mag, 1.1, "triangle-down", "#1f77b4",
                                        "kept by magnitude"),
                                       (kept_obs, 1.2, "triangle-down", "#ff7f0e",
                                        "kept by OBS saliency")):
        on = np.flatnonzero(kept)
        fig.add_trace(go.Scatter(x=on, y=np.full(on.size, y), mode="markers", name=name,
                                 marker=dict(symbol=sym, size=10, color=colour)))
    for i in np.flatnonzero(np.asarray(kept_mag) != np.asarray(kept_obs)):
        fig.add_vrect(x0=i - 0.5, x1=i + 0.5, fillcolor="#ffd60a", opacity=0.35,
                      line_width=0, layer="below")
    fig.update_layout(barmode="group", height=height, margin=dict(t=30, b=40, l=50, r=10),
                      legend=dict(orientation="h", y=1.12, x=0),
                      xaxis=dict(title="weight i (shaded: the rules disagree)", dtick=1 if d <= 32
                                 else None), yaxis=dict(title="scaled to max = 1",
                                                        range=[0, 1.3]))
    return fig


def rule_walk_figure(z, walk: dict, current: str, *, height: int = 560) -> go.Figure:
    """Top: the Newton point z and the point after ``current``'s projection. Bottom left: the
    compensating update on the kept weights. Bottom right: the loss increase per rule."""
    z = np.asarray(z, dtype=float)
    idx = np.arange(z.size)
    w = walk[current]
    fig = make_subplots(rows=2, cols=2, specs=[[{"colspan": 2}, None], [{}, {}]],
                        vertical_spacing=0.16, horizontal_spacing=0.12,
                        subplot_titles=(f"z = θ⁺ and the projected point: {current}",
                                        "compensating update θ − z on the kept weights",
                                        "loss increase ½(θ − z)ᵀH(θ − z) per rule"))
    fig.add_trace(go.Bar(x=idx, y=z, name="z = θ⁺ (dense)", marker_color="#bbbbbb"),
                  row=1, col=1)
    fig.add_trace(go.Bar(x=idx, y=w["theta"], name=f"after {current}",
                         marker_color=_RULE_COLORS[current]), row=1, col=1)
    fig.add_trace(go.Bar(x=idx, y=w["delta"], marker_color=_RULE_COLORS[current],
                         name="update θ − z", showlegend=False), row=2, col=1)
    rules = [r for r in walk if walk[r] is not None]
    inc = [walk[r]["increase"] for r in rules]
    fig.add_trace(go.Bar(x=rules, y=np.maximum(inc, 1e-16), showlegend=False,
                         text=[f"{v:.3g}" for v in inc], textposition="outside",
                         marker_color=[_RULE_COLORS[r] if r == current else "#cccccc"
                                       for r in rules]), row=2, col=2)
    fig.update_yaxes(type="log", row=2, col=2, exponentformat="power")
    fig.update_layout(height=height, barmode="group", margin=dict(t=40, b=40, l=50, r=10),
                      legend=dict(orientation="h", y=1.08, x=0))
    return fig
