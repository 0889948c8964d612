"""Training loops for the two tiny models (the loop lives outside the model, as in nanoGPT).

Recipes (STACK.md, measured on one CPU thread):

* ViT on digits — AdamW, OneCycle to 5e-3, batch 64, +-1-pixel roll augmentation,
  150 epochs of the 1257 training images: about 60-70 s.
* char GPT on pydoc text — AdamW, OneCycle to 3e-3, batch 32 windows of 64 characters,
  1000 steps: about 100 s.

``progress(fraction, message)`` is called now and then; library code never prints.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from . import data
from .models import GPT, GPTConfig, ViT, ViTConfig

__all__ = ["RECIPES", "Recipe", "train"]

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a checkpoint (besides the torch version and machine)."""

    task: str
    seed: int = 0
    steps: int = 3000  # optimiser steps (ViT: 150 epochs x 20 batches of 64)
    batch: int = 64
    lr: float = 5e-3  # OneCycle peak
    weight_decay: float = 0.01


RECIPES = {
    "vit": Recipe("vit", steps=150 * 20, batch=64, lr=5e-3),
    "gpt": Recipe("gpt", steps=1000, batch=32, lr=3e-3),
}


def _roll(images: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Shift each image by a random (dy, dx) in {-1, 0, 1}^2 with wrap-around."""
    shifts = rng.integers(-1, 2, size=(images.shape[0], 2))
    out = images.clone()
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            sel = torch.from_numpy((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
            if (dy or dx) and sel.any():
                out[sel] = torch.roll(images[sel], shifts=(dy, dx), dims=(1, 2))
    return out


def _vit_batches(recipe: Recipe, rng: np.random.Generator):
    """Epochs of shuffled, augmented training batches (the last partial batch dropped)."""
    train = data.splits("vit", "train")
    n = len(train)
    while True:
        order = rng.permutation(n)
        for i in range(0, n - recipe.batch + 1, recipe.batch):
            b = train.subset(torch.from_numpy(order[i : i + recipe.batch]))
            yield data.Batch(_roll(b.inputs, rng), b.targets)


def _gpt_batches(recipe: Recipe, rng: np.random.Generator, ctx: int):
    while True:
        yield data.random_batch("gpt", recipe.batch, ctx=ctx, rng=rng)


def new_model(task: str) -> torch.nn.Module:
    """An untrained model with the default config of ``task`` ("vit" or "gpt")."""
    return ViT(ViTConfig()) if task == "vit" else GPT(GPTConfig())


def train(recipe: Recipe, *, progress: Progress | None = None) -> tuple[torch.nn.Module, dict]:
    """Train a model from scratch with ``recipe``; returns (model in eval mode, info).

    ``info`` holds ``seconds`` and ``final_loss`` (mean training loss of the last 50 steps).
    Deterministic for a given seed, torch version and thread count.
    """
    torch.manual_seed(recipe.seed)
    rng = np.random.default_rng(recipe.seed)
    model = new_model(recipe.task)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.lr, total_steps=recipe.steps)
    if recipe.task == "vit":
        batches = _vit_batches(recipe, rng)
    else:
        batches = _gpt_batches(recipe, rng, model.config.ctx)
    t0, recent = time.perf_counter(), deque(maxlen=50)
    model.train()
    for step in range(recipe.steps):
        b = next(batches)
        _, loss = model(b.inputs, b.targets)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        recent.append(loss.item())
        if progress is not None and (step % 50 == 0 or step == recipe.steps - 1):
            progress((step + 1) / recipe.steps, f"training {recipe.task}: step {step + 1}/"
                     f"{recipe.steps}, loss {np.mean(recent):.3f}")
    model.eval()
    return model, {"seconds": time.perf_counter() - t0, "final_loss": float(np.mean(recent))}
