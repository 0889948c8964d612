"""Properties of the NumPy layer-wise pruning kernels (no torch)."""

import numpy as np
import pytest

from iobs.prune import layerwise as lw


def _problem(rng, d_out=12, d_in=16, n=400):
    X = rng.normal(size=(n, d_in)) @ rng.normal(size=(d_in, d_in))  # correlated inputs
    return rng.normal(size=(d_out, d_in)), lw.layer_hessian(X), X


@pytest.mark.parametrize("pattern, sparsity", [("unstructured", 0.3), ("unstructured", 0.5),
                                               ("unstructured", 0.8), ("2:4", 0.5)])
def test_obs_with_identity_hessian_equals_magnitude(rng, pattern, sparsity):
    W = rng.normal(size=(12, 16))
    expected, keep_m = lw.magnitude_prune(W, sparsity, pattern=pattern)
    for c in (1.0, 3.0):
        W_hat, keep = lw.obs_prune(W, c * np.eye(16), sparsity, pattern=pattern)
        np.testing.assert_array_equal(keep, keep_m)
        np.testing.assert_allclose(W_hat, expected, atol=1e-12)


def test_obd_with_identity_hessian_equals_magnitude(rng):
    W = rng.normal(size=(8, 16))
    for pattern, s in [("unstructured", 0.6), ("2:4", 0.5)]:
        np.testing.assert_array_equal(lw.obd_prune(W, np.eye(16), s, pattern=pattern)[0],
                                      lw.magnitude_prune(W, s, pattern=pattern)[0])


@pytest.mark.parametrize("method", ["magnitude", "obd", "obs"])
def test_two_four_pattern_holds_exactly(rng, method):
    W, H, _ = _problem(rng)
    if method == "magnitude":
        W_hat, keep = lw.magnitude_prune(W, 0.5, pattern="2:4")
    else:
        W_hat, keep = getattr(lw, f"{method}_prune")(W, H, 0.5, pattern="2:4")
    groups = keep.reshape(W.shape[0], -1, 4)
    assert (groups.sum(axis=2) == 2).all()
    assert (W_hat[~keep] == 0).all()


@pytest.mark.parametrize("sparsity", [0.0, 0.25, 0.5, 0.9])
def test_unstructured_sparsity_is_exact_per_layer(rng, sparsity):
    W, H, _ = _problem(rng)
    for W_hat, keep in (lw.magnitude_prune(W, sparsity), lw.obd_prune(W, H, sparsity),
                        lw.obs_prune(W, H, sparsity)):
        assert (~keep).sum() == round(sparsity * W.size)
        assert (W_hat[~keep] == 0).all()


def test_single_removal_equals_least_squares_refit(rng):
    """Pruning one weight is the exact OBS step: the refit of the rest (PAPER.md, R)."""
    W, H, _ = _problem(rng, d_out=1)
    W[0, 0] = 1e-3  # the smallest saliency by far: it is the one removed
    W_hat, keep = lw.obs_prune(W, H, 1 / W.size, damping=0.0)
    assert not keep[0, 0] and keep[0, 1:].all()
    Q = np.arange(1, W.shape[1])
    refit = W[0, Q] + np.linalg.solve(H[np.ix_(Q, Q)], H[Q, 0] * W[0, 0])
    np.testing.assert_allclose(W_hat[0, Q], refit, rtol=1e-8, atol=1e-10)


def test_obs_beats_magnitude_on_correlated_inputs_with_fine_blocks(rng):
    W, H, _ = _problem(rng, d_in=32)
    err_m = lw.reconstruction_error(W, lw.magnitude_prune(W, 0.5)[0], H)
    err_o = lw.reconstruction_error(W, lw.obs_prune(W, H, 0.5, blocksize=4)[0], H)
    assert err_o < err_m


def test_reconstruction_error_is_output_error(rng):
    W, H, X = _problem(rng)
    W_hat = lw.magnitude_prune(W, 0.5)[0]
    direct = 2.0 * np.sum(((W - W_hat) @ X.T) ** 2) / X.shape[0]
    assert np.isclose(lw.reconstruction_error(W, W_hat, H), direct, rtol=1e-10)


def test_dead_inputs_are_pruned_without_nan(rng):
    W, H, _ = _problem(rng)
    H[3, :] = H[:, 3] = 0.0  # input 3 is always zero
    W_hat, keep = lw.obs_prune(W, H, 0.25)
    assert np.isfinite(W_hat).all()
    assert not keep[:, 3].any()


def test_magnitude_global_uses_one_threshold(rng):
    Ws = [rng.normal(size=(6, 8)), 0.1 * rng.normal(size=(4, 8))]
    out = lw.magnitude_global_prune(Ws, 0.5)
    kept = np.concatenate([np.abs(W[k]) for W, (_, k) in zip(Ws, out, strict=True)])
    pruned = np.concatenate([np.abs(W[~k]) for W, (_, k) in zip(Ws, out, strict=True)])
    assert kept.min() >= pruned.max()
    assert sum((~k).sum() for _, k in out) == 40
    assert (~out[1][1]).mean() > 0.5  # the small layer loses more


def test_inputs_are_not_modified(rng):
    W, H, _ = _problem(rng)
    W0, H0 = W.copy(), H.copy()
    lw.obs_prune(W, H, 0.5)
    lw.obd_prune(W, H, 0.5, pattern="2:4")
    np.testing.assert_array_equal(W, W0)
    np.testing.assert_array_equal(H, H0)


@pytest.mark.parametrize("kwargs, word", [
    ({"sparsity": 1.0}, "sparsity"), ({"sparsity": -0.1}, "sparsity"),
    ({"pattern": "2:4", "sparsity": 0.7}, "0.5"), ({"pattern": "4:2"}, "pattern"),
    ({"pattern": "banded"}, "pattern"), ({"damping": -1.0}, "damping"),
    ({"blocksize": 0}, "blocksize")])
def test_invalid_arguments_raise_value_error_naming_them(rng, kwargs, word):
    W, H, _ = _problem(rng)
    kwargs = {"sparsity": 0.5, **kwargs}
    with pytest.raises(ValueError, match=word):
        lw.obs_prune(W, H, **kwargs)


def test_shape_errors_name_the_shapes(rng):
    W, H, _ = _problem(rng)
    with pytest.raises(ValueError, match="H must be"):
        lw.obs_prune(W, H[:-1, :-1], 0.5)
    with pytest.raises(ValueError, match="multiple of 4"):
        lw.obs_prune(W[:, :-2], H[:-2, :-2], 0.5, pattern="2:4")


def test_singular_hessian_without_damping_warns_and_recovers(rng):
    X = rng.normal(size=(4, 16))  # rank 4 < 16
    W = rng.normal(size=(3, 16))
    with pytest.warns(RuntimeWarning, match="Cholesky"):
        W_hat, _ = lw.obs_prune(W, lw.layer_hessian(X), 0.5, damping=0.0)
    assert np.isfinite(W_hat).all()
