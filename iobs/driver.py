r"""The solver loop: :func:`iterate` yields iterates, :func:`run` records a :class:`Trace`.

The loop owns timing and stopping. A run ends early, cleanly, with ``trace.stopped`` set
and (for numerical trouble) a ``RuntimeWarning``, when

* the Hessian is singular and no damping was asked for (``n < d`` least squares),
* a factorization fails, or the iterate becomes non-finite or explodes (divergence),
* ``tol`` is given and the relative error :math:`\lVert\theta_t-\theta^\star\rVert /
  \lVert\theta^\star\rVert` reaches it.

No NaN or inf iterate is ever recorded.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from iobs import backend as _be
from iobs._validate import check_array, check_float, check_int, check_memory
from iobs.models import SingularHessian, make_model
from iobs.solvers import METHODS
from iobs.stopping import divergence_limit, diverged, reached_tol

__all__ = ["Iterate", "Trace", "iterate", "run"]



@dataclass(frozen=True)
class Iterate:
    """One iterate as the generator yields it (NumPy or CuPy ``theta``; never mutated)."""

    t: int
    theta: object
    seconds: float   # cumulative wall time of the steps (and set-up) so far


@dataclass(frozen=True, eq=False)
class Trace:
    """A recorded run: NumPy arrays of length ``T + 1`` (index 0 is the start point)."""

    method: str
    x: np.ndarray          # (T+1, d) iterates
    support: np.ndarray    # (T+1, d) bool
    loss: np.ndarray       # (T+1,) f(theta_t)
    error: np.ndarray      # (T+1,) ||theta_t - theta*||
    seconds: np.ndarray    # (T+1,) cumulative wall time
    stopped: str | None
    config: dict = field(default_factory=dict)

    @property
    def rel_error(self) -> np.ndarray:
        return self.error / (self.config.get("theta_star_norm") or 1.0)

    def steps_to(self, tol: float) -> int | None:
        """First t with relative error <= tol, or None."""
        hit = np.flatnonzero(self.rel_error <= tol)
        return int(hit[0]) if hit.size else None

    def seconds_to(self, tol: float) -> float | None:
        """Wall time until the relative error first reaches tol, or None."""
        t = self.steps_to(tol)
        return None if t is None else float(self.seconds[t])

    def to_dict(self) -> dict:
        """JSON-ready summary (per-step curves, no iterates)."""
        return {"method": self.method, "stopped": self.stopped, "config": self.config,
                "loss": self.loss.tolist(), "error": self.error.tolist(),
                "seconds": self.seconds.tolist()}


def _validate(prob, method, k, steps, eta, damping, batch_size, tol, seed, theta0):
    if method not in METHODS:
        raise ValueError(f"method must be one of {sorted(METHODS)}; got {method!r}")
    spec = METHODS[method]
    d = prob.d
    k = check_int("k", k, 1, d)
    if spec.max_d is not None and d > spec.max_d:
        raise ValueError(f"d must be <= {spec.max_d} for method {method!r}; got {d}")
    steps = check_int("steps", steps, 0, 10**6)
    if eta is not None:
        eta = check_float("eta", eta, 0.0, 1e6, lo_open=True)
    damping = check_float("damping", damping, 0.0, 1e6)
    if batch_size is not None:
        batch_size = check_int("batch_size", batch_size, 1, prob.n)
    if tol is not None:
        tol = check_float("tol", tol, 0.0, 1e6)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    if theta0 is not None:
        theta0 = check_array("theta0", _be.to_numpy(theta0), ndim=1, shape=(d,))
    check_memory("steps", f"recording {steps + 1} iterates of size d={d}",
                 8.0 * (steps + 1) * d * 1.2)
    if k < prob.k_star:
        warnings.warn(f"k = {k} < k* = {prob.k_star}: exact recovery is impossible",
                      UserWarning, stacklevel=3)
    return spec, k, steps, eta, damping, batch_size, tol, seed, theta0


def iterate(prob, method, *, k, eta=None, damping=0.0, batch_size=None, seed=0,
            theta0=None, xp=None):
    """Yield :class:`Iterate` objects forever (the caller owns the loop); arguments are
    assumed validated (see :func:`run`). Numerical trouble raises ``SingularHessian`` or
    ``numpy.linalg.LinAlgError`` from the step."""
    xp = xp or _be.get_xp()
    spec = METHODS[method]
    full = prob.to(xp)
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    theta = xp.zeros(prob.d) if theta0 is None else xp.asarray(theta0, dtype=xp.float64)
    model = make_model(full, damping) if batch_size is None else None
    if eta is None:
        eta = 1.0 if spec.eta == "1" else 1.0 / max((model or make_model(full, 0.0))
                                                   .lipschitz(), np.finfo(float).tiny)
    _be.synchronize(xp)
    elapsed = time.perf_counter() - t0
    t = 0
    yield Iterate(0, theta, elapsed)
    while True:
        t0 = time.perf_counter()
        m = model
        if m is None:
            idx = np.sort(rng.choice(prob.n, size=batch_size, replace=False))
            m = make_model(full.rows(xp.asarray(idx)), damping)
        theta = spec.step(theta, m, k, eta)
        _be.synchronize(xp)
        elapsed += time.perf_counter() - t0
        t += 1
        yield Iterate(t, theta, elapsed)


def run(prob, method: str, *, k: int, steps: int = 100, eta: float | None = None,
        damping: float = 0.0, batch_size: int | None = None, tol: float | None = None,
        seed: int = 0, theta0=None, backend: str | None = None) -> Trace:
    r"""Run ``method`` on ``prob`` for ``steps`` iterations and record a :class:`Trace`.

    Parameters
    ----------
    prob : Problem
    method : str
        A key of :data:`iobs.METHODS`.
    k : int
        Sparsity level, ``1 <= k <= d`` (``k < k*`` warns: exact recovery is impossible).
    eta : float, optional
        Gradient step for ``iht``/``htp``/``omp`` (default :math:`1/L`), Newton-step
        fraction for the I-OBS family (default 1).
    damping : float
        :math:`\lambda = \text{damping}\cdot\mathrm{mean}(\mathrm{diag}H)` added to the
        Hessian; needed when ``n < d``.
    batch_size : int, optional
        Mini-batch rows for a stochastic gradient and Hessian (``None``: full batch).
    tol : float, optional
        Stop once the relative error reaches ``tol``.
    theta0 : array of shape (d,), optional
        Start point (default zeros).
    backend : {"numpy", "cupy", "auto"}, optional
        Array backend (default: ``IOBS_BACKEND`` or auto-detect).

    Examples
    --------
    >>> import iobs
    >>> prob = iobs.make_problem("gaussian", d=64, n=128, k_star=4, seed=0)
    >>> tr = iobs.run(prob, "iobs", k=4, steps=3)
    >>> bool(tr.error[-1] < 1e-8)
    True
    """
    _, k, steps, eta, damping, batch_size, tol, seed, theta0 = _validate(
        prob, method, k, steps, eta, damping, batch_size, tol, seed, theta0)
    xp = _be.get_xp(backend)
    ts = prob.theta_star
    ts_norm = float(np.linalg.norm(ts))
    xs, losses, errors, secs = [], [], [], []
    stopped = None
    gen = iterate(prob, method, k=k, eta=eta, damping=damping, batch_size=batch_size,
                  seed=seed, theta0=theta0, xp=xp)
    limit = np.inf             # the divergence limit, set from the start point
    try:
        with _be.blas_threads(prob.n, prob.d):
            for it in gen:
                th = _be.to_numpy(it.theta)
                loss = prob.loss(th) if np.isfinite(th).all() else np.nan
                err = float(np.linalg.norm(th - ts))
                if diverged(loss, err, limit):
                    stopped = f"diverged at step {it.t} (error grew without bound); lower eta"
                    break
                if it.t == 0:
                    limit = divergence_limit(err, ts_norm)
                xs.append(th)
                losses.append(loss)
                errors.append(err)
                secs.append(it.seconds)
                if tol is not None and reached_tol(err, tol, ts_norm):
                    stopped = f"reached tol={tol:g} at step {it.t}"
                    break
                if it.t >= steps:
                    break
    except SingularHessian as exc:
        stopped = f"singular Hessian: {exc}"
    except np.linalg.LinAlgError as exc:
        stopped = f"factorization failed: {exc}; set damping > 0"
    finally:
        gen.close()
    if stopped and not stopped.startswith("reached tol"):
        warnings.warn(f"{method}: {stopped}", RuntimeWarning, stacklevel=2)
    if not xs:  # stopped before the start point was recorded
        th = np.zeros(prob.d) if theta0 is None else theta0
        xs, losses, errors, secs = [th], [prob.loss(th)], [float(np.linalg.norm(th - ts))], [0.0]
    x = np.array(xs)
    config = {"method": method, "k": k, "steps": steps, "eta": eta, "damping": damping,
              "batch_size": batch_size, "tol": tol, "seed": seed, "kind": prob.kind,
              "n": prob.n, "d": prob.d, "k_star": prob.k_star, "noise": prob.noise,
              "problem_seed": prob.seed, "backend": "numpy" if xp is np else "cupy",
              "theta_star_norm": ts_norm}
    return Trace(method=method, x=x, support=x != 0, loss=np.array(losses),
                 error=np.array(errors), seconds=np.array(secs), stopped=stopped,
                 config=config)
