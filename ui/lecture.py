"""Lecture mode's guided tour (app.py only): the scenes of a lecture file, across pages.

A scene sets its widgets' values and opens its page; the bar above every page shows the
scene's narration and what to look at, with Back/Next buttons that a clicker drives (→/←,
PageDown/PageUp: Streamlit's own button shortcuts). Each scene has a link
(``/<page>?lecture=true&scene=N``). The lecture is the one that ships with the package
unless the lecturer loads their own file in the sidebar; a broken file shows the same line
as ``python -m iobs lecture check``.

The per-page talking points (``ui.widgets.presenter``) stay as they are: they step within
one figure, the tour steps between views.
"""

from __future__ import annotations

import urllib.parse

import streamlit as st

from iobs import lecture as lectures
from iobs.lecture.catalogue import HOME, PAGES, SHARED
from ui import internals
from ui.output import error

__all__ = ["bar", "prepare", "scene_link"]

GIVEN = "_iobs_lecture"      # session: the uploaded Lecture being given (absent: shipped)
AT = "_iobs_scene"           # session: index of the scene shown (absent: not started)
GOTO = "_iobs_scene_goto"    # session: index of the scene to open on this run
PARAM = "scene"              # URL parameter: the scene number, from 1
MAX_UPLOAD_MB = 1
# (key, label, shortcut, step): Streamlit binds one shortcut per button, so the clicker's
# second key of each direction has a button of its own, hidden by _HIDE
BUTTONS = (("lec_back", "◀ Scene", "Left", -1), ("lec_next", "Scene ▶", "Right", 1),
           ("lec_back_pgup", "Back", "PageUp", -1), ("lec_next_pgdn", "Next", "PageDown", 1))
_HIDE = ("<style>.st-key-lec_back_pgup, .st-key-lec_next_pgdn "
         "{ position: absolute; width: 1px; height: 1px; overflow: hidden; "
         "clip-path: inset(50%); }</style>")


@st.cache_resource(show_spinner=False)
def _shipped():
    """The default lecture (read once per process; a Lecture is immutable)."""
    return lectures.shipped()


def _active():
    return st.session_state.get(GIVEN) or _shipped()


def _lecture_mode_requested() -> bool:
    """Lecture mode before the sidebar's toggle exists on this run (a link's first run): a
    scene link turns it on (after a page switch its URL may hold ``scene`` alone)."""
    if "lecture" in st.session_state:
        return bool(st.session_state["lecture"])
    return st.query_params.get("lecture") == "true" or _url_scene(len(_active())) is not None


def _url_scene(n: int) -> int | None:
    raw = st.query_params.get(PARAM)
    try:
        i = int(raw) - 1
    except (TypeError, ValueError):
        return None
    return i if 0 <= i < n else None


def prepare(pages) -> None:
    """Before any widget is created (app.py, after ``st.navigation``): open the scene that a
    button asked for or that the link names, i.e. reset the scene page's widgets to their
    defaults, set the scene's values and switch to its page. ``pages`` are the ``st.Page``
    objects given to ``st.navigation``."""
    if not _lecture_mode_requested():
        return
    st.session_state["lecture"] = True   # the toggle keeps it across the page switch
    lec = _active()
    want = st.session_state.pop(GOTO, None)
    if want is None:
        linked = _url_scene(len(lec))
        if linked is not None and linked != st.session_state.get(AT):
            want = linked
    if want is None:
        return
    scene = lec.scenes[want]
    for key in (*SHARED, *PAGES[scene.page]):
        st.session_state.pop(key, None)           # the widget starts from its default ...
        internals.forget_initial_url_value(key)   # ... not from the link it was opened with
    for key, value in scene.values.items():
        st.session_state[key] = list(value) if isinstance(value, list) else value
    st.session_state[AT] = want
    params = {PARAM: str(want + 1)}     # "lecture" is the toggle's own (bound) parameter
    target = "" if scene.page == HOME else scene.page
    here = st.session_state.get("_iobs_page")
    by_path = {p.url_path: p for p in pages}
    if target != here and target in by_path:
        st.switch_page(by_path[target], query_params=params)
    # same page: the bound widgets rewrite their own URL parameters from the new values
    st.query_params[PARAM] = params[PARAM]


def _step(delta: int, n: int) -> None:
    i = st.session_state.get(AT, -1) + delta
    st.session_state[GOTO] = min(max(i, 0), n - 1)


def _upload() -> None:
    """The sidebar's lecture file: checked, then given from its first scene."""
    with st.sidebar:
        f = st.file_uploader("Your lecture (TOML)", type=["toml"], key="lec_file",
                             max_upload_size=MAX_UPLOAD_MB,
                             help="A lecture file: see `python -m iobs lecture check`.")
    if f is None:
        if st.session_state.pop(GIVEN, None) is not None:
            st.session_state.pop(AT, None)
        return
    given = st.session_state.get(GIVEN)
    if given is not None and given.source == f"{f.name}#{f.file_id}":
        return
    try:
        lec = lectures.loads(f.getvalue(), name=f.name)
    except lectures.LectureError as exc:
        error(str(exc), "fix that line of the file and load it again (check it with "
              "`python -m iobs lecture check FILE`); the default lecture is shown meanwhile")
        st.session_state.pop(GIVEN, None)
        return
    st.session_state[GIVEN] = lectures.Lecture(lec.title, lec.scenes,
                                               source=f"{f.name}#{f.file_id}")
    st.session_state.pop(AT, None)


def scene_link(i: int, lec=None) -> str:
    """The absolute link that opens scene ``i`` (0-based) of the lecture being given."""
    scene = (lec or _active()).scenes[i]
    url = urllib.parse.urlsplit(st.context.url or "http://localhost:8501/")
    path = "" if scene.page == HOME else scene.page
    query = urllib.parse.urlencode({"lecture": "true", PARAM: i + 1})
    return f"{url.scheme}://{url.netloc}/{path}?{query}"


def bar() -> None:
    """The tour's bar above the page (lecture mode only), and the sidebar's lecture file."""
    if not st.session_state.get("lecture"):
        return
    _upload()
    lec = _active()
    n, i = len(lec), st.session_state.get(AT)
    st.html(_HIDE)
    left, mid, right = st.columns([1, 8, 1], vertical_alignment="center")
    cur = -1 if i is None else i
    for (key, label, shortcut, delta), cell in zip(BUTTONS, (left, right, left, right),
                                                    strict=True):
        cell.button(label, key=key, on_click=_step, args=(delta, n), shortcut=shortcut,
                    disabled=not 0 <= cur + delta < n, width="stretch")
    with mid:
        if i is None:
            st.info(f"**{lec.title}** — {n} scenes. Press **Scene ▶** (or →, "
                    "PageDown) to start.", icon=":material/co_present:")
            return
        scene = lec.scenes[i]
        head = f"**Scene {i + 1} of {n}**" + (f" · {scene.title}" if scene.title else "")
        st.info(f"{head}  \n{scene.narration}  \n**Look:** {scene.look}",
                icon=":material/co_present:")
        st.caption(f"[Link to this scene]({scene_link(i, lec)}) · {lec.title}")
