"""Streamlit internals live in ui/internals.py alone, and an upgrade that removes one fails
here with its name and the reason we use it (instead of an import error on every page)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PRIVATE = ("streamlit.runtime", "streamlit.web", "streamlit.elements.lib",
           "streamlit.proto", "streamlit.testing")


def test_every_streamlit_internal_we_use_is_still_there():
    from ui import internals

    problems = internals.check()
    assert not problems, "Streamlit internals changed:\n" + "\n".join(problems)


def test_only_ui_internals_imports_private_streamlit_modules():
    offenders = []
    for p in [*ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py",
              *ROOT.glob("iobs/**/*.py")]:
        if p.name == "internals.py" and p.parent.name == "ui":
            continue
        for node in ast.walk(ast.parse(p.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.startswith(PRIVATE) for n in names):
                offenders.append(f"{p.relative_to(ROOT)}:{node.lineno}")
    assert not offenders, f"private Streamlit modules imported outside ui/internals.py: " \
                          f"{offenders}"


def test_internals_degrade_to_nothing_outside_a_session():
    from ui import internals

    assert internals.current_session() is None            # no script is running here
    internals.attach_session(None, None)                  # no context: nothing happens
    internals.forget_initial_url_value("seed")            # no snapshot: nothing happens
    assert isinstance(internals.pages_directory_mode(), bool)
