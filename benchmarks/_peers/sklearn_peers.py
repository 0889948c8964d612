"""scikit-learn peers: Orthogonal Matching Pursuit and Lasso (+ least-squares refit)."""
from __future__ import annotations

from .common import Context, refit_on_support

LASSO_ALPHA_RATIO = 1e-3  # alpha = ratio * alpha_max: small enough to keep |theta*_j| ~ 1e-2
LASSO_TOL = 1e-8          # duality-gap tolerance (sklearn default 1e-4 is too loose for 1e-6)


def sklearn_omp(X, y, k: int, ctx: Context):
    """``OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False)``.

    Exactly ``k`` greedy steps with a Cholesky-updated least-squares fit (the default
    ``precompute='auto'``).
    """
    from sklearn.linear_model import OrthogonalMatchingPursuit

    return OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False).fit(X, y).coef_


def sklearn_lasso(X, y, k: int, ctx: Context):
    r"""Lasso by coordinate descent with a small penalty, then a least-squares refit.

    :math:`\min_\theta \|X\theta - y\|^2/(2n) + \alpha\|\theta\|_1` with
    :math:`\alpha = 10^{-3}\,\alpha_{\max}`, ``tol=1e-8``, ``max_iter=10000``, then
    :math:`\theta_S = \arg\min \|X_S\theta_S - y\|` on its support ``S`` (the debias step;
    ``k`` is not used: the Lasso picks its own support size).
    """
    from sklearn.linear_model import Lasso

    model = Lasso(alpha=LASSO_ALPHA_RATIO * ctx.alpha_max, fit_intercept=False,
                  tol=LASSO_TOL, max_iter=10_000)
    return refit_on_support(X, y, model.fit(X, y).coef_)
