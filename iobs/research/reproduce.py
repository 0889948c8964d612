r"""The paper's synthetic figure (P, section 4.1, and the authors' code, C): k-IHT vs Topk-I-OBS.

Results are plain NumPy arrays and dicts (pages, the CLI and benchmarks share them).
``progress`` callbacks receive a fraction in [0, 1]; library code never prints.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from iobs._validate import check_choice, check_int
from iobs.backend import blas_controller
from iobs.driver import run
from iobs.problems import make_problem
from iobs.provenance import AUTHORS_CODE, PAPER, Source
from iobs.research.engine import GramBatch, advance
from iobs.solvers import METHODS
from iobs.stopping import divergence_limit, diverged

__all__ = ["SYNTHETIC", "SYNTHETIC_SOURCES", "first_runs", "paper_eta", "reproduce_synthetic"]

# The paper's synthetic setting (P, section 4.1, and the authors' code, C).
SYNTHETIC = {
    "gaussian": {"d": 128, "n": 256, "k_star": 16, "k": 64, "steps": 750},
    "digits": {"d": 784, "n": 1568, "k_star": None, "k": "2k*", "steps": 4000},
}
# Which parts of the setting the paper states and which only the authors' code shows
# (PAPER.md, "The synthetic experiment").
SYNTHETIC_SOURCES = {
    "problem": Source(PAPER, "section 4.1: noiseless sparse regression, d, n, k*, k, steps"),
    "design": Source(PAPER, "section 4.1: X with i.i.d. N(0, 1/n) entries"),
    "start": Source(AUTHORS_CODE, "theta_0 ~ U(-1/sqrt d, 1/sqrt d)"),
    "loss": Source(AUTHORS_CODE, "mean squared error (1/n)||X theta - y||^2"),
    "updates": Source(AUTHORS_CODE, "k-IHT step 1/lambda_max(X^T X), Topk-I-OBS with the "
                                    "'Hessian' X^T X"),
    "reference means": Source(AUTHORS_CODE, "means of the saved result arrays, 20 runs"),
}


def paper_eta(method: str, n: int, L: float) -> float:
    r"""The step the authors' code takes, in our scaling :math:`f = \lVert r\rVert^2/(2n)`.

    Their loss is :math:`\frac1n\lVert r\rVert^2` (twice ours) and their "Hessian" is
    :math:`X^\top X` (``n/2`` times the Hessian of their loss), so Topk-I-OBS is a damped
    Newton step with :math:`\eta = 2/n` and k-IHT a gradient step :math:`(2/n)/L` (C).
    """
    return 2.0 / n if method == "topk-iobs" else 2.0 / (n * L)


def _uniform_start(rng, d):
    return rng.uniform(-1.0 / np.sqrt(d), 1.0 / np.sqrt(d), size=d)   # as in the code (C)


def reproduce_synthetic(prior: str = "gaussian", runs: int = 20, steps: int | None = None,
                        scaling: str = "paper", seed: int = 0,
                        progress: Callable[[float], None] | None = None) -> dict:
    r"""k-IHT vs Topk-I-OBS on the paper's synthetic problem, mean and spread over runs.

    Gaussian prior: :math:`d=128, n=256, k^\star=16, k=64`, design :math:`N(0,1/n)`,
    noiseless :math:`y`, start :math:`U(-1/\sqrt d, 1/\sqrt d)`. Digit prior: a scikit-learn
    digit (upsampled 2x on a 28 x 28 canvas, pixels 0..255) in place of MNIST,
    :math:`d = 784, n = 2d, k = 2k^\star`. ``scaling="paper"`` takes the authors' steps
    (:func:`paper_eta`), ``"newton"`` the exact Newton step (:math:`\eta = 1`) and
    :math:`\eta = 1/L` for IHT.

    All runs advance together (:func:`_batched_runs` on the batched engine, in chunks of
    runs whose designs stay under 32 MB), with the driver's arithmetic and stopping rules:
    the per-run loop through :func:`iobs.run` (``_reproduce_reference``) gives the same
    numbers (tests).

    Returns
    -------
    dict
        ``{"iht": {...}, "topk-iobs": {...}, "config": {...}}``; each method holds arrays
        ``loss_mean``, ``loss_std`` (the paper's loss :math:`\frac1n\lVert r\rVert^2`),
        ``error_mean``, ``error_std`` of length ``steps + 1`` (step 0 = the start),
        ``theta_final`` (runs, d), and the config holds ``theta_star`` (runs, d).
    """
    prior, runs, steps, scaling, seed = _check_synthetic(prior, runs, steps, scaling, seed)
    cfg = SYNTHETIC[prior]
    d, n = cfg["d"], cfg["n"]
    curves = {m: {"loss": np.empty((runs, steps + 1)), "error": np.empty((runs, steps + 1)),
                  "theta_final": np.empty((runs, d))} for m in _METHODS}
    truths = np.empty((runs, d))
    chunk = max(1, _CHUNK_BYTES // (8 * n * d))
    with blas_controller().limit(limits=1, user_api="blas"):
        for r0 in range(0, runs, chunk):
            rows = slice(r0, min(r0 + chunk, runs))
            batch, ks, L = _stack([_synthetic_run(prior, seed, r)
                                   for r in range(rows.start, rows.stop)])
            truths[rows] = batch.theta_star
            for i, m in enumerate(_METHODS):
                eta = np.array([_eta(m, scaling, n, Lr) for Lr in L])
                loss, err, final, stop = _batched_runs(m, batch, ks, eta, steps)
                _warn_stops(m, stop, steps, r0)
                c = curves[m]
                c["loss"][rows], c["error"][rows], c["theta_final"][rows] = loss, err, final
                if progress is not None:
                    progress((r0 + (i + 1) / len(_METHODS) * len(L)) / runs)
    config = {"prior": prior, "runs": runs, "steps": steps, "scaling": scaling, "seed": seed,
              "d": d, "n": n, "k": int(ks[-1])}
    return _summary(curves, truths, config)


_METHODS = ("iht", "topk-iobs")
_CHUNK_BYTES = 32 * 2**20   # designs X of a chunk of runs (digits: 3 runs of 9.8 MB each)
_BLOCK_BYTES = 2 * 2**20    # residuals (runs, steps, n) of a block of steps: in cache


class _Stack(NamedTuple):
    """R least-squares problems stacked along axis 0 (shapes in the comments)."""

    Xt: np.ndarray          # (R, d, n)  X^T
    y: np.ndarray           # (R, n)
    H: np.ndarray           # (R, d, d)  X^T X / n, the Hessian of f = |X theta - y|^2 / (2n)
    b: np.ndarray           # (R, d)     X^T y / n, so that grad f = H theta - b
    theta_ls: np.ndarray    # (R, d)     H^{-1} b, the least-squares point
    theta_star: np.ndarray  # (R, d)
    theta0: np.ndarray      # (R, d)
    singular: np.ndarray    # (R,) bool  H not positive definite (no Newton point)


def _check_synthetic(prior, runs, steps, scaling, seed):
    check_choice("prior", prior, SYNTHETIC)
    check_choice("scaling", scaling, ("paper", "newton"))
    runs = check_int("runs", runs, 1, 1000)
    steps = SYNTHETIC[prior]["steps"] if steps is None else check_int("steps", steps, 1,
                                                                      10**5)
    return prior, runs, steps, scaling, check_int("seed", seed, 0, 2**32 - 1)


def _synthetic_run(prior, seed, r):
    """Run ``r``'s problem, k, start and H = X^T X / n: the same draws for both paths."""
    cfg = SYNTHETIC[prior]
    rs = (seed * 1000 + r) % 2**32          # per-run seed, within the seed range
    if prior == "gaussian":
        prob = make_problem("gaussian", d=cfg["d"], n=cfg["n"], k_star=cfg["k_star"], seed=rs)
        k = cfg["k"]
    else:
        prob = make_problem("digits", d=None, n=cfg["n"], index=rs % 1797, seed=rs)
        k = 2 * prob.k_star
    theta0 = _uniform_start(np.random.default_rng(rs + 10**6), prob.d)
    return prob, k, theta0, prob.X.T @ prob.X / prob.n


def _eta(method, scaling, n, L):
    if scaling == "paper":
        return paper_eta(method, n, L)
    return 1.0 if method != "iht" else 1.0 / L


def _stack(setups):
    """(:class:`_Stack`, k (R,), L (R,)) of runs ``[(prob, k, theta0, H), ...]`` (same n, d;
    least squares), with L = lambda_max(H) as the reference computes it."""
    probs = [s[0] for s in setups]
    H = np.stack([s[3] for s in setups])
    L = [float(np.linalg.eigvalsh(Hr)[-1]) for Hr in H]
    b = np.stack([p.X.T @ p.y / p.n for p in probs])
    theta_ls, singular = np.zeros_like(b), np.zeros(len(probs), dtype=bool)
    for r, (Hr, br) in enumerate(zip(H, b)):
        try:
            np.linalg.cholesky(Hr)     # the driver's test: no Newton point unless SPD
            theta_ls[r] = np.linalg.solve(Hr, br)
        except np.linalg.LinAlgError:
            singular[r] = True
    batch = _Stack(Xt=np.stack([p.X.T for p in probs]), y=np.stack([p.y for p in probs]),
                   H=H, b=b, theta_ls=theta_ls,
                   theta_star=np.stack([p.theta_star for p in probs]),
                   theta0=np.stack([s[2] for s in setups]), singular=singular)
    return batch, np.array([s[1] for s in setups]), L


def _batched_runs(method, B, k, eta, steps):
    r"""k-IHT or Topk-I-OBS on R stacked least-squares problems at once: the solvers' own
    steps (:func:`iobs.solvers.iht_step`, :func:`iobs.solvers.topk_iobs_step`) on the
    batched engine, with :math:`\nabla f(\theta) = H\theta - b` and the exact Newton
    direction :math:`H^{-1}\nabla f(\theta) = \theta - \theta_{LS}` of the undamped
    :class:`iobs.models.LeastSquares`. Iterates come in blocks of steps, whose residuals come
    from one product per run (a GEMM, not T gemv).

    As :func:`iobs.run`, a run stops cleanly at its first non-finite loss or error, at an
    error above the divergence limit (:mod:`iobs.stopping`), or (Topk-I-OBS) before step 1
    when H is not positive definite; its curves then hold the last recorded value.

    Returns ``(loss, error, theta, stop)``: the paper's loss :math:`\lVert r\rVert^2/n` and
    :math:`\lVert\theta_t-\theta^\star\rVert`, each (R, steps + 1), the last recorded
    iterate (R, d) and the first unrecorded step (R,) (``steps + 1``: ran to the end).
    """
    R = len(B.theta0)
    loss, err = np.empty((R, steps + 1)), np.empty((R, steps + 1))
    stop = np.full(R, steps + 1)
    final = B.theta0.copy()
    _curves(B, B.theta0[None], np.arange(R), 0, loss, err)              # step 0: recorded
    limit = divergence_limit(err[:, 0], np.linalg.norm(B.theta_star, axis=1))
    newton = method != "iht"
    if newton:
        stop[B.singular] = 1                         # no Newton point: nothing after step 0
    rows = np.flatnonzero(stop > 1)

    def observe(block, prev, live, t0):
        r = rows[live]
        lb, eb = _curves(B, block, r, t0, loss, err)                       # (R', C)
        bad = diverged(lb, eb, limit[r][:, None])
        hit = bad.any(1)
        first = bad.argmax(1)[hit]
        stop[r[hit]] = t0 + first
        final[r[hit]] = np.where((first > 0)[:, None], block[first - 1, np.flatnonzero(hit)],
                                 prev[hit])
        final[r[~hit]] = block[-1, ~hit]
        return bad.T

    model = GramBatch(B.H, B.b, np.zeros(R), q=B.theta_ls).take(rows)
    S = max(1, min(steps, _BLOCK_BYTES // (8 * R * B.y.shape[1])))
    advance(METHODS[method].step, model, B.theta0[rows], k=k[rows], eta=eta[rows, None],
            steps=steps, observe=observe, block=S, grow=False)
    hold = np.minimum(np.arange(steps + 1), stop[:, None] - 1)    # hold the last value
    return (np.take_along_axis(loss, hold, axis=1), np.take_along_axis(err, hold, axis=1),
            final, stop)


def _curves(B, block, rows, t0, loss, err):
    """The paper's loss and the error of iterates ``block`` (C, R', d) of runs ``rows`` at
    steps ``t0, ..``: written into ``loss``, ``err`` (R, steps + 1) and returned (R', C)."""
    Xt = B.Xt if rows.size == len(B.Xt) else B.Xt[rows]
    runs = block.transpose(1, 0, 2)                                     # (R', C, d)
    res = np.matmul(runs, Xt) - B.y[rows][:, None, :]                   # (R', C, n)
    C = block.shape[0]
    loss[rows, t0:t0 + C] = lb = np.mean(res * res, axis=2)
    err[rows, t0:t0 + C] = eb = np.linalg.norm(runs - B.theta_star[rows][:, None, :], axis=2)
    return lb, eb


def _warn_stops(method, stop, steps, r0):
    """The driver's RuntimeWarning for runs that stopped early (none on these problems)."""
    early = np.flatnonzero(stop <= steps)
    if early.size:
        warnings.warn(f"{method}: runs {(early + r0).tolist()} stopped early (singular "
                      f"Hessian or divergence) at steps {stop[early].tolist()}; their curves "
                      "hold the last value", RuntimeWarning, stacklevel=3)


def _summary(curves, truths, config):
    out = {"config": {**config, "theta_star": np.asarray(truths)}}
    for m, c in curves.items():
        loss, err = np.asarray(c["loss"]), np.asarray(c["error"])
        out[m] = {"loss_mean": loss.mean(0), "loss_std": loss.std(0),
                  "error_mean": err.mean(0), "error_std": err.std(0),
                  "theta_final": np.asarray(c["theta_final"]),
                  "loss_runs": loss, "error_runs": err}
    return out


def first_runs(res: dict, runs: int) -> dict:
    """The result of :func:`reproduce_synthetic` for its first ``runs`` runs, from a result
    with at least as many (no solving): run ``r`` is seeded by ``(seed, r)`` alone, so the
    first runs of a larger call are the runs of a smaller one (the same numbers; a test
    checks it). The k of the config is the larger call's (one k for the Gaussian prior)."""
    have = res["config"]["runs"]
    runs = check_int("runs", runs, 1, have)
    curves = {m: {"loss": res[m]["loss_runs"][:runs], "error": res[m]["error_runs"][:runs],
                  "theta_final": res[m]["theta_final"][:runs]} for m in _METHODS}
    config = {k: v for k, v in res["config"].items() if k != "theta_star"}
    return _summary(curves, res["config"]["theta_star"][:runs],
                    {**config, "runs": runs, "of_runs": have})


def _reproduce_reference(prior="gaussian", runs=20, steps=None, scaling="paper", seed=0):
    """:func:`reproduce_synthetic` one run and one method at a time through :func:`iobs.run`
    (slow, about 40 us of overhead per step): the reference the batched kernel must match."""
    prior, runs, steps, scaling, seed = _check_synthetic(prior, runs, steps, scaling, seed)
    curves = {m: {"loss": [], "error": [], "theta_final": []} for m in _METHODS}
    truths = []
    for r in range(runs):
        prob, k, theta0, H = _synthetic_run(prior, seed, r)
        L = float(np.linalg.eigvalsh(H)[-1])
        truths.append(prob.theta_star)
        for m in curves:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                tr = run(prob, m, k=k, steps=steps, eta=_eta(m, scaling, prob.n, L),
                         theta0=theta0)
            curves[m]["loss"].append(_pad(2.0 * tr.loss, steps))
            curves[m]["error"].append(_pad(tr.error, steps))
            curves[m]["theta_final"].append(tr.x[-1])
    config = {"prior": prior, "runs": runs, "steps": steps, "scaling": scaling, "seed": seed,
              "d": prob.d, "n": prob.n, "k": k}
    return _summary(curves, truths, config)


def _pad(a, steps):
    """Hold the last value if a run stopped early (singular Hessian or divergence)."""
    a = np.asarray(a, dtype=float)
    return np.concatenate([a, np.full(steps + 1 - a.size, a[-1])]) if a.size < steps + 1 else a

