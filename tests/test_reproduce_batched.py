"""The batched paper experiment against the per-run loop through ``iobs.run``.

:func:`iobs.research.reproduce.reproduce_synthetic` advances all runs together; the slow, obviously
correct reference (``_reproduce_reference``) runs each run and method through the driver.
They must agree to 1e-10 relative to each array's scale: pointwise relative agreement is
impossible where a curve sits at the rounding floor (exact Newton reaches theta* to 1e-16,
and which noise-level entries top-k keeps there depends on the order of the sums).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from iobs import from_arrays, make_problem, run
from iobs.research import reproduce as experiments
from iobs.research.reproduce import (_pad, _reproduce_reference, _batched_runs, _stack,
                              _uniform_start, first_runs, reproduce_synthetic)

RTOL = 1e-10
QUANTITIES = ("loss_mean", "loss_std", "error_mean", "error_std", "theta_final")


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _close(actual, expected, what):
    scale = max(float(np.max(np.abs(expected))), np.finfo(float).tiny)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale, err_msg=what)


@pytest.mark.parametrize("prior, runs, steps, scaling, seed", [
    ("gaussian", 3, 120, "paper", 0),
    ("gaussian", 3, 30, "newton", 7),
    ("gaussian", 2, 60, "paper", 2**32 - 1),
    ("digits", 2, 50, "paper", 0),
    ("digits", 2, 50, "newton", 2**32 - 2),
])
def test_batched_experiment_equals_the_per_run_driver_loop(prior, runs, steps, scaling, seed):
    args = dict(prior=prior, runs=runs, steps=steps, scaling=scaling, seed=seed)
    fast, ref = reproduce_synthetic(**args), _reproduce_reference(**args)
    np.testing.assert_array_equal(fast["config"]["theta_star"], ref["config"]["theta_star"])
    assert ({k: v for k, v in fast["config"].items() if k != "theta_star"}
            == {k: v for k, v in ref["config"].items() if k != "theta_star"})
    for m in ("iht", "topk-iobs"):
        for q in QUANTITIES:
            assert fast[m][q].shape == ref[m][q].shape
            _close(fast[m][q], ref[m][q], f"{m} {q}")


def test_chunks_of_runs_give_the_same_result_and_report_progress(monkeypatch):
    args = dict(prior="gaussian", runs=5, steps=40, seed=11)
    whole = reproduce_synthetic(**args)
    monkeypatch.setattr(experiments, "_CHUNK_BYTES", 2 * 8 * 256 * 128)   # 2 runs a chunk
    seen = []
    chunked = reproduce_synthetic(**args, progress=seen.append)
    for m in ("iht", "topk-iobs"):
        for q in QUANTITIES:
            _close(chunked[m][q], whole[m][q], f"{m} {q}")
    assert len(seen) == 6 and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


def test_the_first_runs_of_a_larger_call_are_a_smaller_call():
    """The Reproduce page summarises fewer runs from the default view's result."""
    args = dict(prior="gaussian", steps=40, scaling="paper", seed=3)
    small, sub = reproduce_synthetic(runs=3, **args), first_runs(
        reproduce_synthetic(runs=5, **args), 3)
    np.testing.assert_array_equal(sub["config"]["theta_star"], small["config"]["theta_star"])
    assert sub["config"]["runs"] == 3 and sub["config"]["of_runs"] == 5
    for m in ("iht", "topk-iobs"):
        for q in QUANTITIES:
            _close(sub[m][q], small[m][q], f"{m} {q}")
    with pytest.raises(ValueError, match="runs"):
        first_runs(small, 4)


def _kernel_and_driver(probs, method, k, eta, steps):
    """The batched kernel and ``iobs.run`` on the same problems, starts and steps; ``eta``
    per run, in units of 1/L for k-IHT (a Newton fraction for Topk-I-OBS)."""
    setups = [(p, k, _uniform_start(np.random.default_rng(i), p.d), p.X.T @ p.X / p.n)
              for i, p in enumerate(probs)]
    batch, ks, L = _stack(setups)
    eta = np.array(eta) / (np.array(L) if method == "iht" else 1.0)
    loss, err, final, stop = _batched_runs(method, batch, ks, eta, steps)
    traces = []
    for (p, _, theta0, _), e in zip(setups, eta):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            traces.append(run(p, method, k=k, steps=steps, eta=float(e), theta0=theta0))
    for r, tr in enumerate(traces):
        assert stop[r] == tr.loss.size, (r, tr.stopped)
        _close(loss[r], _pad(2.0 * tr.loss, steps), f"loss of run {r}")
        _close(err[r], _pad(tr.error, steps), f"error of run {r}")
        _close(final[r], tr.x[-1], f"final iterate of run {r}")
    return stop, traces


@pytest.mark.parametrize("method, eta", [("iht", (60.0, 0.5, 1.0)),
                                         ("topk-iobs", (6.0, 0.5, 1.0))])
def test_a_diverging_run_stops_where_the_driver_stops_and_holds_its_last_value(method, eta):
    probs = [make_problem("gaussian", d=32, n=64, k_star=4, seed=s) for s in range(3)]
    stop, traces = _kernel_and_driver(probs, method, 8, eta, 80)
    assert stop[0] <= 80 and traces[0].stopped.startswith("diverged")
    assert list(stop[1:]) == [81, 81]


def test_a_singular_hessian_stops_topk_iobs_before_its_first_step():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((64, 32)) / 8.0
    X[:, 5] = 0.0                                # a dead column: H is singular
    ts = np.zeros(32)
    ts[[1, 9, 20]] = [1.0, -2.0, 0.5]
    probs = [from_arrays(X, X @ ts, ts), make_problem("gaussian", d=32, n=64, k_star=3,
                                                      seed=1)]
    stop, traces = _kernel_and_driver(probs, "topk-iobs", 6, (1.0, 1.0), 10)
    assert list(stop) == [1, 11] and traces[0].stopped.startswith("singular Hessian")
    stop, _ = _kernel_and_driver(probs, "iht", 6, (1.0, 1.0), 10)
    assert list(stop) == [11, 11]


def test_digit_runs_with_different_k_keep_each_runs_k_largest():
    res = reproduce_synthetic("digits", runs=2, steps=3, seed=1)
    k = [2 * int(np.count_nonzero(t)) for t in res["config"]["theta_star"]]
    assert k[0] != k[1]
    for m in ("iht", "topk-iobs"):
        assert [int(np.count_nonzero(t)) for t in res[m]["theta_final"]] == k
