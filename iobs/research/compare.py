"""Several methods on one problem with the same options: the tables of the CLI and pages."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from iobs.driver import Trace, run

__all__ = ["compare"]


def compare(prob, methods: Iterable[str], *, k: int, steps: int = 100,
            progress: Callable[[float], None] | None = None, **options) -> dict[str, Trace]:
    """Run each method on the same problem with the same options: ``{name: Trace}``.

    ``options`` go to :func:`iobs.run` (``eta``, ``damping``, ``batch_size``, ``tol``,
    ``seed``, ``theta0``, ``backend``). A per-method ``eta`` can be a dict ``{name: eta}``.
    """
    methods = list(methods)
    if not methods:
        raise ValueError("methods must name at least one method; got an empty list")
    eta = options.pop("eta", None)
    out = {}
    for i, name in enumerate(methods):
        e = eta.get(name) if isinstance(eta, dict) else eta
        out[name] = run(prob, name, k=k, steps=steps, eta=e, **options)
        if progress is not None:
            progress((i + 1) / len(methods))
    return out
