"""Every provenance label is true: explicit tags on every source, badges only from tags.

The library side: every method, every bound the dispatcher can return, every constant
kind and every constant table carries an :class:`iobs.provenance.Source` with an explicit
tag. The app side: pages call ``badge`` only with tags (never a string to match words in),
and on the rendered pages every badge placed beside a source shows that source's own tag --
a derived bound that mentions the paper must not wear the paper's badge. And the
Convergence page opens on a bound of the paper drawn above a measured curve.
"""

from __future__ import annotations

import ast
import base64
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:      # `ui` is imported the way app.py imports it
    sys.path.insert(0, str(ROOT))

import iobs  # noqa: E402
from iobs import theory  # noqa: E402
from iobs.provenance import (AUTHORS_CODE, DERIVED, LITERATURE, PAPER, Source,  # noqa: E402
                             Tag)
from iobs.research.lessons import RULE_SOURCES, RULES  # noqa: E402
from iobs.research.reproduce import SYNTHETIC_SOURCES  # noqa: E402
from tests.test_app import app  # noqa: E402
from ui.output import badge  # noqa: E402

LABEL = {t: t.value for t in Tag}
BADGE_RE = re.compile(r":(\w+)-badge\[([^\]]*)\]")


def _tagged(src):
    assert isinstance(src, Source), f"{src!r} is a plain string, not a tagged Source"
    assert isinstance(src.tag, Tag)
    assert str(src).startswith(src.tag.value), src


# -- the library ----------------------------------------------------------------------
@pytest.mark.parametrize("name", list(iobs.METHODS))
def test_every_method_credits_a_tagged_source(name):
    _tagged(iobs.METHODS[name].source)


def test_greedy_obc_is_credited_to_obc_and_our_derivation_not_the_authors_code():
    m = iobs.METHODS["iobs-obc"]
    assert m.source.tag is LITERATURE and "Frantar & Alistarh 2022" in m.source
    assert "derived here" in m.source.detail
    assert "mask" in m.summary and "compensat" in m.summary   # how it differs from theirs


def _problems():
    ls = iobs.make_problem("scaled", d=24, n=48, k_star=3, cond=10.0, seed=0)
    under = iobs.make_problem("gaussian", d=24, n=12, k_star=3, seed=0)
    noisy = iobs.make_problem("gaussian", d=24, n=48, k_star=3, noise=0.1, seed=0)
    lc = iobs.make_problem("logcosh", d=16, n=128, k_star=2, beta=1.0, seed=0)
    lg = iobs.make_problem("logistic", d=16, n=128, k_star=2, seed=0)
    return {"least squares": ls, "n < d": under, "noisy": noisy, "log-cosh": lc,
            "logistic": lg}


def _all_bounds():
    """Every branch of the dispatcher: each method on each problem, with and without
    damping, a short Newton step, both forms of Theorem 1, a stochastic batch, k < k*."""
    out = []
    for pname, prob in _problems().items():
        for m in iobs.METHODS:
            if m == "iobs-exact" and prob.d > 20:
                continue
            for kw in ({}, {"damping": 1e-2}, {"eta": 0.5}, {"form": "tight"},
                       {"batch_size": 4}, {"k": 1}, {"e0": 1e-3}, {"e0": 1e-3, "form": "tight"}):
                kw = {"k": 2 * prob.k_star, **kw}
                out.append((pname, m, kw, theory.bound(m, prob, steps=3, **kw)))
    return out


ALL_BOUNDS = _all_bounds()


def test_every_bound_the_dispatcher_returns_has_a_tagged_source():
    tags = set()
    for *_, b in ALL_BOUNDS:
        _tagged(b.source)
        tags.add(b.source.tag)
    assert {PAPER, DERIVED, LITERATURE} <= tags           # the grid reaches every kind


def test_derived_and_literature_bounds_never_get_the_papers_badge():
    paper = badge(PAPER)
    checked = 0
    for pname, m, kw, b in ALL_BOUNDS:
        if b.source.tag in (DERIVED, LITERATURE):
            assert badge(b.source) != paper, (pname, m, kw, str(b.source))
            checked += "paper" in b.source            # the case the word match got wrong
    assert checked > 0


def test_the_papers_theorems_are_tagged_paper_and_the_tight_form_derived():
    lc = _problems()["log-cosh"]
    assert theory.bound("topk-iobs", lc, k=4, e0=1e-3).source.tag is PAPER
    assert theory.bound("iobs", lc, k=4, e0=1e-3).source.tag is PAPER
    assert theory.bound("iobs", lc, k=4, e0=1e-3, form="tight").source.tag is DERIVED
    ls = _problems()["least squares"]
    b = theory.bound("iobs", ls, k=6, eta=0.5)
    assert b.source.tag is DERIVED and "Theorem 1" in b.source   # mentions it, derived


def test_log_cosh_constants_are_certified_bounds_not_exact_values():
    c = theory.constants(_problems()["log-cosh"], 4)
    assert {c.kind[k] for k in ("mu", "L", "M")} == {"certified bound"}
    assert not any(c.exact[k] for k in ("mu", "L", "M"))
    ls = theory.constants(_problems()["least squares"], 6)
    assert ls.kind["mu"] == ls.kind["L"] == ls.kind["M"] == "exact"
    assert ls.kind["mu_s"] == "estimate"
    for prob in _problems().values():
        for kind in theory.constants(prob, 4).kind.values():
            _tagged(theory.KIND_TAG[kind])
    assert theory.KIND_TAG["certified bound"].tag is DERIVED


def test_constant_tables_carry_tags():
    for table in (RULE_SOURCES, SYNTHETIC_SOURCES):
        for src in table.values():
            _tagged(src)
    assert set(RULE_SOURCES) == set(RULES)
    assert SYNTHETIC_SOURCES["start"].tag is AUTHORS_CODE
    assert SYNTHETIC_SOURCES["updates"].tag is AUTHORS_CODE
    assert RULE_SOURCES["exact"].tag is PAPER


@pytest.mark.parametrize("bad", ["paper", "from the paper", "derived here", None, 3])
def test_badge_and_source_refuse_anything_but_a_tag(bad):
    with pytest.raises(ValueError, match="tag must be one of"):
        badge(bad)
    with pytest.raises(ValueError, match="tag must be one of"):
        Source(bad, "x")


# -- the pages: only tags go to badge ------------------------------------------------
def _badge_calls():
    for path in [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "badge":
                yield path.name, node


def test_pages_call_badge_only_with_tags():
    calls = list(_badge_calls())
    assert len(calls) > 10
    for name, call in calls:
        assert len(call.args) == 1 and not call.keywords, (name, call.lineno)
        arg = call.args[0]
        where = f"{name}:{call.lineno}: {ast.unparse(arg)}"
        # a tag constant (common.PAPER), or a tagged Source looked up from the library
        # (b["source"], RULE_SOURCES[r]); never a string literal or a text built on the spot
        assert not isinstance(arg, (ast.Constant, ast.JoinedStr, ast.BinOp)), \
            f"a string goes to badge at {where}"
        if isinstance(arg, ast.Attribute):
            assert arg.attr in Tag.__members__, where


# -- the pages as rendered ------------------------------------------------------------
def _run(page=None, query=None):
    at = app(page, query)                 # the house's AppTest driver (tests/test_app.py)
    assert not at.exception, [e.message for e in at.exception]
    return at


VIEWS = [(None, {}), ("pages/convergence.py", {}),
         ("pages/convergence.py", {"cv_preset": "least squares"}),
         ("pages/convergence.py", {"cv_preset": "least squares", "cv_eta": "1.0"}),
         ("pages/convergence.py", {"cv_tight": "true"}),
         ("pages/projection.py", {}), ("pages/reproduce.py", {"rp_runs": "2"})]


@pytest.mark.parametrize("page, query", VIEWS)
def test_every_badge_on_screen_matches_the_source_beside_it(page, query):
    at = _run(page, query)
    texts = [e.value for e in (*at.markdown, *at.caption)]
    badges = [(t, m) for t in texts for m in BADGE_RE.finditer(t)]
    assert badges, "the view shows no provenance badge"
    beside = 0
    for text, m in badges:
        if text[:m.start()].rstrip().endswith("Backend:"):
            continue                         # the home page's status badge, not a source
        assert m.group(2) in LABEL.values(), f"unknown label {m.group(2)!r} in {text!r}"
        # a badge followed by the source it stands for, in italics: the label must be the
        # source's own tag (the source text starts with its tag's label)
        follow = re.match(r"\s*_([^_]+)_", text[m.end():])
        if follow:
            beside += 1
            assert follow.group(1).startswith(m.group(2)), (m.group(2), follow.group(1))
    if page == "pages/convergence.py":
        assert beside >= 2                   # every method's bound is labelled


def _decode(v):
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v, dtype=float)


def test_convergence_opens_on_a_papers_bound_drawn_above_the_measured_curve():
    import json

    from iobs.viz.figures import FLOOR

    at = _run("pages/convergence.py")
    assert at.get_by_key("cv_preset").value == "log-cosh near θ*"
    assert not at.error
    traces = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    measured = {t["name"]: _decode(t["y"]) for t in traces if not t["name"].startswith("bound")}
    paper = [t for t in traces if t["name"].startswith("bound:") and
             f"({PAPER.value}" in t["name"]]
    assert paper, [t["name"] for t in traces]
    for t in paper:
        method = t["name"][len("bound: "):].split(" (")[0]
        bound, err = _decode(t["y"]), measured[method]
        assert bound[1] < bound[0]           # non-vacuous: it contracts from e_0
        # the bound lies above the measured error wherever it is above the plot's floor
        # (below it both sit at round-off, where no bound can be read)
        up = bound > 10 * FLOOR
        assert up.sum() >= 3
        assert np.all(err[up] <= bound[up] * (1 + 1e-9)), (method, err[up], bound[up])
    # the least-squares view, where most bounds are vacuous, is one click away
    at.get_by_key("cv_preset").set_value("least squares")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at.run()
    assert not at.exception and len(at.get("plotly_chart")) == 2
    assert any("no bound drawn" in m.value for m in at.markdown)
