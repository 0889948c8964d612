r"""Layer Hessians :math:`H = 2XX^\top/N` of ``nn.Linear`` layers, collected by forward hooks.

X stacks the inputs the layer sees on a calibration batch: for a token model every token
position is one column, so N = (batch size) x (tokens per example). The hooks accumulate
:math:`\sum_n x_n x_n^\top` in float64 chunk by chunk (memory independent of N) and are
removed in a ``finally`` block, also when the forward pass raises.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .data import Batch

__all__ = ["layer_hessians"]


@torch.no_grad()
def layer_hessians(model: nn.Module, layers: list[tuple[str, nn.Linear]], batch: Batch,
                   *, chunk: int = 256) -> dict[str, np.ndarray]:
    """Hessians of the layers' reconstruction losses on ``batch``.

    Parameters
    ----------
    model : nn.Module
        Run in eval mode; its weights are not changed (training mode is restored).
    layers : list of (name, nn.Linear)
        Layers to watch, e.g. ``prunable_layers(model)[4:8]`` for the second block.
    batch : Batch
        Calibration inputs (targets are not used).

    Returns
    -------
    dict name -> ndarray of shape (d_in, d_in), float64, symmetric PSD.
    """
    sums = {name: torch.zeros(layer.in_features, layer.in_features, dtype=torch.float64)
            for name, layer in layers}
    counts = dict.fromkeys(sums, 0)

    def hook(name):
        def accumulate(module, inputs):
            x = inputs[0].detach().reshape(-1, module.in_features).to(torch.float64)  # (N, d_in)
            sums[name] += x.T @ x
            counts[name] += x.shape[0]
        return accumulate

    was_training = model.training
    handles = []
    try:
        handles = [layer.register_forward_pre_hook(hook(name)) for name, layer in layers]
        model.eval()
        for i in range(0, len(batch), chunk):
            model(batch.inputs[i : i + chunk])
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return {name: (2.0 * sums[name] / max(counts[name], 1)).numpy() for name in sums}
