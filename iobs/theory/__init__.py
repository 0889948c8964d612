r"""Convergence theory: bound curves per method, their constants and the paper's assumptions.

:func:`bound` (in :mod:`iobs.theory.bounds`) picks each method's bound; the factors,
curves, constants and assumption checks it builds on are in :mod:`iobs.theory.factors`.
Every bound carries its ``source``; this package imports no solver code at import time.
"""

from iobs.theory.bounds import bound
from iobs.theory.factors import (EIG_MAX_D, KIND_TAG, Bound, Constants, assumptions, constants,
                                 fitted_rate, lemma3_factor, linear_bound, quadratic_bound,
                                 theorem1_factor, topk_factor)

__all__ = ["EIG_MAX_D", "KIND_TAG", "Bound", "Constants", "assumptions", "bound", "constants",
           "fitted_rate", "lemma3_factor", "linear_bound", "quadratic_bound",
           "theorem1_factor", "topk_factor"]
