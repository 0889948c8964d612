"""The batched trials of the phase maps against the reference, one trial at a time.

``_run_cells`` (all trials of a few cells at once on the batched engine) must take exactly
the decisions of the reference (each trial and method through ``solve_trial`` and the
driver): the same success booleans, trial by trial, for every method the page offers.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import iobs.research.phase as phase
import iobs.research.trials as trials
from iobs.models import make_model
from iobs.research.engine import refit_rows
from iobs.research.phase import (ORACLE, _units, grid_sizes, phase_rows, phase_transition,
                                 phase_trials, solve_trial, trial_problem)
from iobs.research.trials import _damping, _run_cells
from iobs.problems import make_problem
from iobs.projections import top_k_mask

ALL = ["iht", "topk-iobs", "iobs", "htp", "omp", ORACLE]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def _run_cell(methods, d, n, k_star, trials, seed, k, damping, steps, tol, first=0):
    """The reference cell: each trial and method through :func:`solve_trial`."""
    out = np.zeros((len(methods), trials), dtype=bool)
    for t in range(trials):
        prob, kk = trial_problem(d, n, k_star, seed, first + t, k)
        for i, m in enumerate(methods):
            out[i, t] = solve_trial(prob, m, kk, steps, tol, _damping(m, n, d, damping))
    return out


def _both(methods, d, deltas, rhos, trials, seed=0, k=None, damping=1e-6, steps=100, first=0):
    """(batched, reference) outcomes of shape (len(methods), len(rhos), len(deltas), trials)."""
    fast, ref = [], []
    for rho in rhos:
        cells = [grid_sizes(d, delta, rho) for delta in deltas]
        fast.append(_run_cells(methods, d, cells, trials, seed, k, damping, steps, 1e-4, first))
        ref.append([_run_cell(methods, d, n, ks, trials, seed, k, damping, steps, 1e-4, first)
                    for n, ks in cells])
    return np.stack(fast, 1), np.stack([np.stack(r, 1) for r in ref], 1)


@pytest.mark.parametrize("d, trials, seed, steps, k, damping", [
    (24, 3, 0, 120, None, 1e-6),          # every method, n < d and n >= d
    (24, 2, 2**32 - 1, 5, None, 1e-6),    # the budget decides: stops at step 5 exactly
    (32, 2, 3, 80, 1.5, 1e-6),            # k > k*: supp T_k*(theta) cuts the iterate
    (20, 2, 4, 60, None, 0.0),            # no damping: no Newton point while n < d
])
def test_batched_trials_take_the_reference_decisions(d, trials, seed, steps, k, damping):
    deltas, rhos = [0.2, 0.45, 0.7, 1.0], [0.1, 0.3, 0.55, 0.8, 1.0]
    fast, ref = _both(ALL, d, deltas, rhos, trials, seed, k, damping, steps)
    assert ref.any() and not ref.all()                   # both outcomes occur
    for i, m in enumerate(ALL):
        np.testing.assert_array_equal(fast[i], ref[i], err_msg=m)


def test_batched_trials_match_on_rows_of_the_page_default_grid():
    # d = 100, 300 steps: where IHT runs its whole budget and Topk-I-OBS settles slowly
    deltas = np.linspace(0.1, 1.0, 10).round(4)
    fast, ref = _both(ALL[:5], 100, deltas, [0.25, 0.5, 0.7], 2, steps=300)
    assert ref[:, -1].sum() < ref[:, 0].sum()            # harder rows fail more often
    np.testing.assert_array_equal(fast, ref)


def test_outcomes_do_not_depend_on_the_batch_or_the_split_of_trials():
    cells = [grid_sizes(24, delta, 0.4) for delta in (0.3, 0.6, 1.0)]
    whole = _run_cells(ALL, 24, cells, 4, 0, None, 1e-6, 80, 1e-4)
    alone = np.stack([_run_cells(ALL, 24, [c], 4, 0, None, 1e-6, 80, 1e-4)[:, 0]
                      for c in cells], 1)
    split = np.concatenate([_run_cells(ALL, 24, cells, 1, 0, None, 1e-6, 80, 1e-4),
                            _run_cells(ALL, 24, cells, 3, 0, None, 1e-6, 80, 1e-4, 1)], -1)
    np.testing.assert_array_equal(whole, alone)
    np.testing.assert_array_equal(whole, split)


def test_methods_without_a_batched_step_and_large_d_use_the_reference(monkeypatch):
    n, ks = grid_sizes(16, 0.75, 0.3)
    methods = ["iobs-diag", "iht", ORACLE, "iobs-ws"]
    ref = _run_cell(methods, 16, n, ks, 3, 0, None, 1e-6, 40, 1e-4)
    np.testing.assert_array_equal(
        _run_cells(methods, 16, [(n, ks)], 3, 0, None, 1e-6, 40, 1e-4)[:, 0], ref)
    monkeypatch.setattr(trials, "_GRAM_MAX_D", 8)          # d = 16 is "large" now
    np.testing.assert_array_equal(
        _run_cells(methods, 16, [(n, ks)], 3, 0, None, 1e-6, 40, 1e-4)[:, 0], ref)


def test_phase_trials_extend_trial_by_trial_and_average_to_the_map():
    args = (["iht", "omp"], 16, [0.5, 1.0], [0.2, 0.5])
    with ThreadPoolExecutor(max_workers=1) as ex:
        four = phase_trials(*args, 4, executor=ex, steps=40)
        head = phase_trials(*args, 1, executor=ex, steps=40)
        tail = phase_trials(*args, 3, first=1, executor=ex, steps=40)
        pm = phase_transition(*args, 4, executor=ex, steps=40)
    assert four.shape == (2, 2, 2, 4) and set(np.unique(four)) <= {0.0, 1.0}
    np.testing.assert_array_equal(np.concatenate([head, tail], -1), four)
    for i, m in enumerate(args[0]):
        np.testing.assert_array_equal(pm[m], four[i].mean(-1))
    with pytest.raises(ValueError, match="first"):
        phase_trials(*args, 1, first=-1, executor=ThreadPoolExecutor(1))


@pytest.mark.parametrize("trials", [1, 2, 7])
def test_work_units_cover_each_cell_once_and_their_shape_changes_no_outcome(trials,
                                                                             monkeypatch):
    deltas, rhos = [0.25, 0.5, 0.75, 1.0], [0.2, 0.5]
    cells = sorted((i, j) for i, cols in _units(deltas, rhos, trials) for j in cols)
    assert cells == [(i, j) for i in range(len(rhos)) for j in range(len(deltas))]
    args = (["iht", "iobs", "htp", "omp"], 16, deltas, rhos, trials)
    with ThreadPoolExecutor(max_workers=1) as ex:
        fuller = phase_trials(*args, executor=ex, steps=40)
        monkeypatch.setattr(phase, "_PROBLEMS", 1)            # one cell per unit
        alone = phase_trials(*args, executor=ex, steps=40)
    assert len(list(_units(deltas, rhos, trials))) == len(cells)
    np.testing.assert_array_equal(fuller, alone)


def test_page_default_rows_are_two_units_or_one_for_a_single_new_trial():
    deltas, rhos = np.linspace(0.1, 1.0, 10), np.linspace(0.05, 0.8, 16)
    six, one = list(_units(deltas, rhos, 6)), list(_units(deltas, rhos, 1))
    assert len(six) == 32 and {len(cols) for _, cols in six} == {5}
    assert len(one) == 16 and {len(cols) for _, cols in one} == {10}


def test_phase_rows_yield_each_row_once_as_phase_trials_and_validate_at_the_call():
    args = (["iht", "htp"], 16, [0.5, 1.0], [0.2, 0.4, 0.6])
    with ThreadPoolExecutor(max_workers=1) as ex:
        full = phase_trials(*args, 2, executor=ex, steps=40)
        rows = list(phase_rows(*args, 2, executor=ex, steps=40))
        part = phase_rows(*args, 2, executor=ex, steps=40)
        at, first = next(part)
        part.close()                                    # cancels the units not started
        assert ex.submit(int, 7).result() == 7          # and leaves the executor usable
    assert sorted(i for i, _ in rows) == [0, 1, 2]
    for i, success in rows:
        assert success.dtype == bool and success.shape == (2, 2, 2)
        np.testing.assert_array_equal(success, full[:, i] == 1.0)
    np.testing.assert_array_equal(first, full[:, at] == 1.0)
    with pytest.raises(ValueError, match="trials"):     # before any work or pool starts
        phase_rows(*args, 0)


def test_top_k_mask_on_rows_is_top_k_mask_row_by_row_ties_and_nan_included():
    rng = np.random.default_rng(0)
    a = np.abs(rng.standard_normal((6, 12)))
    a[1, 4:] = 0.0                          # fewer nonzeros than k: zeros tie at the k-th
    a[2, [3, 7]] = a[2, 5]                  # an exact tie at the k-th value
    a[3, 2] = np.nan
    a[4] = 1.0                              # all tied
    k = np.array([3, 6, 4, 5, 12, 1])
    got = top_k_mask(a, k)
    for i in range(len(a)):
        np.testing.assert_array_equal(got[i], top_k_mask(a[i], int(k[i])), err_msg=str(i))


def test_refit_rows_is_the_least_squares_refit_on_each_support():
    probs = [make_problem("gaussian", d=20, n=n, k_star=3, seed=s)
             for s, n in enumerate((8, 15, 30, 12))]
    H = np.stack([p.X.T @ p.X / p.n for p in probs])
    b = np.stack([p.X.T @ p.y / p.n for p in probs])
    Q = np.zeros((4, 20), dtype=bool)
    for i, size in enumerate((5, 5, 9, 1)):               # two rows share a support size
        Q[i, np.random.default_rng(i).choice(20, size, replace=False)] = True
    got = refit_rows(H, b, Q, np.zeros(4))
    for i, p in enumerate(probs):
        np.testing.assert_allclose(got[i], make_model(p, 0.0).refit(Q[i], None),
                                   rtol=1e-9, atol=1e-12)
