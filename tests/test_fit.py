"""iobs.fit: a truth-free stop that lands where an oracle would, exact refits, validation."""

import math

import numpy as np
import pytest

import iobs
from iobs import stopping

CASES = [  # (kind, n, d, damping): n > d undamped, n < d damped
    ("gaussian", 400, 200, None), ("correlated", 400, 200, None),
    ("gaussian", 200, 400, 1e-3), ("correlated", 200, 400, 1e-3),
]


def _rel(coef, prob):
    return np.linalg.norm(coef - prob.theta_star) / np.linalg.norm(prob.theta_star)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind,n,d,damping", CASES)
def test_stops_by_itself_within_3_steps_of_the_oracle(kind, n, d, damping, seed):
    prob = iobs.make_problem(kind, d=d, n=n, k_star=10, rho=0.7, seed=seed)
    r = iobs.fit(prob.X, prob.y, k=10, damping=damping, fit_intercept=False)
    oracle = iobs.run(prob, "iobs-ws", k=10, steps=r.steps + 20, damping=damping or 0.0,
                      tol=1e-6).steps_to(1e-6)
    assert r.converged and r.stopped.startswith("converged")
    assert _rel(r.coef, prob) <= 1e-6
    assert oracle is not None and oracle <= r.steps <= oracle + 3
    assert r.loss.shape == (r.steps + 1,) and r.support.sum() <= 10


@pytest.mark.parametrize("kind,n,d,damping", CASES)
def test_intercept_is_recovered_exactly(kind, n, d, damping):
    prob = iobs.make_problem(kind, d=d, n=n, k_star=10, rho=0.7, seed=3)
    r = iobs.fit(prob.X + 5.0, prob.y - 2.0 + 5.0 * prob.theta_star.sum(), k=10,
                 damping=damping)
    assert r.converged and _rel(r.coef, prob) <= 1e-6
    assert r.intercept == pytest.approx(-2.0, abs=1e-6)


@pytest.mark.parametrize("fit_intercept", [False, True])
def test_noisy_coef_is_the_least_squares_fit_on_its_support(fit_intercept):
    prob = iobs.make_problem("correlated", d=100, n=300, k_star=8, noise=0.05, seed=4,
                             signal="sign")
    r = iobs.fit(prob.X, prob.y, k=8, fit_intercept=fit_intercept)
    assert r.converged
    assert (r.support == (prob.theta_star != 0)).all()          # the support was found
    A = prob.X[:, r.support]
    if fit_intercept:
        A = np.column_stack([A, np.ones(prob.n)])
    ls = np.linalg.lstsq(A, prob.y, rcond=None)[0]
    np.testing.assert_allclose(r.coef[r.support], ls[:8], rtol=0, atol=1e-8)
    if fit_intercept:
        assert r.intercept == pytest.approx(ls[8], abs=1e-8)
    assert r.loss[-1] == pytest.approx(0.5 * np.mean((A @ ls - prob.y) ** 2), rel=1e-10)


@pytest.mark.parametrize("method", ["iht", "htp", "omp", "topk-iobs", "iobs", "iobs-ws"])
def test_every_method_stops_and_reports_why(method):
    prob = iobs.make_problem("gaussian", d=100, n=200, k_star=5, seed=5)
    r = iobs.fit(prob.X, prob.y, k=5, method=method, max_steps=400)
    assert r.converged, r.stopped
    assert _rel(r.coef, prob) <= 1e-5
    assert r.method == method and r.k == 5 and r.seconds > 0
    assert r.config["eta"] is not None


def test_max_steps_is_a_stop_that_says_so():
    prob = iobs.make_problem("correlated", d=100, n=200, k_star=5, seed=6)
    r = iobs.fit(prob.X, prob.y, k=5, method="iht", max_steps=3)
    assert not r.converged and r.steps == 3 and "max_steps=3" in r.stopped
    assert r.loss.shape == (4,) and r.loss[-1] == r.loss.min()


def test_constant_columns_are_dropped_not_fatal():
    rng = np.random.default_rng(7)
    X = rng.standard_normal((60, 6))
    X[:, 2] = 3.0
    r = iobs.fit(X, X[:, 0] - X[:, 4] + 1.0, k=3)
    assert r.coef[2] == 0.0 and r.config["dead_columns"] == 1
    assert r.converged and abs(r.intercept - 1.0) < 1e-8


def test_singular_hessian_is_a_clean_stop_with_a_warning():
    X = np.random.default_rng(8).standard_normal((20, 50))   # n < d: H = X^T X / n singular
    with pytest.warns(RuntimeWarning, match="damping"):
        r = iobs.fit(X, X[:, 1], k=2, method="iobs", damping=0.0)
    assert not r.converged and "damping" in r.stopped and np.isfinite(r.coef).all()


def test_logistic_intercept_is_exact_and_loss_decreases():
    prob = iobs.make_problem("logistic", d=40, n=400, k_star=4, seed=9)
    r = iobs.fit(prob.X, prob.y, k=4, loss="logistic")
    assert r.converged, r.stopped
    m = prob.X @ r.coef + r.intercept
    assert np.mean(1.0 / (1.0 + np.exp(-m))) == pytest.approx(prob.y.mean(), abs=1e-10)
    assert np.all(np.diff(r.loss) <= 1e-12)                  # the monotone safeguard
    assert (r.support == (prob.theta_star != 0)).sum() >= 36


def test_logistic_offset_problem_matches_the_formula():
    """fit.py's offset problem relies on Problem's margin; check loss and gradient."""
    from dataclasses import fields, replace

    from iobs.fit import _Shifted
    prob = iobs.from_arrays(np.random.default_rng(10).standard_normal((30, 4)),
                            (np.arange(30) % 2).astype(float), loss="logistic", ridge=0.1)
    sh = replace(_Shifted(**{f.name: getattr(prob, f.name) for f in fields(prob)}), offset=0.7)
    th = np.array([0.3, -0.2, 0.0, 1.0])
    m = prob.X @ th + 0.7
    f = np.mean(np.logaddexp(0, m) - prob.y * m) + 0.05 * th @ th
    g = prob.X.T @ (1 / (1 + np.exp(-m)) - prob.y) / 30 + 0.1 * th
    assert sh.loss(th) == pytest.approx(f, rel=1e-12)
    np.testing.assert_allclose(sh.grad(th), g, rtol=1e-12)


@pytest.mark.parametrize("kwargs,match", [
    (dict(X=[[1.0, np.nan], [0.0, 1.0]]), "X must contain only finite"),
    (dict(X=[1.0, 2.0]), "X must have 2 dimension"),
    (dict(y=[1.0, 2.0, 3.0]), r"y must have shape \(4,\)"),
    (dict(y=[0.0, 1.0, np.inf, 1.0]), "y must contain only finite"),
    (dict(k=0), r"k must be in \[1, 2\]; got 0"),
    (dict(k=3), r"k must be in \[1, 2\]; got 3"),
    (dict(method="lasso"), "method must be one of"),
    (dict(loss="hinge"), "loss must be one of"),
    (dict(loss="logistic", y=[0.0, 1.0, 2.0, 1.0]), "y must hold binary labels 0 or 1"),
    (dict(loss="logistic", y=[1.0, 1.0, 1.0, 1.0]), "y must contain both labels"),
    (dict(tol=0.0), r"tol must be in \(0.0, 1.0\)"),
    (dict(max_steps=0), "max_steps must be in"),
])
def test_bad_input_raises_value_error_naming_it(kwargs, match):
    args = dict(X=[[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.5]], y=[0.0, 1.0, 1.0, 0.0],
                k=1)
    args.update(kwargs)
    X, y = args.pop("X"), args.pop("y")
    with pytest.raises(ValueError, match=match):
        iobs.fit(X, y, **args)


def test_inputs_are_not_mutated():
    prob = iobs.make_problem("gaussian", d=20, n=40, k_star=3, seed=11)
    X, y = prob.X.copy(), prob.y.copy()
    iobs.fit(prob.X, prob.y, k=3)
    assert (X == prob.X).all() and (y == prob.y).all()


def test_error_estimate_bounds_a_linear_sequence():
    """For theta_t = rho^t (geometric), rho/(1-rho) * |Delta_t| is exactly the distance to 0."""
    rho, t = 0.9, 30
    delta, delta_prev = rho ** t - rho ** (t + 1), rho ** (t - 1) - rho ** t
    est = stopping.error_estimate(delta, stopping.contraction_rate(delta, delta_prev))
    assert est == pytest.approx(rho ** (t + 1), rel=1e-9)
    assert stopping.error_estimate(1.0, 1.0) == math.inf


def test_change_rule_needs_a_steady_support():
    kw = dict(tol=1e-6, same_support_prev=True)
    assert not stopping.change_converged(0.0, 1.0, 1.0, same_support=False, **kw)
    assert stopping.change_converged(1e-12, None, 1.0, same_support=True, tol=1e-6,
                                     same_support_prev=False)
    assert not stopping.change_converged(1e-7, 1e-2, 1.0, same_support=True, tol=1e-6,
                                         same_support_prev=False)
