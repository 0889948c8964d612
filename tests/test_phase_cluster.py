"""The Phase page on a Dask cluster: a server started with ``IOBS_DASK_SCHEDULER`` hands the
page's work to that scheduler; an unreachable one is an error message, not a traceback."""

from __future__ import annotations

import pytest

from iobs.research.executors import DASK_ENV, executor_from_environment
from tests.test_research_pages import PHASE, page

# other step counts than the other Phase tests: nothing of these maps is cached yet
GRID = {"ph_d": "16", "ph_nd": "2", "ph_nr": "2", "ph_trials": "1", "ph_steps": "37"}


@pytest.fixture(scope="module")
def scheduler():
    distributed = pytest.importorskip("distributed", reason="dask[distributed] not installed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        yield cluster.scheduler_address
        try:                      # the page's client (kept by the page for the server's life)
            distributed.Client.current().close()
        except ValueError:
            pass


def test_without_the_variable_the_work_stays_on_a_local_process_pool(monkeypatch):
    monkeypatch.delenv(DASK_ENV, raising=False)
    workers = executor_from_environment(1)
    try:
        assert workers.executor.submit(sum, [1, 2]).result() == 3
        assert workers.where == "1 process on this machine"
    finally:
        workers.close()


def test_the_phase_page_computes_on_the_named_cluster(monkeypatch, scheduler):
    monkeypatch.setenv(DASK_ENV, scheduler)
    at = page(PHASE, GRID)
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert f"Computed 2 × 2 cells on the Dask cluster at {scheduler} (1 workers)" in captions
    assert len(at.get("plotly_chart")) == 2


def test_an_unreachable_scheduler_is_an_error_that_names_it(monkeypatch):
    monkeypatch.setenv(DASK_ENV, "tcp://127.0.0.1:9")      # the discard port: nothing listens
    at = page(PHASE, {**GRID, "ph_steps": "38"})
    assert not at.exception
    assert at.error, [c.value for c in at.caption]
    assert DASK_ENV in at.error[0].value and "127.0.0.1:9" in at.error[0].value
