"""A real browser through the nginx proxy of ``python -m iobs serve``: the page renders (its
websocket went through nginx) and the browser holds Streamlit's XSRF cookie, on which
nginx keeps it to one worker."""

from tests.test_serve import start_serve


def test_a_browser_opens_a_page_through_the_proxy(browser):
    with start_serve(2) as served:
        ctx = browser.new_context(viewport={"width": 1400, "height": 2200})
        try:
            page = ctx.new_page()
            page.goto(served["url"] + "/iterates", timeout=120_000)
            page.wait_for_selector(".js-plotly-plot", timeout=120_000)
            assert any(c["name"] == "_streamlit_xsrf" for c in ctx.cookies())
        finally:
            ctx.close()


def _open(browser, url):
    """A fresh browser (no cookie: nginx picks a worker) on ``url``; (context, worker)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = ctx.new_page()
    response = page.goto(url, timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=180_000)
    return ctx, response.headers.get("x-iobs-worker")


def _entries(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.memo")}


def test_a_result_computed_by_one_worker_is_read_by_the_other(browser, tmp_path):
    """Both workers write to and read from one disk cache: the second worker to show the
    page finds the first one's results there and writes none of its own."""
    cache = tmp_path / ".streamlit" / "cache"
    with start_serve(2, env={"HOME": str(tmp_path)}) as served:
        url = served["url"] + "/iterates"
        first, worker = _open(browser, url)
        try:
            written = _entries(cache)
            assert written, "the first worker wrote no result to the shared disk cache"
            for _ in range(12):                   # until nginx sends a browser elsewhere
                other, where = _open(browser, url)
                if where != worker:
                    break
                other.close()
            else:
                raise AssertionError(f"twelve new browsers all went to worker {worker}")
            other.close()
            assert _entries(cache) == written, "the second worker recomputed and rewrote"
        finally:
            first.close()
