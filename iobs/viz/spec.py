"""Figures as finished JSON-ready dicts: the parts of a figure that Plotly need not validate.

A Plotly ``go.Figure`` validates every property it is given, and its ``to_dict()`` encodes
every NumPy array through Plotly's typed-array helper, which first asks narwhals whether the
array is a dataframe. For an animation that is most of the cost: Iterates' 40 frames of
stems took about 0.2 s to validate and 0.1 s to encode per build (measured here with
cProfile), where the solvers behind them took 0.06 s. The builders therefore make the small
static part (axes, traces' styles) with ``go`` objects, which checks it, and add what is
large and regular (frames, slider steps, per-frame arrays) as plain dicts with the arrays
encoded by :func:`typed` (:func:`skeleton` keeps the static part's dict per key);
:class:`Prebuilt` carries the result as a ``go.Figure`` whose
``to_dict()`` is that dict, so ``to_json``, ``to_html`` and ``st.plotly_chart`` read it
unchanged. Plotly has no public switch for either step, hence this module.
"""

from __future__ import annotations

import base64
import functools
import json

import numpy as np
import plotly.graph_objects as go

__all__ = ["Prebuilt", "plain", "skeleton", "typed"]

_CODES = {np.dtype(np.float32): "f4", np.dtype(np.float64): "f8", np.dtype(np.uint8): "u1",
          np.dtype(np.int32): "i4", np.dtype(np.int8): "i1", np.dtype(np.uint16): "u2"}


def typed(a, dtype=np.float32):
    """``a`` as Plotly's typed-array spec ``{"dtype", "bdata"[, "shape"]}`` (the base64
    block plotly.js decodes; what ``go.Figure.to_dict()`` writes for a NumPy array), in
    ``dtype`` (float32 unless told); an empty array stays an empty list, as Plotly leaves
    it."""
    a = np.ascontiguousarray(a, dtype=dtype)
    if a.size == 0:
        return []
    out = {"dtype": _CODES[a.dtype], "bdata": base64.b64encode(a.data).decode("ascii")}
    if a.ndim > 1:
        out["shape"] = ", ".join(str(s) for s in a.shape)
    return out


def plain(values) -> list:
    """``values`` as the list Plotly writes for a short list (NumPy scalars as Python
    numbers), for a few points where a typed array would be longer than the numbers."""
    return [v.item() if isinstance(v, np.generic) else v for v in values]


def skeleton(build):
    """``build(*key)`` (hashable arguments, a ``go.Figure`` without data arrays: panels,
    trace styles, axes) built and checked by Plotly once per key; each call returns a fresh
    copy of its dict for the caller to fill. At Iterates' defaults ``make_subplots`` and the
    axis updates alone cost about 30 ms per figure (measured here); a class redraws the
    same panels with new data."""
    kept = functools.lru_cache(maxsize=64)(lambda *key: json.dumps(build(*key).to_dict()))

    @functools.wraps(build)
    def fresh(*key) -> dict:
        return json.loads(kept(*key))

    return fresh


class Prebuilt(go.Figure):
    """A read-only figure whose ``to_dict()`` is the dict (or the figure's dict) it was made
    from, serialised once. Changing it (``update_layout`` & co.) would not reach the
    browser: build a new one."""

    def __init__(self, figure: go.Figure | dict):
        super().__init__()
        self._prepared = dict(figure) if isinstance(figure, dict) else figure.to_dict()

    def to_dict(self) -> dict:
        return self._prepared

    def to_plotly_json(self) -> dict:
        return self._prepared
