"""PyLops peers (``pylops.optimization.sparsity``): IHT, OMP and FISTA (+ refit)."""
from __future__ import annotations

from .common import Context, refit_on_support

IHT_ITERS = 2000     # IHT with step 1/L converges linearly but slowly when n << d
FISTA_ITERS = 2000
FISTA_ALPHA_RATIO = 1e-3  # same penalty as the scikit-learn Lasso, alpha = ratio * alpha_max


def _op(X):
    from pylops import MatrixMult

    return MatrixMult(X, dtype="float64")


def pylops_iht(X, y, k: int, ctx: Context):
    r"""IHT as PyLops writes it: ``ista(threshkind='hard-percentile')``.

    :math:`\theta \leftarrow H_k(\theta + \alpha X^\top(y - X\theta))` with
    :math:`\alpha = 1/\lambda_{\max}(X^\top X)`, which PyLops computes itself (ARPACK,
    inside the timed call, as by default) and the
    percentile ``perc = 100 k/d`` (PyLops keeps that percentage), so about ``k``
    entries survive; stops when the iterate
    changes by less than ``tol=1e-10``.
    """
    from pylops.optimization.sparsity import ista

    d = X.shape[1]
    theta = ista(_op(X), y, niter=IHT_ITERS, tol=1e-10,
                 threshkind="hard-percentile", perc=100.0 * k / d)[0]
    return theta


def pylops_omp(X, y, k: int, ctx: Context):
    """PyLops ``OMP`` with ``k`` outer steps and LSQR refits on the active set.

    The step-by-step API (``setup`` / ``step`` / ``finalize``, as PyLops documents it) is
    used only to pass ``atol = btol = 1e-14`` to LSQR: the one-call ``omp()`` keeps LSQR's
    default 1e-6 tolerances and stops at about 2e-6 relative error.
    """
    from pylops.optimization.sparsity import OMP

    solver = OMP(_op(X))
    solver.setup(y, niter_outer=k, niter_inner=200, sigma=1e-12)
    x, cols = [], []
    while solver.iiter < solver.niter_outer and solver.cost[solver.iiter] > solver.sigma:
        x, cols = solver.step(x, cols, atol=1e-14, btol=1e-14)
    return solver.finalize(x, cols)


def pylops_fista(X, y, k: int, ctx: Context):
    r"""FISTA for the Lasso, then a least-squares refit on its support.

    PyLops soft-thresholds at ``eps * step / 2``, i.e. it solves
    :math:`\frac12\|y - X\theta\|^2 + \frac{\epsilon}{2}\|\theta\|_1`; ``eps = 2 n alpha``
    with :math:`\alpha = 10^{-3}\alpha_{\max}` is the scikit-learn Lasso's problem. PyLops
    computes its step itself (as for IHT), ``tol=1e-10``; the refit removes the shrinkage
    bias (``k`` is not used).
    """
    from pylops.optimization.sparsity import fista

    n = X.shape[0]
    theta = fista(_op(X), y, niter=FISTA_ITERS, eps=2.0 * n * FISTA_ALPHA_RATIO * ctx.alpha_max,
                  tol=1e-10)[0]
    return refit_on_support(X, y, theta)
