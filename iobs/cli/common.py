"""Pieces every subcommand shares: the progress bar and the table writers."""

from __future__ import annotations

import csv
import json
import sys

__all__ = ["format_table", "progress_bar", "write_rows"]


def progress_bar(label: str):
    """A progress callback drawing ``label [#####.....] 50%`` on stderr."""
    def update(frac: float) -> None:
        n = int(round(30 * frac))
        sys.stderr.write(f"\r{label} [{'#' * n}{'.' * (30 - n)}] {100 * frac:3.0f}%")
        if frac >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()
    return update


def format_table(rows: list[dict]) -> str:
    cols = list(rows[0])
    def fmt(v):
        if v is None:
            return "-"
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)
    cells = [[fmt(r[c]) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, width))  # noqa: E731
    return "\n".join([line(cols), line(["-" * w for w in width])] + [line(r) for r in cells])


def write_rows(path: str, rows: list[dict], meta: dict | None = None) -> None:
    """Write rows as CSV (by extension ``.csv``) or JSON (anything else)."""
    if path.endswith(".csv"):
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    else:
        with open(path, "w") as fh:
            json.dump({"config": meta or {}, "rows": rows}, fh, indent=2, default=float)
