"""Reading user data files (CSV or ``.npy``) into float arrays, with one-line errors.

Shared by ``python -m iobs fit`` and the app's upload page: every failure is a
``ValueError`` whose message names the input (``X`` or ``y``), the place and the fix.
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np

__all__ = ["MAX_BYTES", "as_vector", "load_table", "load_xy"]

MAX_BYTES = 200 * 2**20    # 200 MiB per file: a larger upload is refused before parsing
_NPY_MAGIC = b"\x93NUMPY"


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _parse_csv(text: str, name: str) -> np.ndarray:
    """Rows of numbers; a first row with no number in it is a header and skipped."""
    sample = text[:4096]
    try:
        delim = csv.Sniffer().sniff(sample, delimiters=",;\t ").delimiter
    except csv.Error:
        delim = ","
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delim)
            if any(c.strip() for c in r)]
    if rows and all(_number(c) is None for c in rows[0]):
        rows = rows[1:]                                    # header row
    if not rows:
        raise ValueError(f"{name}: the file holds no data rows (empty file?)")
    width = len(rows[0])
    out = np.empty((len(rows), width))
    for i, row in enumerate(rows):
        if len(row) != width:
            raise ValueError(f"{name}: row {i + 1} has {len(row)} cells; expected {width} "
                             f"like row 1 (ragged rows)")
        for j, cell in enumerate(row):
            v = _number(cell.strip())
            if v is None:
                raise ValueError(f"{name}: row {i + 1}, column {j + 1} is not a number: "
                                 f"{cell.strip()[:40]!r}")
            out[i, j] = v
    return out


def load_table(source, name: str, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read a numeric table from a path or from bytes (an upload) as float64, 2-D.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        A ``.npy`` file (by its magic bytes) or CSV text: comma, semicolon, tab or space
        separated, an optional header row (a first row without any number).
    name : str
        What the table is (``"X"``, ``"y"``), used in error messages.
    max_bytes : int
        Largest accepted file (default :data:`MAX_BYTES`, 200 MiB).

    Returns
    -------
    ndarray of shape (rows, columns)
        A 1-D ``.npy`` becomes one column.

    Raises
    ------
    ValueError
        Missing or unreadable file, over ``max_bytes``, empty, ragged rows, a cell that is
        not a number, NaN or inf, a ``.npy`` that is not numeric or has more than 2 dims.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        if len(data) > max_bytes:
            raise ValueError(f"{name}: {len(data)} bytes is over the limit of {max_bytes} bytes")
    else:
        path = os.fspath(source)
        if not os.path.isfile(path):
            raise ValueError(f"{name}: no such file: {path}")
        size = os.path.getsize(path)
        if size > max_bytes:
            raise ValueError(f"{name}: {path} is {size} bytes, over the limit of "
                             f"{max_bytes} bytes")
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise ValueError(f"{name}: cannot read {path}: {exc.strerror}") from exc
    if not data.strip():
        raise ValueError(f"{name}: the file is empty")
    if data.startswith(_NPY_MAGIC):
        try:
            arr = np.load(io.BytesIO(data), allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise ValueError(f"{name}: not a readable .npy file ({exc})") from exc
        if arr.dtype.kind not in "biuf" or arr.ndim not in (1, 2) or arr.size == 0:
            raise ValueError(f"{name}: a .npy file must hold a non-empty numeric 1-D or 2-D "
                             f"array; got dtype {arr.dtype}, shape {arr.shape}")
        arr = arr.astype(np.float64).reshape(arr.shape[0], -1)
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(f"{name}: not a UTF-8 CSV or .npy file") from exc
        arr = _parse_csv(text, name)
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"{name}: row {i + 1}, column {j + 1} is {arr[i, j]} (NaN or inf "
                         f"are not allowed)")
    return arr


def as_vector(table: np.ndarray, name: str) -> np.ndarray:
    """A one-column (or one-row) table as a vector of shape (n,); else ``ValueError``."""
    if table.ndim == 2 and 1 in table.shape:
        return table.reshape(-1)
    raise ValueError(f"{name} must be one column (or one row); got a table of shape "
                     f"{table.shape}")


def load_xy(x_source, y_source, *, max_bytes: int | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """``(X, y)`` read with :func:`load_table` (y one column or one row; ``max_bytes``
    per file, default :func:`load_table`'s) and checked to match: one value of y per row of
    X; else ``ValueError`` saying so."""
    limit = {} if max_bytes is None else {"max_bytes": max_bytes}
    X = load_table(x_source, "X", **limit)
    y = as_vector(load_table(y_source, "y", **limit), "y")
    if y.shape[0] != X.shape[0]:
        raise ValueError(f"y must have one value per row of X ({X.shape[0]} rows); it has "
                         f"{y.shape[0]}")
    return X, y
