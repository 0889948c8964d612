"""Shared fixtures: the array backends every numerical test runs on."""

import numpy as np
import pytest

from iobs import backend

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
