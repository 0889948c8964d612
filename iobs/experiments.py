r"""Experiments that run several methods: comparisons and the paper's synthetic figure.

Results are plain NumPy arrays and dicts (pages, the CLI and benchmarks share them).
``progress`` callbacks receive a fraction in [0, 1]; library code never prints.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable

import numpy as np

from iobs._validate import check_choice, check_int
from iobs.driver import Trace, run
from iobs.problems import make_problem

__all__ = ["SYNTHETIC", "compare", "paper_eta", "phase_transition", "reproduce_synthetic"]

# The paper's synthetic setting (P, section 4.1, and the authors' code, C).
SYNTHETIC = {
    "gaussian": {"d": 128, "n": 256, "k_star": 16, "k": 64, "steps": 750},
    "digits": {"d": 784, "n": 1568, "k_star": None, "k": "2k*", "steps": 4000},
}


def compare(prob, methods: Iterable[str], *, k: int, steps: int = 100,
            progress: Callable[[float], None] | None = None, **options) -> dict[str, Trace]:
    """Run each method on the same problem with the same options: ``{name: Trace}``.

    ``options`` go to :func:`iobs.run` (``eta``, ``damping``, ``batch_size``, ``tol``,
    ``seed``, ``theta0``, ``backend``). A per-method ``eta`` can be a dict ``{name: eta}``.
    """
    methods = list(methods)
    if not methods:
        raise ValueError("methods must name at least one method; got an empty list")
    eta = options.pop("eta", None)
    out = {}
    for i, name in enumerate(methods):
        e = eta.get(name) if isinstance(eta, dict) else eta
        out[name] = run(prob, name, k=k, steps=steps, eta=e, **options)
        if progress is not None:
            progress((i + 1) / len(methods))
    return out


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

    Returns
    -------
    dict
        ``{"iht": {...}, "topk-iobs": {...}, "config": {...}}``; each method holds arrays
        ``loss_mean``, ``loss_std`` (the paper's loss :math:`\frac1n\lVert r\rVert^2`),
        ``error_mean``, ``error_std`` of length ``steps + 1`` (step 0 = the start),
        ``theta_final`` (runs, d), and the config holds ``theta_star`` (runs, d).
    """
    check_choice("prior", prior, SYNTHETIC)
    check_choice("scaling", scaling, ("paper", "newton"))
    runs = check_int("runs", runs, 1, 1000)
    cfg = dict(SYNTHETIC[prior])
    steps = cfg["steps"] if steps is None else check_int("steps", steps, 1, 10**5)
    seed = check_int("seed", seed, 0, 2**32 - 1)
    curves = {m: {"loss": [], "error": [], "theta_final": []} for m in ("iht", "topk-iobs")}
    truths = []
    for r in range(runs):
        rs = (seed * 1000 + r) % 2**32          # per-run seed, within the seed range
        if prior == "gaussian":
            prob = make_problem("gaussian", d=cfg["d"], n=cfg["n"], k_star=cfg["k_star"],
                                seed=rs)
            k = cfg["k"]
        else:
            prob = make_problem("digits", d=None, n=cfg["n"], index=rs % 1797, seed=rs)
            k = 2 * prob.k_star
        theta0 = _uniform_start(np.random.default_rng(rs + 10**6), prob.d)
        L = float(np.linalg.eigvalsh(prob.X.T @ prob.X / prob.n)[-1])
        truths.append(prob.theta_star)
        for m in curves:
            eta = paper_eta(m, prob.n, L) if scaling == "paper" else (1.0 if m != "iht"
                                                                       else 1.0 / L)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                tr = run(prob, m, k=k, steps=steps, eta=eta, theta0=theta0)
            curves[m]["loss"].append(_pad(2.0 * tr.loss, steps))
            curves[m]["error"].append(_pad(tr.error, steps))
            curves[m]["theta_final"].append(tr.x[-1])
        if progress is not None:
            progress((r + 1) / runs)
    out = {"config": {"prior": prior, "runs": runs, "steps": steps, "scaling": scaling,
                      "seed": seed, "d": prob.d, "n": prob.n, "k": k,
                      "theta_star": np.array(truths)}}
    for m, c in curves.items():
        loss, err = np.array(c["loss"]), np.array(c["error"])
        out[m] = {"loss_mean": loss.mean(0), "loss_std": loss.std(0),
                  "error_mean": err.mean(0), "error_std": err.std(0),
                  "theta_final": np.array(c["theta_final"])}
    return out


def _pad(a, steps):
    """Hold the last value if a run stopped early (e.g. reached an exact zero error)."""
    a = np.asarray(a, dtype=float)
    return np.concatenate([a, np.full(steps + 1 - a.size, a[-1])]) if a.size < steps + 1 else a


from iobs.phase import phase_transition  # noqa: E402
