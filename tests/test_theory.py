"""Bounds: valid where their assumptions hold, vacuous (not drawn) where they fail."""

import numpy as np
import pytest

import iobs
from iobs import theory


def _near_truth(prob, radius, seed=0):
    v = np.random.default_rng(seed).standard_normal(prob.d)
    return prob.theta_star + radius * v / np.linalg.norm(v)


WELL = dict(d=20, n=2000, k_star=3, seed=1)   # kappa ~ 1.2: the linear factors are < 1


@pytest.mark.parametrize("method, k, eta, damping", [
    ("iht", 19, None, 0.0), ("iht", 18, 0.9, 0.0),
    ("topk-iobs", 10, 0.5, 0.0), ("topk-iobs", 10, 1.0, 0.5),
    ("iobs-exact", 16, 0.8, 0.0), ("iobs-exact", 16, 1.0, 0.05),
    ("iobs-diag", 12, 0.8, 0.0),
])
def test_linear_bounds_lie_above_the_measured_error(method, k, eta, damping):
    prob = iobs.make_problem("gaussian", **WELL)
    start = _near_truth(prob, 2.0)
    if eta is not None and method == "iht":
        eta = eta / theory.constants(prob, k).L
    b = theory.bound(method, prob, k=k, eta=eta, steps=30, damping=damping,
                     e0=float(np.linalg.norm(start - prob.theta_star)))
    assert not b.vacuous, b.reason
    tr = iobs.run(prob, method, k=k, steps=30, eta=eta, damping=damping, theta0=start)
    assert np.all(tr.error <= b.values[: len(tr.error)] * (1 + 1e-9) + 1e-12)
    assert b.source.startswith(("derived here", "from the paper"))


@pytest.mark.parametrize("method, source", [("topk-iobs", "from the paper, Lemma 3"),
                                            ("iobs-exact", "from the paper, Theorem 1")])
def test_paper_local_quadratic_bounds_hold_on_logcosh_started_near_the_truth(method, source):
    prob = iobs.make_problem("logcosh", d=16, n=400, k_star=3, beta=2.0, seed=0)
    A = theory.assumptions(prob, 4)
    assert all(A[a][0] for a in ("A1", "A2", "A3", "A4"))
    c = theory.constants(prob, 4)
    assert c.kind["mu"] == c.kind["M"] == "certified bound" and c.M > 0
    probe = theory.bound(method, prob, k=4, steps=1)
    radius = 0.3 / probe.factor
    start = _near_truth(prob, radius)
    b = theory.bound(method, prob, k=4, steps=6, e0=radius)
    assert not b.vacuous and b.kind == "quadratic" and b.source == source
    tr = iobs.run(prob, method, k=4, steps=6, theta0=start)
    assert np.all(tr.error <= b.values + 1e-15)
    assert tr.error[2] < 1e-6 * tr.error[0]            # quadratic convergence, visibly


def test_quadratic_bound_from_far_away_is_reported_as_local_not_drawn():
    prob = iobs.make_problem("logcosh", d=16, n=400, k_star=3, beta=2.0, seed=0)
    b = theory.bound("topk-iobs", prob, k=4, steps=5, e0=1e6)
    assert b.vacuous and b.values is None and "local" in b.reason


def test_a2_fails_when_n_below_d_and_the_bound_says_why():
    prob = iobs.make_problem("gaussian", d=200, n=100, k_star=5, seed=0)
    A = theory.assumptions(prob, 10)
    assert A["A2"][0] is False and "n = 100 < d = 200" in A["A2"][1]
    b = theory.bound("iobs", prob, k=10, steps=5)
    assert b.vacuous and b.values is None and "A2" in b.reason


def test_noise_breaks_a1_and_no_curve_is_drawn():
    prob = iobs.make_problem("gaussian", d=20, n=200, k_star=3, noise=0.1, seed=0)
    b = theory.bound("iht", prob, k=5, steps=5)
    assert theory.assumptions(prob)["A1"][0] is False
    assert b.vacuous and b.values is None


def test_ill_conditioned_iht_bound_is_vacuous_with_its_factor():
    prob = iobs.make_problem("scaled", d=50, n=500, k_star=3, cond=1e4, seed=0)
    b = theory.bound("iht", prob, k=6, steps=5)
    assert b.vacuous and b.factor >= 1 and "vacuous" in b.reason


def test_reference_methods_and_stochastic_runs_get_no_curve():
    prob = iobs.make_problem("gaussian", **WELL)
    assert theory.bound("omp", prob, k=3).values is None
    assert theory.bound("topk-iobs", prob, k=3, batch_size=10).values is None


def test_topk_factor_endpoints_and_theorem1_forms():
    assert theory.topk_factor(100, 100, 10) == 1.0
    assert theory.topk_factor(100, 10, 10) == 2.0
    paper = theory.theorem1_factor(4.0, 1.0, 1.0, 100, 20, 10)
    tight = theory.theorem1_factor(4.0, 1.0, 1.0, 100, 20, 10, form="tight")
    assert tight < paper
    assert theory.theorem1_factor(4.0, 1.0, 1.0, 100, 100, 10) == np.inf


def test_quadratic_bound_recursion_matches_closed_form():
    vals = theory.quadratic_bound(0.1, 2.0, 4)
    e = [0.1]
    for _ in range(4):
        e.append(2.0 * e[-1] ** 2)
    assert np.allclose(vals, e)


def test_fitted_rate_recovers_a_geometric_rate():
    assert theory.fitted_rate(3.0 * 0.5 ** np.arange(30)) == pytest.approx(0.5)


def test_bound_rejects_bad_arguments():
    prob = iobs.make_problem("gaussian", **WELL)
    with pytest.raises(ValueError, match="^k "):
        theory.bound("iht", prob, k=0)
    with pytest.raises(ValueError, match="^form "):
        theory.bound("iht", prob, k=3, form="loose")
