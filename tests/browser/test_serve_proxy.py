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
