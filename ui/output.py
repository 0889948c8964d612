"""Output helpers: provenance badges, captions, downloads, code, errors, progress, tables
and charts."""

from __future__ import annotations

import contextlib
import functools
import inspect
import math

import numpy as np
import streamlit as st

from iobs.export import to_csv, to_json
from iobs.provenance import AUTHORS_CODE, DERIVED, LITERATURE, MEASURED, PAPER, Source, check_tag
from ui.state import ensure_frame

__all__ = ["attempt", "badge", "chart", "downloads", "error", "fmt", "look", "one_thread",
           "progress", "show_code", "to_csv", "to_json"]

_COLOURS = {PAPER: "blue", AUTHORS_CODE: "orange", DERIVED: "violet", LITERATURE: "gray",
            MEASURED: "green"}


def badge(tag) -> str:
    """Markdown badge for a provenance tag (:class:`iobs.provenance.Tag`, or a
    :class:`~iobs.provenance.Source`, whose own tag is used). The tag is explicit: a plain
    string is a ValueError, never matched against words."""
    tag = tag.tag if isinstance(tag, Source) else check_tag(tag)
    return f":{_COLOURS[tag]}-badge[{tag.value}]"


def look(text: str):
    """A caption under a figure telling the reader what to look at."""
    st.caption(f":material/visibility: **What to look at:** {text}")


def downloads(name: str, numbers: dict, config: dict, *, key: str):
    """CSV and JSON download buttons for ``numbers`` (arrays) and ``config`` (generated
    only when clicked)."""
    a, b = st.columns(2)
    icon = ":material/download:"
    a.download_button("CSV (numbers + config)", lambda: to_csv(numbers, config),
                      file_name=f"{name}.csv", mime="text/csv", key=f"{key}_csv", icon=icon,
                      on_click="ignore", width="stretch")
    b.download_button("JSON (numbers + config)", lambda: to_json(numbers, config),
                      file_name=f"{name}.json", mime="application/json", key=f"{key}_json",
                      icon=icon, on_click="ignore", width="stretch")


@functools.lru_cache(maxsize=256)
def _source(obj) -> str:
    # read once per process: inspect re-tokenises the whole file (~2 ms an object, measured)
    try:
        return inspect.getsource(obj)
    except (OSError, TypeError):
        return f"# source of {obj!r} is not available"


def show_code(*objects, title: str = "Show the code"):
    """An expander with the source of each object (the solver step a figure comes from), in
    one code block (each element is a message a rerun sends: one, not one per object)."""
    with st.expander(title, icon=":material/code:"):
        st.code("\n\n".join(_source(obj).rstrip() for obj in objects), language="python")


def error(what: str, fix: str):
    """``st.error`` that names the problem and what to change (never a traceback)."""
    st.error(f"**{what}**  \n**What to change:** {fix}", icon=":material/error:")


def attempt(fn, *args, fix: str, **kwargs):
    """Call ``fn``; on ValueError / ArithmeticError / LinAlgError show :func:`error` and
    return ``None``."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        error(str(exc), fix)
        return None


@contextlib.contextmanager
def progress(text: str):
    """``with progress("Running ...") as tick: work(progress=tick)``; the bar disappears
    when the work is done."""
    ensure_frame()
    bar = st.progress(0.0, text=text)

    def tick(fraction: float):
        bar.progress(min(max(float(fraction), 0.0), 1.0), text=text)

    try:
        yield tick
    finally:
        bar.empty()


def fmt(value, spec: str = ".3g") -> str:
    """Table-ready text: numbers formatted with ``spec``, None/NaN as an em dash."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, (bool, np.bool_, str)):
        return str(value)
    return format(value, spec)


def one_thread():
    """Run the page's (small) linear algebra on one BLAS thread. NumPy and SciPy bring
    separate OpenBLAS pools; on a busy 2-core machine two threads each made a d = 256
    dense-Hessian run 20x slower (measured here). Use inside cached compute functions."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1)


def chart(fig, *, key: str):
    """Draw a Plotly figure at full width (the mode bar keeps Plotly's PNG button)."""
    ensure_frame()
    st.plotly_chart(fig, key=key, width="stretch",
                    config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}})
