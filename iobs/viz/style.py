"""One table of method labels and colours for every figure, derived from :data:`iobs.METHODS`
(the label is the method's own; the colour is fixed per method name, so a method has the same
colour on every page and no colour is guessed from a label's prefix)."""

from __future__ import annotations

from iobs.solvers import METHODS

__all__ = ["COLOURS", "ORACLE_LABEL", "color", "label"]

COLOURS = {"iht": "#1f77b4", "htp": "#17becf", "omp": "#7f7f7f", "topk-iobs": "#ff7f0e",
           "iobs": "#d62728", "iobs-ws": "#e377c2", "iobs-obc": "#9467bd",
           "iobs-exact": "#8c564b", "iobs-diag": "#2ca02c"}
ORACLE_LABEL = "oracle (true support)"
_EXTRA = ("#e377c2", "#bcbd22", "#393b79", "#637939")   # anything else: stable per name
_BY_LABEL = {m.label: name for name, m in METHODS.items()}


def label(method: str) -> str:
    """The display label of a method name (``"oracle"``: the true-support fit)."""
    return ORACLE_LABEL if method == "oracle" else METHODS[method].label


def color(key: str) -> str:
    """The colour of a method, by its name or its exact label; other series (the oracle,
    references) get a stable colour of their own."""
    name = key if key in COLOURS else _BY_LABEL.get(key)
    if name in COLOURS:
        return COLOURS[name]
    return _EXTRA[sum(map(ord, key)) % len(_EXTRA)]
