"""The app shell (app.py only): the start of every run and the shared sidebar."""

from __future__ import annotations

import math

import streamlit as st

from ui import internals
from ui.state import DEFAULT_SEED, PAGE, VIEW, lecture_mode, view_url
from ui.widgets import number, toggle

__all__ = ["begin_run", "link_to_view", "shared_sidebar"]

_LECTURE_CSS = """<style>
.stMainBlockContainer p, .stMainBlockContainer li, .stMainBlockContainer td,
.stMainBlockContainer .stMarkdown { font-size: 1.35rem !important; line-height: 1.5; }
.stMainBlockContainer h1 { font-size: 3rem !important; }
.stMainBlockContainer h2, .stMainBlockContainer h3 { font-size: 2.1rem !important; }
.stMainBlockContainer .stCaption, .stMainBlockContainer [data-testid="stCaptionContainer"] p
{ font-size: 1.15rem !important; }
</style>"""


def link_to_view():
    """Show :func:`view_url` in a copyable code block (the copy icon sits on its right)."""
    with st.sidebar.expander("Copy a link to this view", icon=":material/link:"):
        st.code(view_url(), language=None, wrap_lines=True)
        st.caption("The browser's address bar holds the same state: widgets are in the URL.")


def begin_run():
    """Start of every script run (app.py): forget the previous run's bound widgets."""
    st.session_state[VIEW] = {}


_URL_NUMBER_LIMIT = 1e15  # no widget range comes near; beyond it a value is garbage


def _drop_unparseable_url_values() -> list[str]:
    """Remove link parameters that are numbers no widget can hold (inf, nan, 400 digits).

    Streamlit ignores most invalid link values by itself, but an infinite number in an
    integer field raises inside it before any page code runs; those go before any widget
    is created. Returns the keys dropped (for the notice)."""
    bad = []
    for key in list(st.query_params.keys()):
        for v in st.query_params.get_all(key):
            try:
                x = float(v)
            except (TypeError, ValueError, OverflowError):
                continue
            if not math.isfinite(x) or abs(x) > _URL_NUMBER_LIMIT:
                bad.append(key)
                break
    for key in bad:
        del st.query_params[key]
        internals.forget_initial_url_value(key)
    return bad


def shared_sidebar(page=None):
    """The sidebar every page shares: seed, lecture mode (app.py calls this with the page
    that ``st.navigation`` returned, whose url path the shared link uses)."""
    st.session_state[PAGE] = getattr(page, "url_path", "") or ""
    dropped = _drop_unparseable_url_values()
    if dropped:
        st.info(f"This link had values that cannot be used ({', '.join(sorted(dropped))}); "
                "they were replaced by the defaults.", icon=":material/link_off:")
    with st.sidebar:
        number("Seed", 0, 2**31 - 1, DEFAULT_SEED, key="seed", step=1,
               help="Seed of the random problem (design, truth, noise) on every page.")
        toggle("Lecture mode", False, key="lecture",
               help="Larger text, controls folded away, Previous/Next step buttons.")
    if lecture_mode():
        st.html(_LECTURE_CSS)
