"""The real app in Chromium: pages render their charts, the sidebar holds exactly our pages,
the keyboard moves a slider and the chart follows, Play animates, links reproduce a view.

Screenshots of each page's charts go to ``test-output/browser/``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

OURS = {"": ("Home", 1), "iterates": ("Iterates", 2),
        "convergence": ("Convergence vs theory", 3),   # log-cosh: a third tab
        "projection": ("Inside one projection", 3)}
OTHERS = [("phase.py", "Phase transitions"), ("reproduce.py", "Reproduce the paper"),
          ("data.py", "Your data"), ("prune.py", "Prune a transformer")]
GRAPH = "[data-testid='stPlotlyChart'] .js-plotly-plot"
ROOT = Path(__file__).resolve().parents[2]


def _nav_titles(page):
    links = page.locator("[data-testid='stSidebarNav'] a")
    links.first.wait_for()
    return [a.inner_text().strip().split("\n")[-1].strip() for a in links.all()]


def _expected_titles():
    return [t for t, _ in OURS.values()] + [t for f, t in OTHERS
                                            if (ROOT / "pages" / f).exists()]


def test_deep_link_first_still_gets_the_app_shell(page, app_url, wait_for_app):
    """A shared link opened first on a fresh server must not fall back to Streamlit's
    auto-discovered pages/ list (ui.state.ensure_frame explains why)."""
    page.goto(f"{app_url}/projection?pj_z1=-0.5")
    wait_for_app(page, 3)
    assert _nav_titles(page) == _expected_titles()
    expect_value(page, "Newton point z₁", "-0.50")


def test_sidebar_lists_exactly_our_pages(page, app_url, wait_for_app):
    page.goto(app_url)
    wait_for_app(page)
    assert _nav_titles(page) == _expected_titles()
    assert page.get_by_text("NumPy (CPU)").count() + page.get_by_text("CuPy (").count() >= 1


@pytest.mark.parametrize("path", list(OURS))
def test_page_renders_its_charts(page, app_url, out_dir, path, wait_for_app):
    _, charts = OURS[path]
    page.goto(f"{app_url}/{path}")
    wait_for_app(page, charts)
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.locator("[data-testid='stAlertContentError']").count() == 0
    graphs = page.locator(GRAPH)
    assert graphs.count() == charts
    name = path or "home"
    for i in range(charts):
        g = graphs.nth(i)
        assert g.evaluate("gd => gd._fullData.length") > 0          # traces were drawn
        tabs = page.get_by_role("tab")
        for j in range(tabs.count()):                               # a chart in another tab
            if g.is_visible():
                break
            tabs.nth(j).click()
        g.scroll_into_view_if_needed()
        g.screenshot(path=str(out_dir / f"{name}-chart{i}.png"))
    page.locator("[data-testid='stMain']").screenshot(path=str(out_dir / f"{name}.png"))
    page.locator("[data-testid='stSidebar']").screenshot(
        path=str(out_dir / f"{name}-sidebar.png"))


def expect_value(page, label, text):
    from playwright.sync_api import expect

    expect(page.get_by_role("slider", name=label)).to_have_attribute("aria-valuetext", text)


def test_keyboard_slider_changes_a_chart_and_the_link(page, app_url, browser, wait_for_app):
    page.goto(f"{app_url}/iterates")
    wait_for_app(page, 2)
    stems = page.locator(GRAPH).first
    assert stems.evaluate("gd => gd.layout.sliders[0].steps.length") == 41
    slider = page.get_by_role("slider", name="Steps")
    slider.focus()
    page.keyboard.press("ArrowLeft")
    expect_value(page, "Steps", "39")
    page.wait_for_function(
        "() => document.querySelector(\"[data-testid='stPlotlyChart'] .js-plotly-plot\")"
        ".layout.sliders[0].steps.length === 40")
    page.wait_for_url(re.compile(r"it_steps=39"))               # bound to the URL
    page.get_by_text("Copy a link to this view").click()
    link = page.locator("[data-testid='stSidebar'] [data-testid='stCode'] code").inner_text()
    assert re.search(r"/iterates\?.*it_steps=39", link), link
    other = browser.new_page(viewport={"width": 1400, "height": 1600})
    try:
        other.goto(link.strip())
        wait_for_app(other, 2)
        expect_value(other, "Steps", "39")
    finally:
        other.close()


def test_play_advances_the_animation(page, app_url, wait_for_app):
    page.goto(f"{app_url}/iterates")
    wait_for_app(page, 2)
    stems = page.locator(GRAPH).first
    stems.evaluate("gd => { window.__frames = []; "
                   "gd.on('plotly_animatingframe', e => window.__frames.push(e.name)); }")
    stems.locator(".updatemenu-button").filter(has_text="Play").click()
    page.wait_for_function("() => window.__frames.length >= 3", timeout=30_000)
    names = page.evaluate("() => window.__frames.map(Number)")
    assert names[:3] == sorted(set(names[:3]))                   # t advances frame by frame


def test_prune_page_draws_the_chosen_method_then_the_sweep_and_keeps_them_on_disk(
        page, app_url, wait_for_app):
    """The Prune page's own method comes first (its masks), the sweep of every method after
    it; a plain server keeps the prunes on disk (Streamlit's cache in ~/.streamlit, where
    the tests' HOME points at a fresh folder) for the next start to read back."""
    page.goto(f"{app_url}/prune")
    wait_for_app(page, 6)     # masks, sweep, rounds, per-layer errors, digits, speed
    assert page.locator("[data-testid='stException']").count() == 0
    titles = page.locator(GRAPH).evaluate_all(
        "gds => gds.map(gd => (gd.layout.title && gd.layout.title.text) || '')")
    masks = next(i for i, t in enumerate(titles) if "Masks" in t)
    sweep = next(i for i, t in enumerate(titles) if "Quality vs sparsity" in t)
    assert masks < sweep, titles
    kept = list((Path.home() / ".streamlit" / "cache").glob("*.memo"))
    assert len(kept) >= 7 * 9, f"{len(kept)} prunes kept on disk"   # 7 methods x 9 sparsities
