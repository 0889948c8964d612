"""Shared fixtures: the array backends every numerical test runs on; a private HOME."""

import atexit
import os
import shutil
import tempfile

import numpy as np
import pytest

from iobs import backend


def pytest_configure(config):
    """Streamlit keeps disk-cached results in ``~/.streamlit/cache`` (the Prune page's
    prunes always, every shared result under ``serve``): the tests, and the servers they
    start, get a fresh HOME so that they never read what a user's server or an earlier run
    kept there, and leave nothing behind."""
    home = tempfile.mkdtemp(prefix="iobs-tests-home-")
    os.environ["HOME"] = home
    atexit.register(shutil.rmtree, home, True)


BACKENDS = ["numpy", pytest.param("cupy", marks=pytest.mark.gpu)]


@pytest.fixture(params=BACKENDS)
def backend_name(request):
    """Each backend name; CuPy skips with a reason when no GPU is usable."""
    if request.param == "cupy" and not backend.cupy_available():
        pytest.skip("CuPy with a usable GPU is not available on this machine")
    return request.param


@pytest.fixture
def xp(backend_name):
    return backend.get_xp(backend_name)


@pytest.fixture
def rng():
    return np.random.default_rng(0)
