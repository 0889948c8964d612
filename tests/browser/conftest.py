"""Browser fixtures: a real ``streamlit run app.py`` server and Debian's Chromium driven by
Playwright for Python (never a downloaded browser).

The tests skip, with the reason, when Chromium or Playwright is missing -- unless
``IOBS_REQUIRE_BROWSER=1`` (set by ``.ci/run``), in which case they fail.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from iobs.cli import serve

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test-output" / "browser"
CHROMIUM = os.environ.get("IOBS_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
               "--no-first-run", "--disable-background-networking",
               "--disable-component-update", "--disable-sync"]
SERVER_START_S = 60
RENDER_MS = 60_000


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives the real app in Chromium")


def _missing() -> str | None:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright Python package is not installed (pip install playwright)"
    if not (os.path.exists(CHROMIUM) or shutil.which(CHROMIUM)):
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    return None


def _require_or_skip(reason: str):
    if os.environ.get("IOBS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"IOBS_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_url():
    """Start ``streamlit run app.py`` on a free port of 127.0.0.1; stop it afterwards."""
    reason = _missing()
    if reason:
        _require_or_skip(reason)
    port = _free_port()
    OUT.mkdir(parents=True, exist_ok=True)
    log = open(OUT / "streamlit-server.log", "w")
    proc = subprocess.Popen(serve.streamlit_command(port), cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            serve.wait_healthy(f"{url}/_stcore/health", [proc], SERVER_START_S)
        except RuntimeError as exc:
            pytest.fail(f"streamlit did not start ({exc}); see {log.name}")
        yield url
    finally:
        serve.stop_processes([proc])
        log.close()


@pytest.fixture(scope="session")
def browser(app_url):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    except Exception as exc:  # a broken browser install is the same "missing" condition
        pw.stop()
        _require_or_skip(f"Chromium at {CHROMIUM} did not launch: {exc}")
    yield b
    b.close()
    pw.stop()


@pytest.fixture()
def page(browser):
    """A fresh tab with a tall viewport (Streamlit scrolls an inner container)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 2200})
    p = ctx.new_page()
    p.set_default_timeout(RENDER_MS)
    yield p
    ctx.close()


@pytest.fixture(scope="session")
def out_dir() -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    return OUT


def _wait_for_app(page, charts: int = 1):
    """Wait until at least ``charts`` Plotly charts are drawn and the script run is over."""
    page.locator("[data-testid='stApp']").wait_for()
    page.wait_for_function(
        "n => document.querySelectorAll(\"[data-testid='stPlotlyChart'] .js-plotly-plot\")"
        ".length >= n", arg=charts)
    page.wait_for_function(
        "() => !document.querySelector(\"[data-testid='stStatusWidget']\")")


@pytest.fixture(scope="session")
def wait_for_app():
    """``wait_for_app(page, charts=1)``: block until the page has drawn its charts."""
    return _wait_for_app
