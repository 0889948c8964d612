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

Two implementations of a trial: :func:`_solve` runs one method through
:func:`iobs.driver.iterate` (the obviously correct reference, about 40 us of overhead per
step); the work units run up to 16 trials at once in Gram form (below), about 6x faster (the
CLI's default grid, 4,800 runs: 1.7 s instead of 10.6 s on 2 cores, measured). Their
arithmetic differs from the reference's in rounding only (products with :math:`X^\top X/n`
instead of :math:`X` then :math:`X^\top`, :math:`L` from :math:`XX^\top/n` when n < d, LU
solves for inverses), and they take the same decisions: every trial of
``tests/test_phase_batched.py`` and of the default grid at several seeds agrees.

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

import contextlib
import csv
import io
import multiprocessing
import os
import sys
import time
import types
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait

import numpy as np

from iobs._validate import check_float, check_int
from iobs.driver import iterate
from iobs.research.engine import (_BATCH, _GRAM_MAX_D, _STALL, _STEPS, ORACLE, _gram_methods,
                              _gram_problems, _trial)
from iobs.models import SingularHessian, make_model
from iobs.solvers import METHODS

__all__ = ["DEFAULT_DAMPING", "ORACLE", "PhaseMap", "curve_50", "default_executor", "grid_sizes",
           "phase_rows", "phase_transition", "phase_trials", "rule_of_thumb_delta"]

DEFAULT_DAMPING = 1e-6  # relative to mean diag H; only for Newton methods when n < d
CSV_FIELDS = ("method", "d", "delta", "rho", "n", "k_star", "trials", "seed", "success")


def grid_sizes(d: int, delta: float, rho: float) -> tuple[int, int]:
    """Cell sizes ``(n, k*)``: :math:`n = \\max(1, \\mathrm{round}(\\delta d))`,
    :math:`k^\\star = \\mathrm{clip}(\\mathrm{round}(\\rho n), 1, \\min(n, d))`."""
    n = max(1, round(delta * d))
    return n, int(min(max(1, round(rho * n)), n, d))


def _top(theta, k_star):
    """Bool mask of supp T_{k*}(theta) (zeros never count as kept)."""
    mask = np.zeros(theta.shape, dtype=bool)
    mask[np.argpartition(-np.abs(theta), k_star - 1)[:k_star]] = True
    return mask & (theta != 0)


def _solve(prob, method, k, steps, tol, damping) -> bool:
    """One trial of one method: True on recovery within ``steps`` iterations."""
    ts, ks = prob.theta_star, prob.k_star
    truth, scale = ts != 0, tol * float(np.linalg.norm(ts))
    if method == ORACLE:
        theta = make_model(prob, 0.0).refit(truth, np.zeros(prob.d))
        return bool(np.linalg.norm(theta - ts) < scale and np.array_equal(_top(theta, ks),
                                                                            truth))
    gen = iterate(prob, method, k=k, damping=damping, xp=np)
    prev = prev_S = None
    try:
        for it in gen:
            th = it.theta
            S = _top(th, ks)
            right = np.array_equal(S, truth)
            if right and np.linalg.norm(th - ts) < scale:
                return True
            if it.t >= steps or not np.all(np.isfinite(th)):
                return False
            if prev is not None and not right and np.array_equal(S, prev_S) and (
                    np.linalg.norm(th - prev) <= _STALL * np.linalg.norm(th)):
                return False    # settled on a wrong support
            prev, prev_S = th, S
    except (SingularHessian, np.linalg.LinAlgError):
        return False
    finally:
        gen.close()
    return False


def _run_cell(methods, d, n, k_star, trials, seed, k, damping, steps, tol, first=0):
    """The reference cell, one trial and method at a time through :func:`_solve`: successes
    of trials ``first, ..., first + trials - 1``, shape (len(methods), trials), bool."""
    out = np.zeros((len(methods), trials), dtype=bool)
    for t in range(trials):
        prob, kk = _trial(d, n, k_star, seed, first + t, k)
        for i, m in enumerate(methods):
            second = m != ORACLE and METHODS[m].second_order
            out[i, t] = _solve(prob, m, kk, steps, tol, damping if (second and n < d) else 0.0)
    return out


def _run_cells(methods, d, cells, trials, seed, k, damping, steps, tol, first=0):
    """Work unit (top level, picklable): successes of shape (len(methods), len(cells),
    trials), bool, for trials ``first, ..., first + trials - 1`` of each cell ``(n, k*)``;
    :data:`_BATCH` problems at a time in Gram form (the reference above ``_GRAM_MAX_D``)."""
    out = np.zeros((len(methods), len(cells), trials), dtype=bool)
    fast = [i for i, m in enumerate(methods) if d <= _GRAM_MAX_D and (m in _STEPS or
                                                                     m == ORACLE)]
    rest = [i for i in range(len(methods)) if i not in fast]
    for j, (n, ks) in enumerate(cells if rest else []):
        out[rest, j] = _run_cell([methods[i] for i in rest], d, n, ks, trials, seed, k,
                                 damping, steps, tol, first)
    jobs = [(j, t) for j in range(len(cells)) for t in range(trials)]        # cell-major
    for s in range(0, len(jobs) if fast else 0, _BATCH):
        js, ts = (np.array(v) for v in zip(*jobs[s:s + _BATCH]))
        P = _gram_problems([methods[i] for i in fast], d,
                           [(*cells[j], first + t) for j, t in zip(js, ts)], seed, k,
                           damping, tol)
        out[np.array(fast)[:, None], js, ts] = _gram_methods([methods[i] for i in fast], P,
                                                             steps)
    return out


def _one_thread():
    """Worker initializer: one BLAS thread per worker (the pool supplies the parallelism),
    for NumPy's and SciPy's separate OpenBLAS builds alike, so both are loaded first."""
    import scipy.linalg  # noqa: F401
    from threadpoolctl import threadpool_limits
    threadpool_limits(1)


@contextlib.contextmanager
def _plain_main():
    """Hide the host's ``__main__`` (a Streamlit page, a notebook, an unguarded script) while
    worker processes start, so that ``spawn``/``forkserver`` children do not re-run it."""
    saved = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = saved


def default_executor(workers: int | None = None) -> ProcessPoolExecutor:
    """A process pool on this machine, its workers started now: ``forkserver`` where
    available (safe from a threaded server such as Streamlit), one BLAS thread each, and the
    host's ``__main__`` hidden from them (no ``if __name__ == "__main__"`` guard needed)."""
    n = workers or os.cpu_count() or 1
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    ex = ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_one_thread)
    with _plain_main():
        for f in [ex.submit(os.getpid) for _ in range(n)]:
            f.result()
    return ex


def curve_50(success: np.ndarray, rhos: Sequence[float]) -> np.ndarray:
    r"""The empirical 50% curve: per column (one :math:`\delta`), the :math:`\rho` where the
    success fraction, scanned upward in :math:`\rho` and interpolated linearly, first falls
    below 1/2. NaN where the column starts below 1/2, never falls below it, or has a
    missing cell before the crossing.

    >>> curve_50(np.array([[1.0], [0.6], [0.2]]), [0.1, 0.2, 0.3]).round(3).tolist()
    [0.225]
    """
    s = np.asarray(success, dtype=float)
    r = np.asarray(rhos, dtype=float)
    out = np.full(s.shape[1], np.nan)
    for j in range(s.shape[1]):
        col = s[:, j]
        below = np.flatnonzero(~(col >= 0.5))   # NaN counts as "not known to be >= 1/2"
        if below.size == 0 or below[0] == 0 or np.isnan(col[below[0]]):
            continue
        i = below[0]
        w = (col[i - 1] - 0.5) / (col[i - 1] - col[i])
        out[j] = r[i - 1] + w * (r[i] - r[i - 1])
    return out


def rule_of_thumb_delta(rhos) -> np.ndarray:
    r"""The rule of thumb :math:`n \approx 2k\log(d/k)` (from the literature) in phase
    coordinates: with :math:`k = \rho n`, :math:`n = \delta d`,
    :math:`\delta = e^{-1/(2\rho)}/\rho`. Only the branch :math:`0 < \rho \le 1/2`
    (:math:`k \le d/e`, where it rises from 0 to :math:`\delta = 2/e`) means anything;
    NaN above it.

    >>> rule_of_thumb_delta([0.25, 0.9]).round(4).tolist()
    [0.5413, nan]
    """
    rho = np.asarray(rhos, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((rho > 0) & (rho <= 0.5), np.exp(-0.5 / rho) / rho, np.nan)


class PhaseMap(dict):
    """``{method: success fraction, ndarray of shape (len(rhos), len(deltas))}`` (NaN where a
    cell was not computed) with the grid in ``deltas``, ``rhos``, the settings in
    ``config`` and the empirical 50% curves in :attr:`curves`."""

    def __init__(self, maps, *, deltas, rhos, config):
        super().__init__(maps)
        self.deltas = np.asarray(deltas, dtype=float)
        self.rhos = np.asarray(rhos, dtype=float)
        self.config = dict(config)

    @property
    def curves(self) -> dict[str, np.ndarray]:
        """``{method: rho at 50% success per delta}`` (see :func:`curve_50`)."""
        return {m: curve_50(a, self.rhos) for m, a in self.items()}

    @property
    def complete(self) -> np.ndarray:
        """Bool mask (len(rhos), len(deltas)) of the computed cells."""
        return np.all([~np.isnan(a) for a in self.values()], axis=0)

    def to_csv(self) -> str:
        """One row per method and cell: ``method, d, delta, rho, n, k_star, trials, seed,
        success`` (``success`` empty where not computed)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_FIELDS)
        d, trials, seed = self.config["d"], self.config["trials"], self.config["seed"]
        for m, a in self.items():
            for i, rho in enumerate(self.rhos):
                for j, delta in enumerate(self.deltas):
                    n, ks = grid_sizes(d, delta, rho)
                    s = "" if np.isnan(a[i, j]) else f"{a[i, j]:.6g}"
                    w.writerow([m, d, f"{delta:.6g}", f"{rho:.6g}", n, ks, trials, seed, s])
        return buf.getvalue()

    @classmethod
    def from_csv(cls, text: str) -> PhaseMap:
        """Parse :meth:`to_csv` output (plain ``csv`` and ``float``: no code is run)."""
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows or set(CSV_FIELDS) - set(rows[0]):
            raise ValueError(f"a phase map CSV needs the columns {', '.join(CSV_FIELDS)}")
        try:
            deltas = sorted({float(r["delta"]) for r in rows})
            rhos = sorted({float(r["rho"]) for r in rows})
            d, trials, seed = (int(rows[0][c]) for c in ("d", "trials", "seed"))
            maps: dict[str, np.ndarray] = {}
            for r in rows:
                a = maps.setdefault(r["method"], np.full((len(rhos), len(deltas)), np.nan))
                v = float(r["success"]) if r["success"].strip() else np.nan
                if not (np.isnan(v) or 0.0 <= v <= 1.0):
                    raise ValueError(f"success must be in [0, 1]; got {v}")
                a[rhos.index(float(r["rho"])), deltas.index(float(r["delta"]))] = v
        except (TypeError, KeyError) as exc:
            raise ValueError(f"malformed phase map CSV: {exc}") from exc
        return cls(maps, deltas=deltas, rhos=rhos, config={"d": d, "trials": trials,
                                                           "seed": seed, "source": "csv"})


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
