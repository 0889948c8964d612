r"""Donoho–Tanner phase transitions: how often does each method recover :math:`\theta^\star`?

On a grid of undersampling :math:`\delta = n/d` and sparsity :math:`\rho = k^\star/n`, each
cell draws ``trials`` noiseless Gaussian problems (:func:`iobs.make_problem`, kind
``"gaussian"``: :math:`X_{ij}\sim N(0,1/n)`, :math:`N(0,1)` nonzeros) and runs every method
with :math:`k = k^\star`. A trial **succeeds** when, within ``steps`` iterations,

.. math:: \lVert\theta_t-\theta^\star\rVert/\lVert\theta^\star\rVert < \text{tol} = 10^{-4}
          \quad\text{and}\quad \mathrm{supp}\,T_{k^\star}(\theta_t) = \mathrm{supp}\,\theta^\star.

A trial stops early at success, when it has settled on a wrong support (the same wrong
top-:math:`k^\star` support twice, relative change per step below ``1e-6``), or on
numerical trouble (both count as failures).

Reproducible and splittable: the problem of trial ``t`` in the cell with sizes
``(d, n, k*)`` is seeded by ``SeedSequence(seed, spawn_key=(d, n, k*, t))`` only, so a
grid can be split over processes or machines, extended by new cells or more trials, and
the shared cells come out identical. Work goes to any :class:`concurrent.futures.Executor`
(default: a process pool on this machine; a Dask ``distributed`` client's
``client.get_executor()`` works unchanged), one picklable work unit per few cells of a row,
every row's units submitted at once (:func:`phase_rows` hands rows back as they complete).

Two ways to run a trial, with the same steps (:mod:`iobs.solvers`) and the same stop rule
(:func:`iobs.stopping.recovery_verdict`): :func:`solve_trial` runs one method through
:func:`iobs.driver.iterate` (the obviously correct reference, about 40 us of overhead per
step); the work units advance up to 16 trials at once with the batched engine
(:mod:`iobs.research.engine`), several times faster. Their arithmetic differs in rounding
only (products with :math:`X^\top X/n` instead of :math:`X` then :math:`X^\top`, :math:`L`
from :math:`XX^\top/n` when n < d, LU solves for inverses), and they take the same decisions
(``tests/test_phase_batched.py``).

Damping (named safeguard): for ``n < d`` the Hessian :math:`X^\top X/n` is singular, so the
Newton methods (``topk-iobs``, ``iobs``) add :math:`\lambda = 10^{-6}\cdot\mathrm{mean}\,
\mathrm{diag}\,H` (``damping``); for ``n >= d`` they take the exact Newton step. First-order
methods never get damping (it would bias HTP's and OMP's refits).

References: D. L. Donoho and J. Tanner, "Counting faces of randomly projected polytopes when
the projection radically lowers dimension", J. AMS 22 (2009); the rule of thumb
:math:`n \approx 2k\log(d/k)` (from the literature: e.g. Chandrasekaran, Recht, Parrilo,
Willsky, "The convex geometry of linear inverse problems", 2012).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, wait

import numpy as np

from iobs._validate import check_float, check_int
from iobs.research.executors import default_executor
from iobs.research.phase_map import PhaseMap, curve_50, grid_sizes, rule_of_thumb_delta
from iobs.research.trials import ORACLE, _run_cells, solve_trial, trial_problem
from iobs.solvers import METHODS

__all__ = ["DEFAULT_DAMPING", "ORACLE", "PhaseMap", "curve_50", "default_executor", "grid_sizes",
           "phase_rows", "phase_transition", "phase_trials", "rule_of_thumb_delta",
           "solve_trial", "trial_problem"]

DEFAULT_DAMPING = 1e-6  # relative to mean diag H; only for Newton methods when n < d


_PROBLEMS = 32   # problems per work unit: two batches (fewer, fuller units when trials are few)


def _units(deltas, rhos, trials):
    """Work units ``(row, columns)``, each about :data:`_PROBLEMS` problems of one row (a
    whole row when its cells hold fewer), the columns interleaved so that cheap and dear
    cells (small and large n) mix. The page's defaults: a row is two units of 5 cells x 6
    trials, or one unit of 10 cells x 1 trial when one more trial is asked for."""
    g = min(len(deltas), max(1, round(len(deltas) * trials / _PROBLEMS)))
    for i in range(len(rhos)):
        for part in range(g):
            yield i, list(range(part, len(deltas), g))


def _checked(methods, d, deltas, rhos, trials, seed, k, damping, steps, tol):
    methods = list(methods)
    if not methods:
        raise ValueError("methods must name at least one method; got an empty list")
    for m in methods:
        if m != ORACLE and m not in METHODS:
            raise ValueError(f"methods must be among {sorted([*METHODS, ORACLE])}; got {m!r}")
    d = check_int("d", d, 2, 10**6)
    deltas = [check_float("deltas", v, 0.0, 1.0, lo_open=True) for v in deltas]
    rhos = [check_float("rhos", v, 0.0, 1.0, lo_open=True) for v in rhos]
    if not deltas or not rhos:
        raise ValueError("deltas and rhos must each hold at least one value in (0, 1]")
    trials = check_int("trials", trials, 1, 10**6)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    k = None if k is None else check_float("k", k, 1.0, 1e6)
    damping = check_float("damping", damping, 0.0, 1e6)
    steps = check_int("steps", steps, 1, 10**6)
    tol = check_float("tol", tol, 0.0, 1.0, lo_open=True)
    return methods, d, deltas, rhos, trials, seed, k, damping, steps, tol


def phase_rows(methods: Sequence[str], d: int, deltas: Sequence[float],
               rhos: Sequence[float], trials: int, seed: int = 0, *, first: int = 0,
               executor: Executor | None = None,
               progress: Callable[[float], None] | None = None,
               stop: Callable[[], bool] | None = None, k: float | None = None,
               damping: float = DEFAULT_DAMPING, steps: int = 300,
               tol: float = 1e-4) -> Iterator[tuple[int, np.ndarray]]:
    r"""The outcomes of :func:`phase_trials` row by row, as rows complete: pairs ``(i,
    success)``, ``success`` bool of shape (len(methods), len(deltas), trials) for
    ``rhos[i]``. The work units of every row are submitted at once (the executor keeps its
    workers busy across rows); closing the generator, or ``stop``, cancels the units not yet
    started. Arguments as in :func:`phase_trials`, validated at the call.

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(1) as ex:
    ...     rows = dict(phase_rows(["iobs"], 16, [1.0], [0.5, 0.25], 2, executor=ex))
    >>> sorted(rows), rows[0].tolist()
    ([0, 1], [[[True, True]]])
    """
    args = _checked(methods, d, deltas, rhos, trials, seed, k, damping, steps, tol)
    return _rows(*args, check_int("first", first, 0, 10**9), executor, progress, stop)


def _rows(methods, d, deltas, rhos, trials, seed, k, damping, steps, tol, first, executor,
          progress, stop):
    own = executor is None
    ex = default_executor() if own else executor
    futures = {}
    units = [(i, cols, [grid_sizes(d, deltas[j], rhos[i]) for j in cols])
             for i, cols in _units(deltas, rhos, trials)]
    try:   # dear units (large k*: long runs, large refits) first, so that the last are short
        for i, cols, cells in sorted(units, key=lambda u: -sum(ks for _, ks in u[2])):
            f = ex.submit(_run_cells, methods, d, cells, trials, seed, k, damping, steps, tol,
                          first)
            futures[f] = (i, cols)
        rows = {i: np.zeros((len(methods), len(deltas), trials), dtype=bool)
                for i in range(len(rhos))}
        left = Counter(i for i, _ in futures.values())
        pending, total = set(futures), len(futures)
        while pending:
            if stop is not None and stop():
                return
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in done:
                i, cols = futures[f]
                rows[i][:, cols] = f.result()
                left[i] -= 1
            if done and progress is not None:
                progress(1.0 - len(pending) / total)
            for i in sorted(i for i in rows if left[i] == 0):
                yield i, rows.pop(i)
    finally:
        for f in futures:
            f.cancel()
        if own:
            ex.shutdown(wait=True, cancel_futures=True)


def phase_trials(methods: Sequence[str], d: int, deltas: Sequence[float],
                 rhos: Sequence[float], trials: int, seed: int = 0, *, first: int = 0,
                 executor: Executor | None = None,
                 progress: Callable[[float], None] | None = None,
                 stop: Callable[[], bool] | None = None, k: float | None = None,
                 damping: float = DEFAULT_DAMPING, steps: int = 300,
                 tol: float = 1e-4) -> np.ndarray:
    r"""Per-trial outcomes on a :math:`(\delta, \rho)` grid: what :func:`phase_transition`
    averages. A trial depends on ``(seed, d, n, k*, t)`` only, so the outcomes of trials
    ``first, ..., first + trials - 1`` extend those of trials ``0, ..., first - 1`` and a map
    with fewer trials is a prefix of one with more (the page caches them so).

    Parameters are those of :func:`phase_transition`, and

    first : int
        Index of the first trial (default 0).

    Returns
    -------
    ndarray of shape (len(methods), len(rhos), len(deltas), trials)
        1.0 where the trial recovered :math:`\theta^\star`, 0.0 where it did not, NaN in the
        rows not completed (``stop``).

    Examples
    --------
    >>> from concurrent.futures import ThreadPoolExecutor
    >>> with ThreadPoolExecutor(1) as ex:
    ...     out = phase_trials(["iobs"], 16, [1.0], [0.5], 2, executor=ex)
    >>> out.tolist()
    [[[[1.0, 1.0]]]]
    """
    args = _checked(methods, d, deltas, rhos, trials, seed, k, damping, steps, tol)
    first = check_int("first", first, 0, 10**9)
    methods, _, deltas, rhos, trials = args[:5]
    out = np.full((len(methods), len(rhos), len(deltas), trials), np.nan)
    for i, success in _rows(*args, first, executor, progress, stop):
        out[:, i] = success
    return out


def phase_transition(methods: Sequence[str], d: int, deltas: Sequence[float],
                     rhos: Sequence[float], trials: int, seed: int = 0, *,
                     executor: Executor | None = None,
                     progress: Callable[[float], None] | None = None,
                     stop: Callable[[], bool] | None = None, k: float | None = None,
                     damping: float = DEFAULT_DAMPING, steps: int = 300,
                     tol: float = 1e-4) -> PhaseMap:
    r"""Success fractions of each method on a :math:`(\delta, \rho)` grid (module docstring).

    Parameters
    ----------
    methods : sequence of str
        Keys of :data:`iobs.METHODS`, or ``"oracle"`` (least squares on the true support).
    d : int
        Dimension. Each cell has :math:`n, k^\star` from :func:`grid_sizes`.
    deltas, rhos : sequences of float in (0, 1]
        :math:`\delta = n/d` (columns) and :math:`\rho = k^\star/n` (rows).
    trials : int
        Problems per cell.
    executor : concurrent.futures.Executor, optional
        Where the work units (a few cells of one row each, every row's at once) run (default:
        :func:`default_executor`, shut down afterwards).
    progress : callable, optional
        Called with the finished fraction in [0, 1] after each work unit.
    stop : callable, optional
        Polled while waiting; when it returns True the units not started are cancelled
        and the map comes back with NaN in the rows not completed (``PhaseMap.complete``
        says which).
    k : float, optional
        Sparsity as a multiple of :math:`k^\star` (default: :math:`k = k^\star`).
    damping, steps, tol : float, int, float
        Newton damping when ``n < d``; iteration budget; success threshold.

    Returns
    -------
    PhaseMap
        ``{method: ndarray of shape (len(rhos), len(deltas))}``, ``.curves``, ``.config``.
    """
    methods, d, deltas, rhos, trials, seed, k, damping, steps, tol = _checked(
        methods, d, deltas, rhos, trials, seed, k, damping, steps, tol)
    config = {"methods": methods, "d": d, "trials": trials, "seed": seed, "k": k,
              "damping": damping, "steps": steps, "tol": tol}
    t0 = time.perf_counter()
    out = phase_trials(methods, d, deltas, rhos, trials, seed, executor=executor,
                       progress=progress, stop=stop, k=k, damping=damping, steps=steps,
                       tol=tol)
    config["seconds"] = time.perf_counter() - t0
    return PhaseMap({m: out[i].mean(-1) for i, m in enumerate(methods)}, deltas=deltas,
                    rhos=rhos, config=config)
