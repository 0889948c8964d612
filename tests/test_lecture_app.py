"""Lecture mode through AppTest: the catalogue of widgets agrees with the pages, every scene
of the shipped lecture runs with no exception and no error, scene links and buttons move
across pages, and a broken uploaded lecture shows the same line as the CLI."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from iobs import lecture
from iobs.lecture.catalogue import HOME, PAGES, SHARED

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
APP = str(ROOT / "app.py")
TIMEOUT = 600          # the Prune page prunes with every method on its first visit
# Per page, the states (widget values) that together show every one of its widgets
STATES = {
    HOME: [{}],
    "iterates": [{}, {"it_kind": "correlated"}],
    "convergence": [{"cv_preset": "log-cosh near θ*"}, {"cv_preset": "least squares"},
                    {"cv_preset": "least squares", "cv_kind": "correlated"}],
    "projection": [{}, {"pj_d": 3}],
    "phase": [{"ph_methods": ["iht"], "ph_nd": 2, "ph_nr": 2, "ph_trials": 1}],
    "reproduce": [{}, {"rp_prior": "digits", "rp_dsteps": 250}],
    "data": [{}],
    "prune": [{}],
}
DYNAMIC_TOP = {"rp_run": "the page caps it at the number of runs - 1"}
KIND = {"Slider": "slider", "NumberInput": "number", "Radio": "select", "Selectbox": "select",
        "SelectSlider": "select_slider", "Multiselect": "multiselect", "Toggle": "toggle"}


def _run(at):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.run()


def _open(page, state):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in state.items():
        at.session_state[k] = v
    if page != HOME:
        at.switch_page(f"pages/{page}.py")
    return _run(at)


def _ok(at):
    assert not at.exception, [e.message for e in at.exception]


def _agrees(key, w, registered, el):
    default, to_url, extremes = registered
    assert KIND[type(el).__name__] == w.kind, (key, type(el).__name__, w.kind)
    if w.default is not None:
        assert default == w.default, (key, default, w.default)
    if w.kind in ("slider", "number"):
        assert el.min == w.lo and (el.max == w.hi or key in DYNAMIC_TOP), (key, el.min, el.max)
        assert isinstance(extremes[0], int) == w.integer, key
        assert el.step == pytest.approx(w.step or (1 if w.integer else 0.01)), (key, el.step)
    elif w.kind == "select":
        assert tuple(extremes) == w.options, (key, extremes)
    elif w.kind == "select_slider":
        assert list(el.options) == [to_url(o) for o in w.options], (key, el.options)
    elif w.kind == "multiselect":
        assert tuple(extremes[1]) == w.options, (key, extremes)


@pytest.mark.parametrize("page", list(PAGES))
def test_the_catalogue_agrees_with_the_page_widgets(page):
    seen = set()
    for state in STATES[page]:
        at = _open(page, state)
        _ok(at)
        registry = at.session_state["_iobs_view"]
        for key, registered in registry.items():
            if key == "lecture":
                continue
            allowed = {**SHARED, **PAGES[page]}
            assert key in allowed, f"{key} on the {page} page is missing from the catalogue"
            _agrees(key, allowed[key], registered, at.get_by_key(key))
            seen.add(key)
    assert set(PAGES[page]) <= seen, f"never shown: {sorted(set(PAGES[page]) - seen)}"


# figures a scene's "look" quotes, as the page prints them at seed 0: the lecture's text
# must stay true when a page changes (scene number -> strings on the page)
QUOTED = {2: ["5.90e-01"], 3: ["0.16"], 4: ["Euclidean 0.32, H-metric 0.0375"],
          5: ["0.008801", "0.014187"], 6: ["1.96", "ρ = 0.971"],
          8: ["1/c = 0.789", "1/c = 0.334"], 12: ["dense 97.2%, OBS 96.9%, magnitude 93.9%"],
          13: ["OBS 90.8%", "I-OBS(T=5) 95.8%", "(95.0% vs 88.9% in round 1)"]}


def _text(at) -> str:
    parts = [x.value for kind in ("caption", "markdown", "info", "warning") for x in
             getattr(at, kind)]
    parts += [d.value.to_string() for d in at.dataframe]
    return "\n".join(parts)


def _scene(at):
    return at.session_state["_iobs_scene"]


def _page(at):
    return at.session_state["_iobs_page"] or HOME


def test_every_scene_of_the_shipped_lecture_runs_forward_and_back():
    lec = lecture.shipped()
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lecture"] = "true"
    _run(at)
    _ok(at)
    assert any(lec.title in i.value and "to start" in i.value for i in at.info)
    for i, scene in enumerate(lec.scenes):
        at.button(key="lec_next").click()
        _run(at)
        _ok(at)
        assert _scene(at) == i and _page(at) == scene.page
        assert not at.error, (i + 1, [e.value for e in at.error])
        for key, value in scene.values.items():
            assert at.session_state[key] == value, (i + 1, key)
        assert any(f"Scene {i + 1} of {len(lec)}" in x.value and scene.narration in x.value
                   for x in at.info)
        assert len(at.get("plotly_chart")) >= 1
        text = _text(at)
        for quoted in QUOTED.get(i + 1, []):
            assert quoted in text, (i + 1, quoted)
    assert at.button(key="lec_next").disabled
    at.button(key="lec_back").click()
    _run(at)
    _ok(at)
    assert _scene(at) == len(lec) - 2 and _page(at) == lec.scenes[-2].page


def test_a_scene_link_opens_its_page_with_its_values_and_defaults_elsewhere():
    lec = lecture.shipped()
    i = next(j for j, s in enumerate(lec.scenes) if s.page == "iterates" and s.values)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"lecture": "true", "scene": str(i + 1), "it_k": "20"})
    _run(at)
    _ok(at)
    assert _page(at) == "iterates" and _scene(at) == i
    for key, value in lec.scenes[i].values.items():
        assert at.session_state[key] == value
    assert at.session_state["it_k"] == PAGES["iterates"]["it_k"].default   # not the link's
    assert any(f"scene={i + 1}" in c.value for c in at.caption)


def test_a_broken_uploaded_lecture_shows_the_cli_line():
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["lecture"] = "true"
    _run(at)
    bad = ('title = "x"\n[[scene]]\npage = "iterates"\nnarration = "a. b."\nlook = "c"\n'
           "[scene.values]\nit_k = 600\n")
    with pytest.raises(lecture.LectureError) as err:
        lecture.loads(bad, name="bad.toml")
    at.file_uploader(key="lec_file").set_value(("bad.toml", bad.encode(), "text/plain"))
    _run(at)
    _ok(at)
    assert any(str(err.value) in e.value for e in at.error), [e.value for e in at.error]
    assert any(lecture.shipped().title in i.value for i in at.info)   # the default meanwhile
    good = bad.replace("it_k = 600", "it_k = 20").replace('"x"', '"My own tour"')
    at.file_uploader(key="lec_file").set_value(("mine.toml", good.encode(), "text/plain"))
    _run(at)
    assert not at.error and any("My own tour" in i.value for i in at.info)
    at.button(key="lec_next").click()
    _run(at)
    _ok(at)
    assert _page(at) == "iterates" and at.session_state["it_k"] == 20


@pytest.mark.parametrize("junk", ["0", "999", "abc", "-1", ""])
def test_a_scene_number_that_is_no_scene_is_ignored(junk):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params.update({"lecture": "true", "scene": junk})
    _run(at)
    _ok(at)
    assert "_iobs_scene" not in at.session_state and _page(at) == HOME
    assert any("to start" in i.value for i in at.info)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["scene"] = junk          # without lecture=true: no lecture mode
    _run(at)
    _ok(at)
    assert not any("to start" in i.value for i in at.info)
