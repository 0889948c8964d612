"""Export of a view's numbers and configuration as JSON or CSV text (pure; no Streamlit).

The app's download buttons, the CLI and notebooks share these: arrays become lists (JSON)
or columns (CSV), NaN/inf become null/blank, and the configuration travels with the data.
"""

from __future__ import annotations

import io
import json
import math

import numpy as np

__all__ = ["plain", "to_csv", "to_json"]


def plain(v):
    """JSON-ready copy: arrays -> lists, NumPy scalars -> Python, non-finite -> None."""
    if isinstance(v, np.ndarray):
        return [plain(x) for x in v.tolist()] if v.ndim else plain(v.item())
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, (np.floating, float)):
        return float(v) if math.isfinite(v) else None
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def to_json(numbers: dict, config: dict) -> str:
    """JSON text ``{"config": ..., "numbers": ...}``; arrays become lists, NaN -> null."""
    return json.dumps({"config": plain(config), "numbers": plain(numbers)}, indent=1)


def to_csv(numbers: dict, config: dict) -> str:
    """CSV text: ``# key: value`` config lines, then one column per 1-D array (2-D arrays
    are flattened row-major with their shape in the header), padded with blanks.

    >>> print(to_csv({"e": np.array([1.0, np.nan])}, {"k": 4}), end="")
    # k: 4
    "e"
    1.0
    <BLANKLINE>
    """
    buf = io.StringIO()
    for k, v in config.items():
        buf.write(f"# {k}: {json.dumps(plain(v))}\n")
    cols = {}
    for k, v in numbers.items():
        a = np.asarray(v)
        if a.ndim == 0:
            buf.write(f"# {k}: {json.dumps(plain(a))}\n")
        else:
            cols[k if a.ndim == 1 else f"{k} {a.shape}"] = a.ravel()
    n = max((len(a) for a in cols.values()), default=0)
    buf.write(",".join(f'"{c}"' for c in cols) + "\n")
    for i in range(n):
        cells = (None if i >= len(a) else plain(a[i]) for a in cols.values())
        buf.write(",".join("" if c is None else str(c) for c in cells) + "\n")
    return buf.getvalue()


