"""Shared context and helpers for the peer adapters.

Every adapter is ``fit(X, y, k, ctx) -> theta``: a plain function that calls one peer
library as it is normally used and returns its estimate as a NumPy vector of shape (d,).
Imports of the peer happen inside the function, so a missing package fails only that peer.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Context:
    """Problem constants computed once per problem, outside the timed calls.

    Attributes
    ----------
    L : float
        Largest eigenvalue of :math:`H = X^\\top X / n` (smoothness of
        :math:`f(\\theta) = \\|X\\theta - y\\|^2 / (2n)`), by 50 power iterations (within
        about 2% below the exact value for these Gaussian designs).
    alpha_max : float
        :math:`\\|X^\\top y\\|_\\infty / n`, the smallest Lasso penalty with a zero solution.
    """

    L: float
    alpha_max: float


def make_context(X, y, *, iters: int = 50, seed: int = 0) -> Context:
    """Power iteration for ``L`` and the Lasso ``alpha_max`` of ``(X, y)``."""
    n = X.shape[0]
    v = np.random.default_rng(seed).standard_normal(X.shape[1])
    lam = 0.0
    for _ in range(iters):
        w = X.T @ (X @ v) / n
        lam = float(np.linalg.norm(w))
        v = w / lam
    return Context(L=lam, alpha_max=float(np.max(np.abs(X.T @ y))) / n)


def refit_on_support(X, y, theta, *, rtol: float = 1e-12):
    """Least-squares refit of ``y ~ X[:, S]`` on ``S = {j : theta_j != 0}`` (debiasing).

    ``S`` is the set of coefficients above ``rtol * max|theta|``; the refit uses
    ``np.linalg.lstsq`` so it is defined even when ``|S| > n``.
    """
    S = np.flatnonzero(np.abs(theta) > rtol * np.max(np.abs(theta), initial=0.0))
    out = np.zeros(X.shape[1])
    if S.size:
        out[S] = np.linalg.lstsq(X[:, S], y, rcond=None)[0]
    return out
