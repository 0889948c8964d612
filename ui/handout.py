"""The offline handout of a view: what a page drew, as one self-contained HTML file.

app.py runs each page inside :func:`recording`, which keeps the elements the page sends to
the main area (headings, markdown and captions with their provenance badges, Plotly figures
with their frames, tables, metrics, alerts), then calls :func:`offer`: a sidebar button
whose file is built only when clicked (:func:`iobs.viz.handout.handout_html`). The same
builder is kept in ``session_state[KEY]``, so ``python -m ui.handout PAGE`` (behind
``python -m iobs handout``) runs the page headless with AppTest and writes the very file
the button makes.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
import urllib.parse
from pathlib import Path

import streamlit as st

from iobs.export import plain
from iobs.viz.handout import Block, handout_html
from ui import internals
from ui.state import PAGE, VIEW, view_url

__all__ = ["KEY", "blocks", "headless", "offer", "recording"]

KEY = "_iobs_handout"   # session_state: () -> str, this view's handout (built on demand)
ROOT = Path(__file__).resolve().parents[1]
HEADLESS_TIMEOUT_S = 600   # the slowest page's first run (phase maps, pruning) with headroom
_MAIN = 0                  # the main area's root container in a delta path (the sidebar is 1)
_ALERTS = {1: "error", 2: "warning", 3: "info", 4: "success"}
_CAPTION, _DIVIDER = 2, 5  # Markdown.Type values


@contextlib.contextmanager
def recording():
    """Keep the elements the page draws in the main area: ``{delta path: element}``, a later
    element at a path replacing the earlier one (placeholders, progress bars) with its
    children."""
    elements: dict[tuple, object] = {}

    def sink(msg):
        if msg.WhichOneof("type") != "delta":
            return
        path = tuple(msg.metadata.delta_path)
        if not path or path[0] != _MAIN:
            return
        for old in [p for p in elements if p[:len(path)] == path]:
            del elements[old]
        if msg.delta.WhichOneof("type") == "new_element":
            elements[path] = msg.delta.new_element

    st.session_state[KEY] = None
    with internals.tap_messages(sink):
        yield elements


def _table(arrow: bytes) -> dict:
    import pyarrow as pa

    df = pa.ipc.open_stream(arrow).read_all().to_pandas()
    rows, cols = df.to_numpy().tolist(), [str(c) for c in df.columns]
    if type(df.index).__name__ != "RangeIndex":   # a labelled index is part of the table
        rows = [[i, *r] for i, r in zip(df.index.tolist(), rows)]
        cols = [str(df.index.name or ""), *cols]
    return {"columns": cols, "rows": [plain(r) for r in rows]}


def blocks(elements: dict) -> tuple[list[Block], dict | None]:
    """The recorded elements as handout blocks in reading order, and the figures' config."""
    out, config = [], None
    for path in sorted(elements):
        el = elements[path]
        kind = el.WhichOneof("type")
        if kind == "heading":
            out.append(Block("heading", el.heading.body, el.heading.tag or "h2"))
        elif kind == "markdown":
            t = el.markdown.element_type
            out.append(Block("divider") if t == _DIVIDER else
                       Block("caption" if t == _CAPTION else "markdown", el.markdown.body))
        elif kind == "plotly_chart":
            out.append(Block("figure", json.loads(el.plotly_chart.spec)))
            config = config or json.loads(el.plotly_chart.config or "{}")
        elif kind in ("dataframe", "table"):
            proto = getattr(el, kind)
            data = proto.arrow_data.data or (proto.lazy_data.initial_chunk.data
                                             if kind == "dataframe" else b"")
            if data:
                out.append(Block("table", _table(data)))
        elif kind == "metric":
            out.append(Block("metric", (el.metric.label, el.metric.body, el.metric.delta)))
        elif kind == "alert":
            out.append(Block("alert", el.alert.body, _ALERTS.get(el.alert.format, "info")))
    return out, config


def _settings() -> dict:
    view = st.session_state.get(VIEW, {})
    return {k: plain(st.session_state[k] if k in st.session_state else default)
            for k, (default, *_) in view.items()}


def offer(page, elements: dict):
    """The sidebar's "Download this view as an offline handout (HTML)" button (app.py, after
    the page ran); the file is built only when the button is clicked."""
    title = getattr(page, "title", "") or "I-OBS"
    link, settings = view_url(), {"page": title, **_settings()}

    def make() -> str:
        body, config = blocks(elements)
        return handout_html(body, title=f"{title} — I-OBS, interactively", link=link,
                            settings=settings, figure_config=config)

    st.session_state[KEY] = make
    name = st.session_state.get(PAGE, "") or "home"
    st.sidebar.download_button(
        "Download this view as an offline handout (HTML)", make, file_name=f"iobs-{name}.html",
        mime="text/html", key="handout_download", icon=":material/download:",
        on_click="ignore", width="stretch",
        help="One HTML file with this view's text, figures (animations included), tables, "
             "settings and link; it opens without a network or a server.")


def pages() -> list[str]:
    """The page names ``headless`` accepts: ``home`` and each file in ``pages/``."""
    return ["home", *sorted(p.stem for p in (ROOT / "pages").glob("*.py"))]


def headless(page: str, query: str = "") -> tuple[str, list[str]]:
    """Run ``page`` of app.py with AppTest, its widgets set from ``query`` (a link's query
    string), and return (the handout the button would give, the errors the page shows).

    Raises ValueError for an unknown page, a malformed query, a key that is not a setting
    of the page, or a value the page does not accept.
    """
    from streamlit.testing.v1 import AppTest

    if page not in pages():
        raise ValueError(f"PAGE must be one of {', '.join(pages())}; got {page!r}")
    try:
        params = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=True) \
            if query else {}
    except ValueError:
        raise ValueError(f"--query must look like 'key=value&key=value'; got {query!r}") \
            from None
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=HEADLESS_TIMEOUT_S)
    for k, v in params.items():
        at.query_params[k] = v if len(v) > 1 else v[0]
    if page != "home":
        at.switch_page(f"pages/{page}.py")
    at.run()
    if at.exception:
        raise RuntimeError(f"the {page} page raised: {at.exception[0].message}")
    view = at.session_state[VIEW]
    for k, v in params.items():
        if k not in view:
            raise ValueError(f"--query key {k!r} is not a setting of the {page} page; its "
                             f"settings: {', '.join(sorted(view))}")
        default, to_url, extremes = view[k]
        kept = at.query_params.get(k)   # Streamlit drops a value it cannot use (and defaults)
        enc = to_url(default)
        if kept is None and v != (enc if isinstance(enc, list) else [enc]):
            lo, hi = to_url(extremes[0]), to_url(extremes[-1])
            allowed = f"any of {', '.join(hi)}" if isinstance(hi, list) else f"{lo} to {hi}"
            raise ValueError(f"--query {k}={'&'.join(v)} is not a value the {page} page "
                             f"accepts ({allowed})")
    return at.session_state[KEY](), [e.value for e in at.error]


def main(argv=None) -> int:
    """``python -m ui.handout PAGE QUERY OUT``: write the handout; one line and exit code 2
    on bad input."""
    page, query, out = [*(sys.argv[1:] if argv is None else argv), "", "", ""][:3]
    # AppTest's driver thread has no script context; Streamlit logs that as a warning
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(
        logging.ERROR)
    t0 = time.perf_counter()
    try:
        text, errors = headless(page, query)
        Path(out).write_text(text, encoding="utf-8")
    except ValueError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    except OSError as exc:
        sys.stderr.write(f"error: cannot write {out}: {exc.strerror}\n")
        return 2
    except RuntimeError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 1
    for e in errors:
        sys.stderr.write(f"note: the page shows an error: {e.splitlines()[0]}\n")
    size = len(text.encode("utf-8"))
    sys.stdout.write(f"wrote {out}: {page} page, {size / 1e6:.2f} MB, "
                     f"{time.perf_counter() - t0:.1f} s\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
