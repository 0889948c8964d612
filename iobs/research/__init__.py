"""Experiments built on the solvers: comparisons, the paper's synthetic figure, phase maps,
and the numbers behind the app's lessons. Results are plain NumPy arrays and dicts."""

from iobs.research.compare import compare
from iobs.research.phase import (DEFAULT_DAMPING, ORACLE, PhaseMap, curve_50, default_executor,
                                 grid_sizes, phase_rows, phase_transition, phase_trials,
                                 rule_of_thumb_delta)
from iobs.research.reproduce import SYNTHETIC, paper_eta, reproduce_synthetic

__all__ = ["DEFAULT_DAMPING", "ORACLE", "SYNTHETIC", "PhaseMap", "compare", "curve_50",
           "default_executor", "grid_sizes", "paper_eta", "phase_rows", "phase_transition",
           "phase_trials", "reproduce_synthetic", "rule_of_thumb_delta"]
