"""Peer sparse-recovery solvers for ``benchmarks/peers.py``, one adapter function each.

``PEERS`` maps a row label to ``(package, fit, note)``; ``fit(X, y, k, ctx) -> theta``.
"""
from __future__ import annotations

from .common import Context, make_context, refit_on_support
from .other_peers import abess_splicing, pycsalgos_tst, skglm_mcp, skscope_grasp, skscope_htp
from .pylops_peers import pylops_fista, pylops_iht, pylops_omp
from .sklearn_peers import sklearn_lasso, sklearn_omp

PEERS = {
    "sklearn OMP": ("scikit-learn", sklearn_omp, "n_nonzero_coefs=k*"),
    "sklearn Lasso+refit": ("scikit-learn", sklearn_lasso,
                            "alpha=1e-3 alpha_max, tol=1e-8, LS refit on support"),
    "pylops IHT": ("pylops", pylops_iht, "ista hard-percentile, own step (ARPACK), <=2000 it"),
    "pylops OMP": ("pylops", pylops_omp, "k* atoms, LSQR 200 it"),
    "pylops FISTA+refit": ("pylops", pylops_fista,
                           "l1 as Lasso, own step, <=2000 it, LS refit on support"),
    "skglm MCP": ("skglm", skglm_mcp, "path of 10 alphas to 1e-3 alpha_max, gamma=3"),
    "abess": ("abess", abess_splicing, "support_size=k*, thread=1, y rescaled (see README)"),
    "pyCSalgos TST": ("pyCSalgos", pycsalgos_tst, "RecommendedTST, ro=k*/n"),
    "skscope HTP": ("skscope", skscope_htp,
                    "sparsity=k*, step 1/L (untimed), jit, L-BFGS-B tol 1e-14"),
    "skscope GraSP": ("skscope", skscope_grasp, "sparsity=k*, jit, L-BFGS-B tol 1e-14"),
}

__all__ = ["PEERS", "Context", "make_context", "refit_on_support"]
