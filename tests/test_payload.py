"""Pages stay light for a room on one link: the figure JSON a page's default view sends.

Each chart's size is its Plotly spec as Streamlit ships it (float32 arrays base64-encoded).
Iterates animates every step of every method: its frames carry only the nonzero
coordinates, and the support raster one label per column (not one per cell).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")
LIMITS_KB = {page: 300 for page in ("pages/iterates.py", "pages/convergence.py",
                                     "pages/projection.py", "pages/data.py", "pages/phase.py",
                                     "pages/reproduce.py")}   # the Prune page: its own tests


@pytest.mark.parametrize("page", sorted(LIMITS_KB))
def test_default_view_figures_fit_the_budget(page):
    at = AppTest.from_file(APP, default_timeout=300)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at.run()
        at.switch_page(page).run()
    assert not at.exception, at.exception
    sizes = [len(c.proto.spec) for c in at.get("plotly_chart")]
    assert sizes, f"{page} drew no chart"
    total_kb = sum(sizes) / 1e3
    assert total_kb <= LIMITS_KB[page], \
        f"{page}: {total_kb:.0f} kB of figure JSON (charts: {[round(s / 1e3) for s in sizes]})"
