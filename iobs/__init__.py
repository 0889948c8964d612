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
from iobs.problems import KINDS, Problem, from_arrays, make_problem
from iobs.solvers import METHODS, Method

__all__ = [
           "KINDS",
           "METHODS",
           "Iterate",
           "Method",
           "Problem",
           "Trace",
           "iterate",
           "from_arrays",
    "make_problem",
           "run",
           "theory",
]
__version__ = "0.1.0"
