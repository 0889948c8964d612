"""iobs: sparse recovery with IHT and the Iterative Optimal Brain Surgeon (I-OBS).

The paper: D. Wu, I.-V. Modoranu, M. Safaryan, D. Kuznedelev, D. Alistarh, "The Iterative
Optimal Brain Surgeon: Faster Sparse Recovery by Leveraging Second-Order Information",
NeurIPS 2024 (arXiv 2408.17163).

>>> import iobs
>>> prob = iobs.make_problem("gaussian", d=128, n=256, k_star=16, seed=0)
>>> trace = iobs.run(prob, "iobs", k=16, steps=5)
>>> float(trace.error[-1]) < 1e-8
True
"""

from iobs import theory
from iobs.driver import Iterate, Trace, iterate, run
from iobs.fit import FitResult, fit
from iobs.problems import KINDS, Problem, from_arrays, make_problem
from iobs.solvers import METHODS, Method

__version__ = "0.1.0"   # the one place: pyproject.toml reads it (dynamic version)

__all__ = [
    "KINDS",
    "METHODS",
    "FitResult",
    "Iterate",
    "Method",
    "Problem",
    "SparseLogisticRegression",
    "SparseRegressor",
    "Trace",
    "fit",
    "from_arrays",
    "iterate",
    "make_problem",
    "run",
    "theory",
]

_LAZY = {"SparseRegressor": "iobs.estimators", "SparseLogisticRegression": "iobs.estimators"}


def __getattr__(name):
    """The scikit-learn estimators, imported on first use (``import iobs`` stays free of
    scikit-learn)."""
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'iobs' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
