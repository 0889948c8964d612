"""Streamlit internals live in ui/internals.py alone, and an upgrade that removes one fails
here with its name and the reason we use it (instead of an import error on every page)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ui import internals

ROOT = Path(__file__).resolve().parents[1]
# Streamlit's public API is ``streamlit`` (st.*), ``streamlit.testing.v1`` (tests only) and
# ``streamlit.components.v1``; everything below is private.
PRIVATE = ("streamlit.runtime", "streamlit.web", "streamlit.elements", "streamlit.proto",
           "streamlit.commands", "streamlit.delta_generator", "streamlit.errors")
APP_SOURCES = sorted([*ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"])


@pytest.mark.parametrize("internal", internals.INTERNALS,
                         ids=[f"{i.module}.{i.name}" for i in internals.INTERNALS])
def test_streamlit_internal_is_still_there(internal):
    assert internals._exists(internal), (
        f"Streamlit {internals.st.__version__} no longer has {internal.module}.{internal.name}"
        f", which ui/internals.py uses because {internal.why}. Find its replacement in the "
        "new Streamlit, update ui/internals.py and CHECKED.")


def test_internals_were_checked_against_the_installed_streamlit():
    assert internals.check() == [], "Streamlit internals changed:\n" + \
        "\n".join(internals.check())


def test_check_names_a_removed_internal(monkeypatch):
    gone = internals.Internal("streamlit.runtime.pages_manager", "PagesManager.no_such_flag",
                              "a test")
    monkeypatch.setattr(internals, "INTERNALS", (*internals.INTERNALS, gone))
    problems = internals.check()
    assert any("PagesManager.no_such_flag is gone (needed because a test)" in p
               for p in problems), problems


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from ((a.name, node.lineno) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, node.lineno
            yield from ((f"{node.module}.{a.name}", node.lineno) for a in node.names)


def test_only_ui_internals_imports_private_streamlit_modules():
    offenders = [f"{p.relative_to(ROOT)}:{line} imports {name}"
                 for p in APP_SOURCES if p != ROOT / "ui" / "internals.py"
                 for name, line in _imports(p) if name.startswith(PRIVATE)]
    assert not offenders, ("private Streamlit modules imported outside ui/internals.py "
                           "(put the use there, with its reason): " + "; ".join(offenders))


def test_ui_internals_imports_no_private_module_at_import_time():
    names = [name for name, _ in _imports(ROOT / "ui" / "internals.py")]
    assert not [n for n in names if n.startswith(PRIVATE)], \
        "ui/internals.py must import Streamlit internals lazily (through _get), so that an " \
        "upgrade that removes one degrades instead of breaking every page"


def test_internals_degrade_to_nothing_outside_a_session():
    assert internals.current_session() is None            # no script is running here
    internals.attach_session(None, None)                  # no context: nothing happens
    internals.forget_initial_url_value("seed")            # no snapshot: nothing happens
    assert isinstance(internals.pages_directory_mode(), bool)
