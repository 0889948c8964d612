"""Widgets bound to the URL (the ``key`` is the URL parameter: prefix it per page) and the
lecture-mode presenter."""

from __future__ import annotations

import numpy as np
import streamlit as st

from ui.state import ensure_frame, lecture_mode, remember

__all__ = ["controls", "multiselect", "number", "presenter", "select", "select_slider",
           "slider", "toggle"]


def _num(v) -> str:
    return str(int(v)) if isinstance(v, (int, np.integer)) else repr(float(v))


def slider(label, lo, hi, value, *, key, step=None, fmt=None, help=None):
    """``st.slider`` in the current container, bound to the URL parameter ``key``."""
    remember(key, value, _num, (lo, hi))
    return st.slider(label, lo, hi, value, step=step, format=fmt, key=key, help=help,
                     bind="query-params")


def number(label, lo, hi, value, *, key, step=None, help=None):
    """``st.number_input`` bound to the URL parameter ``key``."""
    remember(key, value, _num, (lo, hi))
    return st.number_input(label, lo, hi, value, step=step, key=key, help=help,
                           bind="query-params")


def select(label, options, value, *, key, format_func=str, help=None, horizontal=False):
    """A radio (``horizontal``) or select box with default ``value``, bound to the URL."""
    options = list(options)
    remember(key, value, format_func, options)
    if horizontal:
        return st.radio(label, options, index=options.index(value), format_func=format_func,
                        key=key, help=help, horizontal=True, bind="query-params")
    return st.selectbox(label, options, index=options.index(value), format_func=format_func,
                        key=key, help=help, bind="query-params")


def select_slider(label, options, value, *, key, format_func=str, help=None):
    """``st.select_slider`` bound to the URL parameter ``key``."""
    options = list(options)
    remember(key, value, format_func, (options[0], options[-1]))
    return st.select_slider(label, options, value=value, format_func=format_func,
                            key=key, help=help, bind="query-params")


def multiselect(label, options, default, *, key, format_func=str, help=None):
    """``st.multiselect`` bound to the URL (repeated parameters)."""
    remember(key, list(default), lambda vs: [format_func(v) for v in vs],
              ([], list(options)))
    return st.multiselect(label, list(options), default=list(default),
                          format_func=format_func, key=key, help=help, bind="query-params")


def toggle(label, value, *, key, help=None):
    """``st.toggle`` bound to the URL parameter ``key`` (``true``/``false``)."""
    remember(key, value, lambda v: "true" if v else "false", (not value, value))
    return st.toggle(label, value, key=key, help=help, bind="query-params")


def controls(title: str = "Controls"):
    """Where a page puts its widgets: the sidebar, folded into an expander in lecture mode."""
    ensure_frame()
    if lecture_mode():
        return st.sidebar.expander(f"{title} (folded for the lecture)", expanded=False)
    return st.sidebar.container()


def _step(key, delta, n):
    name = f"{key}_step"
    st.session_state[name] = min(max(st.session_state.get(name, 0) + delta, 0), n - 1)


def presenter(points, *, key):
    """Lecture mode: show talking point i of ``points`` with Previous/Next buttons and
    return i; outside lecture mode return ``None`` (the page shows its full view)."""
    if not lecture_mode() or not points:
        return None
    n = len(points)
    i = min(int(st.session_state.get(f"{key}_step", 0)), n - 1)
    left, mid, right = st.columns([1, 6, 1], vertical_alignment="center")
    left.button("◀ Back", key=f"{key}_prev", on_click=_step, args=(key, -1, n),
                disabled=i == 0, width="stretch")
    right.button("Next ▶", key=f"{key}_next", on_click=_step, args=(key, 1, n),
                 disabled=i == n - 1, width="stretch")
    mid.info(f"**Step {i + 1} of {n}.** {points[i]}")
    return i
