"""Phase-transition maps: success criteria, seeding, splitting and executors."""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from iobs.cli.research import main as cli_main
from iobs.cli.research import parse_grid
from iobs.research.phase import (ORACLE, PhaseMap, curve_50, default_executor, grid_sizes,
                                 phase_transition, rule_of_thumb_delta)
from iobs.research.trials import _run_cells

D = 16
DELTAS = [0.25, 0.5, 0.75, 1.0]
RHOS = [0.1, 0.3, 0.6]
METHODS = ["iht", "topk-iobs", "iobs", "htp", "omp"]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Tiny matrix-vector steps: extra BLAS threads only spin on a shared machine."""
    with threadpool_limits(1):
        yield


def _inline(methods, deltas, rhos, trials=2, seed=0, **kw):
    """The whole grid in this process (one thread)."""
    with ThreadPoolExecutor(max_workers=1) as ex:
        return phase_transition(methods, D, deltas, rhos, trials, seed, executor=ex,
                                steps=60, **kw)


@pytest.fixture(scope="module")
def full_map():
    with threadpool_limits(1):
        return _inline(METHODS, DELTAS, RHOS)


def test_oracle_given_the_true_support_succeeds_in_every_cell():
    # least squares on the true support is exact whenever k* <= n, i.e. for every rho <= 1
    pm = _inline([ORACLE], [0.2, 0.5, 1.0], [0.1, 0.5, 1.0], trials=3)
    assert np.array_equal(pm[ORACLE], np.ones((3, 3)))


def test_newton_methods_recover_every_cell_with_n_at_least_d():
    # n >= d: the Newton point of a noiseless least-squares problem is theta* itself
    pm = _inline(["topk-iobs", "iobs"], [1.0], [0.1, 0.5, 0.9, 1.0], trials=3)
    for m in ("topk-iobs", "iobs"):
        assert np.all(pm[m] == 1.0), (m, pm[m])


def test_maps_have_the_documented_shape_and_range(full_map):
    for m in METHODS:
        a = full_map[m]
        assert a.shape == (len(RHOS), len(DELTAS))
        assert np.all((a >= 0) & (a <= 1))
        assert set(np.unique(a * 2)) <= {0.0, 1.0, 2.0}      # fractions of 2 trials
    assert full_map.complete.all()
    assert set(full_map.curves) == set(METHODS)


def test_cells_are_reproducible_by_seed(full_map):
    again = _inline(METHODS, DELTAS, RHOS)
    for m in METHODS:
        assert np.array_equal(full_map[m], again[m])
    other = _inline(METHODS, DELTAS, RHOS, seed=1)
    assert any(not np.array_equal(full_map[m], other[m]) for m in METHODS)


def test_grid_extends_cell_by_cell_and_trial_by_trial(full_map):
    part = _inline(METHODS, DELTAS[1:3], RHOS[:2])
    for m in METHODS:
        assert np.array_equal(part[m], full_map[m][:2, 1:3])
    n, ks = grid_sizes(D, 0.5, 0.3)
    four = _run_cells(METHODS, D, [(n, ks)], 4, 0, None, 1e-6, 60, 1e-4)
    two = _run_cells(METHODS, D, [(n, ks)], 2, 0, None, 1e-6, 60, 1e-4)
    assert np.array_equal(four[:, :, :2], two)


def test_splitting_the_grid_over_two_processes_gives_the_same_map(full_map):
    left, right = default_executor(1), default_executor(1)
    try:   # each half in its own worker process, both at once
        a = phase_transition(METHODS, D, DELTAS[:2], RHOS, 2, executor=left, steps=60)
        b = phase_transition(METHODS, D, DELTAS[2:], RHOS, 2, executor=right, steps=60)
    finally:
        left.shutdown()
        right.shutdown()
    for m in METHODS:
        assert np.array_equal(np.hstack([a[m], b[m]]), full_map[m])


def test_dask_local_cluster_executor_gives_the_same_map(full_map):
    distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        pm = phase_transition(METHODS, D, DELTAS, RHOS, 2, executor=client.get_executor(),
                              steps=60)
    for m in METHODS:
        assert np.array_equal(pm[m], full_map[m])


def test_stop_returns_the_finished_cells_and_nan_elsewhere(full_map):
    seen = []
    with ThreadPoolExecutor(max_workers=1) as ex:
        pm = phase_transition(METHODS, D, DELTAS, RHOS, 2, executor=ex, steps=60,
                              progress=seen.append, stop=lambda: len(seen) >= 1)
    done = pm.complete
    assert 1 <= done.sum() < done.size
    for m in METHODS:
        assert np.array_equal(pm[m][done], full_map[m][done])
        assert np.isnan(pm[m][~done]).all()
    assert seen == sorted(seen) and 0 < seen[-1] < 1


def test_curve_50_interpolates_the_first_drop_below_one_half():
    s = np.array([[1.0, 1.0, 0.2], [1.0, 0.6, 0.0], [0.0, 0.4, 0.0]])
    rho = [0.1, 0.2, 0.3]
    c = curve_50(s, rho)
    assert c[0] == pytest.approx(0.25)                 # 1.0 -> 0.0 between 0.2 and 0.3
    assert c[1] == pytest.approx(0.25)                 # 0.6 -> 0.4: halfway
    assert np.isnan(c[2])                              # below 1/2 from the start
    assert np.isnan(curve_50(np.ones((3, 1)), rho)[0])  # never falls below 1/2 on the grid


def test_rule_of_thumb_line_satisfies_n_equals_2k_log_d_over_k():
    d, rho = 1000, np.array([0.05, 0.1, 0.2, 0.4])
    delta = rule_of_thumb_delta(rho)
    n = delta * d
    k = rho * n
    assert np.allclose(n, 2 * k * np.log(d / k))
    assert np.isnan(rule_of_thumb_delta(0.6))            # k > d/e: the rule says nothing


def test_csv_round_trip_keeps_values_and_missing_cells(full_map):
    pm = PhaseMap({m: a.copy() for m, a in full_map.items()}, deltas=full_map.deltas,
                  rhos=full_map.rhos, config=full_map.config)
    pm["iht"][0, 0] = np.nan
    back = PhaseMap.from_csv(pm.to_csv())
    assert list(back) == list(pm)
    np.testing.assert_allclose(back.deltas, DELTAS)
    np.testing.assert_allclose(back.rhos, RHOS)
    for m in pm:
        np.testing.assert_allclose(back[m], pm[m], equal_nan=True)


@pytest.mark.parametrize("text", ["", "a,b\n1,2\n", "method,d,delta,rho,n,k_star,trials,"
                                  "seed,success\niht,16,0.5,0.1,8,1,2,0,__import__\n",
                                  "method,d,delta,rho,n,k_star,trials,seed,success\n"
                                  "iht,16,0.5,0.1,8,1,2,0,7\n"])
def test_malformed_csv_is_rejected_with_a_value_error(text):
    with pytest.raises(ValueError):
        PhaseMap.from_csv(text)


@pytest.mark.parametrize("kw, word", [({"methods": ["nope"]}, "methods"),
                                      ({"deltas": [0.0]}, "deltas"),
                                      ({"rhos": [1.5]}, "rhos"),
                                      ({"trials": 0}, "trials")])
def test_bad_arguments_name_the_parameter(kw, word):
    args = {"methods": ["iht"], "d": D, "deltas": [0.5], "rhos": [0.2], "trials": 1} | kw
    with pytest.raises(ValueError, match=word):
        phase_transition(**args, executor=ThreadPoolExecutor(1))


def test_cli_writes_a_map_the_page_can_load(tmp_path, capsys):
    out = tmp_path / "map.csv"
    assert cli_main(["phase", "--methods", "topk-iobs,omp", "--d", "12", "--deltas",
                     "0.5:1:2", "--rhos", "0.2,0.4", "--trials", "1", "--steps", "30",
                     "--workers", "1", "--out", str(out)]) == 0
    pm = PhaseMap.from_csv(out.read_text())
    assert list(pm) == ["topk-iobs", "omp"] and pm["omp"].shape == (2, 2)
    assert "wrote" in capsys.readouterr().out
    assert parse_grid("0.1:1:10")[-1] == 1.0 and math.isclose(parse_grid("0.1:1:10")[0], 0.1)
