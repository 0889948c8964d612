"""The Streamlit app through AppTest: home + Iterates, Convergence, Inside one projection.

Each page: the default run draws its charts without an exception; every control changes a
chart; the view round-trips through the URL; malformed URL values and every widget's
extreme values raise nothing.
"""

from __future__ import annotations

import json
import sys
import urllib.parse
import warnings
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:      # `pages` is imported the way app.py imports it
    sys.path.insert(0, str(ROOT))
from ui import common  # noqa: E402

APP = str(ROOT / "app.py")
TIMEOUT = 180
HOME, IT, CV, PJ = None, "pages/iterates.py", "pages/convergence.py", "pages/projection.py"
CHARTS = {HOME: 1, IT: 2, CV: 3, PJ: 3}   # Convergence opens on log-cosh: a third tab
# (key, new value) applied one after another; each must change a chart. Order matters:
# a control that only shows for one choice comes before the choice changes.
CHANGES = {
    HOME: [("home_cond", 1e4), ("seed", 3)],
    IT: [("it_cond", 10.0), ("it_d", 128), ("it_ratio", 4.0), ("it_kstar", 8), ("it_k", 20),
         ("it_methods", ["iht", "htp"]), ("it_eta", 0.5), ("it_damping", 1e-2),
         ("it_noise", 0.1), ("it_steps", 10), ("it_kind", "correlated"), ("it_rho", 0.5)],
    CV: [("cv_beta", 2.0), ("cv_e0", 0.05), ("cv_tight", True), ("cv_lc_d", 64),
         ("cv_lc_ratio", 4.0), ("cv_lc_kstar", 3), ("cv_lc_kratio", 4.0), ("cv_lc_steps", 5),
         ("cv_preset", "least squares"), ("cv_cond", 10.0), ("cv_d", 64), ("cv_ratio", 4.0),
         ("cv_kstar", 4), ("cv_kratio", 4.0), ("cv_eta_iht", 0.5), ("cv_eta", 0.8),
         ("cv_noise", 0.01), ("cv_damping", 1e-2), ("cv_steps", 30), ("cv_kind", "correlated"),
         ("cv_rho", 0.5), ("cv_methods", ["iht", "iobs-diag"])],
    PJ: [("pj_z1", -0.5), ("pj_z2", 0.3), ("pj_rho", -0.3), ("pj_cond", 50.0), ("pj_d", 3),
         ("pj_z3", 1.5), ("pj_k", 2), ("pj_bigd", 16), ("pj_bigk", 6), ("pj_bigrho", 0.9),
         ("pj_noise", 1.0), ("pj_rule", "exact")],
}
VOLATILE = {CV: {1}}   # chart indices holding wall-clock seconds
ROUND_TRIP = {         # non-default values shown together in one view
    IT: [("it_kind", "gaussian"), ("it_d", 128), ("it_k", 20), ("it_eta", 0.5),
         ("it_methods", ["iht", "htp"]), ("it_noise", 0.01), ("seed", 5)],
    CV: [("cv_preset", "least squares"), ("cv_cond", 10.0), ("cv_kratio", 4.0),
         ("cv_eta", 0.8), ("cv_damping", 1e-3), ("cv_methods", ["iht", "iobs"]),
         ("lecture", True)],
    PJ: [("pj_d", 3), ("pj_k", 2), ("pj_rho", -0.3), ("pj_cond", 50.0), ("pj_rule", "exact")],
}


def app(page=None, query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.run()


def rerun(at):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.run()


def specs(at, page=None):
    skip = VOLATILE.get(page, set())
    return [c.proto.spec for i, c in enumerate(at.get("plotly_chart")) if i not in skip]


def ok(at):
    assert not at.exception, [e.message for e in at.exception]


@pytest.mark.parametrize("page", [HOME, IT, CV, PJ])
def test_default_view_draws_without_errors(page):
    at = app(page)
    ok(at)
    assert not at.error, [e.value for e in at.error]
    assert len(at.get("plotly_chart")) == CHARTS[page]
    if page:
        assert len(at.main.get("download_button")) == 2     # the page's CSV + JSON
        assert len(at.sidebar.get("download_button")) == 1  # the offline handout
        assert any("Show the code" in e.label for e in at.expander)
        assert any("What to look at" in c.value for c in at.caption)


def test_home_story_links_and_badge():
    at = app()
    text = " ".join(m.value for m in at.markdown)
    for word in ("Sparse recovery", "IHT", "OBS", "I-OBS", "NumPy (CPU)", "from the paper"):
        assert word in text
    links = [p.proto.page for p in at.get("page_link")]
    assert {"iterates", "convergence", "projection"} <= set(links)   # the pages' url paths


@pytest.mark.parametrize("page", [HOME, IT, CV, PJ])
def test_every_control_changes_a_chart(page):
    at = app(page)
    before = specs(at, page)
    for key, value in CHANGES[page]:
        at.get_by_key(key).set_value(value)
        rerun(at)
        ok(at)
        after = specs(at, page)
        assert after != before, f"{key} = {value!r} did not change any chart"
        before = after


def _values(at, keys):
    return {k: at.session_state[k] for k in keys}


@pytest.mark.parametrize("page", [IT, CV, PJ])
def test_view_round_trips_through_the_url(page):
    at = app(page)
    changes = ROUND_TRIP[page]
    for key, value in changes:
        if key not in at.session_state["_iobs_view"]:
            rerun(at)                  # a control shown by the previous choice
        at.get_by_key(key).set_value(value)
    rerun(at)
    ok(at)
    registry = at.session_state["_iobs_view"]
    query = common.url_query(registry, at.session_state)
    assert query, "the view differs from the defaults, so the link must carry parameters"
    params = urllib.parse.parse_qs(query)
    shared = app(page, {k: v if len(v) > 1 else v[0] for k, v in params.items()})
    ok(shared)
    keys = [k for k, _ in changes]
    assert _values(shared, keys) == _values(at, keys)
    assert specs(shared, page)[0] == specs(at, page)[0]


def test_link_to_view_on_the_home_page():
    at = app()
    at.get_by_key("home_cond").set_value(1e3)
    rerun(at)
    link = [c.value for c in at.code if c.value.startswith("http")]
    assert link and "home_cond=1000" in link[0]


@pytest.mark.parametrize("page", [HOME, IT, CV, PJ])
def test_malformed_query_parameters_are_ignored(page):
    junk = {"seed": "-1", "lecture": "maybe", "home_cond": "abc", "it_k": "abc", "it_d": "7",
            "it_methods": "bogus", "it_eta": "nan", "it_kind": "zzz", "it_steps": "1e9",
            "it_ratio": "", "cv_eta": "inf", "cv_preset": "nope", "cv_kratio": "-3",
            "cv_methods": ["iht", "x"], "pj_z1": "1e9", "pj_d": "4", "pj_rule": "%00",
            "pj_bigk": "0.5"}
    at = app(page, junk)
    ok(at)
    assert len(at.get("plotly_chart")) == CHARTS[page]


@pytest.mark.parametrize("page", [IT, CV, PJ, HOME])
def test_extreme_values_raise_nothing(page):
    at = app(page)
    registry = dict(at.session_state["_iobs_view"])
    for key, (default, _, extremes) in registry.items():
        if key == "lecture" or key not in at.session_state["_iobs_view"]:
            continue                   # hidden by the previous choice
        for v in extremes:
            at.get_by_key(key).set_value(v)
            rerun(at)
            ok(at)
        at.get_by_key(key).set_value(default)
        rerun(at)
    for end in (0, -1):                # every control at its low, then its high end at once
        for key, (_, _, extremes) in dict(at.session_state["_iobs_view"]).items():
            if key != "lecture":
                at.get_by_key(key).set_value(extremes[end])
        rerun(at)
        ok(at)


def test_bad_combinations_give_errors_with_a_fix():
    at = app(IT, {"it_d": "16", "it_k": "100"})
    ok(at)
    assert at.error and "What to change" in at.error[0].value
    at = app(IT, {"it_ratio": "0.5"})                     # n < d, no damping: singular H
    ok(at)
    assert any("singular" in e.value and "damping" in e.value for e in at.error)
    at = app(IT, {"it_methods": ["I-OBS (exact)"]})      # d = 256 > 20
    ok(at)
    assert at.error and "20" in at.error[0].value
    at = app(IT, {"it_k": "4"})                           # k < k*: a lesson, not a failure
    ok(at)
    assert at.warning and len(at.get("plotly_chart")) == 2
    at = app(CV, {"cv_preset": "least squares", "cv_ratio": "0.5"})
    ok(at)
    assert any("singular" in e.value for e in at.error)
    table = at.dataframe[1].value                         # the assumptions table
    assert table.set_index("assumption").loc["A2", "holds"] == "✗"


def test_lecture_mode_steps_the_animation():
    at = app(IT, {"lecture": "true"})
    ok(at)
    active = json.loads(specs(at)[0])["layout"]["sliders"][0]["active"]
    assert active == 0                                    # step 1 of the talk: t = 0
    at.button(key="it_present_next").click()
    rerun(at)
    assert json.loads(specs(at)[0])["layout"]["sliders"][0]["active"] == 1
    assert any("Step 2 of 3" in i.value for i in at.info)


def test_set_eta_to_one_over_l_s_button():
    at = app(CV, {"cv_preset": "least squares"})
    at.button(key="cv_set_eta").click()
    rerun(at)
    ok(at)
    assert at.get_by_key("cv_eta_iht").value != 1.0


def test_csv_and_json_exports_are_complete():
    numbers = {"iht error": [1.0, 0.5], "H": [[1.0, 0.0], [0.0, 2.0]], "rate": 0.5}
    config = {"k": 4, "methods": ("iht",)}
    data = json.loads(common.to_json(numbers, config))
    assert data["config"]["k"] == 4 and data["numbers"]["H"] == [[1.0, 0.0], [0.0, 2.0]]
    csv = common.to_csv(numbers, config)
    assert "# k: 4" in csv and "# rate: 0.5" in csv and '"H (2, 2)"' in csv
    assert csv.strip().splitlines()[-2:] == [",0.0", ",2.0"]   # the short column is padded
