"""Experiments behind the page, CLI and benchmark; results are plain Python / NumPy data.

* :func:`sweep` — test quality vs sparsity for every method (the page's first chart);
* :func:`compare` — every method at one sparsity: quality, per-layer errors and masks,
  and the I-OBS rounds;
* :func:`detail` — one method: dense vs pruned predictions (:func:`predictions`) and
  measured latency and memory of dense, masked and CSR weights (:func:`speed`);
* :func:`head_to_head` — where one method's test quality beats another's.
"""

from __future__ import annotations

import copy
import time
import warnings
import weakref
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from . import data
from .api import METHODS, evaluate, prune
from .iterative import rank
from .metrics import higher_is_better, metric_name, task_of
from .models import prunable_layers

__all__ = ["SWEEP_SPARSITIES", "compare", "detail", "head_to_head", "iobs_at", "iobs_trajectory",
           "predictions", "rebuild", "run_method", "speed", "sweep"]

SWEEP_SPARSITIES = (0.3, 0.5, 0.6, 0.7, 0.8)
Progress = Callable[[float, str], None]


def _scaled(progress: Progress | None, start: float, width: float) -> Progress | None:
    if progress is None:
        return None
    return lambda f, msg: progress(start + width * f, msg)


def sweep(model: nn.Module, *, sparsities=SWEEP_SPARSITIES, methods=METHODS,
          progress: Progress | None = None, **options) -> dict:
    """Test-split quality of every method at every sparsity (unstructured).

    Returns {"sparsity": (s,), "metric": str, "dense": float, "quality": {method: (s,)},
    "seconds": {method: (s,)}}; ``options`` go to :func:`iobs.prune.prune`.
    """
    key = metric_name(task_of(model))
    out = {"sparsity": np.asarray(sparsities, dtype=float), "metric": key,
           "dense": evaluate(model)[key], "quality": {}, "seconds": {}}
    jobs = [(m, s) for m in methods for s in sparsities]
    for i, (method, s) in enumerate(jobs):
        if progress is not None:
            progress(i / len(jobs), f"{method} at {s:.0%}")
        pruned, report = prune(model, method, s, **options)
        out["quality"].setdefault(method, []).append(evaluate(pruned)[key])
        out["seconds"].setdefault(method, []).append(report.seconds)
    out["quality"] = {m: np.asarray(v) for m, v in out["quality"].items()}
    out["seconds"] = {m: np.asarray(v) for m, v in out["seconds"].items()}
    return out


_DENSE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> test predictions


@torch.no_grad()
def _dense_digits(model: nn.Module) -> np.ndarray:
    """The dense ViT's test predictions, once per model (a model is never modified)."""
    if model not in _DENSE:
        _DENSE[model] = model(data.eval_batch("vit", "test").inputs)[0].argmax(-1).numpy()
    return _DENSE[model]


@torch.no_grad()
def predictions(model: nn.Module, pruned: nn.Module, *, count: int = 12, prompt: str = "The ",
                length: int = 120) -> dict:
    """Dense vs pruned outputs: test digits (disagreements first) or greedy generated text."""
    if task_of(model) == "vit":
        test = data.eval_batch("vit", "test")
        dense_pred = _dense_digits(model)
        pruned_pred = pruned(test.inputs)[0].argmax(-1).numpy()
        order = np.argsort(dense_pred == pruned_pred, kind="stable")[:count]
        return {"images": test.inputs[order].numpy(), "labels": test.targets[order].numpy(),
                "dense": dense_pred[order], "pruned": pruned_pred[order],
                "changed": int((dense_pred != pruned_pred).sum()), "total": len(test)}
    idx = data.encode(prompt)[None, :]
    return {"prompt": prompt, "dense": data.decode(model.generate(idx, length)[0]),
            "pruned": data.decode(pruned.generate(idx, length)[0])}


def run_method(model: nn.Module, method: str, sparsity: float, *,
               pattern: str = "unstructured", progress: Progress | None = None,
               keep_state: bool = False, **options) -> dict:
    """One prune, as plain data: {"test", "val", "seconds", "config", "layers": [{"name",
    "shape", "sparsity", "error"}], "masks": [bool ndarray], "rounds", "best_round"}, plus
    "state" (the pruned model's parameters as NumPy arrays, see :func:`rebuild`) when
    ``keep_state`` is true."""
    key = metric_name(task_of(model))
    pruned, report = prune(model, method, sparsity, pattern=pattern, progress=progress,
                           **options)
    out = {"test": evaluate(pruned)[key], "val": evaluate(pruned, "val")[key],
           "seconds": report.seconds, "config": report.config,
           "layers": report.to_dict()["layers"], "masks": [r.keep for r in report.layers],
           "rounds": report.rounds, "best_round": report.best_round}
    if keep_state:
        out["state"] = _state(pruned)
    return out


def _state(model: nn.Module) -> dict:
    """The model's parameters and buffers as NumPy copies (what :func:`rebuild` takes)."""
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def rebuild(model: nn.Module, state: dict) -> nn.Module:
    """A copy of ``model`` carrying the parameters ``state`` of a :func:`run_method` result
    (``keep_state=True``): the pruned model again, without pruning again."""
    pruned = copy.deepcopy(model)
    pruned.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return pruned.eval().requires_grad_(False)


def iobs_trajectory(model: nn.Module, sparsity: float, *, rounds: int,
                    pattern: str = "unstructured", resume: dict | None = None,
                    **options) -> dict:
    """I-OBS(T) with every round kept, so that any T' <= T is a lookup (:func:`iobs_at`)
    and a larger T continues from the last round instead of starting over.

    Returns {"rounds": [{"record", "test", "layers", "masks", "state", "seconds"}, ...],
    "config"}: per round its record (as in :func:`iobs.prune.iterative.iobs_rounds`), the
    test metric, the per-layer results, the masks, the parameters (name -> float array) and
    the seconds spent up to the end of that round. ``resume`` is an earlier trajectory with
    the same settings; only rounds beyond its last run.
    """
    key = metric_name(task_of(model))
    done = list(resume["rounds"]) if resume else []
    config = dict(resume["config"]) if resume else {}
    if len(done) < rounds:
        t0 = time.perf_counter()
        base = done[-1]["seconds"] if done else 0.0

        def keep(t, m, layers, record):
            done.append({"record": dict(record), "test": evaluate(m)[key],
                         "layers": [r.to_dict() for r in layers],
                         "masks": [r.keep for r in layers], "state": _state(m),
                         "seconds": base + time.perf_counter() - t0})

        _, report = prune(model, "iobs", sparsity, pattern=pattern, rounds=rounds,
                          on_round=keep, resume=(done[-1]["state"], len(done)) if done
                          else None, **options)
        config = report.config
    return {"rounds": done, "config": {**config, "rounds": len(done)}}


def iobs_at(model: nn.Module, trajectory: dict, rounds: int) -> dict:
    """:func:`run_method`'s I-OBS result (``keep_state=True``) for T = ``rounds`` from a
    :func:`iobs_trajectory` of at least that many rounds: the best of its first T rounds on
    held-out data, as :func:`iobs.prune.iterative.iobs_rounds` picks it."""
    per = trajectory["rounds"][:rounds]
    if len(per) < rounds:
        raise ValueError(f"rounds must be at most the trajectory's {len(per)}; got {rounds}")
    task = task_of(model)
    best = max(range(rounds), key=lambda i: rank(task, per[i]["record"]))   # first on ties
    b = per[best]
    return {"test": b["test"], "val": b["record"]["held_out"], "seconds": per[-1]["seconds"],
            "config": {**trajectory["config"], "rounds": rounds}, "layers": b["layers"],
            "masks": b["masks"], "rounds": [dict(p["record"]) for p in per],
            "best_round": best + 1, "state": b["state"]}


def compare(model: nn.Module, sparsity: float, *, pattern: str = "unstructured",
            methods=METHODS, progress: Progress | None = None, **options) -> dict:
    """Every method at one sparsity (:func:`run_method` each), plus the dense quality.

    Methods without a version for ``pattern`` (magnitude-global for 2:4) are left out.
    Returns {"metric", "sparsity", "pattern", "dense": {"test", "val"}, "methods": {name:
    run_method(...)}, "rounds", "best_round"} with the I-OBS rounds lifted to the top.
    """
    key = metric_name(task_of(model))
    out = {"metric": key, "sparsity": sparsity, "pattern": pattern,
           "dense": {"test": evaluate(model)[key], "val": evaluate(model, "val")[key]},
           "methods": {}, "rounds": [], "best_round": None}
    methods = [m for m in methods if pattern == "unstructured" or m != "magnitude-global"]
    for i, method in enumerate(methods):
        step = _scaled(progress, i / len(methods), 1 / len(methods))
        out["methods"][method] = run_method(model, method, sparsity, pattern=pattern,
                                            progress=step, **options)
    if "iobs" in out["methods"]:
        out["rounds"] = out["methods"]["iobs"]["rounds"]
        out["best_round"] = out["methods"]["iobs"]["best_round"]
    return out


def head_to_head(results: dict, task: str, a: str = "iobs", b: str = "admm") -> dict:
    """Settings where method ``a`` has the better test quality than ``b``, the worse, or
    the same. ``results`` = {setting: {method: {"test": float, ...}}} (a setting is any
    hashable, e.g. (sparsity, pattern)); returns {"better": [...], "worse": [...],
    "equal": [...]} of settings in the given order, judged for ``a`` (higher accuracy,
    lower perplexity)."""
    out = {"better": [], "worse": [], "equal": []}
    sign = 1.0 if higher_is_better(task) else -1.0
    for setting, methods in results.items():
        gap = sign * (methods[a]["test"] - methods[b]["test"])
        out["better" if gap > 0 else "worse" if gap < 0 else "equal"].append(setting)
    return out


def detail(model: nn.Module, method: str, sparsity: float, *, pattern: str = "unstructured",
           **options) -> dict:
    """Dense vs pruned predictions and the speed/memory measurement for one method."""
    pruned, _ = prune(model, method, sparsity, pattern=pattern, **options)
    return {"predictions": predictions(model, pruned), "speed": speed(model, pruned)}


def _fastest_seconds(fns, repeats: int) -> list[float]:
    """Fastest of ``repeats`` timings of each function, the functions interleaved so that
    a busy neighbour slows all of them alike (the minimum is the least noisy estimate)."""
    for fn in fns:
        fn()  # warm-up
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


@torch.no_grad()
def speed(model: nn.Module, pruned: nn.Module, *, repeats: int = 9) -> dict:
    """Latency of a forward pass (dense vs masked) and of the pruned layers as CSR.

    Times are the fastest of ``repeats`` interleaved runs on one thread.

    Memory counts the pruned layers' weights: dense float32 (the masked model stores the
    zeros too) vs CSR (float32 values + int64 column indices + row pointers, torch's
    default index type).
    """
    n = 64 if task_of(model) == "vit" else 8  # 64 images, or 8 x 64 = 512 characters
    batch = data.eval_batch(task_of(model), "test").inputs[:n]
    inputs = {}
    hooks = [layer.register_forward_pre_hook(
        lambda mod, inp, name=name: inputs.__setitem__(name, inp[0].reshape(-1, mod.in_features)))
        for name, layer in prunable_layers(pruned)]
    try:
        pruned(batch)
    finally:
        for h in hooks:
            h.remove()
    layers = prunable_layers(pruned)
    dense_w = [layer.weight.detach().clone() for _, layer in layers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        csr_w = [w.to_sparse_csr() for w in dense_w]
    xs = [inputs[name] for name, _ in layers]

    def run_dense():
        for w, x in zip(dense_w, xs, strict=True):
            _ = x @ w.T

    def run_csr():
        for w, x in zip(csr_w, xs, strict=True):
            _ = w @ x.T  # (d_out, N): the transpose back is free

    nnz = sum(int((w != 0).sum()) for w in dense_w)
    rows = sum(w.shape[0] for w in dense_w)
    seconds = _fastest_seconds([lambda: model(batch), lambda: pruned(batch), run_dense, run_csr],
                               repeats)
    return {
        **dict(zip(("model_dense_ms", "model_masked_ms", "layers_dense_ms", "layers_csr_ms"),
                   (1e3 * t for t in seconds), strict=True)),
        "dense_bytes": sum(4 * w.numel() for w in dense_w),
        "masked_bytes": sum(4 * w.numel() for w in dense_w),
        "csr_bytes": nnz * (4 + 8) + (rows + len(dense_w)) * 8,
        "sparsity": 1.0 - nnz / sum(w.numel() for w in dense_w),
        "batch": int(batch.shape[0]),
    }
