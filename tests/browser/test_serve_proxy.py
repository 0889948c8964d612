"""A real browser through the nginx proxy of ``python -m iobs serve``: the page renders (its
websocket went through nginx), the browser holds Streamlit's XSRF cookie, on which nginx
keeps it to one worker, and the workers share one disk cache of results (one serve started
for all of it: each start costs two Streamlit workers and nginx)."""

from tests.test_serve import start_serve


def _open(browser, url):
    """A fresh browser (no cookie: nginx picks a worker) on ``url``; (context, worker)."""
    ctx = browser.new_context(viewport={"width": 1400, "height": 2200})
    page = ctx.new_page()
    response = page.goto(url, timeout=120_000)
    page.wait_for_selector(".js-plotly-plot", timeout=180_000)
    return ctx, response.headers.get("x-iobs-worker")


def _entries(folder):
    return {p.name: p.stat().st_mtime_ns for p in folder.glob("*.memo")}


def test_the_workers_serve_pages_and_share_their_results(browser, tmp_path):
    """A page renders through the proxy with the XSRF cookie set; both workers write to and
    read from one disk cache: the second worker to show the page finds the first one's
    results there and writes none of its own."""
    cache = tmp_path / ".streamlit" / "cache"
    with start_serve(2, env={"HOME": str(tmp_path)}) as served:
        url = served["url"] + "/iterates"
        first, worker = _open(browser, url)
        try:
            assert any(c["name"] == "_streamlit_xsrf" for c in first.cookies())
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
