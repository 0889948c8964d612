"""Solvers and the run loop: identities from PAPER.md and clean stops."""

import dataclasses
import warnings

import numpy as np
import pytest

import iobs
from iobs.models import LeastSquares, Smooth
from iobs.problems import Problem

NEWTON = ["topk-iobs", "iobs", "iobs-ws", "iobs-obc", "iobs-exact", "iobs-diag"]


def _isotropic_problem(c=2.5, n=40, d=12, k_star=3, seed=0):
    """Least squares with H = X^T X / n = c I exactly (orthogonal columns)."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, d)))
    X = np.sqrt(n * c) * Q
    theta = np.zeros(d)
    theta[rng.choice(d, k_star, replace=False)] = rng.standard_normal(k_star)
    y = X @ theta + 0.3 * rng.standard_normal(n)       # noisy: iterations are not trivial
    return Problem("gaussian", X, y, theta, k_star)


@pytest.mark.parametrize("method", NEWTON)
def test_every_iobs_variant_equals_iht_when_h_is_a_multiple_of_identity(method, backend_name):
    c = 2.5
    prob = _isotropic_problem(c)
    start = np.random.default_rng(1).standard_normal(prob.d)
    ref = iobs.run(prob, "iht", k=5, steps=6, eta=0.7 / c, theta0=start, backend=backend_name)
    got = iobs.run(prob, method, k=5, steps=6, eta=0.7, theta0=start, backend=backend_name)
    assert np.allclose(got.x, ref.x, atol=1e-10)


def test_exact_iobs_on_a_quadratic_with_unit_step_converges_in_one_step():
    prob = iobs.make_problem("correlated", d=14, n=60, k_star=3, rho=0.9, seed=2)
    tr = iobs.run(prob, "iobs-exact", k=3, steps=3)
    assert tr.rel_error[1] < 1e-10
    assert tr.error[0] > 0.1


def test_exact_iobs_one_step_is_the_best_subset_fit_with_noise():
    prob = iobs.make_problem("gaussian", d=10, n=30, k_star=3, noise=0.5, seed=4)
    tr = iobs.run(prob, "iobs-exact", k=3, steps=1)
    import itertools
    best = min(
        (np.linalg.lstsq(prob.X[:, list(S)], prob.y, rcond=None)[1][0], S)
        for S in itertools.combinations(range(10), 3))
    assert tuple(np.flatnonzero(tr.support[1])) == best[1]
    assert 2 * prob.n * tr.loss[1] == pytest.approx(best[0], rel=1e-8)


@pytest.mark.parametrize("kind", ["gaussian", "correlated", "logcosh"])
def test_iht_objective_does_not_increase_with_step_at_most_one_over_l(kind):
    prob = iobs.make_problem(kind, d=80, n=60, k_star=5, noise=0.1, seed=3)
    tr = iobs.run(prob, "iht", k=8, steps=150)   # default eta = 1/L
    assert np.all(np.diff(tr.loss) <= 1e-12 * tr.loss[0])


@pytest.mark.parametrize("method", ["iht", "htp", "omp", "topk-iobs", "iobs", "iobs-ws",
                                    "iobs-obc", "iobs-diag"])
def test_noiseless_well_conditioned_gaussian_every_method_recovers_the_support(method, xp,
                                                                                backend_name):
    prob = iobs.make_problem("gaussian", d=128, n=256, k_star=8, seed=5)
    tr = iobs.run(prob, method, k=8, steps=200, backend=backend_name)
    assert np.array_equal(tr.support[-1], prob.theta_star != 0)
    assert tr.rel_error[-1] < 1e-6
    assert tr.stopped is None


def test_exact_method_recovers_the_support_on_a_small_problem():
    prob = iobs.make_problem("gaussian", d=16, n=40, k_star=3, seed=6)
    tr = iobs.run(prob, "iobs-exact", k=3, steps=2)
    assert np.array_equal(tr.support[-1], prob.theta_star != 0)


def test_iobs_reaches_1e6_in_fewer_iterations_than_iht_on_correlated_design():
    prob = iobs.make_problem("correlated", d=400, n=200, k_star=10, rho=0.9, seed=0)
    it_iobs = iobs.run(prob, "iobs", k=20, steps=300, damping=1e-3).steps_to(1e-6)
    it_iht = iobs.run(prob, "iht", k=20, steps=300).steps_to(1e-6)
    assert it_iobs is not None
    assert it_iht is None or it_iobs < it_iht


def test_singular_hessian_without_damping_stops_cleanly_with_a_reason():
    prob = iobs.make_problem("gaussian", d=100, n=50, k_star=5, seed=0)
    with pytest.warns(RuntimeWarning, match="damping"):
        tr = iobs.run(prob, "iobs", k=5, steps=10)
    assert tr.stopped.startswith("singular Hessian")
    assert np.isfinite(tr.x).all() and len(tr.error) == 1


def test_divergence_stops_cleanly_without_nan_iterates():
    prob = iobs.make_problem("gaussian", d=50, n=100, k_star=5, seed=0)
    with pytest.warns(RuntimeWarning, match="diverged"):
        tr = iobs.run(prob, "iht", k=50, steps=2000, eta=1e4)
    assert tr.stopped.startswith("diverged")
    assert np.isfinite(tr.x).all() and np.isfinite(tr.loss).all()


def test_tol_stops_early_and_records_the_reason():
    prob = iobs.make_problem("gaussian", d=64, n=128, k_star=4, seed=0)
    tr = iobs.run(prob, "iht", k=4, steps=500, tol=1e-6)
    assert tr.stopped.startswith("reached tol")
    assert tr.rel_error[-1] <= 1e-6 < tr.rel_error[-2]


def test_k_below_k_star_warns_that_exact_recovery_is_impossible():
    prob = iobs.make_problem("gaussian", d=64, n=128, k_star=8, seed=0)
    with pytest.warns(UserWarning, match="impossible"):
        iobs.run(prob, "iht", k=4, steps=3)


def test_stochastic_batches_are_seeded_and_make_progress():
    prob = iobs.make_problem("gaussian", d=40, n=400, k_star=4, seed=0)
    a = iobs.run(prob, "topk-iobs", k=4, steps=20, batch_size=100, seed=7)
    b = iobs.run(prob, "topk-iobs", k=4, steps=20, batch_size=100, seed=7)
    assert np.array_equal(a.x, b.x)
    assert a.error[-1] < 1e-3 * a.error[0]


@pytest.mark.parametrize("method", ["topk-iobs", "iobs", "iobs-ws", "iobs-diag", "htp", "omp"])
@pytest.mark.parametrize("n", [60, 200])
def test_matrix_free_least_squares_matches_the_dense_reference(method, n):
    prob = iobs.make_problem("correlated", d=120, n=n, k_star=6, rho=0.8, noise=0.01, seed=1)
    theta = np.zeros(prob.d)
    fast, dense = LeastSquares(prob, 1e-2), Smooth(prob, 1e-2)
    step = iobs.METHODS[method].step
    eta = 1.0 if method not in ("htp", "omp") else 1.0 / fast.lipschitz()
    for _ in range(5):
        a, b = step(theta, fast, 10, eta), step(theta, dense, 10, eta)
        assert np.allclose(a, b, rtol=1e-7, atol=1e-9)
        theta = a


def test_run_never_mutates_its_inputs():
    prob = iobs.make_problem("gaussian", d=30, n=60, k_star=3, seed=0)
    X, start = prob.X.copy(), np.ones(30)
    iobs.run(prob, "iobs", k=3, steps=3, theta0=start)
    assert np.array_equal(prob.X, X) and np.array_equal(start, np.ones(30))


@pytest.mark.parametrize("kwargs, name", [
    ({"method": "lasso"}, "method"), ({"k": 0}, "k"), ({"k": 31}, "k"), ({"steps": -1}, "steps"),
    ({"eta": 0.0}, "eta"), ({"eta": float("inf")}, "eta"), ({"damping": -1.0}, "damping"),
    ({"batch_size": 0}, "batch_size"), ({"batch_size": 61}, "batch_size"),
    ({"tol": -1.0}, "tol"), ({"theta0": np.ones(3)}, "theta0"),
    ({"theta0": np.full(30, np.nan)}, "theta0"), ({"backend": "jax"}, "backend"),
    ({"method": "iobs-exact"}, "d"),
])
def test_bad_run_arguments_raise_value_error_naming_the_parameter(kwargs, name):
    prob = iobs.make_problem("gaussian", d=30, n=60, k_star=3, seed=0)
    args = {"method": "iht", "k": 3, "steps": 2} | kwargs
    method = args.pop("method")
    with pytest.raises(ValueError, match=rf"^{name} "):
        iobs.run(prob, method, **args)


def test_float32_data_is_promoted_and_runs():
    prob = iobs.make_problem("gaussian", d=30, n=60, k_star=3, seed=0)
    p32 = dataclasses.replace(prob, X=prob.X.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tr = iobs.run(p32, "iobs", k=3, steps=3)
    assert np.isfinite(tr.x).all()


@pytest.mark.gpu
@pytest.mark.parametrize("method", ["iht", "topk-iobs", "iobs", "iobs-ws", "htp"])
def test_cupy_iterates_match_numpy_to_1e10(method):
    from iobs import backend

    if not backend.cupy_available():
        pytest.skip("CuPy with a usable GPU is not available on this machine")
    prob = iobs.make_problem("correlated", d=400, n=150, k_star=10, rho=0.7, seed=3)
    kw = dict(k=12, steps=15, damping=1e-3)
    a = iobs.run(prob, method, backend="numpy", **kw)
    b = iobs.run(prob, method, backend="cupy", **kw)
    scale = np.abs(a.x).max()
    assert np.allclose(b.x, a.x, rtol=1e-10, atol=1e-10 * scale)
