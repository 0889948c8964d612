"""Every pruning method at 50/70/90% and 2:4 on both tiny models: quality, layer error, time.

For each model, method and sparsity: the test quality of the pruned model (ViT accuracy,
GPT perplexity), the mean over the 8 block linears of the relative output error
‖(Ŵ − W)X‖ / ‖WX‖ on the calibration inputs and on held-out inputs (the "val" split, its
Hessians taken in the same sequential pass; ALPS, Meng et al. 2024, Table 1), the seconds
of the layer kernels and of the whole prune (Hessians, evaluation of I-OBS rounds...).
Then the per-layer errors of the ViT at 70% unstructured, the same layers pruned one at a
time on the *dense* model's inputs (``--isolated``: every method sees the same X, so a
layer's errors compare the solvers alone; in the sequential pass each method's layer sees
the outputs of its own pruned layers before it), and optionally I-OBS(T) vs ADMM over
calibration sizes. Page defaults throughout (ViT: 256 images, GPT: 128 windows,
damping 0.01, I-OBS T = 5); ``iobs-fresh`` is I-OBS(T) with a fresh calibration batch per
round (the paper's §4.2). One torch thread, one BLAS thread.

    python benchmarks/prune_methods.py [--models vit gpt] [--calibrations 32 128 512]
                                       [--isolated] [--json results.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iobs import prune as P

SETTINGS = [(0.5, "unstructured"), (0.7, "unstructured"), (0.9, "unstructured"), (0.5, "2:4")]
LAYER_METHODS = ("magnitude", "wanda", "obs", "admm")   # the per-layer table
ISOLATED_METHODS = ("magnitude", "obd", "wanda", "obs", "admm")


def _rows():
    """(method label, method, options) for every row of the table."""
    return [*((m, m, {}) for m in P.METHODS),
            ("iobs-fresh", "iobs", {"fresh_calibration": True})]


def run(model_name: str, method: str, sparsity: float, pattern: str, **options) -> dict:
    model = P.load_model(model_name)
    t0 = time.perf_counter()
    pruned, report = P.prune(model, method, sparsity, pattern=pattern, **options)
    seconds = time.perf_counter() - t0
    metric = "accuracy" if model_name == "vit" else "perplexity"
    layers = report.layers
    return {"model": model_name, "method": method, "sparsity": sparsity, "pattern": pattern,
            "options": options, "quality": P.evaluate(pruned)[metric], "metric": metric,
            "cal_error": float(np.mean([r.output_error for r in layers])),
            "held_error": float(np.mean([r.heldout_output_error for r in layers])),
            "kernel_seconds": float(sum(r.seconds for r in layers)), "seconds": seconds,
            "best_round": report.best_round,
            "layers": [{"name": r.name, "cal": r.output_error,
                        "held": r.heldout_output_error, "seconds": r.seconds} for r in layers]}


def _cell(r: dict | None) -> str:
    if r is None:
        return f"{'n/a':>31}"
    q = f"{100 * r['quality']:.1f}%" if r["metric"] == "accuracy" else f"{r['quality']:.3f}"
    return f"{q:>7} {r['cal_error']:.3f}/{r['held_error']:.3f} {r['seconds']:6.2f}s"


def isolated(sparsity: float, methods=ISOLATED_METHODS) -> dict:
    """{layer: {method: relative output error}} of the ViT's block linears, each pruned
    alone on the dense model's calibration inputs (page defaults: 256 images, damping
    0.01); OBD is Wanda's score compared over the whole layer instead of within each row."""
    from iobs.prune import data, methods as M
    from iobs.prune.hessians import layer_hessians
    from iobs.prune.models import prunable_layers

    model = P.load_model("vit")
    layers = prunable_layers(model)
    H = layer_hessians(model, layers, data.calibration_batch("vit", 256, seed=0))
    out = {}
    for name, layer in layers:
        W = layer.weight.detach().double().numpy()
        out[name] = {m: float(np.sqrt(M.relative_error(W, M.kernel(
            m, W, H[name], sparsity, "unstructured", 0.01, 128, 1.0)[0], H[name])))
            for m in methods}
    return out


def print_isolated(sparsities=(0.5, 0.7)) -> None:
    for s in sparsities:
        table = isolated(s)
        print(f"\n# vit, {s:.0%} unstructured, each layer alone on the dense inputs: "
              "‖ΔW X‖/‖W X‖ (calibration)")
        print(f"{'layer':<20}" + "".join(f"{m:>11}" for m in ISOLATED_METHODS))
        for name, row in table.items():
            print(f"{name:<20}" + "".join(f"{row[m]:>11.4f}" for m in ISOLATED_METHODS))
        for m in ("wanda", "obd"):
            out = [n for n, r in table.items() if not r["obs"] <= r[m] <= r["magnitude"]]
            print(f"# {m} between SparseGPT and magnitude: "
                  f"{'every layer' if not out else 'not on ' + ', '.join(out)}")
        worse = [n for n, r in table.items() if r["admm"] > r["obs"]]
        print("# ADMM <= SparseGPT: " + ("every layer" if not worse else
                                          "not on " + ", ".join(worse)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=P.MODELS, default=list(P.MODELS))
    parser.add_argument("--calibrations", nargs="*", type=int, default=[],
                        help="also compare I-OBS(T) with ADMM at these calibration sizes")
    parser.add_argument("--json", type=Path, default=None, help="write every result here")
    parser.add_argument("--isolated", action="store_true",
                        help="only the ViT's layers pruned one at a time on dense inputs")
    args = parser.parse_args(argv)
    if args.isolated:
        print_isolated()
        return 0

    results, wall0 = [], time.perf_counter()
    for name in args.models:
        model = P.load_model(name)
        P.prune(model, "obs", 0.5)   # warm-up: lazy imports, allocator
        metric = "accuracy" if name == "vit" else "perplexity"
        print(f"\n# {name}: test {metric} | mean layer ‖ΔW X‖/‖W X‖ calibration/held-out "
              f"| seconds per prune; dense {metric} {P.evaluate(model)[metric]:.4g}")
        print(f"{'method':<17}" + "".join(
            f"{(f'{s:.0%}' if p == 'unstructured' else p):>32}" for s, p in SETTINGS))
        t_model = time.perf_counter()
        for label, method, options in _rows():
            cells = []
            for s, pattern in SETTINGS:
                if method == "magnitude-global" and pattern != "unstructured":
                    cells.append(None)
                    continue
                r = run(name, method, s, pattern, **options)
                r["label"] = label
                results.append(r)
                cells.append(r)
            print(f"{label:<17}" + "".join(f" {_cell(c)}" for c in cells), flush=True)
        print(f"# {name}: table in {time.perf_counter() - t_model:.0f} s")

    vit70 = {r["label"]: r for r in results if r["model"] == "vit" and r["sparsity"] == 0.7
             and r["pattern"] == "unstructured"}
    if vit70:
        print("\n# vit, 70% unstructured: per-layer ‖ΔW X‖/‖W X‖ calibration/held-out "
              "(kernel ms)")
        print(f"{'layer':<16}" + "".join(f"{m:>26}" for m in LAYER_METHODS))
        for i, layer in enumerate(vit70["obs"]["layers"]):
            cells = [vit70[m]["layers"][i] for m in LAYER_METHODS]
            print(f"{layer['name']:<16}" + "".join(
                f"{c['cal']:>10.4f}/{c['held']:.4f} ({1e3 * c['seconds']:5.1f})"
                for c in cells))
        worse = [layer["name"] for a, layer in zip(vit70["admm"]["layers"],
                                                   vit70["obs"]["layers"], strict=True)
                 if a["cal"] > layer["cal"]]
        print(f"# ADMM <= SparseGPT on calibration error: "
              f"{'every layer' if not worse else 'not on ' + ', '.join(worse)}")

    for name in args.models if args.calibrations else []:
        print(f"\n# {name}: I-OBS(T) vs ADMM over calibration size (test quality)")
        print(f"{'calibration':<12}" + "".join(
            f"{(f'{s:.0%}' if p == 'unstructured' else p) + ' iobs/admm':>24}"
            for s, p in SETTINGS))
        for n in args.calibrations:
            cells = []
            for s, pattern in SETTINGS:
                pair = [run(name, m, s, pattern, calibration=n) for m in ("iobs", "admm")]
                for r, m in zip(pair, ("iobs", "admm"), strict=True):
                    r["label"] = f"{m}@{n}"
                results.extend(pair)
                q = [r["quality"] for r in pair]
                fmt = "{:.1%}" if name == "vit" else "{:.3f}"
                cells.append(f"{fmt.format(q[0])}/{fmt.format(q[1])}")
            print(f"{n:<12}" + "".join(f"{c:>24}" for c in cells), flush=True)

    print(f"\n# total {time.perf_counter() - wall0:.0f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
