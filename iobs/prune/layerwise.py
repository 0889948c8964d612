r"""Layer-wise pruning kernels on a weight matrix and its layer Hessian (NumPy only).

For a linear layer with weights :math:`W` (rows = outputs, columns = inputs) and
calibration inputs :math:`X` (d_in, N), layer-wise pruning solves

.. math:: \min_{\hat W} \|WX - \hat W X\|_F^2 \quad \text{s.t. } \hat W \text{ has the mask},

a least-squares problem per row whose Hessian is :math:`H = 2XX^\top/N` (the same for
every row). Each function takes ``(W, H)`` and returns ``(W_hat, keep)`` with ``keep``
the boolean mask of surviving weights; inputs are never modified.

* :func:`magnitude_prune` — keep the largest :math:`|w_{ij}|` (ignores H).
* :func:`obd_prune` — Optimal Brain Damage: diagonal Hessian, saliency
  :math:`w_{ij}^2 H_{jj}`; no compensating update (with a diagonal H there is none).
* :func:`wanda_prune` — Wanda: score :math:`|w_{ij}|\,\|X_j\|_2`, compared within each
  output row; no update. (ADMM and its exact refit are in :mod:`iobs.prune.admm`.)
* :func:`obs_prune` — SparseGPT's blocked OBS sweep (Frantar & Alistarh 2023; the
  projection step of I-OBS for DNNs in PAPER.md): damp H, take the upper Cholesky factor
  :math:`U` of :math:`H^{-1}` (:math:`H^{-1} = U^\top U`), walk the columns left to right;
  in each block choose the mask by smallest :math:`w^2/U_{ii}^2`, and for column i set
  :math:`e = (w_{:,i} - q_{:,i})/U_{ii}` and :math:`W_{:,i:} \mathrel{-}= e\,U_{i,i:}`,
  which is the OBS update :math:`-\frac{w_q}{[H^{-1}]_{qq}} H^{-1} e_q` restricted to the
  columns not yet fixed.

Patterns: ``"unstructured"`` (a fraction ``sparsity`` of each layer) or ``"N:M"`` such as
``"2:4"`` (in every row, N of each M consecutive inputs are zero; sparsity = N/M).

Numerical safeguards (named, as in SparseGPT): *dead inputs* (:math:`H_{jj} = 0`, an
input that is always zero) get :math:`H_{jj} = 1` and their weights are pruned first;
*damping* adds :math:`\lambda = \text{damping}\cdot\text{mean}(\operatorname{diag} H)`;
a failed Cholesky retries with 10x the damping and warns (``RuntimeWarning``).
"""

from __future__ import annotations

import warnings

import numpy as np

from iobs.models import damping_lambda

__all__ = [
    "layer_hessian",
    "magnitude_global_prune",
    "magnitude_prune",
    "obd_prune",
    "obs_prune",
    "parse_pattern",
    "reconstruction_error",
    "wanda_prune",
]


def parse_pattern(pattern: str, sparsity: float) -> tuple[int, int]:
    """Validate (pattern, sparsity); return (N, M) with (0, 0) for unstructured."""
    if not (isinstance(sparsity, (int, float)) and 0.0 <= sparsity < 1.0):
        raise ValueError(f"sparsity must be in [0, 1); got sparsity={sparsity!r}")
    if pattern == "unstructured":
        return 0, 0
    try:
        n, m = (int(p) for p in str(pattern).split(":"))
    except ValueError:
        n = m = 0
    if not 0 < n < m:
        raise ValueError(f"pattern must be 'unstructured' or 'N:M' with 0 < N < M "
                         f"(e.g. '2:4'); got pattern={pattern!r}")
    if abs(sparsity - n / m) > 1e-9:
        raise ValueError(f"pattern {pattern!r} fixes sparsity at {n / m:g}; "
                         f"got sparsity={sparsity!r}")
    return n, m


def _check(W, H=None, pattern="unstructured", sparsity=0.5):
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or not np.isfinite(W).all():
        raise ValueError(f"W must be a finite 2-D array; got shape {W.shape}")
    n, m = parse_pattern(pattern, sparsity)
    if m and W.shape[1] % m:
        raise ValueError(f"pattern {pattern!r} needs the number of inputs (columns) to be a "
                         f"multiple of {m}; got W.shape={W.shape}")
    if H is not None:
        H = np.asarray(H, dtype=np.float64)
        if H.shape != (W.shape[1], W.shape[1]) or not np.isfinite(H).all():
            raise ValueError(f"H must be a finite ({W.shape[1]}, {W.shape[1]}) array; "
                             f"got shape {H.shape}")
    return W, H, n, m


def _mask(scores: np.ndarray, sparsity: float, n: int, m: int) -> np.ndarray:
    """Boolean *pruned* mask: the lowest ``sparsity`` of all scores, or N lowest of each M."""
    if m:
        rows, cols = scores.shape
        groups = scores.reshape(rows, cols // m, m)
        low = np.argsort(groups, axis=2, kind="stable")[:, :, :n]
        pruned = np.zeros_like(groups, dtype=bool)
        np.put_along_axis(pruned, low, True, axis=2)
        return pruned.reshape(rows, cols)
    k = round(sparsity * scores.size)
    pruned = np.zeros(scores.size, dtype=bool)
    if k:
        pruned[np.argpartition(scores.ravel(), k - 1)[:k]] = True
    return pruned.reshape(scores.shape)


def layer_hessian(X) -> np.ndarray:
    r"""Layer Hessian :math:`H = 2X^\top X/N` from inputs X of shape (N, d_in)."""
    X = np.asarray(X, dtype=np.float64)
    return 2.0 * X.T @ X / X.shape[0]


def reconstruction_error(W, W_hat, H) -> float:
    r"""Layer loss :math:`\operatorname{tr}(\Delta W H \Delta W^\top)`, :math:`\Delta W = W-\hat W`.

    With :math:`H = 2XX^\top/N` this is :math:`\tfrac{2}{N}\|WX - \hat W X\|_F^2`.
    """
    D = np.asarray(W, dtype=np.float64) - np.asarray(W_hat, dtype=np.float64)
    return float(np.sum((D @ np.asarray(H, dtype=np.float64)) * D))


def magnitude_prune(W, sparsity: float, *, pattern: str = "unstructured"):
    """Zero the smallest-magnitude weights of one layer; returns (W_hat, keep)."""
    W, _, n, m = _check(W, None, pattern, sparsity)
    pruned = _mask(np.abs(W), sparsity, n, m)
    return np.where(pruned, 0.0, W), ~pruned


def magnitude_global_prune(weights, sparsity: float):
    """One magnitude threshold over all layers (unstructured); returns [(W_hat, keep), ...].

    Layers with small weights lose more than ``sparsity`` of their entries, others less.
    """
    Ws = [_check(W, None, "unstructured", sparsity)[0] for W in weights]
    flat = np.concatenate([np.abs(W).ravel() for W in Ws])
    pruned = _mask(flat, sparsity, 0, 0)
    out, start = [], 0
    for W in Ws:
        p = pruned[start : start + W.size].reshape(W.shape)
        out.append((np.where(p, 0.0, W), ~p))
        start += W.size
    return out


def obd_prune(W, H, sparsity: float, *, pattern: str = "unstructured"):
    r"""Optimal Brain Damage: prune the smallest :math:`w_{ij}^2 H_{jj}`; no weight update."""
    W, H, n, m = _check(W, H, pattern, sparsity)
    pruned = _mask(W**2 * np.diag(H)[None, :], sparsity, n, m)
    return np.where(pruned, 0.0, W), ~pruned


def _row_mask(scores: np.ndarray, sparsity: float, n: int, m: int) -> np.ndarray:
    """Boolean *pruned* mask: the lowest ``sparsity`` of each row's scores (or N of each M)."""
    if m:
        return _mask(scores, sparsity, n, m)
    k = round(sparsity * scores.shape[1])
    pruned = np.zeros(scores.shape, dtype=bool)
    if k:
        low = np.argpartition(scores, k - 1, axis=1)[:, :k]
        np.put_along_axis(pruned, low, True, axis=1)
    return pruned


def wanda_prune(W, H, sparsity: float, *, pattern: str = "unstructured"):
    r"""Wanda: prune the smallest :math:`|w_{ij}|\,\|X_j\|_2` of each output row; no update.

    Parameters
    ----------
    W : ndarray of shape (d_out, d_in)
    H : ndarray of shape (d_in, d_in)
        Layer Hessian :math:`2XX^\top/N`; only its diagonal is read:
        :math:`\|X_j\|_2 = \sqrt{N H_{jj}/2}`, and the constant factor does not change the
        order, so the score used is :math:`|w_{ij}|\sqrt{H_{jj}}`.
    sparsity : float in [0, 1)
        Fraction of zeros in every row (unstructured), or N/M for ``pattern="N:M"``.
    pattern : "unstructured" or "N:M"

    Notes
    -----
    The score is the square root of OBD's :math:`w_{ij}^2 H_{jj}`, so the two differ only
    in where scores are compared: Wanda per output row, OBD over the whole layer. For N:M
    (groups inside a row) they coincide. With :math:`H = cI` Wanda is magnitude pruning
    per row. Reference: M. Sun, Z. Liu, A. Bair, J. Z. Kolter, "A Simple and Effective
    Pruning Approach for Large Language Models", ICLR 2024 (Eq. 1 and its per-output
    comparison group).

    Examples
    --------
    >>> import numpy as np
    >>> W_hat, keep = wanda_prune(np.arange(1.0, 9.0).reshape(2, 4), np.eye(4), 0.5)
    >>> keep.sum(axis=1).tolist()
    [2, 2]
    """
    W, H, n, m = _check(W, H, pattern, sparsity)
    pruned = _row_mask(np.abs(W) * np.sqrt(np.clip(np.diag(H), 0.0, None))[None, :],
                       sparsity, n, m)
    return np.where(pruned, 0.0, W), ~pruned


def _upper_cholesky_of_inverse(H: np.ndarray, damping: float) -> np.ndarray:
    """U with H_damped^{-1} = U^T U; retries with 10x damping on failure."""
    lam = damping_lambda(damping, np.diag(H))
    for attempt in range(4):
        try:
            L = np.linalg.cholesky(H + lam * np.eye(len(H)))
            Linv = np.linalg.solve(L, np.eye(len(H)))  # L^{-1}
            return np.linalg.cholesky(Linv.T @ Linv).T
        except np.linalg.LinAlgError:
            lam = 10.0 * max(lam, np.finfo(np.float64).eps * np.mean(np.diag(H)))
            warnings.warn(f"Cholesky of the layer Hessian failed; retrying with damping "
                          f"lambda={lam:.3g} (attempt {attempt + 1})", RuntimeWarning,
                          stacklevel=3)
    raise np.linalg.LinAlgError("layer Hessian is not positive definite even with damping")


def obs_sweep(W, U, sparsity, n, m, blocksize):
    """SparseGPT's column sweep (names as in sparsegpt.py). W is modified in place."""
    cols = W.shape[1]
    pruned = np.zeros_like(W, dtype=bool)
    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        W1, U1 = W[:, i1:i2].copy(), U[i1:i2, i1:i2]
        d = np.diag(U1)
        Err1 = np.zeros_like(W1)
        mask1 = np.zeros_like(W1, dtype=bool) if m else _mask(W1**2 / d**2, sparsity, 0, 0)
        for i in range(i2 - i1):
            if m and i % m == 0:
                mask1[:, i : i + m] = _mask(W1[:, i : i + m] ** 2 / d[i : i + m] ** 2, 0, n, m)
            w = W1[:, i]
            q = np.where(mask1[:, i], 0.0, w)
            err = (w - q) / d[i]  # (rows,)
            W1[:, i:] -= np.outer(err, U1[i, i:])
            W1[:, i] = q
            Err1[:, i] = err
        W[:, i1:i2] = W1
        pruned[:, i1:i2] = mask1
        W[:, i2:] -= Err1 @ U[i1:i2, i2:]  # lazy batch update of the remaining columns
    return pruned


def obs_prune(W, H, sparsity: float, *, pattern: str = "unstructured", damping: float = 0.01,
              blocksize: int = 128):
    r"""SparseGPT-style OBS pruning of one layer; returns (W_hat, keep).

    Parameters
    ----------
    W : ndarray of shape (d_out, d_in)
    H : ndarray of shape (d_in, d_in)
        Layer Hessian :math:`2XX^\top/N` (symmetric positive semi-definite).
    sparsity : float in [0, 1)
        Fraction of weights set to zero (within each block of ``blocksize`` columns).
    pattern : "unstructured" or "N:M"
    damping : float >= 0
        Relative damping: :math:`\lambda = \text{damping}\cdot\text{mean}(\operatorname{diag} H)`.
    blocksize : int
        Columns per lazy-update block; the unstructured mask is chosen per block.

    Notes
    -----
    With :math:`H = cI`, :math:`U` is diagonal, no error propagates and the result equals
    :func:`magnitude_prune` (for ``blocksize >= d_in``). Reference: E. Frantar, D. Alistarh,
    "SparseGPT", ICML 2023, Algorithm 1.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, W = rng.normal(size=(256, 8)), rng.normal(size=(4, 8))
    >>> W_hat, keep = obs_prune(W, layer_hessian(X), 0.5)
    >>> int(keep.sum())
    16
    """
    W, H, n, m = _check(W, H, pattern, sparsity)
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0; got damping={damping!r}")
    if not (isinstance(blocksize, int) and blocksize >= 1 and (not m or blocksize % m == 0)):
        raise ValueError(f"blocksize must be a positive integer (a multiple of M for N:M); "
                         f"got blocksize={blocksize!r}")
    W, H = W.copy(), H.copy()
    dead = np.diag(H) == 0
    H[dead, dead] = 1.0
    W[:, dead] = 0.0  # a dead input never reaches the output: its weights are free to prune
    U = _upper_cholesky_of_inverse(H, damping)
    pruned = obs_sweep(W, U, sparsity, n, m, blocksize)
    W[pruned] = 0.0
    return W, ~pruned
