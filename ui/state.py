"""Per-session state every page reads: the frame check, the widget registry behind
shareable links, the seed and lecture mode."""

from __future__ import annotations

import urllib.parse

import streamlit as st

from ui import internals

__all__ = ["DEFAULT_SEED", "ensure_frame", "lecture_mode", "remember", "seed", "url_query",
           "view_url"]

DEFAULT_SEED = 0
PAGE = "_iobs_page"   # session_state: url path of the page being shown
VIEW = "_iobs_view"   # session_state: {key: (default, to_url, extremes)} for this run's widgets


def ensure_frame():
    """Make sure the page runs inside app.py's ``st.navigation``.

    Streamlit treats an app with a ``pages/`` folder as a v1 multipage app until
    ``st.navigation`` has run once in the process: a deep link opened first on a fresh server
    (and every ``AppTest`` run of a page) executes the page file alone, with the
    auto-discovered page list and without the shared sidebar. Turn that mode off and rerun
    once, so app.py builds the frame and runs the same page (its url path is the file name).
    """
    # per session too: concurrent first visits on a fresh server can each start in v1 mode
    if internals.pages_directory_mode() or (PAGE not in st.session_state
                                            and not st.session_state.get("_iobs_shell")):
        internals.leave_pages_directory_mode()
        st.session_state["_iobs_shell"] = True
        st.rerun()


def remember(key, default, to_url, extremes):
    ensure_frame()
    st.session_state.setdefault(VIEW, {})[key] = (default, to_url, list(extremes))


def seed() -> int:
    """The seed chosen in the shared sidebar."""
    ensure_frame()
    return int(st.session_state.get("seed", DEFAULT_SEED))


def lecture_mode() -> bool:
    """True when the sidebar's lecture-mode toggle is on."""
    return bool(st.session_state.get("lecture", False))


def url_query(registry: dict, state) -> str:
    """The query string of a view (pure): every widget in ``registry`` (``{key: (default,
    to_url, extremes)}``) whose value in ``state`` differs from its default, as Streamlit's binding
    parses it (repeated parameters for lists)."""
    out = []
    for key, (default, to_url, _) in registry.items():
        value = state[key] if key in state else default
        if value == default or value is None:
            continue
        enc = to_url(value)
        out.extend((key, v) for v in (enc if isinstance(enc, list) else [enc]))
    return urllib.parse.urlencode(out)


def view_url() -> str:
    """A URL that reproduces this view: the page plus every non-default bound widget."""
    url = urllib.parse.urlsplit(st.context.url or "http://localhost:8501/")
    base = f"{url.scheme}://{url.netloc}/{st.session_state.get(PAGE, '')}"
    query = url_query(st.session_state.get(VIEW, {}), st.session_state)
    return f"{base}?{query}" if query else base
