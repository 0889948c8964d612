"""``python -m iobs handout``: one view of the app as an offline HTML file.

The page runs headless (Streamlit's AppTest, in ``python -m ui.handout`` from the app's
folder: Streamlit stays out of the library) with its widgets set from ``--query``, and the
file written is the one the app's "Download this view as an offline handout" button gives.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["add_parser", "main"]

ROOT = Path(__file__).resolve().parents[2]   # the checkout holding app.py, ui/ and pages/

EPILOG = """\
PAGE is home or a file name in pages/ without .py: iterates, convergence, projection, phase,
reproduce, data, prune. --query takes a link's query string (the app's "Copy a link to this
view"); keys that are not the page's settings and values it does not accept are refused.
example:
  python -m iobs handout iterates --query 'it_d=128&it_k=20&seed=3' --out iterates.html
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``handout`` subcommand to ``subparsers`` (``main`` as its ``func``)."""
    p = subparsers.add_parser(
        "handout", help="one page of the app as a self-contained offline HTML file",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run a page of the app headless and write its handout: text, figures "
                    "(animations included), tables, settings and link in one HTML file.")
    p.add_argument("page", help="home, iterates, convergence, projection, phase, ...")
    p.add_argument("--query", default="", help="the view's settings: 'key=value&key=value'")
    p.add_argument("--out", required=True, help="the HTML file to write")
    p.set_defaults(func=main)
    return p


def main(args) -> int:
    """Write the handout; bad input prints one line to stderr and returns 2."""
    if not (ROOT / "app.py").exists() or not (ROOT / "ui" / "handout.py").exists():
        sys.stderr.write(f"error: handout needs the app's source folder (app.py, ui/, pages/)"
                         f" next to iobs/; not found under {ROOT}\n")
        return 2
    out = os.path.abspath(args.out)   # the page runs from the app's folder
    return subprocess.run([sys.executable, "-m", "ui.handout", args.page, args.query, out],
                          cwd=ROOT).returncode
