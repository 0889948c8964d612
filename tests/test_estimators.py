"""scikit-learn estimators: the full estimator checks, pipelines, and a real dataset."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn is an optional extra")

from sklearn.datasets import load_breast_cancer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import iobs  # noqa: E402
from iobs.estimators import SparseLogisticRegression, SparseRegressor  # noqa: E402


@parametrize_with_checks([SparseRegressor(), SparseLogisticRegression()])
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)     # k clipped on tiny test data
        check(estimator)


def test_import_iobs_imports_no_heavy_dependency():
    code = ("import sys, iobs; iobs.fit; iobs.FitResult; "
            "bad = [m for m in ('sklearn', 'torch', 'streamlit') if m in sys.modules]; "
            "assert not bad, bad; print(iobs.__version__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == iobs.__version__


def test_estimators_reachable_from_package():
    assert iobs.SparseRegressor is SparseRegressor
    assert iobs.SparseLogisticRegression is SparseLogisticRegression
    assert {"fit", "FitResult", "SparseRegressor", "SparseLogisticRegression"} <= set(iobs.__all__)


def test_k_above_n_features_is_clipped_with_a_warning():
    X = np.random.default_rng(0).standard_normal((30, 3))
    with pytest.warns(UserWarning, match="k = 10 > n_features = 3"):
        est = SparseRegressor(k=10).fit(X, X @ [1.0, 2.0, 3.0])
    assert est.support_.sum() == 3 and est.n_features_in_ == 3


def test_regressor_recovers_support_and_intercept():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((80, 20))
    est = SparseRegressor(k=3).fit(X, 2 * X[:, 3] - X[:, 7] + 0.5 * X[:, 11] + 4.0)
    assert np.flatnonzero(est.support_).tolist() == [3, 7, 11]
    assert est.intercept_ == pytest.approx(4.0, abs=1e-9)
    assert est.n_iter_ >= 1 and est.score(X, 2 * X[:, 3] - X[:, 7] + 0.5 * X[:, 11] + 4) > 0.999


def test_classifier_works_with_any_two_labels():
    rng = np.random.default_rng(2)
    X = rng.standard_normal((200, 10))
    y = np.where(X[:, 0] - X[:, 5] + 0.3 * rng.standard_normal(200) > 0, "spam", "ham")
    clf = SparseLogisticRegression(k=2).fit(X, y)
    assert clf.classes_.tolist() == ["ham", "spam"]
    assert np.flatnonzero(clf.support_).tolist() == [0, 5]
    P = clf.predict_proba(X)
    assert np.allclose(P.sum(axis=1), 1.0)
    assert (clf.classes_[P.argmax(axis=1)] == clf.predict(X)).all()
    assert clf.score(X, y) > 0.9


def test_pipeline_grid_search_over_k():
    X, y = load_breast_cancer(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), SparseLogisticRegression())
    grid = GridSearchCV(pipe, {"sparselogisticregression__k": [1, 3, 10]}, cv=3).fit(X, y)
    assert grid.best_params_["sparselogisticregression__k"] in (3, 10)
    assert grid.best_estimator_[-1].support_.sum() == grid.best_params_[
        "sparselogisticregression__k"]


def _breast_cancer_split():
    X, y = load_breast_cancer(return_X_y=True)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)
    sc = StandardScaler().fit(Xtr)
    return sc.transform(Xtr), sc.transform(Xte), ytr, yte


def _l1_with_about(k, Xtr, ytr):
    """scikit-learn's L1 logistic regression with C tuned to about k nonzeros."""
    best = None
    for C in np.geomspace(0.01, 1.0, 25):
        lr = LogisticRegression(l1_ratio=1.0, C=C, solver="liblinear").fit(Xtr, ytr)
        nnz = int((lr.coef_ != 0).sum())
        if best is None or abs(nnz - k) < abs(best[0] - k):
            best = (nnz, lr)
    return best


def test_breast_cancer_accuracy_close_to_l1_logistic(capsys):
    Xtr, Xte, ytr, yte = _breast_cancer_split()
    ours = SparseLogisticRegression(k=10).fit(Xtr, ytr)
    nnz, l1 = _l1_with_about(10, Xtr, ytr)
    acc, acc_l1 = ours.score(Xte, yte), l1.score(Xte, yte)
    with capsys.disabled():
        print(f"\nbreast cancer held-out accuracy: SparseLogisticRegression(k=10) {acc:.3f} "
              f"({ours.n_iter_} steps, {ours.result_.stopped}); L1 LogisticRegression "
              f"(C={l1.C:.3g}, {nnz} nonzeros) {acc_l1:.3f}")
    assert ours.support_.sum() == 10
    assert acc >= acc_l1 - 0.03
