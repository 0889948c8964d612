"""Torch adapter: run the NumPy kernels of :mod:`iobs.prune.layerwise` on a model's layers.

All functions here write into the model they are given — :func:`iobs.prune.prune` hands
them a deep copy, never the cached model.

*Sequential calibration* (as in SparseGPT): the four layers of block b are pruned with
Hessians of the inputs they see *after* blocks 0..b-1 were pruned, so later blocks
compensate for the errors of earlier ones. Every method (also magnitude, which ignores H)
is run this way, so the reported per-layer errors are comparable. The held-out Hessians
(when a held-out batch is given) are collected in the same pass, from the same partly
pruned model, so a layer's held-out error measures the same thing on unseen inputs.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import admm
from . import layerwise as lw
from .data import Batch
from .hessians import layer_hessians
from .models import prunable_layers

__all__ = ["LAYER_METHODS", "LayerResult", "dense_weights", "prune_layers", "update_dense"]

LAYER_METHODS = ("magnitude", "magnitude-global", "obd", "wanda", "obs", "admm")


@dataclass(frozen=True)
class LayerResult:
    r"""One pruned layer.

    ``error`` = tr(dW H dW^T) / tr(W H W^T) on the calibration inputs, i.e. the squared
    relative output error :math:`\|(\hat W - W)X\|^2 / \|WX\|^2`; ``heldout_error`` the
    same on held-out inputs (None without a held-out batch); ``seconds`` the kernel's wall
    time. :attr:`output_error` and :attr:`heldout_output_error` are the square roots, the
    relative reconstruction error of ALPS (Meng et al. 2024, Table 1).
    """

    name: str
    shape: tuple[int, int]
    sparsity: float  # fraction of zeros actually reached
    error: float
    keep: np.ndarray  # (d_out, d_in) bool, True = weight kept
    heldout_error: float | None = None
    seconds: float = 0.0

    @property
    def output_error(self) -> float:
        return math.sqrt(self.error)

    @property
    def heldout_output_error(self) -> float | None:
        return None if self.heldout_error is None else math.sqrt(self.heldout_error)

    def to_dict(self) -> dict:
        """JSON-ready numbers (the mask left out)."""
        return {"name": self.name, "shape": list(self.shape), "sparsity": self.sparsity,
                "error": self.error, "heldout_error": self.heldout_error,
                "output_error": self.output_error,
                "heldout_output_error": self.heldout_output_error, "seconds": self.seconds}


def _weight(layer: nn.Linear) -> np.ndarray:
    return layer.weight.detach().to(torch.float64).numpy().copy()


@torch.no_grad()
def _write(layer: nn.Linear, W_hat: np.ndarray) -> None:
    layer.weight.copy_(torch.from_numpy(W_hat).to(layer.weight.dtype))


def dense_weights(model: nn.Module) -> list[np.ndarray]:
    """Float64 copies of the block linears' weights, in :func:`prunable_layers` order."""
    return [_weight(layer) for _, layer in prunable_layers(model)]


def relative_error(W_ref, W_hat, H) -> float:
    """tr(ΔW H ΔWᵀ) / tr(W H Wᵀ): the squared relative output error ‖(Ŵ − W)X‖²/‖WX‖²."""
    base = max(lw.reconstruction_error(W_ref, np.zeros_like(W_ref), H), np.finfo(float).tiny)
    return lw.reconstruction_error(W_ref, W_hat, H) / base


def kernel(method, W, H, sparsity, pattern, damping, blocksize, rho):
    """One layer pruned by ``method`` (not magnitude-global): (W_hat, keep)."""
    if method == "magnitude":
        return lw.magnitude_prune(W, sparsity, pattern=pattern)
    if method == "obd":
        return lw.obd_prune(W, H, sparsity, pattern=pattern)
    if method == "wanda":
        return lw.wanda_prune(W, H, sparsity, pattern=pattern)
    if method == "admm":
        return admm.admm_prune(W, H, sparsity, pattern=pattern, damping=damping, rho=rho)
    return lw.obs_prune(W, H, sparsity, pattern=pattern, damping=damping, blocksize=blocksize)


def prune_layers(model: nn.Module, method: str, sparsity: float, *, calibration: Batch,
                 pattern: str = "unstructured", damping: float = 0.01, blocksize: int = 128,
                 reference: list[np.ndarray] | None = None,
                 heldout: Batch | None = None, rho: float = 1.0) -> list[LayerResult]:
    """Prune the block linears of ``model`` in place, block after block; per-layer results.

    ``error`` compares the pruned layer with ``reference`` (default: the layer's weights
    before this call) on the inputs the layer sees here: tr(dW H dW^T) / tr(W H W^T);
    ``heldout_error`` the same with the Hessian of ``heldout`` (same pass, same weights).
    """
    layers = prunable_layers(model)
    if method == "magnitude-global":
        # one threshold over all layers, chosen on the dense weights
        global_masks = [keep for _, keep in lw.magnitude_global_prune(
            [_weight(layer) for _, layer in layers], sparsity)]
    n_blocks = len(model.blocks)
    per_block = len(layers) // n_blocks
    results = []
    for b in range(n_blocks):
        block_layers = layers[b * per_block : (b + 1) * per_block]
        Hs = layer_hessians(model, block_layers, calibration)
        Hh = None if heldout is None else layer_hessians(model, block_layers, heldout)
        for j, (name, layer) in enumerate(block_layers):
            W, H = _weight(layer), Hs[name]
            t0 = time.perf_counter()
            if method == "magnitude-global":
                keep = global_masks[b * per_block + j]
                W_hat = np.where(keep, W, 0.0)
            else:
                W_hat, keep = kernel(method, W, H, sparsity, pattern, damping, blocksize,
                                       rho)
            seconds = time.perf_counter() - t0
            W_ref = W if reference is None else reference[b * per_block + j]
            results.append(LayerResult(
                name=name, shape=W.shape, sparsity=float(1.0 - keep.mean()),
                error=relative_error(W_ref, W_hat, H), keep=keep, seconds=seconds,
                heldout_error=None if Hh is None else relative_error(W_ref, W_hat, Hh[name])))
            _write(layer, W_hat)
    return results


def _minibatches(n: int, batch_size: int, gen: torch.Generator):
    """Index tensors of shuffled epochs over range(n) (the last one of an epoch may be short)."""
    while True:
        order = torch.randperm(n, generator=gen)
        for i in range(0, n, batch_size):
            yield order[i : i + batch_size]


def update_dense(model: nn.Module, calibration: Batch, *, steps: int, lr: float,
                 batch_size: int = 64, seed: int = 0) -> list[float]:
    r"""Unmasked Adam steps on the calibration loss (the 'dense update' of an I-OBS round).

    All weights move, pruned ones included; the next projection chooses a fresh mask.
    Adam (Kingma & Ba 2015, :math:`\beta = (0.9, 0.999)`, :math:`\epsilon = 10^{-8}`) is
    written out here: ``torch.optim`` imports ``torch._dynamo`` on first use (~2 s).
    Returns the minibatch losses.
    """
    gen = torch.Generator().manual_seed(seed)
    params = list(model.parameters())
    m1 = [torch.zeros_like(p) for p in params]
    m2 = [torch.zeros_like(p) for p in params]
    b1, b2, eps = 0.9, 0.999, 1e-8
    batches = _minibatches(len(calibration), batch_size, gen)
    losses = []
    model.train()
    try:
        for p in params:
            p.requires_grad_(True)
        for t in range(1, steps + 1):
            b = calibration.subset(next(batches))
            _, loss = model(b.inputs, b.targets)
            grads = torch.autograd.grad(loss, params)
            with torch.no_grad():
                for p, g, m, v in zip(params, grads, m1, m2, strict=True):
                    m.mul_(b1).add_(g, alpha=1 - b1)
                    v.mul_(b2).addcmul_(g, g, value=1 - b2)
                    step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
                    p.addcdiv_(m, v.sqrt().add_(eps), value=-step)
            losses.append(loss.item())
    finally:
        model.eval()
        for p in params:
            p.requires_grad_(False)
    return losses
