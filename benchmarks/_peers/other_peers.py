"""Peers with their own solvers: skglm (MCP), abess, pyCSalgos (TST), skscope (HTP, GraSP)."""
from __future__ import annotations

import numpy as np

from .common import Context

MCP_ALPHA_RATIO = 1e-3  # last alpha = ratio * alpha_max; unbiased for |theta_j| > gamma*alpha
MCP_GAMMA = 3.0
MCP_PATH = 10  # penalties on the warm-started path
ABESS_Y_RMS = 1e4  # rescale y so that abess's absolute splicing threshold is negligible


def skglm_mcp(X, y, k: int, ctx: Context):
    r"""``skglm.MCPRegression`` along a warm-started path of penalties, as MCP is used.

    :math:`\|X\theta - y\|^2/(2n) + \sum_j \mathrm{MCP}_{\alpha,\gamma}(\theta_j)` for
    ``MCP_PATH`` values of :math:`\alpha` log-spaced from :math:`\alpha_{\max}` down to
    :math:`10^{-3}\alpha_{\max}`, each fit starting from the last (``warm_start=True``),
    ``gamma = 3``, ``tol = 1e-10``; ``k`` is not used. No refit: MCP does not shrink
    coefficients above :math:`\gamma\alpha`. A single fit at the smallest penalty can stall
    at a poor stationary point of this nonconvex problem (393 nonzeros, error 0.1 at
    (256, 1024, 32)); the path avoids that.
    """
    from skglm import MCPRegression

    model = MCPRegression(alpha=ctx.alpha_max, gamma=MCP_GAMMA, fit_intercept=False,
                          tol=1e-10, max_iter=100, warm_start=True)
    for alpha in ctx.alpha_max * np.geomspace(1.0, MCP_ALPHA_RATIO, MCP_PATH)[1:]:
        model.alpha = alpha
        model.fit(X, y)
    return model.coef_


def abess_splicing(X, y, k: int, ctx: Context):
    r"""``abess.LinearRegression(support_size=k)``: splicing with the support size fixed.

    ``fit_intercept=False``, ``thread=1``. abess accepts a swap only when it lowers the loss
    by more than an absolute threshold :math:`\tau` (scaled for noisy data with unit-variance
    columns), so on these noiseless problems, whose ``y`` has RMS about 0.1-0.4, it stops
    after a few swaps (15 of 32 true coordinates at (256, 1024, 32)). We fit ``c y`` with
    ``c = ABESS_Y_RMS / rms(y)`` (the same as :math:`\tau / c^2`) and return ``coef / c``.
    """
    from abess import LinearRegression

    c = ABESS_Y_RMS / float(np.sqrt(np.mean(y ** 2)))
    model = LinearRegression(support_size=k, fit_intercept=False, thread=1)
    return np.asarray(model.fit(X, c * y).coef_, dtype=float) / c


def pycsalgos_tst(X, y, k: int, ctx: Context):
    """pyCSalgos ``RecommendedTST`` (two-stage thresholding, Maleki & Donoho 2010).

    ``ro = k / n`` makes both thresholding stages keep ``k`` entries; ``tol=1e-12`` on the
    relative residual and ``nsweep=300`` (its default).
    """
    from pyCSalgos.TST.RecommendedTST import RecommendedTST

    return RecommendedTST(X, y, nsweep=300, tol=1e-12, ro=k / X.shape[0])


def _sse(params, data):
    r""":math:`\|X\theta - y\|^2` in JAX, as in skscope's examples (module level: ``jit``
    caches it)."""
    X, y = data
    r = X @ params - y
    return r @ r


def _lbfgs_tight(objective_func, value_and_grad, init_params, optim_variable_set, data):
    """skscope's ``convex_solver_LBFGS`` with ``ftol = gtol = 1e-14``.

    The default L-BFGS-B tolerances stop the support refits at 1e-6 to 3e-6 relative error.
    """
    from scipy.optimize import minimize

    params = np.array(init_params, dtype=float)

    def fun_and_jac(x):
        params[optim_variable_set] = x
        value, grad = value_and_grad(params, data)
        return float(value), np.asarray(grad, dtype=float)[optim_variable_set]

    res = minimize(fun_and_jac, params[optim_variable_set], jac=True, method="L-BFGS-B",
                   options={"ftol": 1e-14, "gtol": 1e-14, "maxiter": 10_000})
    params[optim_variable_set] = res.x
    return res.fun, params


def _skscope(solver_cls, X, y, k: int, **options):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    solver = solver_cls(X.shape[1], sparsity=k, numeric_solver=_lbfgs_tight, **options)
    theta = solver.solve(_sse, data=(jnp.asarray(X), jnp.asarray(y)), jit=True)
    return np.asarray(theta, dtype=float)


def skscope_htp(X, y, k: int, ctx: Context):
    r"""``skscope.HTPSolver(d, sparsity=k, step_size=1/(2nL))`` on a jitted JAX objective.

    Each iteration: a gradient step on :math:`\|X\theta - y\|^2` (whose smoothness is
    :math:`2nL`), keep the top ``k``, then L-BFGS-B on that support with tight tolerances.
    """
    from skscope import HTPSolver

    return _skscope(HTPSolver, X, y, k, step_size=1.0 / (2 * X.shape[0] * ctx.L))


def skscope_grasp(X, y, k: int, ctx: Context):
    """``skscope.GraspSolver(d, sparsity=k)`` (gradient support pursuit, CoSaMP-like), with
    the same objective and L-BFGS-B tolerances as :func:`skscope_htp`."""
    from skscope import GraspSolver

    return _skscope(GraspSolver, X, y, k)
