"""The house rules, read from the source: no import cycle, each heavy dependency in its own
layer, pages that are only pages, files readable in one sitting.

Imports are read with ``ast`` (module level and inside functions alike), so a lazy import
counts: a cycle hidden in a function body is still a cycle for a reader.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted([*ROOT.glob("iobs/**/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("pages/*.py"),
                  ROOT / "app.py"])
MAX_LINES = 300      # a longer file says why in its first lines ("over 300 lines: ...")


def _module(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = list(rel.parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module(p): p for p in SOURCES}


def _imports(path: Path):
    """(name, level-resolved module, imported names, line) of every import in the file."""
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield a.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            yield base, [a.name for a in node.names], node.lineno


def _edges(path: Path) -> set[str]:
    """Project modules this file imports (``from pkg import mod`` counts as ``pkg.mod``)."""
    out = set()
    for base, names, _ in _imports(path):
        for name in names or [None]:
            full = f"{base}.{name}" if name else base
            target = full if full in MODULES else base
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target and target != _module(path):
                out.add(target)
    return out


def test_no_import_cycle_among_the_project_modules():
    graph = {m: _edges(p) for m, p in MODULES.items()}
    state, cycles = {}, []

    def visit(m, stack):
        state[m] = "open"
        for n in sorted(graph.get(m, ())):
            if state.get(n) == "open":
                cycles.append(" -> ".join([*stack[stack.index(n):], n]))
            elif n not in state:
                visit(n, [*stack, n])
        state[m] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


# (top-level package imported, the only places that may import it, why)
LAYERS = [
    ("cupy", ("iobs/backend.py",), "CuPy is detected once, in the backend"),
    ("cupyx", ("iobs/backend.py",), "CuPy is detected once, in the backend"),
    ("streamlit", ("ui/", "pages/", "app.py"), "the library runs without Streamlit"),
    ("torch", ("iobs/prune/",), "import iobs stays fast without torch"),
    ("sklearn", ("iobs/estimators.py", "iobs/problems.py", "iobs/prune/data.py",
                 "iobs/research/own_data.py", "ui/", "pages/"),
     "the estimators; problems and the ViT read the digits that ship with scikit-learn"),
    ("plotly", ("iobs/viz/", "ui/", "pages/", "app.py"), "figures are built in iobs.viz"),
]


@pytest.mark.parametrize("package, allowed, why", LAYERS, ids=[p for p, *_ in LAYERS])
def test_each_heavy_dependency_stays_in_its_layer(package, allowed, why):
    bad = [f"{p.relative_to(ROOT)}:{line}" for p in SOURCES
           for base, _, line in _imports(p) if base.split(".")[0] == package
           and not str(p.relative_to(ROOT)).startswith(allowed)]
    assert not bad, f"{package} imported outside {allowed} ({why}): {bad}"


def test_pages_folder_holds_only_the_pages_app_py_registers():
    registered = {elt.elts[0].value
                  for node in ast.walk(ast.parse((ROOT / "app.py").read_text()))
                  if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "PAGES"
                  for elt in node.value.elts}
    present = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert present == registered, f"not registered pages: {sorted(present - registered)}"


def test_pages_and_ui_use_only_public_library_names():
    bad = [f"{p.relative_to(ROOT)}:{line}: {base} {names}" for p in SOURCES
           if p.parts[-2] in ("pages", "ui") or p.name == "app.py"
           for base, names, line in _imports(p) if base.startswith("iobs")
           and (any(n.startswith("_") for n in names)
                or any(part.startswith("_") for part in base.split(".")))]
    assert not bad, "private library names imported by the app:\n" + "\n".join(bad)


def test_source_files_are_readable_in_one_sitting_or_say_why():
    long = []
    for p in SOURCES:
        lines = p.read_text().splitlines()
        if len(lines) > MAX_LINES and not any("over 300 lines" in t.lower() for t in lines[:12]):
            long.append(f"{p.relative_to(ROOT)} ({len(lines)} lines)")
    assert not long, "files over 300 lines without a reason at the top: " + ", ".join(long)
