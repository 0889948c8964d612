"""Prune a tiny transformer: magnitude, OBD, Wanda, layer-wise OBS (SparseGPT), ADMM, I-OBS(T).

The only part of ``iobs`` that imports torch (``import iobs`` does not import this, and
this package imports torch only when its API is first used, so ``python -m iobs --help``
and :mod:`iobs.viz.prune` stay light).
Models: ``"vit"`` (digits, accuracy) and ``"gpt"`` (Python docs, perplexity); methods:
``magnitude``, ``magnitude-global``, ``obd``, ``wanda``, ``obs``, ``admm``, ``iobs``.

>>> from iobs import prune as P
>>> vit = P.load_model("vit")                  # cached; prune() never modifies it
>>> pruned, report = P.prune(vit, "obs", 0.5)
>>> P.evaluate(pruned)["accuracy"] > 0.95
True
>>> [round(r.sparsity, 2) for r in report.layers][:2]
[0.5, 0.5]
"""

__all__ = ["DEFAULTS", "METHODS", "MODELS", "PruneReport", "evaluate", "load_model",
           "min_calibration", "parameters_digest", "prune"]


def __getattr__(name: str):
    """Load the torch-backed API on first access (PEP 562)."""
    if name in __all__:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
