"""A view as one self-contained HTML file: its text, figures, tables, settings and link.

:func:`handout_html` turns a list of :class:`Block` into a document that opens from disk
with no network: plotly.js is embedded once (the copy bundled with the plotly package),
figures keep their frames and play buttons (they animate client-side), markdown is rendered
by markdown-it-py, TeX by latex2mathml into MathML (which browsers draw natively: no MathJax,
no web fonts), and Streamlit's ``:blue-badge[...]`` provenance labels become styled labels.
A Content-Security-Policy forbids every fetch, so a handout cannot reach out even by mistake.
Pure: no Streamlit; the app and ``python -m iobs handout`` build their blocks and call this.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import re
from functools import lru_cache
from typing import NamedTuple

__all__ = ["KINDS", "Block", "handout_html", "markdown_html"]

KINDS = ("heading", "markdown", "caption", "figure", "table", "alert", "metric", "divider")
_ALERTS = ("info", "success", "warning", "error")
_COLOURS = {"red": "#c62828", "orange": "#e65100", "yellow": "#9e7c00", "green": "#2e7d32",
            "blue": "#1565c0", "violet": "#6a1b9a", "gray": "#555", "grey": "#555",
            "primary": "#c2185b", "rainbow": "#6a1b9a"}
_DIRECTIVE = re.compile(  # :blue-badge[..] / :blue[..] / :blue-background[..], one bracket level
    r":(" + "|".join(_COLOURS) + r")(-badge|-background)?\[((?:[^\[\]]|\[[^\[\]]*\])*)\]")
_ICON = re.compile(r":material/[a-z0-9_]+:")   # icon font glyphs: not available offline
_UNKNOWN_TEX = re.compile(r"\\(arg)(?![A-Za-z])")   # operators latex2mathml lacks
_HOLE = "\ue000{}\ue001"                        # private-use marks survive markdown untouched
# nothing may be fetched; plotly.js needs inline scripts (and eval for some traces)
_CSP = ("default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'unsafe-inline'; img-src data: blob:; font-src data:; worker-src blob:")
_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2430;
       max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; line-height: 1.5; }
h1, h2, h3, h4 { line-height: 1.25; } .caption { color: #5a6070; font-size: 0.92rem; }
.badge { display: inline-block; padding: 0 0.45em; border-radius: 0.35em; font-size: 0.82em;
         font-weight: 600; color: var(--c); background: color-mix(in srgb, var(--c) 14%, white);
         white-space: nowrap; }
.figure { margin: 0.5rem 0 1rem; } table { border-collapse: collapse; margin: 0.5rem 0 1rem;
  font-size: 0.9rem; } th, td { border: 1px solid #d8dbe2; padding: 0.2rem 0.55rem;
  text-align: left; vertical-align: top; } th { background: #f3f4f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.alert { padding: 0.6rem 0.9rem; border-radius: 0.4rem; margin: 0.5rem 0; }
.alert.info { background: #e8f0fe; } .alert.success { background: #e6f4ea; }
.alert.warning { background: #fff4e0; } .alert.error { background: #fdecea; }
.metric { display: inline-block; margin: 0 2rem 0.6rem 0; } .metric b { font-size: 1.6rem; }
code.tex { color: #6a1b9a; } footer, .view { color: #5a6070; font-size: 0.88rem; }
"""


class Block(NamedTuple):
    """One piece of a view, in reading order.

    ``kind`` is one of :data:`KINDS`; ``body`` is markdown text (heading, markdown, caption,
    alert), a Plotly figure or its dict (figure), ``{"columns": [...], "rows": [[...], ...]}``
    (table) or ``(label, value, delta)`` (metric); ``detail`` is the heading tag (``"h2"``)
    or the alert kind (``"info"``, ``"success"``, ``"warning"``, ``"error"``).
    """

    kind: str
    body: object = ""
    detail: str = ""


@lru_cache(maxsize=1)
def _markdown_parser():
    # markdown-it-py: CommonMark plus the GFM tables Streamlit renders; raw HTML in the text
    # stays escaped, as st.markdown shows it by default
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    md.use(dollarmath_plugin, double_inline=True)
    md.add_render_rule("math_inline", lambda self, t, i, o, e: _tex(t[i].content, False))
    md.add_render_rule("math_inline_double", lambda self, t, i, o, e: _tex(t[i].content, True))
    md.add_render_rule("math_block", lambda self, t, i, o, e: _tex(t[i].content, True))
    return md


def _tex(source: str, display: bool) -> str:
    """TeX as MathML; TeX that latex2mathml cannot parse is shown as its source."""
    from latex2mathml.converter import convert

    tex = _UNKNOWN_TEX.sub(lambda m: rf"\operatorname{{{m[1]}}}", source.strip())
    try:
        return convert(tex, display="block" if display else "inline")
    except Exception:   # the converter raises many types; the source text is the fallback
        return f'<code class="tex">{html.escape(source)}</code>'


def markdown_html(text: str, *, inline: bool = False) -> str:
    """Streamlit-flavoured markdown as HTML: CommonMark, tables, ``$TeX$`` / ``$$TeX$$``,
    ``:colour-badge[label]``, ``:colour[text]``; ``:material/...:`` icons are dropped.

    >>> markdown_html("**k** = 3 :blue-badge[from the paper]", inline=True)
    '<strong>k</strong> = 3 <span class="badge" style="--c:#1565c0">from the paper</span>'
    """
    md = _markdown_parser()
    holes: list[str] = []

    def directive(m):
        colour, style, inner = _COLOURS[m[1]], m[2], md.renderInline(_ICON.sub("", m[3]))
        if style == "-badge":
            holes.append(f'<span class="badge" style="--c:{colour}">{inner.strip()}</span>')
        elif style == "-background":
            holes.append(f'<span style="background:color-mix(in srgb,{colour} 18%,white)">'
                         f"{inner}</span>")
        else:
            holes.append(f'<span style="color:{colour}">{inner}</span>')
        return _HOLE.format(len(holes) - 1)

    text = _DIRECTIVE.sub(directive, _ICON.sub("", str(text)))
    out = md.renderInline(text) if inline else md.render(text)
    return re.sub("\ue000(\\d+)\ue001", lambda m: holes[int(m[1])], out)


def _cell(v) -> tuple[str, bool]:
    """(text, is_number) of a table cell."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—", False
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return html.escape(str(v)), False
    return (f"{v:.6g}" if isinstance(v, float) else str(v)), True


def _table(columns, rows) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = []
    for row in rows:
        cells = (_cell(v) for v in row)
        body.append("<tr>" + "".join(f'<td class="num">{t}</td>' if num else f"<td>{t}</td>"
                                     for t, num in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _figure(fig, config: dict | None) -> str:
    import plotly.io as pio

    spec = fig if isinstance(fig, dict) else fig.to_plotly_json()
    height = (spec.get("layout") or {}).get("height") or 450
    cfg = {**(config or {}), "responsive": True}
    # plotly.io writes the div and the newPlot/addFrames call; auto_play off: the reader
    # presses Play, as in the app
    return pio.to_html(spec, include_plotlyjs=False, full_html=False, include_mathjax=False,
                       auto_play=False, validate=False, config=cfg,
                       default_width="100%", default_height=f"{int(height)}px")


def _block(b: Block, config: dict | None) -> str:
    if b.kind not in KINDS:
        raise ValueError(f"block kind must be one of {KINDS}; got {b.kind!r}")
    if b.kind == "heading":
        tag = b.detail if b.detail in ("h1", "h2", "h3", "h4", "h5", "h6") else "h2"
        return f"<{tag}>{markdown_html(b.body, inline=True)}</{tag}>"
    if b.kind == "markdown":
        return markdown_html(b.body)
    if b.kind == "caption":
        return f'<div class="caption">{markdown_html(b.body)}</div>'
    if b.kind == "alert":
        kind = b.detail if b.detail in _ALERTS else "info"
        return f'<div class="alert {kind}">{markdown_html(b.body)}</div>'
    if b.kind == "figure":
        return f'<div class="figure">{_figure(b.body, config)}</div>'
    if b.kind == "table":
        return _table(b.body["columns"], b.body["rows"])
    if b.kind == "metric":
        label, value, delta = (*tuple(b.body), "", "", "")[:3]
        extra = f" <span class='caption'>{html.escape(str(delta))}</span>" if delta else ""
        return (f'<div class="metric"><div>{markdown_html(label, inline=True)}</div>'
                f"<b>{html.escape(str(value))}</b>{extra}</div>")
    return "<hr>"


def handout_html(blocks, *, title: str, link: str | None = None,
                 settings: dict | None = None, figure_config: dict | None = None,
                 footer: str = "") -> str:
    """One self-contained HTML document of a view.

    Parameters
    ----------
    blocks : iterable of Block
        The view in reading order.
    title : str
        The document title (the page's name).
    link : str, optional
        The URL that reproduces the view in the app, shown at the top and the bottom.
    settings : dict, optional
        The view's configuration ``{name: value}``, shown as a table.
    figure_config : dict, optional
        Plotly config shared by every figure (mode bar, image button).
    footer : str, optional
        Markdown appended to the generated-on line.

    Returns
    -------
    str
        HTML with plotly.js inlined once, no external reference that a browser would fetch.
    """
    from plotly import __version__ as plotly_version
    from plotly.offline import get_plotlyjs

    from iobs import __version__

    parts = [_block(b, figure_config) for b in blocks]
    view = (f'<p class="view">Reproduce this view in the app: <a href="{html.escape(link)}">'
            f"{html.escape(link)}</a></p>") if link else ""
    rows = [(k, v if isinstance(v, (int, float, str)) or v is None else json.dumps(v))
            for k, v in (settings or {}).items()]
    config = ("<h2>Settings of this view</h2>" + _table(["setting", "value"], rows)) \
        if rows else ""
    when = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    foot = markdown_html(f"Made with iobs {__version__} on {when}; figures drawn by the "
                         f"embedded plotly.js (plotly {plotly_version}), offline. {footer}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>\n<body>'
        f"{view}\n" + "\n".join(parts) + f"\n{config}{view}<footer>{foot}</footer>"
        "</body></html>\n")
