"""The batched engine against the single-problem driver, iterate by iterate.

:func:`iobs.research.engine.advance` runs the solvers' own step functions on a
:class:`~iobs.research.engine.GramBatch`; every iterate of every problem must equal the one
:func:`iobs.driver.iterate` produces for that problem alone (up to rounding: Gram-form
products instead of X then X^T).
"""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import iobs
from iobs.driver import iterate
from iobs.models import damping_lambda, make_model
from iobs.research.engine import BATCHED, GramBatch, advance, newton_map

STEPS = 12


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _problems(d, ns, k_star, seed):
    return [iobs.make_problem("gaussian", d=d, n=n, k_star=k_star, noise=0.05, seed=seed + i)
            for i, n in enumerate(ns)]


def _batch(probs, method, damping):
    """The batch model, step sizes and starts the driver would use for these problems."""
    d = probs[0].d
    H = np.stack([p.X.T @ p.X / p.n for p in probs])
    b = np.stack([p.X.T @ p.y / p.n for p in probs])
    second = iobs.METHODS[method].second_order
    lam = np.array([damping_lambda(damping, np.diagonal(Hi)) for Hi in H])   # as the model's
    N, q, h = np.zeros_like(H), np.zeros_like(b), np.ones_like(b)
    for i, p in enumerate(probs):
        nm = newton_map(p.X.T.copy(), p.y, H[i], b[i], lam[i]) if second else None
        if nm is not None:
            Ni, q[i], h[i] = nm
            N[i] = np.eye(d) if Ni is None else Ni
    eta = np.array([[1.0 if second else 1.0 / make_model(p, 0.0).lipschitz()] for p in probs])
    return GramBatch(H, b, lam, N=N, q=q, h=h), eta


def _engine_iterates(probs, method, k, damping, theta0):
    model, eta = _batch(probs, method, damping)
    seen = []
    advance(iobs.METHODS[method].step, model, theta0, k=np.full(len(probs), k), eta=eta,
            steps=STEPS, observe=lambda blk, prev, rows, t0: (seen.append(blk.copy()),
                                                               np.zeros(blk.shape[:2], bool))[1])
    return np.concatenate(seen)                                            # (STEPS, B, d)


def _driver_iterates(prob, method, k, damping, theta0):
    gen = iterate(prob, method, k=k, damping=damping, theta0=theta0, xp=np)
    out = [next(gen).theta for _ in range(STEPS + 1)][1:]
    gen.close()
    return np.array(out)                                                    # (STEPS, d)


@pytest.mark.parametrize("method", BATCHED)
@pytest.mark.parametrize("ns, damping", [((60, 80, 120), 0.0),       # n >= d: exact Newton
                                         ((20, 35, 50), 1e-3)])      # n < d: damped, Woodbury
def test_engine_iterates_equal_the_driver_iterate_by_iterate(method, ns, damping):
    d, k = 50, 6
    if damping == 0.0 and min(ns) < d:
        pytest.skip("undamped Newton needs n >= d")
    probs = _problems(d, ns, 5, seed=7)
    rng = np.random.default_rng(0)
    theta0 = np.where(rng.random((len(probs), d)) < 0.1, rng.standard_normal((len(probs), d)),
                      0.0)
    got = _engine_iterates(probs, method, k, damping, theta0)
    for i, p in enumerate(probs):
        ref = _driver_iterates(p, method, k, damping, theta0[i])
        np.testing.assert_array_equal(got[:, i] != 0, ref != 0, err_msg=f"{method} {i}")
        np.testing.assert_allclose(got[:, i], ref, rtol=1e-7, atol=1e-9,
                                   err_msg=f"{method} problem {i}")


def test_a_problem_that_stops_leaves_the_batch_and_the_others_go_on():
    probs = _problems(30, (60, 60, 60), 3, seed=1)
    model, eta = _batch(probs, "iht", 0.0)
    last = {}

    def observe(blk, prev, rows, t0):
        for r in rows:
            last[r] = t0 + len(blk) - 1
        done = np.zeros(blk.shape[:2], bool)
        done[:, rows == 1] = t0 >= 3                    # problem 1 stops at step 3 or later
        return done

    advance(iobs.METHODS["iht"].step, model, np.zeros((3, 30)), k=np.full(3, 3), eta=eta,
            steps=20, observe=observe)
    assert last[0] == last[2] == 20 and 3 <= last[1] < 20
