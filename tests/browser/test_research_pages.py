"""Phase transitions and Reproduce the paper in a real browser: the charts render with the
labelled reference traces, and the screenshots land in test-output/browser/."""

from __future__ import annotations

import pytest

from iobs.viz.research import REFERENCE_LABEL, RULE_LABEL

pytestmark = pytest.mark.browser

TINY = "ph_d=16&ph_nd=4&ph_nr=3&ph_trials=1&ph_steps=40"
NAMES = ("els => els.map(el => el.querySelector('.js-plotly-plot'))"
         ".map(gd => gd && gd._fullData ? gd._fullData.map(t => t.name) : [])")


def _trace_names(page):
    return page.locator("[data-testid='stPlotlyChart']").evaluate_all(NAMES)


def test_phase_page_renders_maps_and_the_rule_of_thumb(page, app_url, out_dir, wait_for_app):
    page.goto(f"{app_url}/phase?{TINY}")
    wait_for_app(page, charts=2)
    names = _trace_names(page)
    assert sum(n.endswith("50% curve") for n in names[0]) >= 1
    assert RULE_LABEL in names[1]
    page.get_by_text("Download the map").wait_for()
    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.nth(0).screenshot(path=str(out_dir / "phase_maps.png"))
    charts.nth(1).screenshot(path=str(out_dir / "phase_curves.png"))


def test_reproduce_page_renders_bands_and_the_authors_means(page, app_url, out_dir,
                                                           wait_for_app):
    page.goto(f"{app_url}/reproduce?rp_runs=4")
    wait_for_app(page, charts=1)
    names = _trace_names(page)[0]
    assert REFERENCE_LABEL in names
    assert "Topk-I-OBS (mean over runs)" in names and "k-IHT (mean over runs)" in names
    page.locator("[data-testid='stPlotlyChart']").first.screenshot(
        path=str(out_dir / "reproduce_gaussian.png"))
