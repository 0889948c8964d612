"""Command line for the pruning part: ``python -m iobs train vit|gpt`` and ``... prune``.

:mod:`iobs.cli` registers :func:`add_train_parser` / :func:`add_prune_parser`;
``python -m iobs.cli.prune ...`` runs them on their own (torch is imported only when a
command runs).
"""

from __future__ import annotations

import argparse
import json
import sys

__all__ = ["add_prune_parser", "add_train_parser", "main", "main_prune", "main_train"]

MODELS = ("vit", "gpt")  # repeated here so that --help does not import torch


def add_train_parser(subparsers) -> argparse.ArgumentParser:
    """``train vit|gpt [--seed N] [--threads N]``: retrain a checkpoint and its manifest."""
    p = subparsers.add_parser("train", help="train the tiny ViT or char-GPT checkpoint",
                              description="Train a model with its recipe and write the "
                              "checkpoint + manifest (sha256, seed, command, test quality).")
    p.add_argument("model", choices=MODELS)
    p.add_argument("--seed", type=int, default=None, help="default: the recipe's seed (0)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.set_defaults(func=main_train)
    return p


def add_prune_parser(subparsers) -> argparse.ArgumentParser:
    """``prune vit|gpt METHOD SPARSITY [options]``: prune once and print the report."""
    p = subparsers.add_parser("prune", help="prune a trained model once and report",
                              description="Prune the ViT or GPT and print test quality and "
                              "the report as JSON.")
    p.add_argument("model", choices=MODELS)
    p.add_argument("method", choices=("magnitude", "magnitude-global", "obd", "wanda", "obs",
                                      "admm", "iobs"))
    p.add_argument("sparsity", type=float)
    p.add_argument("--pattern", default="unstructured", choices=("unstructured", "2:4"))
    p.add_argument("--calibration", type=int, default=None)
    p.add_argument("--damping", type=float, default=0.01)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--fresh-calibration", action="store_true",
                   help="iobs: draw a fresh calibration batch each round (as the paper)")
    p.set_defaults(func=main_prune)
    return p


def _progress(fraction: float, message: str) -> None:
    print(f"\r[{fraction:6.1%}] {message:<70}", end="", file=sys.stderr, flush=True)


def main_train(args: argparse.Namespace) -> int:
    from iobs.prune import store

    _, record = store.train_and_save(args.model, progress=_progress, seed=args.seed,
                                     threads=args.threads)
    print(file=sys.stderr)
    print(json.dumps(record, indent=2))
    return 0


def main_prune(args: argparse.Namespace) -> int:
    from iobs.prune import api

    model = api.load_model(args.model, progress=_progress)
    try:
        pruned, report = api.prune(model, args.method, args.sparsity, pattern=args.pattern,
                                   calibration=args.calibration, damping=args.damping,
                                   rounds=args.rounds, seed=args.seed,
                                   fresh_calibration=args.fresh_calibration)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    out = {"dense": api.evaluate(model), "pruned": api.evaluate(pruned), **report.to_dict()}
    print(json.dumps(out, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m iobs.cli.prune")
    sub = parser.add_subparsers(dest="command", required=True)
    add_train_parser(sub)
    add_prune_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
