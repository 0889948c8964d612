"""Figures serialised once: what lets a cached rerun skip Plotly's per-array encoding.

``st.plotly_chart`` calls ``Figure.to_dict()`` on every rerun, and Plotly (6 and later)
re-encodes every NumPy array of the figure as base64 there: for Iterates' 40-frame animation
that was about 100 ms of a 170 ms cached rerun (measured here with cProfile on the script
thread). A figure shared through ``st.cache_resource`` never changes, so its dict can be
computed once and handed out again. Plotly has no public switch for this, hence the small
subclass :class:`iobs.viz.spec.Prebuilt`; everything downstream (``plotly.io.to_json``,
``to_html``, the element id) only ever reads ``to_dict()``.
"""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from iobs.viz.spec import Prebuilt

__all__ = ["FIGURES_KEPT", "PreparedFigure", "figure", "prepared"]

# Figures kept across sessions (least recently used dropped first). The largest default
# figure is Iterates' animation (~220 kB of JSON); 128 of them stay under ~50 MB.
FIGURES_KEPT = 128


# The class lives with the figure builders (they return it for their animations).
PreparedFigure = Prebuilt


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
