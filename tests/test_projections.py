"""Projections: top-k, OBS saliency and correction, greedy OBC and exact search."""

import itertools

import numpy as np
import pytest

from iobs.backend import to_numpy
from iobs.projections import (exact_support, greedy_obc, hard_threshold, obs_correction,
                              obs_saliency, pruning_cost, top_k_mask)


def _spd(rng, d, cond=10.0):
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return Q @ np.diag(np.logspace(0, np.log10(cond), d)) @ Q.T


@pytest.mark.parametrize("k", [0, 1, 5, 19, 20])
def test_hard_threshold_keeps_exactly_the_k_largest(xp, rng, k):
    z = rng.standard_normal(20)
    out = to_numpy(hard_threshold(xp.asarray(z), k))
    assert np.count_nonzero(out) == k
    kept = np.flatnonzero(out)
    assert np.allclose(out[kept], z[kept])
    if 0 < k < 20:
        assert np.abs(z[kept]).min() >= np.abs(np.delete(z, kept)).max()


def test_hard_threshold_does_not_mutate_its_input(rng):
    z = rng.standard_normal(10)
    before = z.copy()
    hard_threshold(z, 3)
    assert np.array_equal(z, before)


def test_top_k_mask_rejects_k_out_of_range():
    with pytest.raises(ValueError, match="k must be in"):
        top_k_mask(np.ones(4), 5)


def test_one_obs_removal_equals_least_squares_refit_and_its_predicted_loss(rng):
    n, d = 40, 8
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    H = X.T @ X / n
    f = lambda th: 0.5 * np.mean((X @ th - y) ** 2)  # noqa: E731
    z = np.linalg.solve(H, X.T @ y / n)                     # unconstrained minimizer
    q = 3
    Q = np.ones(d, dtype=bool)
    Q[q] = False
    theta = obs_correction(z, H, Q)
    refit = np.zeros(d)
    refit[Q] = np.linalg.lstsq(X[:, Q], y, rcond=None)[0]
    assert np.allclose(theta, refit, atol=1e-10)
    Hinv = np.linalg.inv(H)
    predicted = z[q] ** 2 / (2 * Hinv[q, q])
    assert f(theta) - f(z) == pytest.approx(predicted, rel=1e-8)
    assert pruning_cost(z, H, Q) == pytest.approx(predicted, rel=1e-8)


def _brute_force(z, H, k):
    d = len(z)
    best = (np.inf, None)
    for keep in itertools.combinations(range(d), k):
        Q = np.zeros(d, dtype=bool)
        Q[list(keep)] = True
        best = min(best, (pruning_cost(z, H, Q), tuple(keep)), key=lambda t: t[0])
    return best


def test_exact_support_matches_brute_force(rng):
    d, k = 8, 3
    H = _spd(rng, d, cond=50)
    z = rng.standard_normal(d)
    theta, Q = exact_support(z, H, k)
    cost, keep = _brute_force(z, H, k)
    assert tuple(np.flatnonzero(Q)) == keep
    assert pruning_cost(z, H, Q) == pytest.approx(cost)
    assert np.allclose(theta, obs_correction(z, H, Q))


def test_saliency_and_greedy_obc_are_exact_for_one_removal(rng):
    d = 7
    H = _spd(rng, d, cond=30)
    z = rng.standard_normal(d)
    _, keep = _brute_force(z, H, d - 1)
    Hinv = np.linalg.inv(H)
    sal_keep = np.flatnonzero(top_k_mask(obs_saliency(z, np.diag(Hinv)), d - 1))
    theta, Q = greedy_obc(z, Hinv, d - 1)
    assert tuple(sal_keep) == keep
    assert tuple(np.flatnonzero(Q)) == keep
    assert np.allclose(theta, obs_correction(z, H, Q), atol=1e-10)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_all_rules_agree_with_brute_force_when_h_is_diagonal(rng, k):
    d = 7
    H = np.diag(rng.uniform(0.5, 5.0, d))
    z = rng.standard_normal(d)
    _, keep = _brute_force(z, H, k)
    Hinv = np.linalg.inv(H)
    assert tuple(np.flatnonzero(top_k_mask(obs_saliency(z, np.diag(Hinv)), k))) == keep
    assert tuple(np.flatnonzero(greedy_obc(z, Hinv, k)[1])) == keep
    assert tuple(np.flatnonzero(exact_support(z, H, k)[1])) == keep


def test_greedy_obc_loss_never_beats_exact(rng):
    d, k = 9, 4
    H = _spd(rng, d, cond=100)
    z = rng.standard_normal(d)
    _, Qg = greedy_obc(z, np.linalg.inv(H), k)
    _, Qe = exact_support(z, H, k)
    assert pruning_cost(z, H, Qe) <= pruning_cost(z, H, Qg) + 1e-12


def test_exact_support_refuses_large_d():
    with pytest.raises(ValueError, match="d must be <= 20"):
        exact_support(np.ones(21), np.eye(21), 3)
