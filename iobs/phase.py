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
``client.get_executor()`` works unchanged), one picklable work unit per cell.

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
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Executor, ProcessPoolExecutor, wait

import numpy as np

from iobs._validate import check_float, check_int
from iobs.driver import iterate
from iobs.models import SingularHessian, make_model
from iobs.problems import make_problem
from iobs.solvers import METHODS

__all__ = ["DEFAULT_DAMPING", "ORACLE", "PhaseMap", "curve_50", "default_executor", "grid_sizes",
           "phase_transition", "rule_of_thumb_delta"]

DEFAULT_DAMPING = 1e-6  # relative to mean diag H; only for Newton methods when n < d
ORACLE = "oracle"       # least squares on the true support: the ceiling of every method
_STALL = 1e-6           # relative change per step that counts as stuck (on a wrong support)
CSV_FIELDS = ("method", "d", "delta", "rho", "n", "k_star", "trials", "seed", "success")


def grid_sizes(d: int, delta: float, rho: float) -> tuple[int, int]:
    """Cell sizes ``(n, k*)``: :math:`n = \\max(1, \\mathrm{round}(\\delta d))`,
    :math:`k^\\star = \\mathrm{clip}(\\mathrm{round}(\\rho n), 1, \\min(n, d))`."""
    n = max(1, round(delta * d))
    return n, int(min(max(1, round(rho * n)), n, d))


def _trial_seed(seed: int, d: int, n: int, k_star: int, t: int) -> int:
    ss = np.random.SeedSequence(seed, spawn_key=(d, n, k_star, t))
    return int(ss.generate_state(1)[0])


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


def _run_cell(methods, d, n, k_star, trials, seed, k, damping, steps, tol):
    """Work unit (top level, picklable): successes of shape (len(methods), trials), bool."""
    out = np.zeros((len(methods), trials), dtype=bool)
    for t in range(trials):
        prob = make_problem("gaussian", d=d, n=n, k_star=k_star,
                            seed=_trial_seed(seed, d, n, k_star, t))
        kk = k_star if k is None else min(d, max(k_star, round(k * k_star)))
        for i, m in enumerate(methods):
            second = m != ORACLE and METHODS[m].second_order
            out[i, t] = _solve(prob, m, kk, steps, tol, damping if (second and n < d) else 0.0)
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
        Where the cells run (default: :func:`default_executor`, shut down afterwards).
    progress : callable, optional
        Called with the finished fraction in [0, 1] after each cell.
    stop : callable, optional
        Polled while waiting; when it returns True the pending cells are cancelled and
        the map comes back with NaN there (``PhaseMap.complete`` says which).
    k : float, optional
        Sparsity as a multiple of :math:`k^\star` (default: :math:`k = k^\star`).
    damping, steps, tol : float, int, float
        Newton damping when ``n < d``; iteration budget; success threshold.

    Returns
    -------
    PhaseMap
        ``{method: ndarray of shape (len(rhos), len(deltas))}``, ``.curves``, ``.config``.
    """
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
    config = {"methods": methods, "d": d, "trials": trials, "seed": seed, "k": k,
              "damping": damping, "steps": steps, "tol": tol}
    maps = {m: np.full((len(rhos), len(deltas)), np.nan) for m in methods}
    own = executor is None
    ex = default_executor() if own else executor
    t0 = time.perf_counter()
    futures = {}
    try:
        for i, rho in enumerate(rhos):
            for j, delta in enumerate(deltas):
                n, ks = grid_sizes(d, delta, rho)
                f = ex.submit(_run_cell, methods, d, n, ks, trials, seed, k, damping, steps, tol)
                futures[f] = (i, j)
        pending, total = set(futures), len(futures)
        while pending:
            if stop is not None and stop():
                break
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            for f in done:
                i, j = futures[f]
                ok = f.result()
                for m, row in zip(methods, ok):
                    maps[m][i, j] = row.mean()
            if done and progress is not None:
                progress(1.0 - len(pending) / total)
    finally:
        for f in futures:
            f.cancel()
        if own:
            ex.shutdown(wait=True, cancel_futures=True)
    config["seconds"] = time.perf_counter() - t0
    return PhaseMap(maps, deltas=deltas, rhos=rhos, config=config)
