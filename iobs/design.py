r"""The data matrix as the solvers read it: never copied, centred without being changed.

:class:`Design` wraps ``X`` (n, d) in whatever memory order it came (NumPy or CuPy) and
optionally a column centre :math:`c`, so that every product is with
:math:`X_c = X - \mathbf 1c^\top` while ``X`` itself stays untouched:

.. math:: X_c v = Xv - (c^\top v)\mathbf 1,\qquad X_c^\top r = X^\top r - c\,(\mathbf 1^\top r),

and a gathered block of columns is centred after the gather (exact, no cancellation).
A fit on a 3.2 GB ``X`` therefore holds no second copy of it (a centred copy and a
transposed copy were two more before).

:meth:`Design.gram` keeps the Gram block of the last working set of columns and, when the
next set shares columns with it, computes only the rows of the new columns (the working-set
step's sets share most columns once the support settles, measured: 470-540 of 600 at
(2000, 10000, 200)).

:func:`scan` is what :func:`iobs.fit` reads of ``X`` before solving: column means, the
finiteness check and the dead (constant) columns, in one product.
"""

from __future__ import annotations


import numpy as np

from iobs.backend import xp_of

__all__ = ["Design", "scan"]

_SPARSE = 4            # a vector with under d / _SPARSE nonzeros is multiplied column by column
_BLOCK_BYTES = 8 << 20  # column blocks of the blocked diagonals: about 8 MB
_PROBE_ROWS = 16        # about this many rows scan() compares first (constant columns)
_TAKE_MAX_ROWS = 512    # gather columns with ndarray.take up to this many rows (measured)
_INCREMENTAL_MIN = 256  # working sets this large update their Gram from the previous one


def scan(X, *, center: bool):
    """``(mean, dead)`` of ``X``: the column means (zeros unless ``center``) and which
    columns are dead (constant with ``center``, else zero), from one product over ``X``.

    A column is dead when every entry equals its first (or zero): a few evenly spaced rows
    rule out almost every column at once, and only the columns they leave open (constant
    on those rows) are compared in full. Raises ``ValueError`` when ``X`` holds a NaN or
    an infinity: a non-finite entry makes its column's sum non-finite, so the entry-wise
    check runs only then."""
    xp = xp_of(X)
    n, d = X.shape
    total = xp.ones(n) @ X                                             # (d,) column sums
    if not bool(xp.isfinite(total).all()):
        if not bool(xp.isfinite(X).all()):
            raise ValueError("X must contain only finite values (no NaN or inf)")
        raise ValueError("X must have columns whose sums are finite; got values too large "
                         "to add in float64 (rescale X)")
    rows = X[::max(1, (n - 1) // (_PROBE_ROWS - 1))]      # a view: about 16 rows, row 0 first
    ref = rows[0] if center else xp.zeros(d)
    open_ = xp.flatnonzero((rows == ref).all(axis=0))
    dead = xp.zeros(d, dtype=bool)
    if open_.size:
        B = X[:, open_]
        dead[open_] = (B == (B[0] if center else 0.0)).all(axis=0)
    return (total / n if center else xp.zeros(d)), dead


class Design:
    r"""``X`` (n, d) with an optional implicit centre ``c`` (d,): products with
    :math:`X_c = X - \mathbf 1c^\top`; ``X`` is read, never written or copied whole.

    Parameters
    ----------
    X : array (n, d), any memory order
    center : array (d,), optional
        Column centre (``None``: products with ``X`` itself).
    """

    def __init__(self, X, center=None):
        self.X, self.c, self.xp = X, center, xp_of(X)
        self.n, self.d = X.shape
        self._sq = None         # squared column norms, computed on demand
        self._ws = (None, None, None)   # (idx, X_c[:, idx], X_c[:, idx]^T X_c[:, idx])

    # -- products --------------------------------------------------------------------
    def matvec(self, v):
        """:math:`X_c v` for v of shape (d,) or (d, B); a sparse vector is multiplied by its
        nonzero columns only."""
        xp = self.xp
        idx = xp.flatnonzero(v) if v.ndim == 1 else None
        if idx is not None and _SPARSE * idx.size < self.d:
            out = self.gather(idx) @ v[idx]
            shift = None if self.c is None else self.c[idx] @ v[idx]
        else:
            out = self.X @ v
            shift = None if self.c is None else self.c @ v
        return out if shift is None else out - shift

    def rmatvec(self, r):
        r""":math:`X_c^\top r` for r of shape (n,) or (n, B) (one pass over ``X``)."""
        out = self.X.T @ r
        if self.c is not None:
            out -= (self.c if r.ndim == 1 else self.c[:, None]) * r.sum(axis=0)
        return out

    def gather(self, idx):
        """``X[:, idx]`` (uncentred), as NumPy copies it fastest: from a row-major ``X`` of
        up to :data:`_TAKE_MAX_ROWS` rows by ``take`` (2.5-3x faster at n = 256-512,
        measured), else by indexing (``take`` was 1.5-3x slower at n = 1000-4000, and 70x
        slower on a column-major ``X``, whose columns indexing copies whole)."""
        if self.xp is np and self.n <= _TAKE_MAX_ROWS and self.X.flags.c_contiguous:
            return self.X.take(idx, axis=1)
        return self.X[:, idx]

    def columns(self, idx):
        """The centred columns ``idx`` gathered into an (n, len(idx)) array (from the last
        working set's block when it holds them all: a smaller, cache-warm gather)."""
        ws_idx, XW, _ = self._ws
        if ws_idx is not None and ws_idx.size and idx.size and XW.dtype == self.X.dtype:
            pos = self.xp.minimum(self.xp.searchsorted(ws_idx, idx), ws_idx.size - 1)
            if bool((ws_idx[pos] == idx).all()):
                return XW[:, pos]
        B = self.gather(idx)
        if self.c is not None:
            B -= self.c[idx]
        return B

    def column_block(self, j0: int, j1: int):
        """Centred columns ``j0:j1`` (a view when not centred)."""
        B = self.X[:, j0:j1]
        return B if self.c is None else B - self.c[j0:j1]

    def blocks(self):
        """``(j0, j1)`` ranges of columns of about 8 MB, for blocked passes."""
        step = max(1, _BLOCK_BYTES // (8 * self.n))
        return [(j, min(j + step, self.d)) for j in range(0, self.d, step)]

    def sq_norms(self):
        r""":math:`\lVert X_{c,j}\rVert^2` for every column (one blocked pass, kept)."""
        if self._sq is None:
            xp = self.xp
            self._sq = xp.concatenate([xp.einsum("ij,ij->j", B, B) for B in
                                       (self.column_block(*b) for b in self.blocks())])
        return self._sq

    def outer(self):
        r""":math:`X_cX_c^\top` (n, n), formed in place from :math:`XX^\top`."""
        G = self.X @ self.X.T
        if self.c is not None:
            u = self.X @ self.c                                         # (n,)
            G -= u[:, None]
            G -= u[None, :]
            G += self.c @ self.c
        return G

    def centred(self):
        """:math:`X_c` as an array: ``X`` itself, or a centred copy (small d only: the dense
        paths; the caller checks the memory)."""
        return self.X if self.c is None else self.X - self.c

    def dense_gram(self):
        r""":math:`X_c^\top X_c` (d, d): small d only (the caller checks the memory)."""
        Xc = self.centred()
        return Xc.T @ Xc

    # -- a working set's Gram block ----------------------------------------------------
    def gram(self, idx, *, low: bool = False):
        r"""``(X_W, X_W^\top X_W)`` for the sorted column indices ``idx`` (centred); with
        ``low`` the Gram is float32. ``X_W`` stays in ``X``'s precision and is kept, so that
        :meth:`columns` gathers a support inside the set from it (a smaller, cache-warm
        gather than from ``X``: 31 against 10 us at (256, 1024), measured).

        From :data:`_INCREMENTAL_MIN` columns, Gram entries between columns that were also in
        the previous call's set are copied from it and only the rows of new columns are
        computed (:math:`m_{new}\,m\,n` instead of :math:`m^2 n/2` multiply-adds, when fewer
        than half the columns are new); below it the bookkeeping costs as much as it could
        save."""
        xp = self.xp
        dtype = xp.float32 if low else xp.float64
        prev_idx, prev_XW, prev_G = self._ws
        same = prev_idx is not None and prev_idx.size == idx.size and \
            bool((prev_idx == idx).all())
        if same and prev_G.dtype == dtype:
            return prev_XW, prev_G
        XW = prev_XW if same else self.columns(idx)                      # (n, m)
        A = XW.astype(dtype) if XW.dtype != dtype else XW
        G = None
        if not same and idx.size >= _INCREMENTAL_MIN and prev_idx is not None and \
                prev_idx.size and prev_G.dtype == dtype:
            pos = xp.minimum(xp.searchsorted(prev_idx, idx), prev_idx.size - 1)
            old = prev_idx[pos] == idx                                   # (m,) in both sets
            new = xp.flatnonzero(~old)
            if 2 * new.size < idx.size:
                keep = xp.flatnonzero(old)
                G = xp.empty((idx.size, idx.size), dtype=dtype)
                G[xp.ix_(keep, keep)] = prev_G[xp.ix_(pos[keep], pos[keep])]
                rows = A[:, new].T @ A                                   # (m_new, m)
                G[new, :] = rows
                G[:, new] = rows.T
        if G is None:
            G = A.T @ A
        self._ws = (idx, XW, G)
        return XW, G
