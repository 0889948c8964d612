"""Packaging: the wheel carries iobs only (with the bundled checkpoints) and installs into a
fresh environment where ``iobs.fit`` runs; requirement pins agree with pyproject.toml."""

import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    subprocess.run([sys.executable, "-c", "import setuptools"]).returncode != 0,
    reason="setuptools is needed to build the wheel offline")


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _reqs(name):
    lines = (ROOT / name).read_text().splitlines()
    return [s.strip() for s in lines if s.strip() and not s.startswith(("#", "-r"))]


def _key(req):
    return re.split(r"[<>=\[ ]", req, maxsplit=1)[0].lower()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """Build from a copy of the sources (no build/ or egg-info left in the checkout)."""
    src, out = tmp_path_factory.mktemp("src"), tmp_path_factory.mktemp("dist")
    for f in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / f, src / f)
    shutil.copytree(ROOT / "iobs", src / "iobs",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for d in ("pages", "ui", "tests", "benchmarks"):         # present, must stay out
        (src / d).mkdir()
        (src / d / "__init__.py").write_text("")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-index",
                    "--no-build-isolation", "-q", "-w", str(out), str(src)], check=True,
                   capture_output=True, timeout=120)
    (whl,) = out.glob("iobs-*.whl")
    return whl


def test_wheel_carries_iobs_only_with_checkpoints(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert tops == {"iobs"}
    for must in ("iobs/__init__.py", "iobs/fit.py", "iobs/stopping.py", "iobs/estimators.py",
                 "iobs/theory/bounds.py", "iobs/prune/checkpoints/manifest.json",
                 "iobs/prune/checkpoints/gpt.pt", "iobs/lecture/iobs.toml"):
        assert must in names, must
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA")))
    import iobs
    assert f"Version: {iobs.__version__}".encode() in meta


def test_wheel_installs_and_fits_from_another_folder(wheel, tmp_path):
    env = tmp_path / "venv"
    venv.create(env, system_site_packages=True, with_pip=False)
    py = env / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True,
                   timeout=120)
    code = ("import numpy as np, iobs; rng = np.random.default_rng(0); "
            "X = rng.standard_normal((60, 12)); y = 2 * X[:, 3] - X[:, 8] + 1; "
            "r = iobs.fit(X, y, k=2); assert r.converged and r.support.sum() == 2; "
            "assert 'site-packages' in iobs.__file__, iobs.__file__; print(iobs.__version__)")
    out = subprocess.run([str(py), "-c", code], cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    import iobs
    assert out.stdout.strip() == iobs.__version__


def test_requirements_agree_with_pyproject():
    proj = _pyproject()["project"]
    pins = {_key(r): r for r in proj["dependencies"]}
    for extra in ("app", "prune", "dist", "sklearn", "dev"):
        pins.update({_key(r): r for r in proj["optional-dependencies"][extra]})
    app = _reqs("requirements.txt")
    assert {_key(r) for r in app} == {"numpy", "scipy", "scikit-learn", "streamlit", "plotly",
                                      "torch", "threadpoolctl", "dask",
                                      "markdown-it-py", "mdit-py-plugins", "latex2mathml"}
    assert "torch==2.13.0" in app
    for r in app + _reqs("requirements-dev.txt"):
        assert pins[_key(r)] == r, (r, pins[_key(r)])
    dev = {_key(r) for r in _reqs("requirements-dev.txt")}
    assert {"pytest", "hypothesis", "playwright", "ruff"} <= dev
    assert not dev & {_key(r) for r in app}
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert "requirements-dev.txt" in (ROOT / ".ci" / "run").read_text()
