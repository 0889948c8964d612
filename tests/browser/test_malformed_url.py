"""A link with garbage in it, opened in a real browser: the Iterates page draws its
default view, shows no exception, and the address bar loses the invalid values."""

from __future__ import annotations

import urllib.parse

import pytest

pytestmark = pytest.mark.browser

GARBAGE = [("it_k", "abc"), ("it_k", "3"), ("it_d", "99999"), ("it_eta", "nan"),
           ("it_steps", "1e9"), ("it_methods", "bogus"), ("it_kind", "💥"),
           ("it_ratio", ""), ("seed", "inf"), ("lecture", "maybe"),
           ("utm_source", "<script>alert(1)</script>"), ("θ", "\u202e")]
EITHER = ("() => document.querySelector(\"[data-testid='stException']\") || "
          "document.querySelectorAll(\"[data-testid='stPlotlyChart'] .main-svg\").length >= 2")
DEFAULTS = {"Dimension d": "256", "Steps": "40"}   # pages/iterates.py D, STEPS


def test_a_malformed_link_opens_the_default_view(page, app_url, out_dir, wait_for_app):
    page.goto(f"{app_url}/iterates?{urllib.parse.urlencode(GARBAGE)}")
    page.wait_for_function(EITHER)            # the charts, or an exception: fail fast
    errors = page.locator("[data-testid='stException']")
    assert errors.count() == 0, errors.first.inner_text()[:500]
    wait_for_app(page, charts=2)
    assert "Traceback" not in page.locator("[data-testid='stApp']").inner_text()
    for name, value in DEFAULTS.items():
        slider = page.get_by_role("slider", name=name)
        assert slider.get_attribute("aria-valuetext") == value, name
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    for key in ("it_d", "it_eta", "it_steps", "it_methods", "it_kind", "seed", "lecture"):
        assert key not in query, f"{key}={query[key]} stayed in the address bar"
    page.locator("[data-testid='stPlotlyChart']").first.screenshot(
        path=str(out_dir / "malformed_url_iterates.png"))
