"""Trained checkpoints on disk: verify, load, or retrain and write atomically.

``checkpoints/manifest.json`` records, per model, the file, its sha256, the seed, the
command and recipe that made it, the model config and the quality measured on the test
split. A checkpoint is used only if the file exists, its sha256 and config match the
manifest and ``torch.load(..., weights_only=True)`` + a strict ``load_state_dict``
succeed; otherwise it is retrained (about 1-2 minutes) and written with a temp file +
``os.replace`` so a crash never leaves a half-written file. When the package folder is
read-only the new checkpoint goes to ``$IOBS_CACHE_DIR`` (default ``~/.cache/iobs``).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import platform
import tempfile
from dataclasses import asdict
from pathlib import Path

import torch

from . import data, metrics
from .models import config_dict
from .train import RECIPES, Progress, new_model, train

__all__ = ["PACKAGE_DIR", "load_checkpoint", "read_manifest", "train_and_save"]

PACKAGE_DIR = Path(__file__).resolve().parent / "checkpoints"


def _dirs() -> list[Path]:
    cache = Path(os.environ.get("IOBS_CACHE_DIR", Path.home() / ".cache" / "iobs"))
    return [PACKAGE_DIR, cache / "checkpoints"]


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_manifest(folder: Path = PACKAGE_DIR) -> dict:
    """The manifest of ``folder`` ({} when missing or unreadable)."""
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return {}


def _atomic_write(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; checkpoints are meant to be shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_checkpoint(task: str) -> tuple[torch.nn.Module, dict] | None:
    """(model in eval mode, manifest record) of the first valid checkpoint, else None."""
    for folder in _dirs():
        record = read_manifest(folder).get(task)
        if not record:
            continue
        path = folder / record["file"]
        model = new_model(task)
        if not path.is_file() or record.get("config") != config_dict(model.config):
            continue
        if sha256(path) != record.get("sha256"):
            continue
        try:
            model.load_state_dict(torch.load(path, weights_only=True, map_location="cpu"))
        except (RuntimeError, ValueError, OSError, KeyError, EOFError, pickle.UnpicklingError):
            continue  # stale, corrupt, empty or not plain tensors: retrain
        return model.eval(), record
    return None


def train_and_save(task: str, *, progress: Progress | None = None,
                   seed: int | None = None, threads: int | None = None
                   ) -> tuple[torch.nn.Module, dict]:
    """Train ``task`` with its recipe, measure test quality, save state_dict + manifest
    (``threads``: torch's intra-op threads for this process, if given)."""
    if threads is not None:
        torch.set_num_threads(max(1, int(threads)))
    recipe = RECIPES[task] if seed is None else RECIPES[task].__class__(
        **{**asdict(RECIPES[task]), "seed": seed})
    model, info = train(recipe, progress=progress)
    quality = {split: metrics.scores(model, data.eval_batch(task, split))
               for split in ("val", "test")}
    record = {
        "file": f"{task}.pt",
        "seed": recipe.seed,
        "command": f"python -m iobs train {task}"
                   + ("" if seed is None else f" --seed {seed}"),
        "recipe": asdict(recipe),
        "config": config_dict(model.config),
        "parameters": sum(p.numel() for p in model.parameters()),
        "quality": {"split": "test", **quality["test"]},
        "quality_val": quality["val"],
        "train_seconds": round(info["seconds"], 1),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }
    state = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()}
    buffer = io.BytesIO()
    torch.save(state, buffer)
    for folder in _dirs():
        try:
            _atomic_write(folder / record["file"], buffer.getvalue())
            record["sha256"] = sha256(folder / record["file"])
            manifest = {**read_manifest(folder), task: record}
            text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
            _atomic_write(folder / "manifest.json", text.encode())
            break
        except OSError:
            continue  # read-only package folder: fall back to the user cache
    return model, record
