"""Prune a transformer: magnitude -> OBD/Wanda -> OBS (SparseGPT) -> ADMM -> I-OBS(T), live.

(over 300 lines: two models, seven methods and five views on one page; the work itself is
in iobs.prune, the threads and the shared store in ui.jobs.)
"""

from __future__ import annotations

import ui.boot  # noqa: F401  (first: serialises cold-start imports)

# isort: split
import contextlib
import os

import numpy as np
import pandas as pd
import streamlit as st

from iobs import prune as P
from iobs.prune import iterative, layerwise, study
from iobs.viz import prune as figures
from ui import caching, common, jobs, turns

# Page defaults: the ViT at 50% — OBS keeps nearly all of the dense accuracy while
# magnitude pruning loses points, and the I-OBS rounds show the calibration/held-out split.
MODELS = {"vit": "ViT on 8×8 digits (69k parameters)", "gpt": "char-GPT on Python docs (430k)"}
MODEL, METHOD, SPARSITY, PATTERN = "vit", "obs", 50, "unstructured"
CALIBRATIONS, CALIBRATION = ("auto", 32, 64, 128, 256, 512, 1024), "auto"  # ViT 256, GPT 128
DAMPINGS, DAMPING = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0), 1e-2
FRESH = False   # I-OBS reuses one calibration batch unless the toggle asks for fresh ones
ROUNDS, LRS, LR = 5, ("auto", 1e-4, 3e-4, 1e-3, 3e-3, 1e-2), "auto"  # auto: ViT 1e-3, GPT 1e-4
# The sparsity slider steps along the ViT sweep: the first visit prunes every position with
# every method (about 8 s of CPU here, shared by all sessions afterwards), then measures
# the selected method's predictions and latency at each position and builds its figures
# (about 3 s more, after the page is drawn: prepare_sweep), so moving the slider redraws
# from the cache. A GPT prune costs ~10x more: its sweep stays coarse and other positions
# are pruned when chosen.
SPARSITY_MIN, SPARSITY_MAX, SPARSITY_STEP = 10, 90, 10
SWEEP = {"vit": tuple(s / 100 for s in range(SPARSITY_MIN, SPARSITY_MAX + 1, SPARSITY_STEP)),
         "gpt": (0.3, 0.5, 0.7)}
WORKERS = min(2, os.cpu_count() or 1)
IOBS_ONLY = {"rounds": ROUNDS, "lr": None, "fresh_calibration": False}  # knobs only I-OBS
# reads (the other methods get these defaults)
GATHERED = 32      # assembled sweeps and chosen settings kept (one of each per setting)
TRAJECTORIES = 64   # I-OBS runs kept round by round (ViT: about 1.5 MB each at T = 5)
SPEED_REPEATS = 5  # interleaved timings per figure of "Sparsity is not speed" (fastest kept)
LABELS = figures.LABELS


@caching.resource(max_entries=len(MODELS))
def get_model(name):
    """The trained model, shared by all sessions (never modified: prune() copies it)."""
    return P.load_model(name)


def ensure_model(name):
    """Load (or, if the checkpoint is missing or stale, retrain) with a progress bar, the
    first time in this process (later reruns draw no bar: every element costs a cached
    rerun server time)."""
    if name not in loaded():
        with common.progress("Loading the model (a missing checkpoint is retrained: "
                             "1–2 min)") as tick:
            P.load_model(name, progress=lambda f, msg: tick(f))  # fills the library's cache
        loaded().add(name)
    return get_model(name)


@caching.resource()
def loaded():
    """Names of the models this process has loaded."""
    return set()


@caching.resource(max_entries=len(MODELS))
def model_digest(name):
    """A hash of the loaded model's parameters: part of every kept prune's key, so a
    retrained model is pruned afresh instead of read back from the disk."""
    return P.parameters_digest(get_model(name))


@caching.memory(max_entries=len(MODELS))
def dense_quality(name):
    model = get_model(name)
    test, val = P.evaluate(model), P.evaluate(model, "val")
    metric = "accuracy" if "accuracy" in test else "perplexity"
    return {"metric": metric, "test": test[metric], "val": val[metric]}


def knobs_for(method, knobs):
    """The knobs a method reads: I-OBS's rounds and learning rate do not reach the other
    methods (so changing them re-prunes only the I-OBS jobs)."""
    return knobs if method == "iobs" else knobs | IOBS_ONLY


@caching.resource()
def trajectories():
    """The longest I-OBS run computed so far for each setting but the rounds, every round
    kept (:func:`iobs.prune.study.iobs_trajectory`), shared by all sessions: fewer rounds
    are a lookup, more rounds continue from the last one."""
    return jobs.LRUStore(TRAJECTORIES, better=lambda old, new: len(new["rounds"]) >
                         len(old["rounds"]))


def prune_one(name, method, sparsity, pattern, knobs):
    """One prune with the knobs ``method`` reads (see :func:`run_one`)."""
    return run_one(name, model_digest(name), method, sparsity, pattern,
                   **knobs_for(method, knobs))


@caching.shared(max_entries=256, disk=True)
def run_one(name, digest, method, sparsity, pattern, calibration, damping, rounds, lr, seed,
            fresh_calibration=False):
    """One prune as plain numbers and NumPy masks and parameters (or {"error": ...}); I-OBS
    through the shared round-by-round runs. Kept on disk by its settings and the model's
    ``digest`` (and the code's hash), so a restarted server reads its sweeps back."""
    model, knobs = get_model(name), dict(calibration=calibration, damping=damping, lr=lr,
                                         seed=seed)
    if method == "iobs":
        knobs["fresh_calibration"] = fresh_calibration
    try:
        if method != "iobs":
            return study.run_method(model, method, sparsity, pattern=pattern, rounds=rounds,
                                    keep_state=True, **knobs)
        key = (name, sparsity, pattern, calibration, damping, lr, seed, fresh_calibration)
        run = trajectories().get(key)
        if run is None or len(run["rounds"]) < rounds:
            run = study.iobs_trajectory(model, sparsity, rounds=rounds, pattern=pattern,
                                        resume=run, **knobs)
            trajectories().put(key, run)
        return study.iobs_at(model, run, rounds)
    except (ValueError, np.linalg.LinAlgError) as exc:
        return {"error": str(exc)}


@caching.shared(max_entries=32)
def detail(name, method, sparsity, pattern, calibration, damping, rounds, lr, seed,
           fresh_calibration=False):
    """Predictions and latency/memory of one pruned model (NumPy, strings, floats), rebuilt
    from the cached prune (no second prune)."""
    model = get_model(name)
    knobs = knobs_for(method, dict(calibration=calibration, damping=damping, rounds=rounds,
                                   lr=lr, seed=seed, fresh_calibration=fresh_calibration))
    pruned = study.rebuild(model, run_one(name, model_digest(name), method, sparsity, pattern,
                                          **knobs)["state"])
    return {"predictions": study.predictions(model, pruned),
            "speed": study.speed(model, pruned, repeats=SPEED_REPEATS)}


def details(cfg, knobs, *, spinner=True):
    """:func:`detail` of the selected prune, through a shared store (a cached rerun reads
    it without unpickling and without a spinner)."""
    mine = knobs_for(cfg["method"], knobs)
    key = (cfg["name"], cfg["method"], cfg["sparsity"], cfg["pattern"],
           tuple(sorted(mine.items())))
    info = shown_details().get(key)
    if info is None:
        with st.spinner("Measuring predictions and latency…") if spinner else \
                contextlib.nullcontext():
            info = detail(cfg["name"], cfg["method"], cfg["sparsity"], cfg["pattern"], **mine)
        shown_details().put(key, info)
    return info


@caching.resource()
def shown_details():
    return jobs.LRUStore(GATHERED)


@caching.resource()
def gathered():
    """What :func:`gather` assembled, per setting, shared by all sessions and never
    modified: a cached rerun reads it here instead of looking up (and unpickling) every
    prune of the sweep again (about 0.1 s a rerun, measured)."""
    return jobs.LRUStore(GATHERED)


def gather(cfg, knobs, draw=None):
    """Every method on the sweep grid and at the chosen setting, one cached prune per job,
    two jobs at a time (torch and NumPy release the GIL: 1.5x on two cores, measured here);
    the progress bar moves as jobs finish and ``draw(results)`` redraws the sweep each time
    a sparsity's prunes are all in (the chart fills in). Returns (grid, current, errors)."""
    grid, chosen = assembled(cfg, knobs)
    errors = []
    if grid is None or chosen is None:
        with turns.turn("pruning this model"):
            grid, chosen, errors = _gather(cfg, knobs, draw, grid)
        if not errors:                          # errors are shown, not kept
            grid_key, chosen_key = _store_keys(cfg, knobs)
            gathered().put(grid_key, grid)
            gathered().put(chosen_key, chosen)
    return grid, setting(dense_quality(cfg["name"]), chosen), errors


def setting(dense, chosen):
    """What the page shows at one setting, from ``chosen`` (every method's prune there)."""
    iobs_config = chosen["iobs"].get("config", {})
    return {"metric": dense["metric"], "dense": dense, "methods": chosen,
            "rounds": chosen["iobs"].get("rounds"),
            "best_round": chosen["iobs"].get("best_round"),
            "calibration": iobs_config.get("calibration"),
            "fresh": iobs_config.get("fresh_calibration", False)}


def _store_keys(cfg, knobs):
    """Keys of :func:`gathered`: (the sweep grid's, the chosen setting's)."""
    grid_key = (cfg["name"], tuple(sorted(knobs.items())))
    return grid_key, (*grid_key, cfg["sparsity"], cfg["pattern"])


def assembled(cfg, knobs):
    """(grid, every method at the chosen setting) as :func:`gather` assembled them, each
    None when not assembled yet: a lookup in a shared store, no unpickling."""
    grid_key, chosen_key = _store_keys(cfg, knobs)
    grid, chosen = gathered().get(grid_key), gathered().get(chosen_key)
    if grid is not None and cfg["pattern"] == "unstructured" and cfg["sparsity"] in grid:
        chosen = grid[cfg["sparsity"]]["methods"]   # a slider move along the sweep
    return grid, chosen


def selected(cfg, knobs):
    """The selected method's prune: from the assembled sweep when there is one (a cached
    rerun then unpickles nothing), else its own cached prune."""
    chosen = assembled(cfg, knobs)[1]
    if chosen is not None and cfg["method"] in chosen:
        return chosen[cfg["method"]]
    with st.spinner(f"Pruning with {LABELS[cfg['method']]}…"):
        return prune_one(cfg["name"], cfg["method"], cfg["sparsity"], cfg["pattern"], knobs)


def _gather(cfg, knobs, draw, grid=None):
    """(grid, chosen, errors): the prunes of the sweep grid (unless ``grid`` is known) and
    of every method at the chosen setting."""
    sweep = SWEEP[cfg["name"]]
    methods = [m for m in P.METHODS if cfg["pattern"] == "unstructured" or
               m != "magnitude-global"]
    todo = [] if grid is not None else [(s, "unstructured", m) for s in sweep
                                        for m in P.METHODS]
    todo = list(dict.fromkeys(todo + [(cfg["sparsity"], cfg["pattern"], m) for m in methods]))
    results, shown = {}, set()

    def one(job):
        s, pattern, m = job
        return prune_one(cfg["name"], m, s, pattern, knobs)

    def tick_and_draw(fraction):
        tick(fraction)
        complete = {s for s in sweep if all((s, "unstructured", m) in results
                                            for m in P.METHODS)}
        if draw is not None and grid is None and complete - shown:
            shown.update(complete)
            draw({s: {m: results[s, "unstructured", m] for m in P.METHODS}
                  for s in sorted(complete)})

    text = (f"Pruning with every method at {len(sweep)} sparsities: the chart fills in as "
            "they finish (kept on disk after the first time)" if grid is None else
            "Pruning with every method at this setting")
    with common.progress(text) as tick:
        jobs.run_in_threads(one, todo, workers=WORKERS, tick=tick_and_draw, name="prune",
                            results=results)
    if grid is None:
        grid = {s: {"methods": {m: results[s, "unstructured", m] for m in P.METHODS}}
                for s in sweep}
    chosen = {m: results[cfg["sparsity"], cfg["pattern"], m] for m in methods}
    errors = [r["error"] for r in results.values() if "error" in r]
    return grid, chosen, errors


def sidebar():
    with common.controls():
        st.header("Prune a transformer")
        name = common.select("Model", list(MODELS), MODEL, key="pr_model",
                             format_func=MODELS.get)
        method = common.select("Method (details below)", P.METHODS, METHOD, key="pr_method",
                               format_func=LABELS.get)
        sparsity = common.slider("Sparsity (%)", SPARSITY_MIN, SPARSITY_MAX, SPARSITY,
                                 key="pr_sparsity", step=SPARSITY_STEP,
                                 help="fraction of zeros in each pruned layer")
        pattern = common.select("Pattern", ("unstructured", "2:4"), PATTERN, key="pr_pattern",
                                horizontal=True,
                                help="2:4 = two zeros in every four consecutive inputs")
        calibration = common.select_slider("Calibration examples", CALIBRATIONS, CALIBRATION,
                                           key="pr_calibration", format_func=str,
                                           help="digit images, or 64-character windows; "
                                                "auto = 256 images (ViT) or 128 windows (GPT)")
        damping = common.select_slider("Damping λ (× mean diag H)", DAMPINGS, DAMPING,
                                       key="pr_damping", format_func=lambda x: f"{x:g}")
        rounds = common.slider("I-OBS rounds T", 1, 10, ROUNDS, key="pr_rounds")
        lr = common.select_slider("I-OBS dense-update learning rate", LRS, LR, key="pr_lr",
                                  format_func=lambda x: x if x == "auto" else f"{x:g}",
                                  help="auto = the model's default (ViT 1e-3, GPT 1e-4)")
        fresh = common.toggle("I-OBS: fresh calibration batch each round", FRESH,
                              key="pr_fresh", help="as the paper (§4.2); off = one batch "
                              "reused by every round")
    return dict(name=name, method=method, sparsity=sparsity / 100, pattern=pattern,
                calibration=None if calibration == "auto" else int(calibration),
                damping=float(damping), rounds=int(rounds),
                lr=None if lr == "auto" else float(lr), seed=common.seed(),
                fresh_calibration=bool(fresh))


def fmt(metric, value):
    return f"{value:.1%}" if metric == "accuracy" else f"{value:.3f}"


def intro():
    st.title("✂️ Prune a transformer")
    st.markdown(
        "Layer-wise pruning zeroes weights of each linear layer so that its outputs on "
        "calibration data change as little as possible: min ‖WX − ŴX‖² under a sparsity "
        "mask, a least-squares problem with Hessian H = 2XXᵀ/N. **Magnitude** ignores H, "
        "**OBD** uses its diagonal, **OBS (SparseGPT)** uses all of it and corrects the kept "
        "weights; **Wanda** " + common.badge(common.LITERATURE) + " ranks |w|·‖x‖ within each "
        "output row without an update, **ADMM** " + common.badge(common.LITERATURE) + " (Boža "
        "2024) tightens the mask over ADMM iterations and refits the kept weights exactly; "
        "**I-OBS(T)** repeats *dense update → fresh Hessians → OBS projection* "
        "T times " + common.badge(common.PAPER) + " (§4.2; the exact update step is our "
        "reconstruction); keeping the best round on held-out data is ours "
        + common.badge(common.DERIVED) + ".")


def sweep_rows(cfg, grid, current):
    """Sparsities and per-method test quality of the sweep, the chosen setting merged in."""
    unstructured = cfg["pattern"] == "unstructured"
    xs = sorted(set(grid) | ({cfg["sparsity"]} if unstructured else set()))
    rows = {s: (current["methods"] if unstructured and s == cfg["sparsity"] else
                grid[s]["methods"]) for s in xs}
    return xs, {m: [rows[s][m]["test"] for s in xs] for m in P.METHODS}


def sweep_drawer(cfg, slot, dense):
    """Draws the sweep so far into ``slot`` while it is computed (no key: a partial chart
    is replaced by the finished one)."""
    def draw(partial):
        xs = sorted(partial)
        quality = {m: [partial[s][m]["test"] for s in xs] for m in P.METHODS}
        slot.plotly_chart(figures.quality_figure(xs, quality, dense["test"], dense["metric"],
                                                 selected=cfg["sparsity"]), width="stretch")
    return draw


def sweep_section(cfg, slot, grid, current):
    metric, unstructured = current["metric"], cfg["pattern"] == "unstructured"
    spec = sweep_spec(cfg, grid, current)
    xs, quality = spec[1][:2]
    with slot.container():
        draw(spec, key="pr_sweep")
    m = current["methods"]
    s = f"{cfg['sparsity']:.0%}" + ("" if unstructured else " (2:4)")
    common.look(
        f"At {s}: dense {fmt(metric, current['dense']['test'])}, OBS "
        f"{fmt(metric, m['obs']['test'])}, magnitude {fmt(metric, m['magnitude']['test'])}, "
        f"I-OBS(T={cfg['rounds']}) {fmt(metric, m['iobs']['test'])} on the test split "
        + common.badge(common.MEASURED) + ". The gap between magnitude and OBS opens as "
        "sparsity grows: the Hessian tells which weights the *outputs* need.")
    return xs, quality


def versus_section(cfg, grid, current):
    """Does I-OBS(T) beat ADMM, and where? Read off the measured sweep and the chosen view."""
    metric = current["metric"]
    settings = {(s, "unstructured"): grid[s]["methods"] for s in grid}
    settings[cfg["sparsity"], cfg["pattern"]] = current["methods"]
    h2h = study.head_to_head(settings, cfg["name"])

    def where(keys):
        return ", ".join(f"{s:.0%}" + ("" if p == "unstructured" else f" {p}")
                         for s, p in sorted(keys)) or "nowhere"

    m = current["methods"]
    verdict = ("no, nowhere measured" if not h2h["better"] else
               "yes, everywhere measured" if not h2h["worse"] and not h2h["equal"] else
               "in places")
    st.subheader("Does I-OBS(T) beat ADMM?")
    st.markdown(
        f"**{verdict.capitalize()}** on this model, with "
        f"{current['calibration']} calibration examples and T = {cfg['rounds']} "
        + common.badge(common.MEASURED) + f": I-OBS(T) has the better test {metric} at "
        f"{where(h2h['better'])}; ADMM at {where(h2h['worse'])}; equal at "
        f"{where(h2h['equal'])}. Here ({cfg['sparsity']:.0%}, {cfg['pattern']}): I-OBS "
        f"{fmt(metric, m['iobs']['test'])}, ADMM {fmt(metric, m['admm']['test'])}. I-OBS "
        f"{'draws a fresh' if current['fresh'] else 'reuses one'} calibration batch each "
        "round (the paper draws a fresh one); ADMM is one-shot, without any dense update. "
        "Other calibration sizes: change *Calibration examples*.")


def rounds_section(current):
    st.subheader("I-OBS(T): rounds on calibration vs held-out data")
    rounds, best, metric = current["rounds"], current["best_round"], current["metric"]
    m = current["methods"]
    worse = (m["iobs"]["test"] < m["obs"]["test"]) == (metric == "accuracy") and \
        m["iobs"]["test"] != m["obs"]["test"]
    caveat = (" Here I-OBS ends below one-shot OBS on the *test* split: choosing a round on "
              "a small held-out split is itself a fit, and its noise shows." if worse else "")
    draw(rounds_spec(current), key="pr_rounds_fig")
    if len(rounds) == 1:
        trend = "With T = 1, I-OBS is one-shot OBS: raise T to see the rounds."
    elif best == len(rounds):
        trend = (f"The held-out {metric} still improves at round {best}: more rounds may help "
                 "before the dense updates start to overfit the calibration set.")
    else:
        trend = (f"After round {best} the held-out {metric} gets worse while the calibration "
                 "loss keeps falling: the dense updates overfit the calibration set.")
    common.look(
        f"Round 1 is one-shot OBS; the best held-out round is {best} "
        f"({fmt(metric, rounds[best - 1]['held_out'])} vs "
        f"{fmt(metric, rounds[0]['held_out'])} in round 1) " + common.badge(common.MEASURED)
        + f". {trend} The paper saw quality jump after the first round, improve for a few, "
        "then degrade from overfitting on Llama, and stars the best validation round "
        + common.badge(common.PAPER) + " (§4.2)." + caveat)


def chosen_section(cfg, chosen):
    """The selected method alone (one prune): its masks and per-layer errors, first."""
    st.subheader(f"Per layer: {LABELS[cfg['method']]}'s masks")
    names = layer_names(chosen)
    draw(masks_spec(chosen), key="pr_masks")
    common.look(f"{LABELS[cfg['method']]}, sparsity reached and relative output error "
                "(calibration / held-out inputs) per layer: "
                + ", ".join(f"{n} {r['sparsity']:.0%} ({r['output_error']:.3f} / "
                            f"{r['heldout_output_error']:.3f})" for n, r in
                            zip(names, chosen["layers"], strict=True))
                + " " + common.badge(common.MEASURED) + ". Global magnitude prunes layers "
                "unevenly; the Hessian-based masks follow the inputs the outputs depend on.")


def layers_section(cfg, current):
    st.subheader("Per layer, every method: reconstruction errors and seconds")
    spec = layers_spec(cfg, current)
    names, cal, held = spec[1]
    methods = current["methods"]
    draw(spec, key="pr_errors")
    table = {LABELS[m]: {n: f"{c:.4f} / {h:.4f}" for n, c, h in zip(names, cal[m], held[m],
                                                                   strict=True)}
             | {"kernel ms (all layers)": common.fmt(
                 1e3 * sum(r["seconds"] for r in v["layers"]), ".1f")}
             for m, v in methods.items()}
    st.dataframe(table_frame(table), width="stretch")
    common.look("Relative output error ‖(Ŵ − W)X‖/‖WX‖ of each layer, calibration / "
                "held-out inputs, and the seconds of the layer kernels "
                + common.badge(common.MEASURED) + ": OBS and ADMM minimise the calibration "
                "error layer by layer; the held-out column shows whether that carries to "
                "unseen inputs. I-OBS is compared with the same dense layers: its dense "
                "updates chase the task loss, not each layer's copy of the dense outputs. "
                "The pass is sequential, so each method's layer sees the outputs of its own "
                "pruned layers before it; pruned one at a time on the dense inputs instead "
                "(`python benchmarks/prune_methods.py --isolated`), every ViT layer orders "
                "errors as ADMM ≤ SparseGPT ≤ OBD ≤ magnitude, while Wanda, OBD's score with every "
                "row losing the same share, can do worse than magnitude (block 0's qkv).")


def table_frame(table):
    return pd.DataFrame.from_dict(table, orient="index")


def predictions_section(cfg, info):
    st.subheader("Dense vs pruned predictions")
    pred = info["predictions"]
    if cfg["name"] == "vit":
        draw(digits_spec(info), key="pr_digits")
        common.look(f"{pred['changed']} of {pred['total']} test predictions change after "
                    f"pruning with {LABELS[cfg['method']]}; changed ones come first.")
    else:
        left, right = st.columns(2)
        left.markdown("**Dense model** (greedy decoding)")
        left.code(pred["dense"], language=None, wrap_lines=True)
        right.markdown(f"**Pruned: {LABELS[cfg['method']]}**")
        right.code(pred["pruned"], language=None, wrap_lines=True)


def speed_section(info):
    st.subheader("Sparsity is not speed")
    sp = info["speed"]
    draw(speed_spec(info), key="pr_speed")
    st.markdown(
        f"Dense forward {sp['model_dense_ms']:.2f} ms, masked {sp['model_masked_ms']:.2f} ms; "
        f"the pruned linears as CSR {sp['layers_csr_ms']:.2f} ms vs "
        f"{sp['layers_dense_ms']:.2f} ms dense, {sp['csr_bytes'] / 1e3:.0f} KB vs "
        f"{sp['dense_bytes'] / 1e3:.0f} KB " + common.badge(common.MEASURED) + ".  \n"
        "**Why:** a masked matrix still multiplies its zeros, and a sparse format pays an "
        "index per kept weight and irregular memory access, so at moderate sparsity it is "
        "larger and slower; speed needs very high sparsity or hardware support for a fixed "
        "pattern such as 2:4 on recent GPUs.")


# A figure of the page as (builder, args, kwargs): what a section draws, and what
# prepare_sweep builds ahead at the sweep's other positions (the same arguments, so the
# same cached figure).
def draw(spec, *, key):
    builder, args, kwargs = spec
    common.chart(common.figure(builder, *args, **kwargs), key=key)


def layer_names(chosen):
    return [r["name"].removeprefix("blocks.") for r in chosen["layers"]]


def masks_spec(chosen):
    return figures.masks_figure, (chosen["masks"], layer_names(chosen)), {}


def sweep_spec(cfg, grid, current):
    xs, quality = sweep_rows(cfg, grid, current)
    extra = None if cfg["pattern"] == "unstructured" else {
        m: (0.5, r["test"]) for m, r in current["methods"].items()}
    return (figures.quality_figure, (xs, quality, current["dense"]["test"], current["metric"]),
            {"selected": cfg["sparsity"], "extra": extra})


def rounds_spec(current):
    return (figures.rounds_figure, (current["rounds"], current["best_round"], current["metric"]),
            {})


def layers_spec(cfg, current):
    methods = current["methods"]
    cal = {m: [r["output_error"] for r in v["layers"]] for m, v in methods.items()}
    held = {m: [r["heldout_output_error"] for r in v["layers"]] for m, v in methods.items()}
    return figures.layer_comparison_figure, (layer_names(methods[cfg["method"]]), cal, held), {}


def digits_spec(info):
    pred = info["predictions"]
    return (figures.digits_figure, (pred["images"], pred["labels"], pred["dense"],
                                    pred["pruned"]), {})


def speed_spec(info):
    return figures.speed_figure, (info["speed"],), {}


def specs_at(cfg, grid, current, info):
    """Every figure of the page at one setting of the sweep."""
    return [masks_spec(current["methods"][cfg["method"]]), sweep_spec(cfg, grid, current),
            rounds_spec(current), layers_spec(cfg, current), speed_spec(info),
            *([digits_spec(info)] if cfg["name"] == "vit" else [])]


@caching.resource()
def prepared_sweeps():
    """Settings (all but the sparsity, with the method) whose sweep :func:`prepare_sweep`
    has measured and drawn."""
    return jobs.LRUStore(GATHERED)


def prepare_sweep(cfg, knobs, grid, dense):
    """The sweep's other positions measured (predictions and latency, :func:`details`: on
    this server, once per setting) and their figures built, once for every session and
    after the page is drawn, so that a slider move along the sweep redraws from the cache
    (otherwise 0.3-0.5 s of server time per new position, about 60% of it Plotly building
    the figures and 25% the latency measurement: measured here). A rerun interrupts it
    between positions (at the progress bar's updates); the next run goes on."""
    key = (*_store_keys(cfg, knobs)[0], cfg["method"])
    if cfg["pattern"] != "unstructured" or prepared_sweeps().get(key):
        return
    todo = [s for s in grid if s != cfg["sparsity"]]
    with common.progress("Measuring predictions and latency at the sweep's other "
                         "sparsities (once for every session)") as tick:
        for i, s in enumerate(todo):
            at = cfg | {"sparsity": s}
            info = details(at, knobs, spinner=False)
            for builder, args, kwargs in specs_at(at, grid, setting(dense, grid[s]["methods"]),
                                                  info):
                common.figure(builder, *args, **kwargs)
            tick((i + 1) / len(todo))
    prepared_sweeps().put(key, True)


def metrics_row(cfg, dense, chosen):
    metric = dense["metric"]
    a, b, c = st.columns(3)
    a.metric(f"Dense test {metric} (measured here)", fmt(metric, dense["test"]))
    b.metric(f"{LABELS[cfg['method']]} at {cfg['sparsity']:.0%}", fmt(metric, chosen["test"]),
             delta=(f"{100 * (chosen['test'] - dense['test']):+.1f} points"
                    if metric == "accuracy" else f"{chosen['test'] - dense['test']:+.3f}"),
             delta_color="normal" if metric == "accuracy" else "inverse")
    c.metric("Prune time (measured here)", f"{chosen['seconds']:.2f} s")


def main():
    cfg = sidebar()
    intro()
    knobs = {k: cfg[k] for k in ("calibration", "damping", "rounds", "lr", "seed",
                                 "fresh_calibration")}
    try:
        layerwise.parse_pattern(cfg["pattern"], cfg["sparsity"])
    except ValueError as exc:
        common.error(str(exc), "2:4 keeps exactly two of every four weights: set Sparsity to "
                     "50%, or choose the unstructured pattern")
        return
    if cfg["pattern"] == "2:4" and cfg["method"] == "magnitude-global":
        common.error("Global magnitude has no 2:4 version (one threshold over all layers "
                     "cannot keep two of every four)", "choose another method or unstructured")
        return
    ensure_model(cfg["name"])
    dense = dense_quality(cfg["name"])
    # The selected method first (one prune, a second or two): its numbers and masks show
    # before the sweep of every method, which fills in below with its progress.
    chosen = selected(cfg, knobs)
    if "error" in chosen:
        common.error(chosen["error"], "move the highlighted control back into range")
        return
    metrics_row(cfg, dense, chosen)
    chosen_section(cfg, chosen)
    st.subheader("Quality vs sparsity, all methods")
    slot = st.empty()
    grid, current, errors = gather(cfg, knobs, draw=sweep_drawer(cfg, slot, dense))
    if errors:
        common.error(errors[0], "move the highlighted control back into range")
        return
    xs, quality = sweep_section(cfg, slot, grid, current)
    versus_section(cfg, grid, current)
    rounds_section(current)
    layers_section(cfg, current)
    info = details(cfg, knobs)
    predictions_section(cfg, info)
    speed_section(info)
    numbers = {"sparsity": np.asarray(xs)} | {f"{m} test {current['metric']}": np.asarray(v)
                                              for m, v in quality.items()}
    numbers |= {f"iobs round {k}": np.asarray([r[k] for r in current["rounds"]])
                for k in ("calibration", "held_out", "calibration_loss", "held_out_loss")}
    numbers |= {f"{m} layer {k}": np.asarray([r[k] for r in v["layers"]])
                for m, v in current["methods"].items()
                for k in ("error", "output_error", "heldout_output_error", "seconds")}
    numbers |= {k: v for k, v in info["speed"].items()}
    common.downloads("prune", numbers, {**cfg, "dense": dense,
                                        "best_round": current["best_round"]}, key="pr_dl")
    common.show_code(layerwise.obs_prune, layerwise.obs_sweep, iterative.iobs_rounds,
                     title="Show the code (SparseGPT sweep and the I-OBS(T) loop)")
    prepare_sweep(cfg, knobs, grid, dense)


main()
