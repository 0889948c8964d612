r"""scikit-learn estimators around :func:`iobs.fit` (the only scikit-learn import of the core).

:class:`SparseRegressor` solves :math:`\min \lVert X\theta + b - y\rVert^2/(2n)` and
:class:`SparseLogisticRegression` the logistic loss, both subject to
:math:`\lVert\theta\rVert_0 \le k`, with the truth-free stop of :mod:`iobs.stopping`. They
follow scikit-learn's conventions (``get_params``, ``clone``, ``Pipeline``,
``GridSearchCV`` over ``k``); a ``k`` above the number of features is clipped with a warning.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from iobs.fit import fit as _fit

__all__ = ["SparseLogisticRegression", "SparseRegressor"]


class _SparseLinear(BaseEstimator):
    """Shared parameters, the call to :func:`iobs.fit` and the fitted attributes."""

    def __init__(self, k=10, *, method="iobs-ws", fit_intercept=True, tol=1e-6,
                 max_steps=200, damping=None, ridge=1e-4):
        self.k = k
        self.method = method
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_steps = max_steps
        self.damping = damping
        self.ridge = ridge

    def _run(self, X, y, loss):
        d = X.shape[1]
        k = self.k
        if isinstance(k, (int, np.integer)) and not isinstance(k, bool) and k > d:
            warnings.warn(f"k = {k} > n_features = {d}: using k = {d}", UserWarning,
                          stacklevel=3)
            k = d
        r = _fit(X, y, k=k, method=self.method, loss=loss, fit_intercept=self.fit_intercept,
                 tol=self.tol, max_steps=self.max_steps, damping=self.damping,
                 ridge=self.ridge)
        if r.stopped.startswith("reached max_steps"):
            warnings.warn(f"{self.method}: {r.stopped}; increase max_steps",
                          ConvergenceWarning, stacklevel=3)
        self.coef_ = r.coef
        self.intercept_ = r.intercept
        self.support_ = r.support
        self.n_iter_ = r.steps
        self.result_ = r
        return self

    def _decision(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


class SparseRegressor(RegressorMixin, _SparseLinear):
    r"""k-sparse least squares: :math:`\min_{\theta,b}\lVert X\theta+b-y\rVert^2/(2n)`
    s.t. :math:`\lVert\theta\rVert_0\le k` (default solver: working-set I-OBS).

    Parameters
    ----------
    k : int
        Nonzero coefficients allowed (clipped to n_features with a warning).
    method, fit_intercept, tol, max_steps, damping, ridge
        As in :func:`iobs.fit` (``ridge`` is used by the logistic loss only).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,)
    intercept_ : float
    support_ : ndarray of shape (n_features,), bool
    n_iter_ : int
    n_features_in_ : int
    result_ : FitResult

    Examples
    --------
    >>> import numpy as np, iobs
    >>> X = np.random.default_rng(0).standard_normal((50, 8))
    >>> est = iobs.SparseRegressor(k=2).fit(X, 3 * X[:, 1] - X[:, 4] + 1)
    >>> np.flatnonzero(est.support_).tolist(), round(est.intercept_, 6)
    ([1, 4], 1.0)
    """

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        return self._run(X, y, "squared")

    def predict(self, X):
        return self._decision(X)


class SparseLogisticRegression(ClassifierMixin, _SparseLinear):
    r"""k-sparse logistic regression for two classes: the logistic loss of :func:`iobs.fit`
    (unpenalised intercept, ridge :math:`\gamma`) s.t. :math:`\lVert\theta\rVert_0 \le k`.

    Any two labels; ``classes_[1]`` is the positive class. Parameters and attributes as in
    :class:`SparseRegressor`, plus ``classes_``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False
        return tags

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        if self.classes_.size != 2:
            raise ValueError(f"Only binary classification is supported. y must hold exactly "
                             f"2 classes; got {self.classes_.size} class(es): "
                             f"{self.classes_[:5].tolist()}")
        return self._run(X, codes.astype(np.float64), "logistic")

    def decision_function(self, X):
        return self._decision(X)

    def predict_proba(self, X):
        z = self._decision(X)
        p = 0.5 * (1.0 + np.tanh(0.5 * z))           # sigmoid without overflow
        return np.column_stack([1.0 - p, p])

    def predict(self, X):
        z = self._decision(X)
        return self.classes_[(z > 0).astype(int)]
