"""Your data in a real browser: upload X and y as CSV files and see the comparison; upload a
broken file and see what to change (no traceback)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.browser


def _csv(a) -> bytes:
    a = np.atleast_2d(a) if np.ndim(a) > 1 else np.asarray(a)[:, None]
    return "\n".join(",".join(f"{v:.17g}" for v in row) for row in a).encode()


def _upload(page, x: bytes, y: bytes):
    inputs = page.locator("[data-testid='stFileUploader'] input[type='file']")
    inputs.first.wait_for(state="attached")
    inputs.nth(0).set_input_files({"name": "X.csv", "mimeType": "text/csv", "buffer": x})
    inputs.nth(1).set_input_files({"name": "y.csv", "mimeType": "text/csv", "buffer": y})


def test_uploaded_csv_files_are_compared_and_a_broken_one_is_refused(page, app_url, out_dir,
                                                                      wait_for_app):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((80, 12))
    theta = np.zeros(12)
    theta[[1, 4, 7]] = (2.0, -1.5, 1.0)
    y = X @ theta + 0.01 * rng.standard_normal(80)
    page.goto(f"{app_url}/data?yd_source=upload&yd_k=3")
    page.get_by_text("Upload X and y to compare").wait_for()
    _upload(page, _csv(X), _csv(y))
    wait_for_app(page, charts=2)
    page.get_by_text("No truth here").wait_for()
    table = page.locator("[data-testid='stDataFrame']").first
    table.wait_for()
    page.locator("[data-testid='stPlotlyChart']").first.screenshot(
        path=str(out_dir / "data_upload_loss.png"))
    # a broken X (a word in a cell) replaces the good one in the same uploader: no second
    # navigation, so no input of the previous render can receive it
    bad = _csv(X).replace(b"\n", b"\nabc,", 1)
    _upload(page, bad, _csv(y))
    err = page.locator("[data-testid='stAlert']").filter(has_text="cannot be used")
    err.wait_for()
    assert "What to change" in err.inner_text()
    assert page.locator("[data-testid='stException']").count() == 0
