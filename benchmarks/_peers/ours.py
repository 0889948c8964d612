"""Our solvers through ``iobs.run``: the I-OBS variants and the package's own baselines."""
from __future__ import annotations

import multiprocessing as mp
import time
import warnings
from dataclasses import dataclass

import numpy as np

# "ours": the best of these is the yardstick
IOBS_VARIANTS = ("iobs-ws", "topk-iobs", "iobs", "iobs-obc")
BASELINES = ("iht", "htp", "omp")                  # in iobs, but not I-OBS: reference rows only
MAX_STEPS = {"iobs-ws": 100, "iht": 1000, "htp": 100, "omp": None, "topk-iobs": 500, "iobs": 100,
             "iobs-obc": 50}  # None: k steps (OMP adds one atom per step)
TOL = 1e-6


def max_steps(method: str, k: int) -> int:
    """Step cap for ``method`` (``MAX_STEPS``; OMP stops after ``k`` atoms)."""
    return MAX_STEPS[method] or k


@dataclass(frozen=True)
class OurRun:
    """One ``iobs.run`` call: timings from its trace and the wall time of the whole call."""

    seconds_to_tol: float | None  # trace.seconds_to(TOL): set-up and steps
    wall: float                   # the whole iobs.run call (setup, steps, trace recording)
    steps: int
    first_step: float             # trace.seconds[1]: set-up (L, factorizations) + first step
    sec_per_step: float           # mean time of the later steps
    theta: np.ndarray
    stopped: str | None
    warnings: tuple[str, ...]     # class names of the warnings the run raised


def damping_for(method: str, n: int, d: int, damping: float) -> float:
    """The I-OBS family needs ``damping > 0`` when ``n < d`` (singular ``H``), except the
    working-set variant, whose block of H is regular while 3k <= n; IHT, HTP and
    OMP do not use ``H`` and run undamped (damping would bias HTP/OMP's refits)."""
    if method == "iobs-ws":    # its Hessian block is |W| <= 3k columns: regular while 3k <= n
        return 0.0
    return damping if method in IOBS_VARIANTS and n < d else 0.0


def run_ours(prob, method: str, k: int, *, steps: int, damping: float) -> OurRun:
    """``iobs.run(prob, method, k=k, steps=steps, tol=1e-6, damping=...)``, timed."""
    import iobs

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t0 = time.perf_counter()
        trace = iobs.run(prob, method, k=k, steps=steps, tol=TOL,
                         damping=damping_for(method, prob.n, prob.d, damping))
        wall = time.perf_counter() - t0
    secs = np.asarray(trace.seconds, dtype=float)  # (T+1,) cumulative, set-up included
    T = len(secs) - 1
    return OurRun(seconds_to_tol=trace.seconds_to(TOL), wall=wall, steps=T,
                  first_step=float(secs[min(T, 1)]),
                  sec_per_step=float(secs[-1] - secs[1]) / (T - 1) if T > 1 else float("nan"),
                  theta=np.asarray(trace.x[-1]), stopped=trace.stopped,
                  warnings=tuple(sorted({w.category.__name__ for w in caught})))


def _child(conn, prob, method, k, steps, damping):
    try:
        conn.send(run_ours(prob, method, k, steps=steps, damping=damping))
    except Exception as exc:  # sent back and raised by the parent
        conn.send(f"{type(exc).__name__}: {exc}")
    conn.close()


def run_ours_guarded(prob, method: str, k: int, *, steps: int, damping: float,
                     timeout: float) -> OurRun:
    """:func:`run_ours` in a forked child, stopped after ``timeout`` seconds.

    ``iobs.run`` cannot be interrupted, and one step of a slow method at d = 10,000 can take
    minutes. The child inherits the problem (no copy) and runs NumPy only; the timings are
    taken inside it. Raises ``TimeoutError`` when no result came back in time.
    """
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, prob, method, k, steps, damping))
    with warnings.catch_warnings():  # JAX (a peer) warns on fork; the child never uses it
        warnings.filterwarnings("ignore", message=".*fork.*")
        child.start()
    send.close()
    result = recv.recv() if recv.poll(timeout) else None
    if result is None:
        child.kill()
    child.join()
    if result is None:
        raise TimeoutError(f"no result within the {timeout:.0f} s budget ({steps} steps max)")
    if isinstance(result, str):
        raise RuntimeError(result)
    return result
