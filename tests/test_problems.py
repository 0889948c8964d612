"""Problem generators: seeding, shapes, objectives and their derivatives."""

import numpy as np
import pytest

import iobs
from iobs.problems import KINDS


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "digits"])
def test_same_seed_same_problem_and_different_seed_differs(kind):
    a = iobs.make_problem(kind, d=30, n=40, k_star=4, seed=3)
    b = iobs.make_problem(kind, d=30, n=40, k_star=4, seed=3)
    c = iobs.make_problem(kind, d=30, n=40, k_star=4, seed=4)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.y, b.y)
    assert not np.array_equal(a.X, c.X)
    assert np.count_nonzero(a.theta_star) == 4


@pytest.mark.parametrize("kind", KINDS)
def test_gradient_and_hessian_match_finite_differences(kind, rng):
    kw = {"d": None, "scale": 1, "canvas": 8} if kind == "digits" else {"d": 12}
    prob = iobs.make_problem(kind, n=30, k_star=3, seed=1, **kw)
    theta = prob.theta_star + 0.3 * rng.standard_normal(prob.d)
    eps = 1e-6
    e = np.eye(prob.d)
    g_fd = np.array([(prob.loss(theta + eps * e[i]) - prob.loss(theta - eps * e[i])) / (2 * eps)
                     for i in range(prob.d)])
    g = prob.grad(theta)
    assert np.allclose(g, g_fd, rtol=1e-5, atol=1e-6 * max(1.0, np.abs(g).max()))
    H_fd = np.array([(prob.grad(theta + eps * e[i]) - prob.grad(theta - eps * e[i])) / (2 * eps)
                     for i in range(prob.d)])
    H = prob.hessian(theta)
    assert np.allclose(H, H_fd, rtol=1e-4, atol=1e-6 * np.abs(H).max())
    v = rng.standard_normal(prob.d)
    assert np.allclose(prob.hvp(theta, v), H @ v)


def test_noiseless_least_squares_truth_has_zero_loss():
    prob = iobs.make_problem("gaussian", d=50, n=20, k_star=5, seed=0)
    assert prob.loss(prob.theta_star) == pytest.approx(0.0, abs=1e-28)
    assert np.allclose(prob.grad(prob.theta_star), 0.0)


def test_logcosh_truth_is_the_minimizer():
    prob = iobs.make_problem("logcosh", d=10, n=60, k_star=3, beta=2.0, seed=0)
    assert np.allclose(prob.grad(prob.theta_star), 0.0)
    assert np.linalg.eigvalsh(prob.hessian(prob.theta_star))[0] > 0


def test_scaled_kind_condition_number_grows_with_cond():
    k1 = np.linalg.cond(iobs.make_problem("scaled", d=40, n=400, k_star=4, cond=1.0).X)
    k2 = np.linalg.cond(iobs.make_problem("scaled", d=40, n=400, k_star=4, cond=1e4).X)
    assert k2 > 20 * k1


def test_correlated_kind_has_toeplitz_correlation():
    prob = iobs.make_problem("correlated", d=6, n=20000, k_star=2, rho=0.8, seed=0)
    C = np.corrcoef(prob.X.T)
    assert C[0, 1] == pytest.approx(0.8, abs=0.03)
    assert C[0, 2] == pytest.approx(0.64, abs=0.03)


def test_digits_truth_is_a_scaled_digit_image():
    prob = iobs.make_problem("digits", d=None, n=200, index=5, scale=2, canvas=20)
    assert prob.d == 400
    assert prob.theta_star.max() <= 255.0 and prob.theta_star.min() >= 0.0
    assert prob.k_star == np.count_nonzero(prob.theta_star)


@pytest.mark.parametrize("kwargs, name", [
    ({"kind": "nope"}, "kind"), ({"d": 0}, "d"), ({"n": 0}, "n"), ({"k_star": 0}, "k_star"),
    ({"k_star": 500, "d": 100}, "k_star"), ({"noise": -1.0}, "noise"),
    ({"noise": float("nan")}, "noise"), ({"kind": "correlated", "rho": 1.0}, "rho"),
    ({"kind": "scaled", "cond": 0.5}, "cond"), ({"seed": -1}, "seed"),
    ({"signal": "laplace"}, "signal"), ({"d": 2.5}, "d"),
])
def test_bad_arguments_raise_value_error_naming_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=rf"^{name} "):
        iobs.make_problem(**kwargs)


def test_huge_request_is_refused_before_allocating(monkeypatch):
    monkeypatch.setenv("IOBS_MEMORY_BUDGET", str(10**6))
    with pytest.raises(ValueError, match="memory budget"):
        iobs.make_problem("gaussian", d=1000, n=1000, k_star=5)
