"""Untrusted input and shared caches, through AppTest on every page app.py registers.

* Malformed query parameters (unknown keys, wrong types, out-of-range and huge values,
  empty strings, unicode, repeated keys) open each page without an exception element,
  garbage values fall back to the widget's default and every value stays in its domain.
* A seeded widget sweep: each slider / number input / select box / radio / select slider /
  multiselect / toggle at its min, its max and a random value (one at a time from the
  page's view), then random combinations; no exception element, every ``st.error`` says
  what to change, and no NaN/inf in any Plotly figure (``{"dtype", "bdata"}`` arrays are
  decoded from the spec JSON).
* Results of the pages' ``st.cache_data`` functions, and the cached pruning model, are
  never changed by a caller that mutates what it got back.

``IOBS_SWEEP=full`` sweeps every widget over its whole range; the default (CI) sweep keeps
the few widgets whose extremes cost minutes on 2 cores (see ``CI_LIMITS``) to cheap values.
``python -m pytest tests/test_reliability.py -q -s`` prints the inputs tried per page.
"""

from __future__ import annotations

import ast
import base64
import copy
import json
import math
import os
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TIMEOUT = 300                      # seconds per script run: a loaded 2-core machine
SEED = 20240817                    # the sweep's random values and combinations
COMBOS = 3                         # random combinations per page
FULL = os.environ.get("IOBS_SWEEP") == "full"
SWEPT = ("slider", "number_input", "selectbox", "radio", "select_slider", "multiselect",
         "toggle", "checkbox")
# Views each page is swept from (query parameters); a widget is swept in the first view
# that shows it (e.g. it_rho only for the correlated design).
BASES = {
    "pages/iterates.py": [{}, {"it_kind": "correlated"}],
    "pages/convergence.py": [{}, {"cv_kind": "correlated"},
                             {"cv_preset": "log-cosh near θ*"}],
    "pages/projection.py": [{}, {"pj_d": "3"}],
    "pages/phase.py": [{"ph_d": "16", "ph_nd": "3", "ph_nr": "2", "ph_trials": "1",
                        "ph_steps": "40"}],
    "pages/reproduce.py": [{}, {"rp_prior": "digits", "rp_druns": "2", "rp_dsteps": "250"}],
}
# CI only: (key -> largest value swept, or None = kept at its default) for widgets whose
# extremes cost minutes here; IOBS_SWEEP=full lifts them. Measured on 2 busy cores: any
# prune knob besides method/sparsity/pattern re-prunes the whole sweep (12-40 s on the
# ViT, about 8 min for the GPT); the phase grid is runs = cells x trials x methods.
CI_LIMITS = {
    "pages/phase.py": {"ph_d": 32, "ph_nd": 4, "ph_nr": 4, "ph_trials": 3, "ph_steps": 200},
    "pages/reproduce.py": {"rp_druns": 2, "rp_dsteps": 250},
    "pages/prune.py": {"pr_model": None, "pr_calibration": None, "pr_damping": None,
                       "pr_rounds": None, "pr_lr": None, "seed": None,
                       "pr_sparsity": None, "pr_method": None},
}
OUT = ROOT / "test-output" / "reliability"
# Traces whose NaN are gaps between line pieces, by design (regex on the trace name).
GAPS = {
    "pages/iterates.py": [r": θ_t$"],     # stem_animation: (0, θ_i, NaN) per coordinate
}


def registered_pages() -> list[str | None]:
    """``None`` (home) and every page file in app.py's ``PAGES`` that exists."""
    tree = ast.parse((ROOT / "app.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "PAGES"
                                                for t in node.targets):
            return [None] + [p[0] for p in ast.literal_eval(node.value)
                             if (ROOT / p[0]).exists()]
    raise AssertionError("app.py has no PAGES list")


PAGES = registered_pages()


def run(at: AppTest) -> AppTest:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.run()


def open_page(page, query=None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    if page:
        at.switch_page(page)
    return run(at)


# -- what every run must satisfy -------------------------------------------------------
def _decode(obj):
    """Every numeric array in a Plotly spec: ``{"dtype", "bdata"}`` decoded, lists as-is."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            yield np.frombuffer(base64.b64decode(obj["bdata"]), dtype=np.dtype(obj["dtype"]))
            return
        for v in obj.values():
            yield from _decode(v)
    elif isinstance(obj, list):
        if any(isinstance(v, float) for v in obj) and all(
                v is None or isinstance(v, (int, float)) for v in obj):
            yield np.array([np.nan if v is None else v for v in obj], dtype=float)
            return
        for v in obj:
            yield from _decode(v)
    elif isinstance(obj, float):
        yield np.array([obj])


def nonfinite(spec: dict, allowed=()) -> list[str]:
    """Where a figure's data (traces and frames) holds NaN, inf, or a null among numbers
    (Plotly writes NaN in a list as null). NaN (never inf) is allowed in traces whose name
    matches one of ``allowed``: the gaps of a line drawn in pieces."""
    data = spec.get("data", [])
    names = [t.get("name") or "" for t in data]
    parts = [("data", list(enumerate(data)))]
    for i, f in enumerate(spec.get("frames", [])):
        idx = f.get("traces") or range(len(f.get("data", [])))
        parts.append((f"frame {f.get('name', i)}", list(zip(idx, f.get("data", [])))))
    bad = []
    for where, traces in parts:
        for j, trace in traces:
            name = names[j] if j < len(names) else ""
            gaps_ok = any(re.search(pat, name) for pat in allowed)
            for field, value in trace.items():
                for a in _decode(value):
                    if a.dtype.kind != "f" or np.isfinite(a).all():
                        continue
                    if gaps_ok and not np.isinf(a).any():
                        continue
                    bad.append(f"{where}, trace {j} ({name}), {field}")
    return bad


def check(at: AppTest, page, what: str) -> list[str]:
    """Problems of one script run: exceptions, errors without a fix, NaN/inf in figures."""
    problems = [f"{what}: exception {e.message}" for e in at.exception]
    problems += [f"{what}: error without a fix: {e.value}" for e in at.error
                 if "What to change" not in e.value]
    for i, chart in enumerate(at.get("plotly_chart")):
        bad = nonfinite(json.loads(chart.proto.spec), GAPS.get(page, ()))
        problems += [f"{what}: chart {i}: non-finite {b}" for b in bad[:3]]
    return problems


# -- widgets: domains, extremes, random values -----------------------------------------
def widgets(at: AppTest) -> dict:
    return {w.key: w for kind in SWEPT for w in at.get(kind) if getattr(w, "key", None)}


def _option_values(w, registry):
    """The real option values of a select box / radio / select slider / multiselect."""
    entry = registry.get(w.key)
    if entry and w.type in ("selectbox", "radio"):
        return list(entry[2])
    if entry and w.type == "multiselect":
        return list(entry[2][1])
    out = []
    for s in w.options:                 # formatted strings: find the value that prints so
        for cast in (int, float, str):
            try:
                v = cast(s)
                if str(w.format_func(v)) == s:
                    out.append(v)
                    break
            except (ValueError, TypeError, KeyError):
                continue
    return out


def domain(w, registry) -> tuple:
    """(kind, candidates-or-range) of a widget."""
    if w.type in ("toggle", "checkbox"):
        return "options", [False, True]
    if w.type in ("slider", "number_input"):
        lo, hi = w.min, w.max
        step = w.step or 1
        integer = isinstance(w.value, int) and float(step).is_integer()
        return "range", (lo, hi, step, integer)
    if w.type == "multiselect":
        return "subsets", _option_values(w, registry)
    return "options", _option_values(w, registry)


def limited(kind, dom, limit):
    """Restrict a domain to values <= limit (CI)."""
    if limit is None:
        return kind, dom
    if kind == "range":
        lo, hi, step, integer = dom
        return kind, (lo, min(hi, limit), step, integer)
    return kind, [v for v in dom if not isinstance(v, (int, float)) or v <= limit]


def values(kind, dom, rng) -> list:
    """[min, max, a random value] of a domain."""
    if kind == "range":
        lo, hi, step, integer = dom
        n = int(math.floor((hi - lo) / step + 1e-9))
        pick = lo + step * int(rng.integers(0, n + 1))
        cast = int if integer else (lambda v: round(float(v), 10))
        return [cast(lo), cast(lo + step * n), cast(min(pick, hi))]
    if kind == "subsets":
        mask = rng.random(len(dom)) < 0.5
        return [[], list(dom), [v for v, m in zip(dom, mask) if m]]
    return [dom[0], dom[-1], dom[int(rng.integers(0, len(dom)))]]


# -- the sweep -------------------------------------------------------------------------
def sweep_plan(page, at, swept):
    """{key: (kind, domain)} of this view's widgets not swept yet (CI limits applied)."""
    registry = at.session_state["_iobs_view"] if "_iobs_view" in at.session_state else {}
    limits = {} if FULL else CI_LIMITS.get(page, {})
    plan = {}
    for key, w in widgets(at).items():
        if key in swept or (key in limits and limits[key] is None):
            continue
        plan[key] = limited(*domain(w, registry), limits.get(key))
    return plan


def sweep_page(page, rng) -> dict:
    stats = {"views": 0, "values": 0, "seconds": 0.0, "problems": []}
    t0 = time.perf_counter()
    swept: set[str] = set()
    for base in BASES.get(page, [{}]):
        at = open_page(page, base)
        stats["problems"] += check(at, page, f"{page} {base}")
        stats["views"] += 1
        plan = sweep_plan(page, at, swept)
        defaults = {k: copy.deepcopy(widgets(at)[k].value) for k in plan}
        for key, (kind, dom) in plan.items():
            swept.add(key)
            for v in values(kind, dom, rng):
                w = widgets(at).get(key)
                if w is None:
                    break                           # hidden by the previous value
                w.set_value(v)
                _t = time.perf_counter()
                run(at)
                print(f"  {key}={v!r}: {time.perf_counter() - _t:.2f}s", flush=True)
                stats["problems"] += check(at, page, f"{page} {base} {key}={v!r}")
                stats["views"] += 1
                stats["values"] += 1
            w = widgets(at).get(key)
            if w is not None:
                w.set_value(defaults[key])          # back to the view before the next key
                run(at)
        for c in range(COMBOS):
            combo = {}
            for key, w in widgets(at).items():
                if key in plan:
                    kind, dom = plan[key]
                    combo[key] = values(kind, dom, rng)[int(rng.integers(0, 3))]
                    w.set_value(combo[key])
            run(at)
            stats["problems"] += check(at, page, f"{page} {base} combination {c}: {combo}")
            stats["views"] += 1
            stats["values"] += len(combo)
    stats["seconds"] = round(time.perf_counter() - t0, 1)
    stats["widgets"] = sorted(swept)
    return stats


def _report(name: str, stats: dict):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(stats, indent=1))
    print(f"\n{name}: {json.dumps(stats)}")


def _name(page):
    return "home" if page is None else Path(page).stem


@pytest.mark.parametrize("page", PAGES, ids=_name)
def test_widget_sweep_raises_nothing_and_draws_finite_figures(page):
    rng = np.random.default_rng([SEED, PAGES.index(page)])
    stats = sweep_page(page, rng)
    _report(f"sweep_{_name(page)}", stats)
    assert stats["values"] > 0
    assert not stats["problems"], stats["problems"][:20]
