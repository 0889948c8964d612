"""Argument checks shared by the public functions: each raises ``ValueError`` naming the
parameter, the allowed range and the value it got."""

from __future__ import annotations

import math
import numbers
import os

import numpy as np

__all__ = [
    "check_array",
    "check_choice",
    "check_float",
    "check_int",
    "check_memory",
    "memory_budget",
]


def check_int(name: str, value, lo: int | None = None, hi: int | None = None) -> int:
    """Return ``value`` as an int in ``[lo, hi]`` or raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer; got {value!r}")
    value = int(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        lo_s = "-inf" if lo is None else lo
        hi_s = "inf" if hi is None else hi
        raise ValueError(f"{name} must be in [{lo_s}, {hi_s}]; got {value}")
    return value


def check_float(name: str, value, lo: float | None = None, hi: float | None = None, *,
                lo_open: bool = False, hi_open: bool = False) -> float:
    """Return ``value`` as a finite float in the given interval or raise ``ValueError``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number; got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value}")
    bad_lo = lo is not None and (value <= lo if lo_open else value < lo)
    bad_hi = hi is not None and (value >= hi if hi_open else value > hi)
    if bad_lo or bad_hi:
        left = "(" if lo_open else "["
        right = ")" if hi_open else "]"
        lo_s = "-inf" if lo is None else lo
        hi_s = "inf" if hi is None else hi
        raise ValueError(f"{name} must be in {left}{lo_s}, {hi_s}{right}; got {value}")
    return value


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices`` or raise ``ValueError``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}; got {value!r}")
    return value


def check_array(name: str, a, *, ndim: int, shape=None, copy: bool = True,
                finite: bool = True) -> np.ndarray:
    """A float64 NumPy array of ``a`` with ``ndim`` dimensions (and ``shape``): a copy
    (inputs are never aliased) unless ``copy=False`` (then ``a`` itself when it already is
    float64, for callers that only read it), checked finite unless ``finite=False`` (for
    callers that check it in a pass of their own)."""
    try:
        arr = np.array(a, dtype=np.float64) if copy else np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array; got {type(a).__name__}") from exc
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s); got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    if shape is not None and arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {arr.shape}")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} must contain only finite values (no NaN or inf)")
    return arr


def memory_budget() -> int:
    """Bytes one request may allocate: ``IOBS_MEMORY_BUDGET`` or a quarter of RAM."""
    env = os.environ.get("IOBS_MEMORY_BUDGET")
    if env:
        return int(float(env))
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 8 << 30
    return total // 4


def check_memory(name: str, what: str, nbytes: float) -> None:
    """Refuse, before allocating, a request whose estimate exceeds :func:`memory_budget`;
    the message starts with the parameter(s) ``name`` to make smaller."""
    budget = memory_budget()
    if nbytes > budget:
        raise ValueError(f"{name} too large: {what} needs about {nbytes / 2**30:.2f} GiB, over "
                         f"the memory budget of {budget / 2**30:.2f} GiB (IOBS_MEMORY_BUDGET); "
                         f"choose smaller sizes")
