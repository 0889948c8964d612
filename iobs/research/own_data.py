r"""Methods compared on data without a truth: the numbers behind the "Your data" page.

No :math:`\theta^\star` here, so no distance to it and no bound: the comparison is the
training loss per step and per second (:func:`iobs.fit`'s own record, its truth-free stop),
the error on held-out rows, and the support each method picks. X is standardised with the
training rows' means and scales only (the held-out rows never inform the fit).
"""

from __future__ import annotations

import numpy as np

from iobs._validate import check_array, check_choice, check_float, check_int
from iobs.datafiles import load_xy
from iobs.fit import fit

__all__ = ["BUNDLED", "bundled", "compare_fits", "read_uploads", "split"]

BUNDLED = {
    "diabetes": "scikit-learn's bundled diabetes data (442 patients, 10 measurements) with "
                "every product of up to {degree} of them: {d} features, squared loss",
    "breast-cancer": "scikit-learn's bundled breast-cancer data (569 tumours, 30 features), "
                     "benign (1) or malignant (0): logistic loss",
}


def bundled(name: str, *, degree: int = 3):
    """``(X, y, meta)`` of a data set that ships with scikit-learn (nothing is downloaded);
    ``meta``: ``loss``, ``features`` (names), ``source``.

    ``degree`` (diabetes only, 1-3): the standardised measurements and every product of up
    to ``degree`` of them (squares included, like scikit-learn's ``PolynomialFeatures``
    without the constant): d = 10, 65 or 285.
    """
    check_choice("name", name, BUNDLED)
    degree = check_int("degree", degree, 1, 3)
    from sklearn import datasets

    if name == "breast-cancer":
        data = datasets.load_breast_cancer()
        return (data.data.astype(float), data.target.astype(float),
                {"loss": "logistic", "features": list(data.feature_names),
                 "source": BUNDLED[name]})
    from itertools import combinations_with_replacement

    data = datasets.load_diabetes()
    X0 = (data.data - data.data.mean(0)) / data.data.std(0)
    names, cols = [], []
    for j in range(1, degree + 1):
        for idx in combinations_with_replacement(range(X0.shape[1]), j):
            cols.append(np.prod(X0[:, idx], axis=1))
            names.append("·".join(data.feature_names[i] for i in idx))
    return (np.column_stack(cols), data.target.astype(float),
            {"loss": "squared", "features": names,
             "source": BUNDLED[name].format(degree=degree, d=len(names))})


def split(n: int, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, test) row indices; at least one row on each side."""
    n = check_int("n", n, 2, 10**9)
    test_fraction = check_float("test_fraction", test_fraction, 0.0, 1.0, lo_open=True,
                                hi_open=True)
    perm = np.random.default_rng(check_int("seed", seed, 0, 2**32 - 1)).permutation(n)
    m = min(max(1, round(test_fraction * n)), n - 1)
    return np.sort(perm[m:]), np.sort(perm[:m])


def _held_out(loss, r, X, y):
    """Held-out metrics: RMSE for squared loss; accuracy and log-loss for logistic."""
    m = r.predict(X)
    if loss == "squared":
        return {"rmse": float(np.sqrt(np.mean((m - y) ** 2)))}
    p = np.clip(1.0 / (1.0 + np.exp(-m)), 1e-15, 1 - 1e-15)
    return {"accuracy": float(np.mean((m > 0) == (y == 1))),
            "log_loss": float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))}


def compare_fits(X, y, methods, *, k: int, loss: str = "squared", test_fraction: float = 0.25,
                 seed: int = 0, max_steps: int = 200) -> dict:
    """Fit every method on the training rows and score it on the held-out rows.

    Returns ``{"methods": {name: {...}}, "config": {...}}``; per method ``loss`` and
    ``times`` (per step, NumPy), ``steps``, ``converged``, ``stopped``, ``support`` (bool,
    d), ``coef``, ``seconds``, ``train`` and ``test`` metrics.
    """
    X = check_array("X", X, ndim=2)
    y = check_array("y", y, ndim=1, shape=(X.shape[0],))
    check_choice("loss", loss, ("squared", "logistic"))
    methods = list(methods)
    if not methods:
        raise ValueError("methods must name at least one method; got an empty list")
    k = check_int("k", k, 1, X.shape[1])
    train, test = split(X.shape[0], test_fraction, seed)
    mu, sd = X[train].mean(0), X[train].std(0)
    sd[sd == 0] = 1.0
    Z = (X - mu) / sd
    out = {}
    for m in methods:
        r = fit(Z[train], y[train], k=k, method=m, loss=loss, max_steps=max_steps)
        out[m] = {"loss": r.loss, "times": r.times, "steps": r.steps, "converged": r.converged,
                  "stopped": r.stopped, "support": r.support, "coef": r.coef,
                  "seconds": r.seconds, "train": _held_out(loss, r, Z[train], y[train]),
                  "test": _held_out(loss, r, Z[test], y[test])}
    return {"methods": out, "config": {"k": k, "loss": loss, "test_fraction": test_fraction,
                                       "seed": seed, "n_train": len(train),
                                       "n_test": len(test), "d": X.shape[1]}}


def read_uploads(x_bytes: bytes | None, y_bytes: bytes | None, loss: str, *, max_mb: int,
                 max_cells: int):
    """``(X, y)`` from uploaded bytes (:func:`iobs.datafiles.load_table`), or ValueError
    saying what to change: missing, oversize (``max_mb`` per file, ``max_cells`` of X), y of
    the wrong length, labels other than 0/1 for the logistic loss."""
    if x_bytes is None or y_bytes is None:
        raise ValueError("upload both files: X (n rows, d columns) and y (n values)")
    for name, b in (("X", x_bytes), ("y", y_bytes)):
        if len(b) > max_mb * 2**20:
            raise ValueError(f"{name} is {len(b) / 2**20:.1f} MB; the page takes files up to "
                             f"{max_mb} MB (use `python -m iobs fit` for larger ones)")
    X, y = load_xy(x_bytes, y_bytes, max_bytes=max_mb * 2**20)
    if X.size > max_cells:
        raise ValueError(f"X has {X.size:,} cells; the page fits up to {max_cells:,} live")
    if loss == "logistic" and not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("y must hold the labels 0 and 1 for the logistic loss (or choose "
                         "the squared loss)")
    return X, y
