"""Numerical helpers behind the app's lessons: properties and small exact references."""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

import iobs
from iobs.research import lessons


def test_h_metric_projection_never_costs_more_than_euclidean():
    rng = np.random.default_rng(0)
    for _ in range(20):
        H = lessons.small_hessian(3, rng.uniform(-0.9, 0.9), rng.uniform(1, 50))
        g = lessons.projection_geometry(H, rng.normal(size=3), int(rng.integers(1, 3)))
        assert g["q_hmetric"] <= g["q_euclid"] + 1e-12


def test_identity_hessian_projections_agree():
    g = lessons.projection_geometry(np.eye(2), np.array([0.8, 1.0]), 1)
    assert g["agree"]
    np.testing.assert_allclose(g["euclid"], g["hmetric"])


def test_default_2d_lesson_point_disagrees():
    """The page's default shows the two rules keeping different coordinates."""
    g = lessons.projection_geometry(lessons.small_hessian(2, 0.5, 10.0), np.array([0.8, 1.0]))
    assert not g["agree"]
    assert g["level_hmetric"].shape == (2, 181)


def _brute(H, z, k):
    best = np.inf
    for Q in itertools.combinations(range(z.size), k):
        mask = np.zeros(z.size, bool)
        mask[list(Q)] = True
        S = ~mask
        theta = np.zeros_like(z)
        theta[mask] = z[mask] + np.linalg.solve(H[np.ix_(mask, mask)], H[np.ix_(mask, S)] @ z[S])
        v = theta - z
        best = min(best, 0.5 * v @ H @ v)
    return best


def test_rule_walk_orders_and_exact_matches_brute_force():
    rng = np.random.default_rng(3)
    H = lessons.small_hessian(8, 0.8, 20.0)
    z = rng.normal(size=8)
    walk = lessons.rule_walk(H, z, 3)
    inc = {r: walk[r]["increase"] for r in lessons.RULES}
    assert inc["exact"] == pytest.approx(_brute(H, z, 3))
    assert inc["exact"] <= min(inc.values()) + 1e-12
    assert inc["OBS saliency"] <= inc["magnitude"] + 1e-12 or \
        not np.array_equal(walk["OBS saliency"]["kept"], walk["magnitude"]["kept"])
    for r in lessons.RULES:
        assert walk[r]["kept"].sum() == 3
        assert not walk[r]["theta"][~walk[r]["kept"]].any()
    assert not walk["magnitude"]["compensated"] and walk["exact"]["compensated"]


def test_rule_walk_skips_exact_beyond_its_limit():
    H = lessons.small_hessian(24, 0.5, 4.0)
    walk = lessons.rule_walk(H, np.linspace(-1, 1, 24), 4)
    assert walk["exact"] is None and walk["greedy OBC"] is not None


def test_trace_metrics_on_exact_recovery():
    prob = iobs.make_problem("gaussian", d=32, n=64, k_star=4, seed=0)
    tr = iobs.run(prob, "iobs", k=4, steps=3)
    m = lessons.trace_metrics(tr, prob.theta_star)
    assert m["precision"] == 1.0 and m["recall"] == 1.0
    assert m["iterations to 1e-06"] == 1 and m["final relative error"] < 1e-10


def test_convergence_study_plain_data_and_vacuous_bounds():
    prob = iobs.make_problem("scaled", d=32, n=64, k_star=3, cond=100.0, seed=0)
    res = lessons.convergence_study(prob, ["iht", "topk-iobs"], k=6, eta=0.5, steps=10)
    iht, topk = res["runs"]["iht"], res["runs"]["topk-iobs"]
    assert iht["bound"]["vacuous"] and iht["bound"]["values"] is None and iht["bound"]["reason"]
    assert not topk["bound"]["vacuous"] and topk["bound"]["values"].shape == (11,)
    assert res["assumptions"]["A2"][0] is True
    assert 0 < topk["fitted"] < 1


def test_convergence_study_logcosh_start_near_truth():
    prob = iobs.make_problem("logcosh", d=32, n=256, k_star=4, seed=0)
    u = np.random.default_rng(1).normal(size=32)
    theta0 = prob.theta_star + 0.2 * u / np.linalg.norm(u)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = lessons.convergence_study(prob, ["iobs", "topk-iobs"], k=8, steps=4,
                                        theta0=theta0)
    assert res["e0"] == pytest.approx(0.2)
    for m in ("iobs", "topk-iobs"):
        b = res["runs"][m]["bound"]
        assert b["kind"] == "quadratic" and not b["vacuous"]
        e = res["runs"][m]["error"]
        assert np.all(e[1:3] <= b["values"][1:3] + 1e-12)        # the bound holds
    assert "Lemma 3" in res["runs"]["topk-iobs"]["bound"]["source"]
    assert "Theorem 1" in res["runs"]["iobs"]["bound"]["source"]
