"""The one module that touches Streamlit's private modules, each use with its reason.

Checked against Streamlit 1.67.0 (``CHECKED``). :func:`check` lists what an upgrade broke;
``tests/test_ui_internals.py`` fails with that list, so an upgrade is caught by the suite
instead of breaking every page with an import error. Every function here degrades to doing
nothing (or to the public behaviour) when its internal is gone.
"""

from __future__ import annotations

import importlib

import streamlit as st

__all__ = ["CHECKED", "attach_session", "check", "current_session", "forget_initial_url_value",
           "leave_pages_directory_mode", "pages_directory_mode"]

CHECKED = "1.67.0"   # the Streamlit version these internals were read from

# (module, attribute, why we need it)
INTERNALS = (
    ("streamlit.runtime.pages_manager", "PagesManager",
     "an app with a pages/ folder runs a deep link in v1 multipage mode (auto-discovered "
     "page list, no shared sidebar) until st.navigation has run once; we switch it off"),
    ("streamlit.runtime.scriptrunner_utils.script_run_context", "get_script_run_ctx",
     "Streamlit seeds widgets from a snapshot of the URL taken at page load; a link value "
     "we drop (inf, nan) must leave that snapshot too"),
    ("streamlit.runtime.scriptrunner", "add_script_run_ctx",
     "worker threads that call st.cache_data functions need the session's script context"),
)


def _get(module: str, attr: str):
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def check() -> list[str]:
    """Problems with the internals this module relies on (empty when all are there)."""
    out = [f"{m}.{a} is gone (needed because {why})" for m, a, why in INTERNALS
           if _get(m, a) is None]
    pm = _get("streamlit.runtime.pages_manager", "PagesManager")
    if pm is not None and not hasattr(pm, "uses_pages_directory"):
        out.append("PagesManager.uses_pages_directory is gone (v1 page mode switch)")
    if st.__version__ != CHECKED:
        out.append(f"Streamlit is {st.__version__}; these internals were checked against "
                   f"{CHECKED}: re-read them and update CHECKED")
    return out


def pages_directory_mode() -> bool:
    """True while Streamlit runs the app in v1 multipage mode (see :data:`INTERNALS`)."""
    pm = _get("streamlit.runtime.pages_manager", "PagesManager")
    return bool(getattr(pm, "uses_pages_directory", False))


def leave_pages_directory_mode() -> None:
    """Switch v1 multipage mode off for the process (app.py's st.navigation takes over)."""
    pm = _get("streamlit.runtime.pages_manager", "PagesManager")
    if pm is not None and hasattr(pm, "uses_pages_directory"):
        pm.uses_pages_directory = False


def forget_initial_url_value(key: str) -> None:
    """Drop ``key`` from the URL snapshot that seeds widgets at page load (Streamlit 1.67);
    does nothing if the internal moved (Streamlit's own handling of the value remains)."""
    get_ctx = _get("streamlit.runtime.scriptrunner_utils.script_run_context",
                   "get_script_run_ctx")
    ctx = get_ctx() if get_ctx is not None else None
    state = getattr(getattr(ctx, "session_state", None), "_state", None)
    initial = getattr(getattr(state, "query_params", None), "_initial_query_params", None)
    if isinstance(initial, dict):
        initial.pop(key, None)


def current_session():
    """The running script's context (to hand to worker threads), or None."""
    get_ctx = _get("streamlit.runtime.scriptrunner", "get_script_run_ctx")
    return get_ctx() if get_ctx is not None else None


def attach_session(thread, ctx) -> None:
    """Give ``thread`` the session's context, so that cached functions it calls work."""
    add = _get("streamlit.runtime.scriptrunner", "add_script_run_ctx")
    if add is not None and ctx is not None:
        add(thread, ctx)
