"""Fuzzing the library boundary: valid input never yields NaN/inf iterates unless the
trace says why; invalid input raises ValueError naming the parameter -- nothing else."""

import re
import warnings

import numpy as np
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import iobs

METHODS = [m for m in iobs.METHODS if m != "iobs-exact"]
NAMES = {"kind", "d", "n", "k_star", "noise", "seed", "signal", "rho", "cond", "beta", "k",
         "steps", "eta", "damping", "batch_size", "tol", "method", "theta0", "X", "y",
         "theta_star", "index", "scale", "canvas", "ridge", "backend"}

anything = st.one_of(st.integers(-5, 10**9), st.floats(allow_nan=True, allow_infinity=True),
                     st.none(), st.text(max_size=5), st.booleans())
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


def _names_a_parameter(exc: ValueError) -> bool:
    word = re.match(r"^([A-Za-z_]+)", str(exc))
    return bool(word) and word.group(1) in NAMES


@FUZZ
@given(kind=st.sampled_from(iobs.KINDS), d=st.integers(1, 60), n=st.integers(1, 60),
       k_star=st.integers(1, 60), noise=st.floats(0, 2), seed=st.integers(0, 2**31),
       method=st.sampled_from(METHODS), k=st.integers(1, 60), steps=st.integers(0, 15),
       eta=st.one_of(st.none(), st.floats(1e-3, 50)), damping=st.floats(0, 1),
       use_batch=st.booleans())
def test_valid_input_never_yields_nonfinite_iterates(kind, d, n, k_star, noise, seed, method,
                                                     k, steps, eta, damping, use_batch):
    kw = {"d": None, "scale": 1, "canvas": 8} if kind == "digits" else {"d": d}
    prob = iobs.make_problem(kind, n=n, k_star=min(k_star, d), noise=noise, seed=seed, **kw)
    k = min(k, prob.d)
    batch = max(1, n // 2) if use_batch else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = iobs.run(prob, method, k=k, steps=steps, eta=eta, damping=damping,
                      batch_size=batch, seed=seed)
    assert np.isfinite(tr.x).all() and np.isfinite(tr.loss).all()
    assert np.isfinite(tr.error).all() and np.all(np.diff(tr.seconds) >= 0)
    assert len(tr.error) == steps + 1 or tr.stopped


@FUZZ
@given(arg=st.sampled_from(["d", "n", "k_star", "noise", "seed", "rho", "cond", "beta",
                            "kind", "signal"]), value=anything)
@example(arg="d", value=32911542)   # over the memory budget: the message must name d
def test_invalid_problem_arguments_raise_value_error_naming_the_parameter(arg, value):
    kwargs = {"kind": "correlated" if arg == "rho" else "scaled" if arg == "cond" else
              "logcosh" if arg == "beta" else "gaussian", "d": 20, "n": 20, "k_star": 3}
    kwargs[arg] = value
    try:
        iobs.make_problem(**kwargs)
    except ValueError as exc:
        assert _names_a_parameter(exc), str(exc)


@FUZZ
@given(arg=st.sampled_from(["k", "steps", "eta", "damping", "batch_size", "tol", "seed",
                            "method", "backend"]), value=anything)
def test_invalid_run_arguments_raise_value_error_naming_the_parameter(arg, value):
    prob = iobs.make_problem("gaussian", d=20, n=30, k_star=3, seed=0)
    kwargs = {"k": 3, "steps": 2, arg: value}
    method = kwargs.pop("method", "iobs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tr = iobs.run(prob, method, **kwargs)
        except ValueError as exc:
            assert _names_a_parameter(exc), str(exc)
        else:
            assert np.isfinite(tr.x).all()


@FUZZ
@given(n=st.integers(0, 8), d=st.integers(0, 8), bad=st.sampled_from([None, np.nan, np.inf]),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_supplied_data_is_checked(n, d, bad, dtype):
    X = np.ones((n, d), dtype=dtype)
    y = np.ones(n, dtype=dtype)
    if bad is not None and X.size:
        X[0, 0] = bad
    try:
        prob = iobs.from_arrays(X, y)
    except ValueError as exc:
        assert str(exc).startswith(("X ", "y ")), str(exc)
        assert bad is not None or X.size == 0
    else:
        tr = iobs.run(prob, "iobs", k=1, steps=2, damping=0.1)
        assert np.isfinite(tr.x).all()


def test_memory_guard_refuses_before_allocating(monkeypatch):
    monkeypatch.setenv("IOBS_MEMORY_BUDGET", str(50 * 2**20))
    try:
        iobs.make_problem("gaussian", d=10**6, n=10**3, k_star=5)
    except ValueError as exc:
        assert "memory budget" in str(exc)
    else:
        raise AssertionError("a 8 GB request was not refused")
