"""Public API: ``load_model``, ``prune``, ``evaluate`` (see :mod:`iobs.prune`)."""

from __future__ import annotations

import copy
import hashlib
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from threadpoolctl import threadpool_limits
from torch import nn

from . import layerwise as lw
from . import data, store
from .iterative import iobs_rounds
from .methods import LayerResult, dense_weights, prune_layers
from .metrics import metric_name, scores, task_of
from .models import prunable_layers

__all__ = ["DEFAULTS", "METHODS", "MODELS", "PruneReport", "evaluate", "load_model",
           "min_calibration", "parameters_digest", "prune"]

MODELS = ("vit", "gpt")
METHODS = ("magnitude", "magnitude-global", "obd", "wanda", "obs", "admm", "iobs")
NEEDS_HESSIAN = ("obd", "wanda", "obs", "admm", "iobs")
PATTERNS = ("unstructured", "2:4")
# per-model defaults: calibration = images / 64-character windows; paper: 128 for LLMs
DEFAULTS = {
    "vit": {"calibration": 256, "max_calibration": 1257, "lr": 1e-3, "update_steps": 8,
            "update_batch": 64},
    "gpt": {"calibration": 128, "max_calibration": 4096, "lr": 1e-4, "update_steps": 8,
            "update_batch": 16},  # 16 windows = 1024 characters per step
}
_CACHE: dict[str, nn.Module] = {}  # loaded models; never mutated (prune works on copies)
_LOCK = threading.Lock()


def _set_threads() -> None:
    """One torch thread unless IOBS_TORCH_THREADS says otherwise: two threads ran 7-35x
    slower on a 2-core machine whose other core was busy (STACK.md)."""
    torch.set_num_threads(max(1, int(os.environ.get("IOBS_TORCH_THREADS", "1"))))


def load_model(name: str, *, progress: Callable[[float, str], None] | None = None) -> nn.Module:
    """The trained model "vit" or "gpt" (cached; do not modify it — ``prune`` copies).

    Loads the shipped checkpoint after checking its sha256; a missing or stale checkpoint
    is retrained (1-2 minutes, reported through ``progress(fraction, message)``).
    """
    if name not in MODELS:
        raise ValueError(f"name must be one of {MODELS}; got name={name!r}")
    with _LOCK:
        if name not in _CACHE:
            _set_threads()
            loaded = store.load_checkpoint(name)
            model = loaded[0] if loaded else store.train_and_save(name, progress=progress)[0]
            model.eval().requires_grad_(False)
            _CACHE[name] = model
        return _CACHE[name]


def parameters_digest(model: nn.Module) -> str:
    """12 hex digits of a sha1 over the model's parameters and buffers (names, dtypes,
    shapes and values): what identifies "this model" in a key of results kept on disk."""
    h = hashlib.sha1()
    for name, value in model.state_dict().items():
        array = value.detach().cpu().numpy()
        h.update(f"{name}:{array.dtype}:{array.shape}".encode())
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:12]


def evaluate(model: nn.Module, split: str = "test") -> dict[str, float]:
    """{"accuracy", "loss"} (ViT) or {"perplexity", "loss"} (GPT) on a fixed split.

    ``split`` is "train", "val" (the held-out data I-OBS selects on) or "test".
    """
    task = task_of(model)
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be one of 'train', 'val', 'test'; got split={split!r}")
    return scores(model, data.eval_batch(task, split))


@dataclass
class PruneReport:
    """What ``prune`` did: config, per-layer results and, for I-OBS, the rounds."""

    model: str
    method: str
    sparsity: float
    pattern: str
    config: dict
    layers: list[LayerResult]
    seconds: float
    rounds: list[dict] = field(default_factory=list)  # I-OBS only
    best_round: int | None = None

    def to_dict(self) -> dict:
        """JSON-ready numbers (masks left out)."""
        return {
            "model": self.model, "method": self.method, "sparsity": self.sparsity,
            "pattern": self.pattern, "config": dict(self.config), "seconds": self.seconds,
            "layers": [r.to_dict() for r in self.layers],
            "rounds": [dict(r) for r in self.rounds], "best_round": self.best_round,
        }


def _check_number(name, value, low, high, *, integer=False, low_open=False):
    ok = isinstance(value, (int, np.integer)) if integer else (
        isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
        and math.isfinite(value))
    ok = ok and not isinstance(value, bool) and (value > low if low_open else value >= low)
    if not (ok and value <= high):
        kind = "an integer" if integer else "a number"
        left = "(" if low_open else "["
        raise ValueError(f"{name} must be {kind} in {left}{low}, {high}]; got {name}={value!r}")


def min_calibration(model: nn.Module) -> int:
    """Fewest calibration examples whose input vectors (17 tokens per image, 64 per text
    window) reach the widest pruned layer's input dimension d_in: below that a layer
    Hessian :math:`2XX^T/N` has rank < d_in (ViT and GPT: 8 examples)."""
    c = model.config
    tokens = c.ctx if task_of(model) == "gpt" else (c.image_size // c.patch) ** 2 + 1
    widest = max(layer.in_features for _, layer in prunable_layers(model))
    return math.ceil(widest / tokens)


def prune(model: nn.Module, method: str, sparsity: float, *, calibration: int | None = None,
          damping: float = 0.01, rounds: int = 5, pattern: str = "unstructured", seed: int = 0,
          lr: float | None = None, update_steps: int | None = None, blocksize: int = 128,
          progress: Callable[[float, str], None] | None = None, on_round=None,
          resume: tuple[dict, int] | None = None,
          fresh_calibration: bool = False, rho: float = 1.0) -> tuple[nn.Module, PruneReport]:
    """Prune the block linears of a copy of ``model``; returns (pruned copy, report).

    Parameters
    ----------
    model : ViT or GPT from :func:`load_model` (not modified).
    method : "magnitude" | "magnitude-global" | "obd" | "wanda" | "obs" | "admm" | "iobs"
        ``wanda`` is Wanda (per-row |w|·‖x‖); ``obs`` is SparseGPT's layer-wise OBS;
        ``admm`` is Boža's ADMM weight update (:mod:`iobs.prune.admm`); ``iobs`` is
        I-OBS(T) (see :mod:`iobs.prune.iterative` for what follows the paper and what is
        reconstructed).
    sparsity : float in [0, 1) — fraction of zeros per layer (global for magnitude-global);
        pattern "2:4" requires 0.5.
    calibration : int — calibration images (ViT, <= 1257) or 64-character windows (GPT);
        methods that use the layer Hessians need at least :func:`min_calibration` (8).
    damping : float >= 0 — relative Hessian damping (SparseGPT's 0.01).
    rounds : int >= 1 — T for I-OBS(T); round 1 is one-shot OBS.
    pattern : "unstructured" | "2:4"
    seed : int — selects the calibration set and the dense-update minibatches.
    lr, update_steps : I-OBS dense update (Adam learning rate, steps per round).
    on_round : callable, optional — I-OBS: called after every round with ``(t, model,
        layers, record)`` (see :func:`iobs.prune.iterative.iobs_rounds`).
    resume : (state, T), optional — I-OBS: continue a run with the same settings from its
        round T, whose parameters are ``state`` (name -> array); rounds T+1 .. ``rounds``
        run and the report covers only them.
    rho : float > 0 — ADMM penalty, relative to the scaled Hessian's unit diagonal.
    fresh_calibration : bool — I-OBS: round t draws its own calibration batch (seed + t - 1)
        as the paper does (§4.2); default False reuses one batch (recorded in the config).

    Every layer result carries its held-out error: the same relative output error with
    the Hessian of the "val" split's inputs, collected in the same sequential pass.
    """
    task = task_of(model)
    d = DEFAULTS[task]
    calibration = d["calibration"] if calibration is None else calibration
    lr = d["lr"] if lr is None else lr
    update_steps = d["update_steps"] if update_steps is None else update_steps
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}; got method={method!r}")
    if pattern not in PATTERNS:
        raise ValueError(f"pattern must be one of {PATTERNS}; got pattern={pattern!r}")
    if method == "magnitude-global" and pattern != "unstructured":
        raise ValueError(f"method 'magnitude-global' needs pattern='unstructured' (one "
                         f"threshold over all layers); got pattern={pattern!r}")
    lw.parse_pattern(pattern, sparsity)
    _check_number("calibration", calibration, 1, d["max_calibration"], integer=True)
    if method in NEEDS_HESSIAN and calibration < min_calibration(model):
        raise ValueError(f"calibration must be at least {min_calibration(model)} examples for "
                         f"method {method!r} (fewer input vectors than the widest layer's "
                         f"inputs: its Hessian would be singular); got "
                         f"calibration={calibration!r}")
    _check_number("damping", damping, 0.0, 1e3)
    _check_number("rho", rho, 0.0, 1e6, low_open=True)
    _check_number("rounds", rounds, 1, 100, integer=True)
    _check_number("seed", seed, 0, 2**32 - 1, integer=True)
    _check_number("lr", lr, 0.0, 1.0)
    _check_number("update_steps", update_steps, 0, 10_000, integer=True)
    _check_number("blocksize", blocksize, 1, 4096, integer=True)
    if not isinstance(fresh_calibration, bool):
        raise ValueError(f"fresh_calibration must be True or False; "
                         f"got fresh_calibration={fresh_calibration!r}")
    if resume is not None and (method != "iobs" or not 1 <= resume[1] < rounds):
        raise ValueError(f"resume needs method='iobs' and 1 <= its rounds < rounds={rounds}; "
                         f"got method={method!r}, resume rounds={resume[1]!r}")

    with threadpool_limits(1):  # tiny BLAS calls: extra threads only contend
        return _prune(model, task, method, sparsity, calibration, damping, rounds, pattern,
                      seed, lr, update_steps, blocksize, progress, on_round, resume,
                      fresh_calibration, rho)


def _prune(model, task, method, sparsity, calibration, damping, rounds, pattern, seed, lr,
           update_steps, blocksize, progress, on_round=None, resume=None,
           fresh_calibration=False, rho=1.0):
    t0 = time.perf_counter()
    ctx = getattr(model.config, "ctx", 64)
    cal = data.calibration_batch(task, calibration, ctx=ctx, seed=seed)
    heldout = data.eval_batch(task, "val")
    work = copy.deepcopy(model)
    config = {"calibration": calibration, "damping": damping, "seed": seed,
              "blocksize": blocksize, "metric": metric_name(task)}
    report = PruneReport(task, method, float(sparsity), pattern, config, [], 0.0)
    if method == "iobs":
        config.update(rounds=rounds, lr=lr, update_steps=update_steps,
                      fresh_calibration=fresh_calibration)
        reference = dense_weights(work)         # layer errors: against the dense model
        if resume is not None:
            work.load_state_dict({k: torch.tensor(np.asarray(v)) for k, v in resume[0].items()})
        work, report.layers, report.rounds, report.best_round = iobs_rounds(
            work, sparsity, calibration=cal, heldout=heldout,
            rounds=rounds, lr=lr, update_steps=update_steps,
            update_batch=DEFAULTS[task]["update_batch"], pattern=pattern,
            damping=damping, blocksize=blocksize, seed=seed, progress=progress,
            first_round=1 if resume is None else resume[1] + 1, reference=reference,
            on_round=on_round, fresh_calibration=(lambda t: data.calibration_batch(
                task, calibration, ctx=ctx, seed=seed + t - 1)) if fresh_calibration else None)
    else:
        report.layers = prune_layers(work, method, sparsity, calibration=cal, pattern=pattern,
                                     damping=damping, blocksize=blocksize, heldout=heldout,
                                     rho=rho)
        if method == "admm":
            config["rho"] = rho
    work.eval().requires_grad_(False)
    report.seconds = time.perf_counter() - t0
    if progress is not None:
        progress(1.0, f"{method} done in {report.seconds:.2f} s")
    return work, report
