r"""I-OBS(T) for a network: alternate a dense update with a fresh layer-wise OBS projection.

What follows the paper (PAPER.md, "I-OBS for DNNs", §4.2 and App. A):

* round 1 is one-shot SparseGPT (layer-wise OBS) from the dense model;
* each later round computes *fresh* layer Hessians at the current weights and projects
  to the target sparsity again (uniform per layer, same pattern, damping 0.01 by default);
* the best round on held-out data is kept (the paper stars the best validation round and
  reports that more rounds can overfit the calibration set).

What is our reconstruction (the paper's Algorithm 2 and its exact update step are not
available as text): the *dense update* between projections is ``update_steps`` unmasked
Adam steps (minibatches of 64 images or 16 text windows) on the task loss of the
calibration set, starting from the previous round's sparse weights, with learning rate
``lr`` — the small-model analogue of the "one epoch of unmasked fine-tuning" used for
Llama. In I-OBS terms, the update plays the role of the step
:math:`\theta_t - \eta H^{-1}\nabla f` and the OBS sweep the role of the :math:`H`-metric
projection onto the sparse set (Algorithm 1, Option 2), solved layer by layer.

Guarantee by construction: the returned model is the best round on held-out data and
round 1 is one-shot OBS, so I-OBS(T) is never worse than OBS on the held-out split (it can
be on the test split: that is the overfitting lesson).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

from torch import nn

from .data import Batch
from .methods import LayerResult, dense_weights, prune_layers, update_dense
from .metrics import metric_name, scores, task_of

__all__ = ["iobs_rounds"]


def _rank(task: str, s: dict) -> tuple:
    """Sort key, larger is better: accuracy then lower loss, or lower perplexity."""
    return (s["accuracy"], -s["loss"]) if task == "vit" else (-s["perplexity"],)


def iobs_rounds(model: nn.Module, sparsity: float, *, calibration: Batch, heldout: Batch,
                rounds: int, lr: float, update_steps: int, update_batch: int, pattern: str,
                damping: float,
                blocksize: int, seed: int,
                progress: Callable[[float, str], None] | None = None,
                ) -> tuple[nn.Module, list[LayerResult], list[dict], int]:
    """Run T = ``rounds`` rounds on ``model`` (modified; pass a copy).

    Returns (best model, its per-layer results, per-round records, best round number).
    Each record holds ``round``, ``calibration`` and ``held_out`` (the task metric), the
    two losses and the last dense-update minibatch loss (``None`` in round 1).
    """
    task = task_of(model)
    key = metric_name(task)
    history, best = [], None
    reference = dense_weights(model)  # layer errors are reported against the dense model
    for t in range(1, rounds + 1):
        if progress is not None:
            progress((t - 1) / rounds, f"I-OBS round {t}/{rounds}")
        update_loss = None
        if t > 1:
            losses = update_dense(model, calibration, steps=update_steps, lr=lr,
                                  batch_size=update_batch, seed=seed + t)
            update_loss = losses[-1] if losses else None
        layers = prune_layers(model, "obs", sparsity, calibration=calibration, pattern=pattern,
                              damping=damping, blocksize=blocksize, reference=reference)
        cal, held = scores(model, calibration), scores(model, heldout)
        history.append({"round": t, "calibration": cal[key], "held_out": held[key],
                        "calibration_loss": cal["loss"], "held_out_loss": held["loss"],
                        "update_loss": update_loss})
        if best is None or _rank(task, held) > _rank(task, best[0]):
            best = (held, t, copy.deepcopy(model), layers)
    _, t_best, model_best, layers_best = best
    return model_best, layers_best, history, t_best
