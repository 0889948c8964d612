"""``python -m iobs lecture check [FILE]``: check a lecture file without starting the app.

``add_parser(subparsers)`` registers the subcommand. A lecture that checks prints its title
and its scenes numbered with their pages (exit 0); a broken one prints one line on stderr
naming the scene and the key at fault (exit 2, through :func:`iobs.cli.main`).
"""

from __future__ import annotations

import argparse

__all__ = ["add_parser", "check"]

EPILOG = """\
examples:
  python -m iobs lecture check                 # the lecture that ships with the app
  python -m iobs lecture check my_course.toml  # your own (same format: see docs)
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add ``lecture check [FILE]`` to ``subparsers``."""
    p = subparsers.add_parser("lecture", help="check a lecture file (a tour of the app)",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
                              description="Lectures: TOML files of scenes (page, widget "
                                          "values, narration, what to look at).")
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("check", help="validate a lecture and list its scenes",
                       description="Validate a lecture (the shipped one without FILE) and "
                                   "print its scenes numbered with their pages.")
    c.add_argument("file", nargs="?", help="a lecture .toml (default: the shipped lecture)")
    c.set_defaults(func=check)
    return p


def check(args) -> int:
    """Load and check the lecture; print the outline. A broken file raises LectureError (a
    ValueError: one line on stderr, exit 2)."""
    from iobs import lecture

    lec = lecture.load(args.file) if args.file else lecture.shipped()
    pages = {s.page for s in lec.scenes}
    print(f"{lec.title}: {len(lec)} scenes over {len(pages)} pages ({lec.source})")
    for line in lec.outline():
        print(f"  {line}")
    return 0
