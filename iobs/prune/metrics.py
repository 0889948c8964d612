"""Quality of a model on a Batch: accuracy (ViT) or perplexity (GPT), plus the loss.

Perplexity is exp(mean cross-entropy per character) in nats; lower is better.
Accuracy is the fraction of correctly classified images; higher is better.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .data import Batch
from .models import GPT, ViT

__all__ = ["higher_is_better", "metric_name", "scores", "task_of"]


def task_of(model: torch.nn.Module) -> str:
    """"vit" or "gpt" from the model's class."""
    if isinstance(model, ViT):
        return "vit"
    if isinstance(model, GPT):
        return "gpt"
    raise ValueError(f"model must be an iobs.prune ViT or GPT; got {type(model).__name__}")


def metric_name(task: str) -> str:
    return "accuracy" if task == "vit" else "perplexity"


def higher_is_better(task: str) -> bool:
    return task == "vit"


@torch.no_grad()
def scores(model: torch.nn.Module, batch: Batch, *, chunk: int = 512) -> dict[str, float]:
    """{"loss", "accuracy"} for the ViT or {"loss", "perplexity"} for the GPT on ``batch``."""
    task = task_of(model)
    was_training = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    for i in range(0, len(batch), chunk):
        x, y = batch.inputs[i : i + chunk], batch.targets[i : i + chunk]
        logits, _ = model(x)
        logits = logits.reshape(-1, logits.shape[-1])
        y = y.reshape(-1)
        total += F.cross_entropy(logits, y, reduction="sum").item()
        correct += (logits.argmax(-1) == y).sum().item()
        count += y.numel()
    model.train(was_training)
    loss = total / count
    if task == "vit":
        return {"loss": loss, "accuracy": correct / count}
    return {"loss": loss, "perplexity": math.exp(loss)}
