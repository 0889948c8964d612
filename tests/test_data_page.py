"""The "Your data" page in AppTest: it opens on a computed example, says there is no truth,
switches data sets, and refuses a k larger than the data with st.error."""

from __future__ import annotations

import json
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[1] / "app.py"


def _page():
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    return at.switch_page("pages/data.py").run()


def test_default_view_compares_methods_on_breast_cancer_without_a_truth():
    at = _page()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["method"]) == ["k-IHT", "HTP", "OMP", "I-OBS (working set)"]
    acc = table["held-out accuracy"].str.rstrip("%").astype(float)
    assert (acc >= 90).all()
    assert any("No truth here" in i.value for i in at.info)
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    spec = json.loads(charts[0].proto.spec)
    assert {t["name"] for t in spec["data"]} >= {"k-IHT", "I-OBS (working set)"}


def test_switching_data_and_a_too_large_k_give_numbers_or_a_clear_error():
    at = _page()
    at.selectbox(key="yd_source").set_value("diabetes").run()
    assert not at.exception and "held-out RMSE" in at.dataframe[0].value.columns
    at.selectbox(key="yd_source").set_value("breast-cancer")
    at.slider(key="yd_k").set_value(60).run()
    assert not at.exception
    assert any("k = 60 is more than the 30 features" in e.value for e in at.error)
    at.selectbox(key="yd_source").set_value("upload").run()
    assert not at.exception and any("Upload X and y" in i.value for i in at.info)
