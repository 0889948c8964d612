"""Bundled data, no downloads: scikit-learn's 8x8 digits and CPython's pydoc text.

Splits (fixed, seed-independent so that a checkpoint always meets the same test data):

* digits — stratified 80/20 train/test (``random_state=0``); 180 images of the 80% are
  set aside, stratified, as ``"val"``: the held-out data on which I-OBS(T) picks its best
  round. The model trains on the remaining 1257 images; calibration images are drawn
  from ``"train"``.
* text — the language reference (topics joined in sorted order) cut into contiguous
  80/10/10 ``"train"``/``"val"``/``"test"`` pieces; calibration windows come from
  ``"train"``; evaluation uses up to 128 evenly spaced non-overlapping windows.
"""

from __future__ import annotations

import gzip
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch

__all__ = ["VOCAB", "Batch", "calibration_batch", "decode", "encode", "eval_batch", "random_batch",
           "splits"]

# '\n', printable ASCII and the nine typographic characters the text uses: 105 symbols.
VOCAB = "\n" + "".join(chr(i) for i in range(32, 127)) + "°ß–—‘’“”…"
_INDEX = {c: i for i, c in enumerate(VOCAB)}
_UNKNOWN = _INDEX["?"]
EVAL_WINDOWS = 128  # text windows per evaluation: 8192 characters, ~0.1 s on one thread
VAL_DIGITS = 180
SPLITS = ("train", "val", "test")
SPLIT_FILE = Path(__file__).resolve().parent / "checkpoints" / "digits-split.npz"


@dataclass(frozen=True)
class Batch:
    """Model inputs and targets: images (B, 8, 8) + labels (B,), or tokens (B, T) + (B, T)."""

    inputs: torch.Tensor
    targets: torch.Tensor

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def subset(self, index) -> Batch:
        return Batch(self.inputs[index], self.targets[index])


def encode(text: str) -> torch.Tensor:
    """Characters -> int64 tokens; characters outside VOCAB become '?'."""
    return torch.tensor([_INDEX.get(c, _UNKNOWN) for c in text], dtype=torch.int64)


def decode(tokens) -> str:
    return "".join(VOCAB[int(t)] for t in tokens)


@cache
def _digits() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    images, target = load_digits()
    X = (images / 16.0).astype(np.float32)  # (1797, 8, 8) in [0, 1]
    with np.load(SPLIT_FILE, allow_pickle=False) as frozen:
        return {split: (X[frozen[split]], target[frozen[split]]) for split in SPLITS}


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits: images (1797, 8, 8) float64 in 0..16, labels int64.

    Read from the CSV scikit-learn ships, located without importing scikit-learn (the
    import costs ~1.3 s of the Prune page's first visit); where that file is not found,
    through ``sklearn.datasets.load_digits``. A test checks both give the same arrays.
    """
    spec = importlib.util.find_spec("sklearn")
    csv = Path(next(iter(spec.submodule_search_locations or ()), "")) / "datasets" / "data" \
        / "digits.csv.gz" if spec else None
    if csv is None or not csv.is_file():
        from sklearn.datasets import load_digits as sklearn_digits

        d = sklearn_digits()
        return d.images, d.target.astype(np.int64)
    with gzip.open(csv, "rt") as f:
        table = np.loadtxt(f, delimiter=",")                   # (1797, 65): pixels, label
    return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)


def split_indices(target: np.ndarray) -> dict[str, np.ndarray]:
    """The digits splits as row indices, made with scikit-learn exactly as the checkpoints'
    data were (stratified 80/20, then ``VAL_DIGITS`` of the 80% as "val", ``random_state=0``);
    :data:`SPLIT_FILE` holds their result, so that loading the data needs no scikit-learn."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(target))
    train, test = train_test_split(rows, test_size=0.2, stratify=target, random_state=0)
    train, val = train_test_split(train, test_size=VAL_DIGITS, stratify=target[train],
                                  random_state=0)
    return {"train": train, "val": val, "test": test}


@cache
def _text() -> dict[str, np.ndarray]:
    from pydoc_data.topics import topics

    tokens = encode("\n\n".join(topics[k] for k in sorted(topics))).numpy()
    a, b = int(0.8 * len(tokens)), int(0.9 * len(tokens))
    return {"train": tokens[:a], "val": tokens[a:b], "test": tokens[b:]}


def splits(task: str, split: str) -> Batch:
    """A whole split as a Batch: digits images/labels, or text as a (1, n) token row."""
    if task == "vit":
        X, y = _digits()[split]
        return Batch(torch.from_numpy(X.copy()), torch.from_numpy(y.copy()))
    tokens = torch.from_numpy(_text()[split].copy())
    return Batch(tokens[None, :-1], tokens[None, 1:])


def calibration_batch(task: str, size: int, *, ctx: int = 64, seed: int = 0) -> Batch:
    """``size`` random training images, or ``size`` random training windows of ``ctx`` chars.

    The same (task, size, seed) always gives the same batch.
    """
    rng = np.random.default_rng(seed)
    if task == "vit":
        X, y = _digits()["train"]
        idx = rng.choice(len(y), size=min(size, len(y)), replace=False)
        return Batch(torch.from_numpy(X[idx]), torch.from_numpy(y[idx]))
    tokens = _text()["train"]
    starts = rng.integers(0, len(tokens) - ctx - 1, size=size)
    win = np.stack([tokens[s : s + ctx + 1] for s in starts])  # (size, ctx + 1)
    return Batch(torch.from_numpy(win[:, :-1]), torch.from_numpy(win[:, 1:]))


def random_batch(task: str, size: int, *, ctx: int = 64, rng: np.random.Generator) -> Batch:
    """``size`` random training windows of text drawn with ``rng`` (the GPT training loop)."""
    if task != "gpt":
        raise ValueError(f"random_batch draws text windows: task must be 'gpt'; got {task!r}")
    tokens = _text()["train"]
    starts = rng.integers(0, len(tokens) - ctx - 1, size=size)
    win = np.stack([tokens[s : s + ctx + 1] for s in starts])
    return Batch(torch.from_numpy(win[:, :-1]), torch.from_numpy(win[:, 1:]))


@cache
def eval_batch(task: str, split: str, ctx: int = 64) -> Batch:
    """The fixed evaluation batch of a split (all images, or up to 128 text windows)."""
    if split not in ("train", "val", "test"):
        raise ValueError(f"split must be one of 'train', 'val', 'test'; got split={split!r}")
    if task == "vit":
        return splits(task, split)
    tokens = _text()[split]
    n_win = (len(tokens) - 1) // ctx
    pick = np.linspace(0, n_win - 1, num=min(EVAL_WINDOWS, n_win)).astype(int)
    win = np.stack([tokens[i * ctx : i * ctx + ctx + 1] for i in pick])
    return Batch(torch.from_numpy(win[:, :-1]), torch.from_numpy(win[:, 1:]))
