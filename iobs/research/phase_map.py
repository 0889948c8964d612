r"""A phase map as data: success fractions on a :math:`(\delta, \rho)` grid, its 50% curves,
the rule of thumb, and the CSV that the CLI writes and the page loads."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

import numpy as np

__all__ = ["CSV_FIELDS", "PhaseMap", "curve_50", "grid_sizes", "rule_of_thumb_delta"]

CSV_FIELDS = ("method", "d", "delta", "rho", "n", "k_star", "trials", "seed", "success")


def grid_sizes(d: int, delta: float, rho: float) -> tuple[int, int]:
    """Cell sizes ``(n, k*)``: :math:`n = \\max(1, \\mathrm{round}(\\delta d))`,
    :math:`k^\\star = \\mathrm{clip}(\\mathrm{round}(\\rho n), 1, \\min(n, d))`."""
    n = max(1, round(delta * d))
    return n, int(min(max(1, round(rho * n)), n, d))


def curve_50(success: np.ndarray, rhos: Sequence[float]) -> np.ndarray:
    r"""The empirical 50% curve: per column (one :math:`\delta`), the :math:`\rho` where the
    success fraction, scanned upward in :math:`\rho` and interpolated linearly, first falls
    below 1/2. NaN where the column starts below 1/2, never falls below it, or has a
    missing cell before the crossing.

    >>> curve_50(np.array([[1.0], [0.6], [0.2]]), [0.1, 0.2, 0.3]).round(3).tolist()
    [0.225]
    """
    s = np.asarray(success, dtype=float)
    r = np.asarray(rhos, dtype=float)
    out = np.full(s.shape[1], np.nan)
    for j in range(s.shape[1]):
        col = s[:, j]
        below = np.flatnonzero(~(col >= 0.5))   # NaN counts as "not known to be >= 1/2"
        if below.size == 0 or below[0] == 0 or np.isnan(col[below[0]]):
            continue
        i = below[0]
        w = (col[i - 1] - 0.5) / (col[i - 1] - col[i])
        out[j] = r[i - 1] + w * (r[i] - r[i - 1])
    return out


def rule_of_thumb_delta(rhos) -> np.ndarray:
    r"""The rule of thumb :math:`n \approx 2k\log(d/k)` (from the literature) in phase
    coordinates: with :math:`k = \rho n`, :math:`n = \delta d`,
    :math:`\delta = e^{-1/(2\rho)}/\rho`. Only the branch :math:`0 < \rho \le 1/2`
    (:math:`k \le d/e`, where it rises from 0 to :math:`\delta = 2/e`) means anything;
    NaN above it.

    >>> rule_of_thumb_delta([0.25, 0.9]).round(4).tolist()
    [0.5413, nan]
    """
    rho = np.asarray(rhos, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where((rho > 0) & (rho <= 0.5), np.exp(-0.5 / rho) / rho, np.nan)


class PhaseMap(dict):
    """``{method: success fraction, ndarray of shape (len(rhos), len(deltas))}`` (NaN where a
    cell was not computed) with the grid in ``deltas``, ``rhos``, the settings in
    ``config`` and the empirical 50% curves in :attr:`curves`."""

    def __init__(self, maps, *, deltas, rhos, config):
        super().__init__(maps)
        self.deltas = np.asarray(deltas, dtype=float)
        self.rhos = np.asarray(rhos, dtype=float)
        self.config = dict(config)

    @property
    def curves(self) -> dict[str, np.ndarray]:
        """``{method: rho at 50% success per delta}`` (see :func:`curve_50`)."""
        return {m: curve_50(a, self.rhos) for m, a in self.items()}

    @property
    def complete(self) -> np.ndarray:
        """Bool mask (len(rhos), len(deltas)) of the computed cells."""
        return np.all([~np.isnan(a) for a in self.values()], axis=0)

    def to_csv(self) -> str:
        """One row per method and cell: ``method, d, delta, rho, n, k_star, trials, seed,
        success`` (``success`` empty where not computed)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(CSV_FIELDS)
        d, trials, seed = self.config["d"], self.config["trials"], self.config["seed"]
        for m, a in self.items():
            for i, rho in enumerate(self.rhos):
                for j, delta in enumerate(self.deltas):
                    n, ks = grid_sizes(d, delta, rho)
                    s = "" if np.isnan(a[i, j]) else f"{a[i, j]:.6g}"
                    w.writerow([m, d, f"{delta:.6g}", f"{rho:.6g}", n, ks, trials, seed, s])
        return buf.getvalue()

    @classmethod
    def from_csv(cls, text: str) -> PhaseMap:
        """Parse :meth:`to_csv` output (plain ``csv`` and ``float``: no code is run)."""
        rows = list(csv.DictReader(io.StringIO(text)))
        if not rows or set(CSV_FIELDS) - set(rows[0]):
            raise ValueError(f"a phase map CSV needs the columns {', '.join(CSV_FIELDS)}")
        try:
            deltas = sorted({float(r["delta"]) for r in rows})
            rhos = sorted({float(r["rho"]) for r in rows})
            d, trials, seed = (int(rows[0][c]) for c in ("d", "trials", "seed"))
            maps: dict[str, np.ndarray] = {}
            for r in rows:
                a = maps.setdefault(r["method"], np.full((len(rhos), len(deltas)), np.nan))
                v = float(r["success"]) if r["success"].strip() else np.nan
                if not (np.isnan(v) or 0.0 <= v <= 1.0):
                    raise ValueError(f"success must be in [0, 1]; got {v}")
                a[rhos.index(float(r["rho"])), deltas.index(float(r["delta"]))] = v
        except (TypeError, KeyError) as exc:
            raise ValueError(f"malformed phase map CSV: {exc}") from exc
        return cls(maps, deltas=deltas, rhos=rhos, config={"d": d, "trials": trials,
                                                           "seed": seed, "source": "csv"})
