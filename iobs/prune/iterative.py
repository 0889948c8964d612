r"""I-OBS(T) for a network: alternate a dense update with a fresh layer-wise OBS projection.

What follows the paper (PAPER.md, "I-OBS for DNNs", §4.2 and App. A):

* round 1 is one-shot SparseGPT (layer-wise OBS) from the dense model;
* each later round computes *fresh* layer Hessians at the current weights and projects
  to the target sparsity again (uniform per layer, same pattern, damping 0.01 by default);
* the best round on held-out data is kept (the paper stars the best validation round and
  reports that more rounds can overfit the calibration set);
* with ``fresh_calibration`` (off by default) round t draws its own calibration batch, as
  the paper does (§4.2): its dense update, Hessians and calibration score use batch t.
  Off, every round reuses one batch (a deviation from the paper, recorded per round as
  ``fresh_calibration: False``); on our small data sets the fresh batches overlap, since
  the calibration pool holds 1257 images (ViT).

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

__all__ = ["iobs_rounds", "rank"]


def rank(task: str, record: dict) -> tuple:
    """Sort key of a round record, larger is better on held-out data: accuracy then lower
    loss (ViT), or lower perplexity (GPT). The first of equal rounds wins."""
    held, loss = record["held_out"], record["held_out_loss"]
    return (held, -loss) if task == "vit" else (-held,)


def iobs_rounds(model: nn.Module, sparsity: float, *, calibration: Batch, heldout: Batch,
                rounds: int, lr: float, update_steps: int, update_batch: int, pattern: str,
                damping: float,
                blocksize: int, seed: int,
                progress: Callable[[float, str], None] | None = None,
                first_round: int = 1, reference: list | None = None,
                on_round: Callable[[int, nn.Module, list[LayerResult], dict], None] | None
                = None, fresh_calibration: Callable[[int], Batch] | None = None
                ) -> tuple[nn.Module, list[LayerResult], list[dict], int]:
    """Run rounds ``first_round, ..., rounds`` on ``model`` (modified; pass a copy).

    Returns (best model, its per-layer results, per-round records, best round number),
    over the rounds run in this call. Each record holds ``round``, ``calibration`` and
    ``held_out`` (the task metric), the two losses, the last dense-update minibatch loss
    (``None`` in round 1) and ``fresh_calibration`` (whether round t drew its own batch).
    ``fresh_calibration(t)``, when given, returns round t's calibration batch (t >= 2;
    round 1 uses ``calibration``).

    Resuming: a round depends only on the previous round's model (the dense update starts
    fresh, seeded by ``seed + t``), so rounds ``T + 1, ...`` continue a run of T rounds
    exactly when ``model`` carries round T's weights, ``first_round = T + 1`` and
    ``reference`` holds the dense weights (default: ``model``'s, right for round 1).
    ``on_round(t, model, layers, record)`` sees every round's model (do not modify it).
    """
    task = task_of(model)
    key = metric_name(task)
    history, best = [], None
    if reference is None:   # layer errors are reported against the dense model
        reference = dense_weights(model)
    for t in range(first_round, rounds + 1):
        if progress is not None:
            progress((t - first_round) / (rounds - first_round + 1),
                     f"I-OBS round {t}/{rounds}")
        update_loss = None
        fresh = fresh_calibration is not None and t > 1
        batch = fresh_calibration(t) if fresh else calibration
        if t > 1:
            losses = update_dense(model, batch, steps=update_steps, lr=lr,
                                  batch_size=update_batch, seed=seed + t)
            update_loss = losses[-1] if losses else None
        layers = prune_layers(model, "obs", sparsity, calibration=batch, pattern=pattern,
                              damping=damping, blocksize=blocksize, reference=reference,
                              heldout=heldout)
        cal, held = scores(model, batch), scores(model, heldout)
        record = {"round": t, "calibration": cal[key], "held_out": held[key],
                  "calibration_loss": cal["loss"], "held_out_loss": held["loss"],
                  "update_loss": update_loss, "fresh_calibration": fresh}
        history.append(record)
        if on_round is not None:
            on_round(t, model, layers, record)
        if best is None or rank(task, record) > rank(task, best[0]):
            best = (record, t, copy.deepcopy(model), layers)
    _, t_best, model_best, layers_best = best
    return model_best, layers_best, history, t_best
