"""``python -m iobs``: the solvers without a browser.

Subcommands: ``run`` (one problem, several methods, a table), ``fit`` (your own X and y,
a truth-free stop), ``reproduce`` (the paper's
synthetic figure), ``phase`` (phase-transition maps), ``train`` and ``prune`` (the tiny
transformers of the pruning demo), ``serve`` (the app on N worker processes behind nginx),
``lecture check`` (a lecture file), ``handout`` (a page as an offline HTML file).
Tables go to stdout, progress to stderr.
"""

from __future__ import annotations

import argparse

from iobs.cli import fit, handout, lecture, prune, research, run, serve
from iobs.cli.common import progress_bar, write_rows
from iobs.cli.run import EPILOG, summarize

__all__ = ["build_parser", "main", "progress_bar", "summarize", "write_rows"]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; every subcommand is registered here, explicitly (a module that
    fails to import fails loudly instead of dropping its command)."""
    p = argparse.ArgumentParser(
        prog="python -m iobs", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Sparse recovery with IHT and the Iterative Optimal Brain Surgeon (I-OBS):"
                    " minimize f(theta) subject to ||theta||_0 <= k. I-OBS replaces IHT's "
                    "gradient step by a Newton step and its top-k projection by an "
                    "H-metric (OBS) projection.", epilog=EPILOG)
    sub = p.add_subparsers(dest="command", required=True)
    run.add_run_parser(sub)
    fit.add_parser(sub)
    research.add_reproduce_parser(sub)
    research.add_phase_parser(sub)
    prune.add_train_parser(sub)
    prune.add_prune_parser(sub)
    serve.add_parser(sub)
    lecture.add_parser(sub)
    handout.add_parser(sub)
    return p


def main(argv=None) -> int:
    """Entry point: parse, run, and turn bad input into a one-line error (exit code 2)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except ValueError as exc:
        parser.exit(2, f"error: {exc}\n")
