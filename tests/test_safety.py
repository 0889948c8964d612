"""Static safety checks over the repository's Python files and the server config.

* Nothing a user supplies is unpickled or evaluated: no ``pickle``/``dill``/``marshal``/
  ``shelve``/``joblib``/``pandas.read_pickle`` loads and no ``eval``/``exec`` outside
  ``tests/``.
* Every ``torch.load`` passes ``weights_only=True`` and every ``np.load``
  ``allow_pickle=False`` (everywhere, tests included).
* ``.streamlit/config.toml`` serves on 127.0.0.1 with XSRF protection on, and the README
  says how to serve a LAN deliberately; no code starts a server on another address.

The checker resolves import aliases (``import pickle as pk``, ``from numpy import load``)
on the AST, so ``model.eval()`` is not a call of the builtin ``eval``.
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", "__pycache__", "test-output", "node_modules", "venv", ".venv", "build",
             "dist", "shared"}
# dotted name of a call -> why it is refused (outside tests/)
UNSAFE = {
    "eval": "eval() runs arbitrary code",
    "exec": "exec() runs arbitrary code",
    "pickle.load": "unpickling runs arbitrary code",
    "pickle.loads": "unpickling runs arbitrary code",
    "pickle.Unpickler": "unpickling runs arbitrary code",
    "_pickle.load": "unpickling runs arbitrary code",
    "_pickle.loads": "unpickling runs arbitrary code",
    "cloudpickle.load": "unpickling runs arbitrary code",
    "cloudpickle.loads": "unpickling runs arbitrary code",
    "dill.load": "unpickling runs arbitrary code",
    "dill.loads": "unpickling runs arbitrary code",
    "marshal.load": "unmarshalling code objects",
    "marshal.loads": "unmarshalling code objects",
    "shelve.open": "shelve unpickles its values",
    "joblib.load": "joblib unpickles",
    "pandas.read_pickle": "unpickling runs arbitrary code",
    "yaml.unsafe_load": "unsafe YAML constructs objects",
}
# dotted name -> (keyword, required constant): enforced everywhere, tests included
REQUIRED = {
    "torch.load": ("weights_only", True),
    "numpy.load": ("allow_pickle", False),
}


def python_files() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py")
                  if not SKIP_DIRS & set(p.relative_to(ROOT).parts[:-1]))


def _aliases(tree: ast.AST) -> dict[str, str]:
    """Local name -> dotted origin, from the file's imports."""
    out = {"np": "numpy", "pd": "pandas"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else \
                    a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for a in node.names:
                out[a.asname or a.name] = f"{node.module}.{a.name}"
    return out


def _dotted(func: ast.expr, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(func, ast.Attribute):
        parts.append(func.attr)
        func = func.value
    if not isinstance(func, ast.Name):
        return None
    parts.append(aliases.get(func.id, func.id))
    return ".".join(reversed(parts))


def findings(source: str, *, in_tests: bool = False) -> list[tuple[int, str, str]]:
    """(line, call, problem) for every unsafe call in ``source``."""
    tree = ast.parse(source)
    aliases = _aliases(tree)
    out = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func, aliases)
        if name is None:
            continue
        if name in ("eval", "exec") and not isinstance(node.func, ast.Name):
            continue                                   # model.eval(), not the builtin
        if name in UNSAFE and not in_tests:
            out.append((node.lineno, name, UNSAFE[name]))
        if name == "yaml.load" and not any(k.arg == "Loader" and "Safe" in ast.unparse(k.value)
                                           for k in node.keywords):
            out.append((node.lineno, name, "yaml.load without a SafeLoader"))
        if name in REQUIRED:
            kw, want = REQUIRED[name]
            got = [k.value for k in node.keywords if k.arg == kw]
            if not (got and isinstance(got[0], ast.Constant) and got[0].value is want):
                out.append((node.lineno, name, f"needs {kw}={want}"))
    return out


@pytest.mark.parametrize("code, expected", [
    ("import pickle\npickle.loads(b)", "pickle.loads"),
    ("import pickle as pk\npk.load(f)", "pickle.load"),
    ("from pickle import loads as l\nl(b)", "pickle.loads"),
    ("eval(user_text)", "eval"),
    ("exec(code)", "exec"),
    ("import torch\ntorch.load(p)", "torch.load"),
    ("import torch\ntorch.load(p, weights_only=False)", "torch.load"),
    ("import numpy as np\nnp.load(p)", "numpy.load"),
    ("from numpy import load\nload(p, allow_pickle=True)", "numpy.load"),
    ("import pandas as pd\npd.read_pickle(p)", "pandas.read_pickle"),
    ("import yaml\nyaml.load(s)", "yaml.load"),
])
def test_the_checker_finds_unsafe_calls(code, expected):
    assert [name for _, name, _ in findings(code)] == [expected]


@pytest.mark.parametrize("code", [
    "model.eval()",
    "self._eval(theta)",
    "import torch\ntorch.load(p, weights_only=True, map_location='cpu')",
    "import numpy as np\nnp.load(p, allow_pickle=False)",
    "import pickle\npickle.dumps(x)",
    "import yaml\nyaml.load(s, Loader=yaml.SafeLoader)",
])
def test_the_checker_accepts_safe_calls(code):
    assert findings(code) == []


def test_no_unpickling_or_eval_and_safe_loaders_everywhere():
    files = python_files()
    assert len(files) > 20, "the scan found too few files"
    bad = []
    for path in files:
        rel = path.relative_to(ROOT)
        for line, name, why in findings(path.read_text(), in_tests=rel.parts[0] == "tests"):
            bad.append(f"{rel}:{line}: {name}: {why}")
    assert not bad, bad


def test_server_config_binds_localhost_with_xsrf_protection():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config.get("server", {})
    assert server.get("address") == "127.0.0.1"
    assert server.get("enableXsrfProtection") is True
    assert server.get("enableCORS", True) is True      # CORS protection not switched off
    assert config.get("browser", {}).get("gatherUsageStats") is False


def test_the_readme_says_how_to_serve_a_lan_deliberately():
    text = (ROOT / "README.md").read_text()
    assert re.search(r"--server\.address\s+0\.0\.0\.0", text), "no LAN instructions"


def test_no_code_starts_a_server_on_a_public_address():
    bad = [f"{p.relative_to(ROOT)}" for p in python_files()
           if re.search(r"""["']0\.0\.0\.0["']|["']::["']""", p.read_text())
           and p.name != Path(__file__).name]
    assert not bad, bad
