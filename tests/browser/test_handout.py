"""A handout of each page, opened from disk in Chromium with the network off: no request
leaves, no script error, every figure is drawn, and an animation plays when Play is pressed.

Each handout is written by ``ui.handout.headless`` (what ``python -m iobs handout`` and the
app's download button give) to ``test-output/browser/handout-PAGE.html``; its size and the
time to make it go to ``test-output/browser/handout-sizes.tsv``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["home", "iterates", "convergence", "projection", "phase", "reproduce", "data",
         "prune"]
ANIMATED = {"iterates"}      # pages whose default view has a figure with frames and Play
GRAPH = ".js-plotly-plot"


def _make(page: str, out_dir: Path) -> Path:
    if str(ROOT) not in sys.path:      # the app's modules, as app.py imports them
        sys.path.insert(0, str(ROOT))
    from ui.handout import headless

    t0 = time.perf_counter()
    text, _ = headless(page)
    seconds = time.perf_counter() - t0
    path = out_dir / f"handout-{page}.html"
    path.write_text(text, encoding="utf-8")
    with open(out_dir / "handout-sizes.tsv", "a") as fh:
        fh.write(f"{page}\t{path.stat().st_size}\t{seconds:.1f}\n")
    return path


@pytest.fixture()
def offline_tab(browser):
    """A tab with the network off; every request that is not a local file is recorded and
    aborted, and so is every fetch the page's security policy stops."""
    ctx = browser.new_context(viewport={"width": 1300, "height": 1800})
    ctx.set_offline(True)
    left = []

    def guard(route):
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    ctx.route("**/*", guard)
    ctx.on("request", lambda r: None if r.url.startswith(("file:", "data:", "blob:"))
           else left.append(r.url))
    ctx.add_init_script("window.__blocked = []; document.addEventListener("
                        "'securitypolicyviolation', e => window.__blocked.push(e.blockedURI));")
    tab = ctx.new_page()
    errors = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.set_default_timeout(60_000)
    yield tab, left, errors
    ctx.close()


@pytest.mark.parametrize("page", PAGES)
def test_handout_opens_offline_and_animates(page, offline_tab, out_dir):
    tab, left, errors = offline_tab
    path = _make(page, out_dir)
    figures = path.read_text(encoding="utf-8").split("</head>")[1].count("Plotly.newPlot(")
    assert figures >= 1
    tab.goto(path.as_uri())
    tab.wait_for_function(
        "n => [...document.querySelectorAll('.js-plotly-plot')]"
        ".filter(gd => gd._fullLayout).length === n", arg=figures)
    tab.locator(GRAPH).first.screenshot(path=str(out_dir / f"handout-{page}.png"))
    animated = tab.evaluate("() => [...document.querySelectorAll('.js-plotly-plot')]"
                            ".map((gd, i) => (gd._transitionData._frames || []).length ? i : -1)"
                            ".filter(i => i >= 0)")
    if page in ANIMATED:
        assert animated, f"the {page} handout lost its frames"
    if animated:
        graph = tab.locator(GRAPH).nth(animated[0])
        start = graph.evaluate("gd => gd._fullLayout.sliders[0].active")
        graph.evaluate("gd => { window.__frames = []; "
                       "gd.on('plotly_animatingframe', e => window.__frames.push(e.name)); }")
        graph.locator(".updatemenu-button").filter(has_text="Play").click()
        tab.wait_for_function("() => window.__frames.length >= 3", timeout=30_000)
        tab.wait_for_function(
            "([i, s]) => document.querySelectorAll('.js-plotly-plot')[i]"
            "._fullLayout.sliders[0].active > s", arg=[animated[0], start], timeout=30_000)
        names = [int(n) for n in tab.evaluate("() => window.__frames")[:3]]
        assert names == sorted(set(names))          # the frames advance, one after another
    assert left == [], f"requests left the {page} handout: {left}"
    assert tab.evaluate("() => window.__blocked") == []
    assert errors == []


def test_the_sidebar_button_downloads_the_same_handout(page, app_url, wait_for_app, out_dir):
    page.goto(f"{app_url}/iterates?it_d=128")
    wait_for_app(page, 2)
    button = page.get_by_role("button", name="Download this view as an offline handout")
    with page.expect_download() as info:
        button.click()
    path = out_dir / "handout-from-app.html"
    info.value.save_as(path)
    assert info.value.suggested_filename == "iobs-iterates.html"
    text = path.read_text(encoding="utf-8")
    body = text.split("</head>")[1]
    assert body.count("Plotly.newPlot(") == 2 and "Plotly.addFrames" in body
    assert '<td>it_d</td><td class="num">128</td>' in body
    assert f"{app_url}/iterates?it_d=128" in body     # the link reproduces this view
