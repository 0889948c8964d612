"""The two research pages through AppTest: Phase transitions and Reproduce the paper.

Small grids and few runs come in through the URL (the widgets are bound to it), so the
suite stays fast; the defaults themselves are measured in the report, not here.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:      # `pages` is imported the way app.py imports it
    sys.path.insert(0, str(ROOT))

from iobs.research.phase import PhaseMap  # noqa: E402
from iobs.viz.research import REFERENCE_LABEL, RULE_LABEL  # noqa: E402

PHASE, REPRO = str(ROOT / "pages" / "phase.py"), str(ROOT / "pages" / "reproduce.py")
TIMEOUT = 240
TINY = {"ph_d": "16", "ph_nd": "3", "ph_nr": "2", "ph_trials": "1", "ph_steps": "40"}


def run(at):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.run()


def page(path, query=None):
    at = AppTest.from_file(path, default_timeout=TIMEOUT)
    at.query_params.update(query or {})
    return run(at)


def names(at, i):
    spec = json.loads(at.get("plotly_chart")[i].proto.spec)
    return [t.get("name") for t in spec["data"]]


def test_phase_page_draws_maps_curves_and_rule_of_thumb():
    at = page(PHASE, TINY)
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 2
    maps = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert sum(t["type"] == "heatmap" for t in maps) == 5
    assert RULE_LABEL in names(at, 1)
    # computed now, or read back from the results cache an earlier test of this map filled
    assert any(("Computed 2 × 3 cells" in c.value or "Read 2 × 3 cells from the results cache"
                in c.value) for c in at.caption)
    assert at.get("download_button")


def test_phase_page_stop_keeps_done_rows_and_resume_finishes():
    at = page(PHASE, TINY)
    at.session_state["ph_stopped"] = True          # what the Stop button's callback sets
    at.slider(key="ph_nr").set_value(3)
    run(at)
    assert not at.exception
    assert any("cells computed" in w.value for w in at.warning)
    at.button(key="ph_resume").click()
    run(at)
    assert not at.exception and not at.warning
    assert len(at.get("plotly_chart")) == 2


def test_phase_page_loads_a_cli_map_and_rejects_garbage():
    pm = PhaseMap({"iht": np.array([[1.0, 0.5], [0.0, np.nan]])}, deltas=[0.5, 1.0],
                  rhos=[0.1, 0.2], config={"d": 20, "trials": 2, "seed": 0})
    at = page(PHASE, TINY)
    at.file_uploader(key="ph_upload").upload("map.csv", pm.to_csv().encode(), "text/csv")
    run(at)
    assert not at.exception and not at.error
    assert any("Loaded map.csv" in c.value for c in at.caption)
    at.file_uploader(key="ph_upload").upload("bad.csv", b"import os\n", "text/csv")
    run(at)
    assert not at.exception
    assert at.error and "bad.csv" in at.error[0].value


def test_phase_page_refuses_an_empty_method_list_with_a_fix():
    at = page(PHASE, TINY)
    at.multiselect(key="ph_methods").set_value([])
    run(at)
    assert not at.exception and "pick at least one method" in at.error[0].value


def test_reproduce_page_shows_bands_reference_and_table():
    at = page(REPRO, {"rp_runs": "3"})
    assert not at.exception and not at.error
    assert REFERENCE_LABEL in names(at, 0)
    assert len(at.dataframe) == 1
    at.radio(key="rp_scaling").set_value("newton")
    run(at)
    assert not at.exception
    assert REFERENCE_LABEL not in names(at, 0)
    assert any("η = 2/n" in m.value for m in at.markdown)


def test_reproduce_page_digits_shows_recovered_images():
    at = page(REPRO, {"rp_prior": "digits", "rp_druns": "1", "rp_dsteps": "250"})
    assert not at.exception and not at.error
    assert len(at.get("plotly_chart")) == 2
    assert len(names(at, 1)) == 3                       # truth, Topk-I-OBS, k-IHT
    assert any("scikit-learn digit" in i.value for i in at.info)


@pytest.mark.skipif(not (ROOT / "app.py").exists(), reason="app.py (the lead's) is absent")
def test_research_pages_run_inside_the_app():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update(TINY)
    at.switch_page("pages/phase.py")
    run(at)
    assert not at.exception and len(at.get("plotly_chart")) == 2
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.query_params.update({"rp_runs": "3"})
    at.switch_page("pages/reproduce.py")
    run(at)
    assert not at.exception and REFERENCE_LABEL in names(at, 0)
