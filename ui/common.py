"""Shared UI helpers for every page of the iobs app (Streamlit only; no numerics here).

Import as ``from ui import common``: this module gathers the helpers of ``ui.state``,
``ui.widgets``, ``ui.output`` and ``ui.shell`` under one name. It works under ``streamlit
run app.py`` and ``AppTest.from_file("app.py")`` because the app's folder is on ``sys.path``.

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

    badge(tag) -> str                 markdown label of an explicit provenance tag: PAPER,
                                      AUTHORS_CODE, DERIVED, LITERATURE, MEASURED (re-exported
                                      here from iobs.provenance) or a Source, which carries one
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
    figure(builder, *args, **kwargs)  builder(...) built once per arguments for all sessions
                                      and serialised once (ui.prepared): cheap cached reruns

App shell (``app.py`` only): ``begin_run()``, ``shared_sidebar(page)``.
"""

from iobs.provenance import AUTHORS_CODE, DERIVED, LITERATURE, MEASURED, PAPER
from ui.output import (attempt, badge, chart, downloads, error, fmt, look, one_thread, progress,
                       show_code, to_csv, to_json)
from ui.prepared import figure
from ui.shell import begin_run, link_to_view, shared_sidebar
from ui.state import DEFAULT_SEED, lecture_mode, seed, url_query, view_url
from ui.widgets import (controls, multiselect, number, presenter, select, select_slider,
                        slider, toggle)

__all__ = [
    "AUTHORS_CODE", "DERIVED", "LITERATURE", "MEASURED", "PAPER",
    "DEFAULT_SEED", "attempt", "badge", "begin_run", "chart", "controls", "downloads",
    "error", "figure", "fmt", "lecture_mode", "link_to_view", "look", "multiselect", "number",
    "one_thread", "presenter", "progress", "seed", "select", "select_slider",
    "shared_sidebar", "show_code", "slider", "to_csv", "to_json", "toggle", "url_query",
    "view_url",
]
