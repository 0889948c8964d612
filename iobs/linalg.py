"""Dense linear algebra the models share: an SPD inverse that can work in place, and the
largest eigenvalue of a PSD operator (the step size 1/L). NumPy or CuPy arrays."""

from __future__ import annotations

import numpy as np

from iobs import backend
from iobs.backend import xp_of

__all__ = ["inverse_spd", "max_eig"]


def inverse_spd(A, *, overwrite: bool = False):
    """Explicit inverse of an SPD matrix through its Cholesky factor (done once per run).

    With ``overwrite`` (large, once per run) SciPy's LAPACK potrf + potri work in place (no
    n x n temporaries beyond ``A``); otherwise NumPy alone, so that per-step inverses never
    mix two BLAS thread pools. A non-SPD ``A`` raises ``numpy.linalg.LinAlgError``.
    """
    xp = xp_of(A)
    if xp is np and not overwrite:               # small, per step: stay on NumPy's BLAS
        np.linalg.cholesky(A)                    # raises LinAlgError unless SPD
        return np.linalg.inv(A)
    if xp is np:
        from scipy.linalg import lapack

        a = A.T if A.flags.c_contiguous else A   # symmetric: the F-ordered view is A itself
        c, info = lapack.dpotrf(a, lower=1, overwrite_a=int(overwrite), clean=0)
        if info == 0:
            c, info = lapack.dpotri(c, lower=1, overwrite_c=1)
        if info != 0:
            raise np.linalg.LinAlgError("matrix is not positive definite")
        n, B = c.shape[0], 512
        for s in range(0, n, B):                 # potri fills the lower triangle only
            e = min(s + B, n)
            blk = np.tril(c[s:e, s:e])
            c[s:e, s:e] = blk + np.tril(blk, -1).T
            c[s:e, e:] = c[e:, s:e].T
        return c
    L = backend.cholesky(A)
    Linv = backend.solve_triangular(L, xp.eye(A.shape[0]), lower=True)
    return Linv.T @ Linv


def max_eig(matvec, d, xp):
    """Largest eigenvalue of a PSD operator: Lanczos (ARPACK) on NumPy, power iteration
    on CuPy; padded by 0.1% so that 1/L stays a safe step."""
    v0 = np.random.default_rng(12345).standard_normal(d)
    if d <= 256:                                  # small: the exact spectrum is cheap
        M = matvec(xp.eye(d))
        return 1.001 * max(float(xp.linalg.eigvalsh(0.5 * (M + M.T))[-1]), 0.0)
    if xp is np:
        from scipy.sparse.linalg import LinearOperator, eigsh

        op = LinearOperator((d, d), matvec=matvec, dtype=np.float64)
        lam = float(eigsh(op, k=1, which="LA", v0=v0, tol=1e-5,
                          return_eigenvectors=False)[0])
        return 1.001 * lam
    v = xp.asarray(v0 / np.linalg.norm(v0))
    lam = 0.0
    for _ in range(200):
        w = matvec(v)
        new = float(xp.linalg.norm(w))
        if new == 0.0:
            return 0.0
        v, done, lam = w / new, abs(new - lam) <= 1e-9 * new, new
        if done:
            break
    return 1.001 * lam
