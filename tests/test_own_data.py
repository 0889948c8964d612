"""Your data without a truth: bundled data sets, the seeded split, the comparison and the
upload checks the page relies on."""

from __future__ import annotations

import numpy as np
import pytest

from iobs.research.own_data import bundled, compare_fits, read_uploads, split

LIMITS = dict(max_mb=1, max_cells=10_000)


def test_bundled_data_sets_ship_with_scikit_learn_and_carry_their_loss():
    X, y, meta = bundled("breast-cancer")
    assert X.shape == (569, 30) and set(np.unique(y)) == {0.0, 1.0}
    assert meta["loss"] == "logistic" and len(meta["features"]) == 30
    X, y, meta = bundled("diabetes")
    assert X.shape == (442, 285) and meta["loss"] == "squared"
    assert len(meta["features"]) == 285 and np.isfinite(X).all()
    assert "285 features" in meta["source"]
    for degree, d in ((1, 10), (2, 65)):
        X, _, meta = bundled("diabetes", degree=degree)
        assert X.shape == (442, d) and len(meta["features"]) == d
    with pytest.raises(ValueError, match="degree"):
        bundled("diabetes", degree=4)


def test_split_is_seeded_disjoint_and_covers_every_row():
    train, test = split(100, 0.25, 3)
    assert len(test) == 25 and not set(train) & set(test)
    assert sorted([*train, *test]) == list(range(100))
    np.testing.assert_array_equal(split(100, 0.25, 3)[1], test)
    with pytest.raises(ValueError, match="test_fraction"):
        split(100, 1.0, 0)


def test_breast_cancer_comparison_reaches_held_out_accuracy_without_a_truth():
    X, y, _ = bundled("breast-cancer")
    res = compare_fits(X, y, ["iobs-ws", "omp"], k=10, loss="logistic", seed=0)
    for m, r in res["methods"].items():
        assert r["test"]["accuracy"] >= 0.9, m
        assert int(r["support"].sum()) <= 10 and len(r["loss"]) == len(r["times"])
        assert np.all(np.diff(r["times"]) >= 0)
    assert res["config"]["n_test"] == round(0.25 * 569)


@pytest.mark.parametrize("args, match", [
    ((None, b"1\n2\n", "squared"), "upload both"),
    ((b"1,2\n3,nan\n", b"1\n2\n", "squared"), "NaN|nan|finite"),
    ((b"1,2\n3,abc\n", b"1\n2\n", "squared"), "number"),
    ((b"1,2\n3\n", b"1\n2\n", "squared"), "ragged|columns|row"),
    ((b"", b"1\n2\n", "squared"), "empty"),
    ((b"1,2\n3,4\n", b"1\n2\n3\n", "squared"), "one value per row"),
    ((b"1,2\n3,4\n", b"0\n2\n", "logistic"), "labels 0 and 1"),
    ((b"0" * (2 * 2**20), b"1\n", "squared"), "MB"),
    (((("1," * 199 + "1\n") * 60).encode(), b"1\n" * 60, "squared"), "cells"),
])
def test_bad_uploads_are_refused_with_what_to_change(args, match):
    with pytest.raises(ValueError, match=match):
        read_uploads(*args, **LIMITS)


def test_compare_fits_validates_its_arguments():
    X, y = np.random.default_rng(0).standard_normal((20, 5)), np.zeros(20)
    with pytest.raises(ValueError, match="k"):
        compare_fits(X, y, ["iht"], k=6)
    with pytest.raises(ValueError, match="methods"):
        compare_fits(X, y, [], k=2)
    with pytest.raises(ValueError, match="y"):
        compare_fits(X, y[:5], ["iht"], k=2)
