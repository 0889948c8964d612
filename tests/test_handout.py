"""The offline handout: the HTML builder is self-contained (plotly.js once, nothing a browser
would fetch, frames kept, markdown/badges/TeX rendered, text escaped); the app keeps the
same file behind its download button; ``python -m iobs handout`` writes one for every page
and refuses bad input with one line and exit code 2. (Opening them offline in Chromium:
tests/browser/test_handout.py.)
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path

import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs

from iobs.viz.handout import Block, handout_html, markdown_html

ROOT = Path(__file__).resolve().parents[1]
FETCHING = ("src", "href", "action", "poster", "data", "srcset", "background")


class _Refs(HTMLParser):
    """Every attribute that makes a browser fetch something (links <a> only navigate)."""

    def __init__(self):
        super().__init__()
        self.refs, self.tags, self.styles = [], [], []
        self._style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._style = tag == "style"
        for k, v in attrs:
            if tag != "a" and k in FETCHING and v:
                self.refs.append((tag, k, v))

    def handle_data(self, data):
        if self._style:
            self.styles.append(data)

    def handle_endtag(self, tag):
        self._style = False


def _refs(text: str) -> _Refs:
    p = _Refs()
    p.feed(text)
    return p


def _animated() -> go.Figure:
    frames = [go.Frame(data=[go.Scatter(y=[t, t + 1, t + 2])], name=str(t)) for t in range(4)]
    return go.Figure(data=[go.Scatter(y=[0, 1, 2])], frames=frames, layout=dict(
        height=300, updatemenus=[dict(type="buttons", buttons=[dict(
            label="Play", method="animate", args=[None])])]))


def _doc(**kw) -> str:
    blocks = [Block("heading", "Iterates", "h1"),
              Block("markdown", "Text with $e_{t+1}\\le C e_t^2$ and a link "
                    "[arXiv](https://arxiv.org/abs/2408.17163) :blue-badge[from the paper]"),
              Block("figure", _animated()),
              Block("caption", ":material/visibility: **What to look at:** the stems. "
                    ":green-badge[measured here]"),
              Block("table", {"columns": ["method", "error"],
                              "rows": [["iht", 0.25], ["<b>x</b>", math.nan]]}),
              Block("alert", "Careful", "warning"), Block("metric", ("steps", 40, "")),
              Block("divider")]
    return handout_html(blocks, title="Iterates", link="http://localhost:8501/iterates?it_d=128",
                        settings={"it_d": 128, "it_methods": ["iht", "iobs"]}, **kw)


def test_plotly_js_is_embedded_exactly_once_and_nothing_is_fetched():
    text = _doc()
    assert text.count(get_plotlyjs()) == 1
    p = _refs(text)
    assert p.refs == [], p.refs                       # no src/href outside <a> at all
    assert not any("url(" in s or "@import" in s for s in p.styles)
    assert "default-src 'none'" in text               # the CSP forbids any fetch
    assert p.tags.count("script") == 2                # plotly.js + the one figure's call
    assert 'href="https://arxiv.org/abs/2408.17163"' in text   # a link in the text stays


def test_frames_and_play_button_survive():
    text = _doc()
    body = text[text.index("</head>"):]
    call = body[body.index("Plotly.addFrames"):]
    frames = json.loads(call[call.index("["):call.index("]);") + 1])
    assert [f["name"] for f in frames] == ["0", "1", "2", "3"]
    assert frames[3]["data"][0]["y"] == [3, 4, 5]
    assert '"label":"Play"' in body and '"method":"animate"' in body
    assert "Plotly.animate" not in body               # no auto-play: the reader presses Play


def test_markdown_badges_and_tex_are_rendered():
    text = _doc()
    assert '<span class="badge" style="--c:#1565c0">from the paper</span>' in text
    assert '<span class="badge" style="--c:#2e7d32">measured here</span>' in text
    assert "<math" in text and "\\le" not in text.split("</head>")[1]
    assert ":material/" not in text and "-badge[" not in text
    assert "<strong>What to look at:</strong>" in text
    assert '<div class="alert warning">' in text and "<hr>" in text


def test_text_and_cells_are_escaped_and_nan_is_a_dash():
    out = markdown_html("a <script>alert(1)</script> b")
    assert "<script>" not in out and "&lt;script&gt;" in out
    text = _doc()
    assert "<td>&lt;b&gt;x&lt;/b&gt;</td><td>—</td>" in text
    assert '<td class="num">0.25</td>' in text


def test_settings_and_link_are_in_the_file():
    text = _doc()
    assert '<td>it_d</td><td class="num">128</td>' in text
    assert '<td>it_methods</td><td>[&quot;iht&quot;, &quot;iobs&quot;]</td>' in text
    assert text.count('href="http://localhost:8501/iterates?it_d=128"') == 2


def test_unknown_block_kind_is_refused_by_name():
    with pytest.raises(ValueError, match="block kind must be one of .*'chart'"):
        handout_html([Block("chart", {})], title="x")


def test_unparseable_tex_falls_back_to_its_source():
    out = markdown_html("$\\left( x$ and $x^2$", inline=True)
    assert out.startswith('<code class="tex">\\left( x</code> and <math')
    assert "<msup><mi>x</mi><mn>2</mn></msup>" in out


# --- the app: the button's file is the page as drawn -----------------------------------

def test_the_app_keeps_the_handout_of_the_view_it_drew():
    from streamlit.testing.v1 import AppTest

    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from ui import handout

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.query_params["it_d"] = "128"
    at.switch_page("pages/iterates.py")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at.run()
    assert not at.exception
    text = at.session_state[handout.KEY]()
    body = text[text.index("</head>"):]
    charts = at.get("plotly_chart")
    assert body.count("Plotly.newPlot(") == len(charts) == 2
    spec = json.loads(charts[0].proto.spec)
    assert len(spec["frames"]) > 1
    call = body[body.index("Plotly.addFrames"):]
    assert len(json.loads(call[call.index("["):call.index("]);") + 1])) == len(spec["frames"])
    assert "<h1>Iterates</h1>" in body
    assert '<td>it_d</td><td class="num">128</td>' in body
    assert "it_d=128" in body                         # the reproducing link
    assert body.count("<table>") == len(at.dataframe) + 1   # the page's tables + settings


# --- the command line ----------------------------------------------------------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "iobs", "handout", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)


# the command on two pages; every page's handout is built by the same code (in-process)
# and opened offline by tests/browser/test_handout.py, which keeps the suite minutes shorter
@pytest.mark.parametrize("page", ["home", "iterates"])
def test_cli_writes_a_handout_of_a_page(page, tmp_path):
    out = tmp_path / f"{page}.html"
    r = _cli(page, "--out", str(out))
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(rf"wrote {re.escape(str(out))}: {page} page, ([\d.]+) MB, [\d.]+ s\n",
                     r.stdout)
    assert m, r.stdout
    text = out.read_text(encoding="utf-8")
    assert abs(len(text.encode()) / 1e6 - float(m[1])) < 0.01
    assert text.startswith("<!DOCTYPE html>") and text.count(get_plotlyjs()) == 1
    assert text.split("</head>")[1].count("Plotly.newPlot(") >= 1
    assert _refs(text).refs == []


@pytest.mark.parametrize("args, says", [
    (["nope"], "PAGE must be one of home, "),
    (["iterates", "--query", "bogus=1"], "'bogus' is not a setting of the iterates page"),
    (["iterates", "--query", "it_d=99999"], "it_d=99999 is not a value the iterates page "
                                            "accepts (16 to 1024)"),
    (["iterates", "--query", "it_methods=iht"], "accepts (any of k-IHT, HTP, "),
    (["iterates", "--query", "it_d"], "--query must look like 'key=value&key=value'"),
])
def test_cli_refuses_bad_input_with_one_line(args, says, tmp_path):
    out = tmp_path / "x.html"
    r = _cli(*args, "--out", str(out))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("error: ") and says in r.stderr
    assert not out.exists()


def test_cli_query_sets_the_view(tmp_path):
    out = tmp_path / "it.html"
    r = _cli("iterates", "--query", "it_d=128&it_methods=k-IHT&it_methods=HTP", "--out",
             str(out))   # a list is repeated parameters, by the labels the app's links use
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert '<td>it_d</td><td class="num">128</td>' in text
    assert '<td>it_methods</td><td>[&quot;iht&quot;, &quot;htp&quot;]</td>' in text
