"""Regression guard: home and every page's default view show the numbers recorded before.

tests/data/page_numbers_before.json holds, per page, every number the default view shows
(chart traces and frames, metrics, numeric table cells; arrays as summaries) as recorded
by tests/page_numbers.py from a snapshot of the code, keeping only entries identical over
several fresh runs; the unstable ones (wall-clock times) are listed under "dropped".
Each case opens the app once, in a fresh interpreter, and compares: the same keys, and
values equal within rtol=1e-6, atol=1e-9.

The app tested is the repository root, or ``$IOBS_APP_DIR`` when set (e.g. a worktree of
an older commit: ``IOBS_APP_DIR=/tmp/before pytest tests/test_page_numbers.py``).
Re-record after an intended change of the numbers with
``python tests/page_numbers.py . --record tests/data/page_numbers_before.json 3``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
APP_DIR = Path(os.environ.get("IOBS_APP_DIR") or HERE.parent).resolve()
RECORDED = json.loads((HERE / "data" / "page_numbers_before.json").read_text("utf-8"))
RTOL, ATOL = 1e-6, 1e-9
EXACT = {"shape", "n", "n_nan", "n_posinf", "n_neginf"}   # summary fields compared exactly
SHOW = 40                                                 # keys / mismatches listed at most

# loaded by path: works under any --import-mode and whatever `tests` resolves to
_spec = importlib.util.spec_from_file_location("_iobs_page_numbers", HERE / "page_numbers.py")
page_numbers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(page_numbers)

PAGES = [p for p in ["home", *page_numbers.PAGES] if p in RECORDED]


def _close(a, b) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=RTOL, abs_tol=ATOL)
    return a == b          # None, and the strings "nan", "inf", "-inf"


def _diff(before, after) -> str | None:
    """None when equal within tolerance, else a short description."""
    if isinstance(before, dict) and isinstance(after, dict):
        if set(before) != set(after):
            return f"summary fields {sorted(before)} -> {sorted(after)}"
        bad = []
        for f in before:
            b, a = before[f], after[f]
            if f in EXACT:
                ok = a == b
            elif isinstance(b, list) and isinstance(a, list):
                ok = len(a) == len(b) and all(_close(x, y) for x, y in zip(b, a))
            else:
                ok = _close(b, a)
            if not ok:
                bad.append(f"{f}: {b!r} -> {a!r}")
        return "; ".join(bad) or None
    if isinstance(before, list) and isinstance(after, list):
        if len(before) == len(after) and all(_close(x, y) for x, y in zip(before, after)):
            return None
        return f"{before!r} -> {after!r}"
    if isinstance(before, (dict, list)) or isinstance(after, (dict, list)):
        return f"{before!r} -> {after!r}"
    return None if _close(before, after) else f"{before!r} -> {after!r}"


def _listing(keys) -> str:
    keys = sorted(keys)
    more = f"\n    ... and {len(keys) - SHOW} more" if len(keys) > SHOW else ""
    return "".join(f"\n    {k}" for k in keys[:SHOW]) + more


@pytest.mark.parametrize("page", PAGES)
def test_page_numbers_unchanged(page):
    rec = RECORDED[page]
    before, dropped = rec["numbers"], set(rec["dropped"])
    res = page_numbers.run_in_subprocess(str(APP_DIR), None if page == "home" else page)
    # unstable keys never reach the recording; a timing label newly seen is unstable too
    after = {k: v for k, v in res["numbers"].items()
             if k not in dropped and not (k in res["timing"] and k not in before)}

    missing = set(before) - set(after)
    extra = set(after) - set(before)
    mismatches = {k: d for k in sorted(set(before) & set(after))
                  if (d := _diff(before[k], after[k])) is not None}
    problems = []
    if missing:
        problems.append(f"{len(missing)} recorded key(s) missing now:{_listing(missing)}")
    if extra:
        problems.append(f"{len(extra)} key(s) not in the recording:{_listing(extra)}")
    if mismatches:
        shown = list(mismatches.items())[:SHOW]
        more = f"\n    ... and {len(mismatches) - SHOW} more" if len(mismatches) > SHOW else ""
        problems.append(f"{len(mismatches)} of {len(before)} value(s) changed "
                        f"(rtol={RTOL}, atol={ATOL}):"
                        + "".join(f"\n    {k}: {d}" for k, d in shown) + more)
    assert not problems, (f"page {page!r} of {APP_DIR} differs from the recording "
                          f"({RECORDED.get('_meta', {}).get('commit', '?')[:12]}):\n  "
                          + "\n  ".join(problems))
