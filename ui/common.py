"""Shared UI helpers for every page of the iobs app (Streamlit only; no numerics here).

Import as ``from ui.common import ...``: it works under ``streamlit run app.py`` and
``AppTest.from_file("app.py")`` because the app's folder is on ``sys.path``.

Widgets -- ``key`` is required and is the URL parameter name (prefix it per page: ``it_``,
``cv_``, ``pj_``, ``ph_``, ``rp_``, ``pr_``); each value is mirrored in the URL with
``bind="query-params"`` (Streamlit drops it at the default and ignores malformed values):

    slider(label, lo, hi, value, *, key, step=None, fmt=None, help=None)
    number(label, lo, hi, value, *, key, step=None, help=None)
    select(label, options, value, *, key, format_func=str, help=None, horizontal=False)
    select_slider(label, options, value, *, key, format_func=str, help=None)
    multiselect(label, options, default, *, key, format_func=str, help=None)
    toggle(label, value, *, key, help=None)

Shared state and layout:

    seed() -> int                     the sidebar seed (default DEFAULT_SEED)
    lecture_mode() -> bool            larger text, controls folded away
    controls(title="Controls")        container for a page's widgets (sidebar; folded in
                                      lecture mode); use as ``with controls(): ...``
    presenter(points, *, key) -> int | None   lecture-mode Previous/Next step buttons
    view_url() -> str, link_to_view()  a URL that reproduces the current view
    url_query(registry, state) -> str  its query string (pure, testable)

Output:

    badge(source) -> str              markdown label: "from the paper", "derived here", ...
    look(text)                        a "what to look at" caption under a figure
    downloads(name, numbers, config, *, key)   CSV + JSON download buttons
    to_csv(numbers, config) -> str, to_json(numbers, config) -> str   (pure, testable)
    show_code(*objects, title="Show the code")  expander with inspect.getsource
    error(what, fix)                  st.error saying what went wrong and what to change
    attempt(fn, *args, fix, **kwargs) -> result | None   ValueError & co. -> error()
    progress(text)                    context manager yielding a callback(fraction)
    one_thread()                      context manager: BLAS on one thread for page-size work
    fmt(value, spec=".3g") -> str     table text; None/NaN -> an em dash
    chart(fig, *, key)                st.plotly_chart with the app's defaults

App shell (``app.py`` only): ``begin_run()``, ``shared_sidebar(page)``.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import urllib.parse

import numpy as np
import streamlit as st

from iobs.export import to_csv, to_json

__all__ = [
    "DEFAULT_SEED", "attempt", "badge", "begin_run", "chart", "controls", "downloads",
    "error", "fmt", "lecture_mode", "link_to_view", "look", "multiselect", "number",
    "one_thread", "presenter", "progress", "seed", "select", "select_slider",
    "shared_sidebar", "show_code", "slider", "to_csv", "to_json", "toggle", "url_query",
    "view_url",
]

DEFAULT_SEED = 0
_PAGE = "_iobs_page"   # session_state: url path of the page being shown
_VIEW = "_iobs_view"   # session_state: {key: (default, to_url, extremes)} for this run's widgets
_LECTURE_CSS = """<style>
.stMainBlockContainer p, .stMainBlockContainer li, .stMainBlockContainer td,
.stMainBlockContainer .stMarkdown { font-size: 1.35rem !important; line-height: 1.5; }
.stMainBlockContainer h1 { font-size: 3rem !important; }
.stMainBlockContainer h2, .stMainBlockContainer h3 { font-size: 2.1rem !important; }
.stMainBlockContainer .stCaption, .stMainBlockContainer [data-testid="stCaptionContainer"] p
{ font-size: 1.15rem !important; }
</style>"""
_BADGES = (  # (substring of a source string, colour, label), first match wins
    ("paper", "blue", "from the paper"), ("authors", "orange", "authors' code"),
    ("derived", "violet", "derived here"), ("literature", "gray", "from the literature"),
    ("measured", "green", "measured here"),
)


# -- the app shell ------------------------------------------------------------------------
def _shell():
    """Make sure the page runs inside app.py's ``st.navigation``.

    Streamlit treats an app with a ``pages/`` folder as a v1 multipage app until
    ``st.navigation`` has run once in the process: a deep link opened first on a fresh server
    (and every ``AppTest`` run of a page) executes the page file alone, with the
    auto-discovered page list and without the shared sidebar. Turn that mode off and rerun
    once, so app.py builds the frame and runs the same page (its url path is the file name).
    """
    from streamlit.runtime.pages_manager import PagesManager

    # per session too: concurrent first visits on a fresh server can each start in v1 mode
    if PagesManager.uses_pages_directory or (_PAGE not in st.session_state
                                             and not st.session_state.get("_iobs_shell")):
        PagesManager.uses_pages_directory = False
        st.session_state["_iobs_shell"] = True
        st.rerun()


# -- widgets bound to the URL ----------------------------------------------------------
def _remember(key, default, to_url, extremes):
    _shell()
    st.session_state.setdefault(_VIEW, {})[key] = (default, to_url, list(extremes))


def _num(v) -> str:
    return str(int(v)) if isinstance(v, (int, np.integer)) else repr(float(v))


def slider(label, lo, hi, value, *, key, step=None, fmt=None, help=None):
    """``st.slider`` in the current container, bound to the URL parameter ``key``."""
    _remember(key, value, _num, (lo, hi))
    return st.slider(label, lo, hi, value, step=step, format=fmt, key=key, help=help,
                     bind="query-params")


def number(label, lo, hi, value, *, key, step=None, help=None):
    """``st.number_input`` bound to the URL parameter ``key``."""
    _remember(key, value, _num, (lo, hi))
    return st.number_input(label, lo, hi, value, step=step, key=key, help=help,
                           bind="query-params")


def select(label, options, value, *, key, format_func=str, help=None, horizontal=False):
    """A radio (``horizontal``) or select box with default ``value``, bound to the URL."""
    options = list(options)
    _remember(key, value, format_func, options)
    if horizontal:
        return st.radio(label, options, index=options.index(value), format_func=format_func,
                        key=key, help=help, horizontal=True, bind="query-params")
    return st.selectbox(label, options, index=options.index(value), format_func=format_func,
                        key=key, help=help, bind="query-params")


def select_slider(label, options, value, *, key, format_func=str, help=None):
    """``st.select_slider`` bound to the URL parameter ``key``."""
    options = list(options)
    _remember(key, value, format_func, (options[0], options[-1]))
    return st.select_slider(label, options, value=value, format_func=format_func,
                            key=key, help=help, bind="query-params")


def multiselect(label, options, default, *, key, format_func=str, help=None):
    """``st.multiselect`` bound to the URL (repeated parameters)."""
    _remember(key, list(default), lambda vs: [format_func(v) for v in vs],
              ([], list(options)))
    return st.multiselect(label, list(options), default=list(default),
                          format_func=format_func, key=key, help=help, bind="query-params")


def toggle(label, value, *, key, help=None):
    """``st.toggle`` bound to the URL parameter ``key`` (``true``/``false``)."""
    _remember(key, value, lambda v: "true" if v else "false", (not value, value))
    return st.toggle(label, value, key=key, help=help, bind="query-params")


# -- shared state ----------------------------------------------------------------------
def seed() -> int:
    """The seed chosen in the shared sidebar."""
    _shell()
    return int(st.session_state.get("seed", DEFAULT_SEED))


def lecture_mode() -> bool:
    """True when the sidebar's lecture-mode toggle is on."""
    return bool(st.session_state.get("lecture", False))


def controls(title: str = "Controls"):
    """Where a page puts its widgets: the sidebar, folded into an expander in lecture mode."""
    _shell()
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
    base = f"{url.scheme}://{url.netloc}/{st.session_state.get(_PAGE, '')}"
    query = url_query(st.session_state.get(_VIEW, {}), st.session_state)
    return f"{base}?{query}" if query else base


def link_to_view():
    """Show :func:`view_url` in a copyable code block (the copy icon sits on its right)."""
    with st.sidebar.expander("Copy a link to this view", icon=":material/link:"):
        st.code(view_url(), language=None, wrap_lines=True)
        st.caption("The browser's address bar holds the same state: widgets are in the URL.")


# -- output ----------------------------------------------------------------------------
def badge(source: str) -> str:
    """Markdown badge for a provenance string (PAPER.md's labels)."""
    low = source.lower()
    for needle, colour, label in _BADGES:
        if needle in low:
            return f":{colour}-badge[{label}]"
    return f":gray-badge[{source}]"


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


def show_code(*objects, title: str = "Show the code"):
    """An expander with the source of each object (the solver step a figure comes from)."""
    with st.expander(title, icon=":material/code:"):
        for obj in objects:
            try:
                src = inspect.getsource(obj)
            except (OSError, TypeError):
                src = f"# source of {obj!r} is not available"
            st.code(src, language="python")


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
    _shell()
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
    _shell()
    st.plotly_chart(fig, key=key, width="stretch",
                    config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}})


# -- app shell -------------------------------------------------------------------------
def begin_run():
    """Start of every script run (app.py): forget the previous run's bound widgets."""
    st.session_state[_VIEW] = {}


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
        _forget_initial_url_value(key)
    return bad


def _forget_initial_url_value(key: str) -> None:
    """Streamlit 1.67 seeds widgets from a snapshot of the URL taken at page load, so the
    deleted value must go from that snapshot too (an internal: if it moves, this does
    nothing and Streamlit's own handling remains)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx()
    state = getattr(getattr(ctx, "session_state", None), "_state", None)
    initial = getattr(getattr(state, "query_params", None), "_initial_query_params", None)
    if isinstance(initial, dict):
        initial.pop(key, None)


def shared_sidebar(page=None):
    """The sidebar every page shares: seed, lecture mode (app.py calls this with the page
    that ``st.navigation`` returned, whose url path the shared link uses)."""
    st.session_state[_PAGE] = getattr(page, "url_path", "") or ""
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
