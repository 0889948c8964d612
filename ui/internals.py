"""The one module that touches Streamlit's private modules, each use with its reason.

Checked against Streamlit 1.67.0 (:data:`CHECKED`; requirements.txt pins it). :func:`check`
lists what an upgrade broke, naming the internal and why we need it;
``tests/test_ui_internals.py`` fails with that list, so an upgrade is caught by the suite
instead of breaking every page with an import error. Every function here degrades to doing
nothing (or to Streamlit's public behaviour) when its internal is gone.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
from typing import NamedTuple

import streamlit as st

__all__ = ["CHECKED", "INTERNALS", "Internal", "attach_session", "check", "current_session",
           "forget_initial_url_value", "leave_pages_directory_mode", "pages_directory_mode",
           "tap_messages"]

CHECKED = "1.67.0"   # the Streamlit version these internals were read from


class Internal(NamedTuple):
    module: str   # a private Streamlit module
    name: str     # an attribute of it; "Class.member" for a class attribute or field
    why: str      # the reason we use it


_V1_MODE = ("an app with a pages/ folder runs a deep link (and every AppTest of a page) in "
            "v1 multipage mode (auto-discovered page list, no shared sidebar) until "
            "st.navigation has run once; ensure_frame switches that mode off")
_URL_SNAPSHOT = ("Streamlit seeds widgets from a snapshot of the URL taken at page load: a "
                 "link value shell drops (inf, nan, 400 digits) must leave that snapshot too")
_HANDOUT = ("the offline handout records what a page draws (text, figures, tables) as the "
            "messages the script sends, so the pages need no recording calls of their own")
_THREADS = ("worker threads (ui.jobs) call st.cache_data functions, which need the session's "
            "script context")

INTERNALS = (
    Internal("streamlit.runtime.pages_manager", "PagesManager.uses_pages_directory", _V1_MODE),
    Internal("streamlit.runtime.scriptrunner_utils.script_run_context", "get_script_run_ctx",
             _URL_SNAPSHOT),
    Internal("streamlit.runtime.scriptrunner_utils.script_run_context",
             "ScriptRunContext.session_state", _URL_SNAPSHOT),
    Internal("streamlit.runtime.state.safe_session_state", "SafeSessionState._state",
             _URL_SNAPSHOT),
    Internal("streamlit.runtime.state.session_state", "SessionState.query_params",
             _URL_SNAPSHOT),
    Internal("streamlit.runtime.state.query_params", "QueryParams._initial_query_params",
             _URL_SNAPSHOT),
    Internal("streamlit.runtime.scriptrunner", "get_script_run_ctx", _THREADS),
    Internal("streamlit.runtime.scriptrunner", "add_script_run_ctx", _THREADS),
    Internal("streamlit.runtime.scriptrunner_utils.script_run_context",
             "ScriptRunContext.enqueue", _HANDOUT),
)


def _get(module: str, attr: str):
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None


def _exists(internal: Internal) -> bool:
    """Whether the module has the name; a member may be a class attribute or a declared
    (dataclass or annotated) instance field."""
    owner, _, member = internal.name.partition(".")
    obj = _get(internal.module, owner)
    if obj is None or not member:
        return obj is not None
    return hasattr(obj, member) or member in getattr(obj, "__dataclass_fields__", {}) or \
        any(member in _annotations(c) for c in getattr(obj, "__mro__", ()))


def _annotations(cls) -> dict:
    try:
        return inspect.get_annotations(cls)
    except Exception:   # an annotation that no longer evaluates: treat as not declared
        return {}


def check() -> list[str]:
    """Problems with the internals this module relies on (empty when all are there): each
    missing internal with its reason, and a Streamlit version other than :data:`CHECKED`."""
    out = [f"{i.module}.{i.name} is gone (needed because {i.why})" for i in INTERNALS
           if not _exists(i)]
    if st.__version__ != CHECKED:
        out.append(f"Streamlit is {st.__version__}; these internals were checked against "
                   f"{CHECKED}: re-read each use in ui/internals.py and update CHECKED")
    return out


def pages_directory_mode() -> bool:
    """True while Streamlit runs the app in v1 multipage mode (see ``_V1_MODE``)."""
    pm = _get("streamlit.runtime.pages_manager", "PagesManager")
    return bool(getattr(pm, "uses_pages_directory", False))


def leave_pages_directory_mode() -> None:
    """Switch v1 multipage mode off for the process (app.py's st.navigation takes over)."""
    pm = _get("streamlit.runtime.pages_manager", "PagesManager")
    if pm is not None and hasattr(pm, "uses_pages_directory"):
        pm.uses_pages_directory = False


def forget_initial_url_value(key: str) -> None:
    """Drop ``key`` from the URL snapshot that seeds widgets at page load (``_URL_SNAPSHOT``);
    does nothing if the internal moved (Streamlit's own handling of the value remains)."""
    get_ctx = _get("streamlit.runtime.scriptrunner_utils.script_run_context",
                   "get_script_run_ctx")
    ctx = get_ctx() if get_ctx is not None else None
    state = getattr(getattr(ctx, "session_state", None), "_state", None)
    initial = getattr(getattr(state, "query_params", None), "_initial_query_params", None)
    if isinstance(initial, dict):
        initial.pop(key, None)


def current_session():
    """The running script's context, to hand to worker threads (``_THREADS``), or None."""
    get_ctx = _get("streamlit.runtime.scriptrunner", "get_script_run_ctx")
    return get_ctx() if get_ctx is not None else None


def attach_session(thread, ctx) -> None:
    """Give ``thread`` the session's context, so that cached functions it calls work."""
    add = _get("streamlit.runtime.scriptrunner", "add_script_run_ctx")
    if add is not None and ctx is not None:
        add(thread, ctx)


@contextlib.contextmanager
def tap_messages(sink):
    """Within the block, call ``sink(msg)`` with every message the script sends to the
    browser (``_HANDOUT``), before Streamlit may swap it for a cached reference; the
    session's own context only, restored afterwards. Does nothing if the internal moved."""
    ctx = current_session()
    send = getattr(ctx, "enqueue", None)
    if send is None or not hasattr(ctx, "__dict__"):
        yield
        return
    before = ctx.__dict__.get("enqueue")   # an enclosing tap, if any

    def tapped(msg):
        sink(msg)
        send(msg)

    ctx.enqueue = tapped
    try:
        yield
    finally:
        if before is None:
            del ctx.enqueue   # the instance attribute goes; the class method is back
        else:
            ctx.enqueue = before
