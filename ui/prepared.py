"""Figures serialised once: what lets a cached rerun skip Plotly's per-array encoding.

``st.plotly_chart`` calls ``Figure.to_dict()`` on every rerun, and Plotly (6 and later)
re-encodes every NumPy array of the figure as base64 there: for Iterates' 40-frame animation
that was about 100 ms of a 170 ms cached rerun (measured here with cProfile on the script
thread). A figure shared through ``st.cache_resource`` never changes, so its dict can be
computed once and handed out again. Plotly has no public switch for this, hence the small
subclass below; everything downstream (``plotly.io.to_json``, ``to_html``, the element id)
only ever reads ``to_dict()``.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

__all__ = ["FIGURES_KEPT", "PreparedFigure", "figure", "prepared"]

# Figures kept across sessions (least recently used dropped first). The largest default
# figure is Iterates' animation (~220 kB of JSON); 128 of them stay under ~50 MB.
FIGURES_KEPT = 128


class PreparedFigure(go.Figure):
    """A read-only figure whose ``to_dict()`` is the dict of the figure it was made from.

    Changing it (``update_layout`` & co.) would not reach the browser: build a new one."""

    def __init__(self, figure: go.Figure | dict):
        super().__init__()
        self._prepared = dict(figure) if isinstance(figure, dict) else figure.to_dict()

    def to_dict(self) -> dict:
        return self._prepared

    def to_plotly_json(self) -> dict:
        return self._prepared


def prepared(figure: go.Figure) -> PreparedFigure:
    """The figure, serialised once (call it where a figure is built for a cache)."""
    return figure if isinstance(figure, PreparedFigure) else PreparedFigure(figure)


@st.cache_resource(show_spinner=False, max_entries=FIGURES_KEPT)
def _built(name: str, _builder, args: tuple, kwargs: dict) -> PreparedFigure:
    return prepared(_builder(*args, **kwargs))


def figure(builder, *args, **kwargs) -> PreparedFigure:
    """``builder(*args, **kwargs)`` built once per distinct arguments and shared by every
    session: a cached rerun then costs a hash of the arguments instead of Plotly's
    validation and encoding (``args`` must be hashable by Streamlit: arrays, dicts,
    numbers, strings)."""
    return _built(f"{builder.__module__}.{builder.__qualname__}", builder, args, kwargs)
