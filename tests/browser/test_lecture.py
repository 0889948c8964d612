"""The shipped lecture in Chromium: the clicker's keys (→/←, PageDown/PageUp) step through
every scene across pages, each renders with no exception, and a scene's link opens it."""

from __future__ import annotations

import re

import pytest

from iobs import lecture

pytestmark = pytest.mark.browser

SCENE_MS = 300_000     # the Prune scene prunes with every method on its first visit
BAR = "[data-testid='stAlertContentInfo']"


def _at_scene(page, i: int, n: int, wait_for_app):
    """Wait for scene ``i`` (from 1) to be shown and its page to finish drawing."""
    page.set_default_timeout(SCENE_MS)
    try:
        page.locator(BAR, has_text=f"Scene {i} of {n}").first.wait_for()
        wait_for_app(page, 1)
    except Exception as exc:
        raise AssertionError(f"scene {i} of {n} did not render ({page.url}): {exc}") from None
    assert page.locator("[data-testid='stException']").count() == 0, i
    assert page.locator("[data-testid='stAlertContentError']").count() == 0, i


def _press(page, key):
    page.locator("[data-testid='stMain'] h1").first.click()   # focus the page, not a widget
    page.keyboard.press(key)


def test_the_keys_step_through_every_scene_and_back(page, app_url, wait_for_app, out_dir):
    lec = lecture.shipped()
    n = len(lec)
    page.goto(f"{app_url}/?lecture=true")
    wait_for_app(page, 1)
    page.locator(BAR, has_text="to start").first.wait_for()
    for i, scene in enumerate(lec.scenes, 1):
        _press(page, "ArrowRight" if i % 2 else "PageDown")
        _at_scene(page, i, n, wait_for_app)
        path = "" if scene.page == lecture.HOME else scene.page
        assert re.search(rf"127\.0\.0\.1:\d+/{path}\?", page.url), (i, page.url)
        assert f"scene={i}" in page.url and "lecture=true" in page.url, page.url
    page.locator(BAR).first.screenshot(path=str(out_dir / "lecture-last-scene.png"))
    _press(page, "ArrowLeft")
    _at_scene(page, n - 1, n, wait_for_app)
    _press(page, "PageUp")
    _at_scene(page, n - 2, n, wait_for_app)
    assert f"/{lec.scenes[n - 3].page}?" in page.url


def test_a_scene_link_opens_that_scene(page, app_url, wait_for_app):
    lec = lecture.shipped()
    i = next(j for j, s in enumerate(lec.scenes, 1) if s.values.get("cv_e0") == 2.0)
    page.goto(f"{app_url}/?lecture=true&scene={i}")       # the link need not name the page
    _at_scene(page, i, len(lec), wait_for_app)
    assert "/convergence?" in page.url
    assert page.get_by_text("needs e_0 < 1/c").count() >= 1      # e₀ = 2: bounds not drawn
    page.reload()                        # the address bar's link opens the same scene
    _at_scene(page, i, len(lec), wait_for_app)
    assert page.get_by_text("needs e_0 < 1/c").count() >= 1
    _press(page, "ArrowRight")
    _at_scene(page, i + 1, len(lec), wait_for_app)
    assert "/phase?" in page.url
