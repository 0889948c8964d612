"""Phase transitions: where does each method recover θ*? Donoho–Tanner maps over
(δ = n/d, ρ = k*/n), computed row by row (cached, stoppable) or loaded from the CLI's CSV."""

from __future__ import annotations

import ui.boot  # noqa: F401  (first: serialises cold-start imports)

# isort: split
import contextlib
import os
import time
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import streamlit as st

import iobs
from iobs import stopping
from iobs.research.engine import advance
from iobs.research.executors import DASK_ENV, executor_from_environment
from iobs.research.phase import (DEFAULT_DAMPING, ORACLE, PhaseMap, phase_rows,
                                 rule_of_thumb_delta, solve_trial)
from iobs.viz.research import RULE_LABEL, phase_curves, phase_maps
from ui import caching, common, turns

# Page defaults: d = 100, 16 x 10 cells, 6 trials, 300 iterations, five methods. On 2 idle
# cores (measured, benchmarks/app_latency.py): about 1.7 s from scratch (a seed or budget
# change), then cached per row and trial: fewer trials rerun in about 0.1 s, one more trial
# costs about 0.4 s (only the new trials run, every row's at once). The first visit adds
# about 1 s of pool start.
METHODS = ("iht", "topk-iobs", "iobs", "htp", "omp")
CHOICES = (*METHODS, ORACLE)
DIMS = (16, 32, 64, 100, 128, 256)
D, N_DELTAS, N_RHOS, RHO_MAX, TRIALS, STEPS = 100, 10, 16, 0.8, 6, 300
MAX_RUNS = 40_000          # cells x trials x methods the page computes; beyond: the CLI
WORKERS = min(2, os.cpu_count() or 1)
UPLOAD_MB = 20


def _label(m):
    return "oracle (true support)" if m == ORACLE else iobs.METHODS[m].label


@st.cache_resource(show_spinner=False, on_release=lambda pool: pool.close())
def _cluster(address):
    return executor_from_environment(WORKERS, address=address)


def _pool():
    """The :class:`Workers` shared by every session: the page's process pool (two
    workers), or the Dask cluster the server was started with (``$IOBS_DASK_SCHEDULER``)."""
    return _cluster(os.environ.get(DASK_ENV, ""))


@caching.shared(max_entries=1024)
def _row(methods, d, deltas, rho, first, trials, seed, steps, _new=None):
    """Trials ``first, ..., trials - 1`` of one row (one ρ, every δ): bool of shape
    (methods, δ, trials - first), shared by every session. Trials are seeded one by one, so
    rows only ever grow. A lookup (``_new`` None) of a row not stored raises KeyError
    (nothing is cached then); ``_new`` (not hashed) stores the row computed in :func:`compute`,
    where the rows missing are computed together."""
    if _new is None:
        raise KeyError(rho)
    return _new


def _grid(n, top):
    return tuple(round(float(v), 4) for v in np.linspace(top / n, top, n))


def sidebar():
    with common.controls():
        st.header("Phase transitions")
        methods = common.multiselect("Methods", CHOICES, METHODS, key="ph_methods",
                                     format_func=_label)
        d = common.select_slider("Dimension d", DIMS, D, key="ph_d")
        n_deltas = common.slider("δ = n/d values (up to 1)", 2, 20, N_DELTAS, key="ph_nd")
        rho_max = common.slider("Largest ρ = k*/n", 0.1, 1.0, RHO_MAX, key="ph_rmax",
                                step=0.05)
        n_rhos = common.slider("ρ values", 2, 20, N_RHOS, key="ph_nr")
        trials = common.slider("Trials per cell", 1, 50, TRIALS, key="ph_trials")
        steps = common.slider("Iteration budget", 20, 2000, STEPS, key="ph_steps", step=10)
        upload = st.file_uploader("Or load a map (CSV from `python -m iobs phase`)",
                                  type=["csv"], key="ph_upload", max_upload_size=UPLOAD_MB)
    return dict(methods=tuple(methods), d=int(d), deltas=_grid(n_deltas, 1.0),
                rhos=_grid(n_rhos, float(rho_max)), trials=int(trials),
                steps=int(steps)), upload


def _stop():
    st.session_state["ph_stopped"] = True


def _resume():
    st.session_state["ph_stopped"] = False


def _cached(cfg, seed, rhos, have):
    """The rows of ``rhos`` that the cache holds (trials ``have[ρ]`` up to the slider's)."""
    T, out = cfg["trials"], {}
    for rho in rhos:
        with contextlib.suppress(KeyError):
            out[rho] = _row(cfg["methods"], cfg["d"], cfg["deltas"], rho, have[rho], T, seed,
                            cfg["steps"])
    return out


def _computed(cfg, seed, rhos, first, progress):
    """Trials ``first, ...`` of the rows ``rhos`` on the pool, all rows' work submitted at
    once: pairs (ρ, bool (methods, δ, trials - first)) as rows complete, each stored in the
    cache. ``progress`` (a Streamlit call) runs after every work unit, so a Stop click (a
    rerun) interrupts between units; the generator's close cancels the units not started."""
    T = cfg["trials"]
    executor = _pool().executor
    with contextlib.closing(phase_rows(list(cfg["methods"]), cfg["d"], list(cfg["deltas"]),
                                       rhos, T - first, seed, first=first, executor=executor,
                                       progress=progress, steps=cfg["steps"])) as rows:
        for i, new in rows:
            yield rhos[i], _row(cfg["methods"], cfg["d"], cfg["deltas"], rhos[i], first, T,
                                seed, cfg["steps"], _new=new)


def _fill(cfg, seed, todo, have, keep, fresh):
    """Compute the rows ``todo`` (trials ``have[ρ]`` up to the slider's) on the pool, a
    progress bar and a Stop button showing; ``keep(ρ, new)`` stores each row as it comes."""
    pool = common.attempt(_pool, fix=f"start the Dask scheduler that {DASK_ENV} names, or "
                          "unset it and restart the server to use this machine's processes")
    if pool is None:
        st.session_state["ph_stopped"] = True
        return None
    slot = st.empty()
    slot.button("Stop", key="ph_stop", icon=":material/stop_circle:", on_click=_stop,
                help="Stop now; the rows done so far stay.")
    T, done = cfg["trials"], 0
    what = (f"{len(todo)} rows of {len(cfg['deltas'])} cells" if fresh else
            f"trials up to {T} in {len(todo)} rows")
    with turns.turn("this map"), \
            common.progress(f"Computing {what} on {pool.where} ...") as tick:
        for first in sorted({have[r] for r in todo}):     # one group, but after a Stop
            rhos = [r for r in todo if have[r] == first]
            part = (done / len(todo), len(rhos) / len(todo))    # of the bar
            try:
                for rho, new in _computed(cfg, seed, rhos, first,
                                          lambda f, p=part: tick(p[0] + f * p[1])):
                    keep(rho, new)
            except BrokenProcessPool:
                _cluster.clear()
                common.error("A worker process died (out of memory?)",
                             "press Resume to continue with fresh workers, or lower d")
                st.session_state["ph_stopped"] = True
                break
            done += len(rhos)
    slot.empty()
    return pool.where


def compute(cfg, seed):
    """Fill the map from the per-session memo of per-trial outcomes, the cache, or the pool.
    Fewer trials reuse a prefix of the memo; more trials compute only the new ones. A Stop
    click interrupts between work units and leaves the rows done so far."""
    key = (cfg["methods"], cfg["d"], cfg["deltas"], cfg["steps"], seed)   # not the trials
    memo = st.session_state.setdefault("ph_memo", {})      # (key, ρ) -> (methods, δ, trials)
    T = cfg["trials"]
    have = {r: memo[(key, r)].shape[-1] if (key, r) in memo else 0 for r in cfg["rhos"]}
    missing = [r for r in cfg["rhos"] if have[r] < T]
    stopped = st.session_state.get("ph_stopped", False)
    seconds, fresh, where = None, all(have[r] == 0 for r in missing), None

    def keep(rho, new):
        old = memo.get((key, rho))
        memo[(key, rho)] = new if old is None else np.concatenate([old, new], -1)

    if missing and not stopped:
        t0 = time.perf_counter()
        got = _cached(cfg, seed, missing, have)
        for rho, new in got.items():
            keep(rho, new)
        todo = [r for r in missing if r not in got]
        where = _fill(cfg, seed, todo, have, keep, fresh) if todo else "the shared cache"
        seconds = time.perf_counter() - t0
    rows = [memo.get((key, r)) for r in cfg["rhos"]]
    rows = [np.full((len(cfg["methods"]), len(cfg["deltas"])), np.nan)
            if a is None or a.shape[-1] < T else a[:, :, :T].mean(-1) for a in rows]
    maps = {m: np.array([a[i] for a in rows]) for i, m in enumerate(cfg["methods"])}
    config = {"d": cfg["d"], "trials": T, "seed": seed, "steps": cfg["steps"],
              "damping": DEFAULT_DAMPING, "seconds": seconds, "fresh": fresh, "where": where,
              "rows": len(missing)}
    return PhaseMap(maps, deltas=cfg["deltas"], rhos=cfg["rhos"], config=config)


def _load(upload):
    try:
        return PhaseMap.from_csv(upload.getvalue().decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        common.error(f"Could not read {upload.name}: {exc}",
                     "upload the CSV written by `python -m iobs phase ... --out map.csv` "
                     "(columns method, d, delta, rho, n, k_star, trials, seed, success)")
        return None


def show(pm: PhaseMap, source: str, *, resumable: bool = False):
    labels = {m: _label(m) if m == ORACLE or m in iobs.METHODS else m for m in pm}
    done = pm.complete
    if not done.all():
        st.warning(f"{int(done.sum())} of {done.size} cells computed; blank cells are "
                   "missing." + (" Stopped: nothing new is computed until you press Resume "
                                 "(the rows done so far are kept)." if resumable else ""))
        if resumable:
            st.button("Resume", key="ph_resume", icon=":material/play_arrow:",
                      on_click=_resume)
    curves = pm.curves
    points = ["Each panel: the fraction of trials that found θ* exactly, dark = always.",
              "The orange line is each method's 50% boundary: below it recovery is likely.",
              "All boundaries on one plot: the Newton-based methods reach further up."]
    common.presenter(points, key="ph_present")
    common.chart(common.figure(phase_maps, {labels[m]: a for m, a in pm.items()},
                               pm.deltas, pm.rhos, {labels[m]: c for m, c in curves.items()}),
                 key="ph_maps")
    cfg = pm.config
    common.look(f"{source}: d = {cfg['d']}, {done.size} cells × {cfg['trials']} trials. "
                "A cell is n = round(δd) samples and k* = round(ρn) nonzeros; every method "
                "runs with k = k* from θ₀ = 0 and succeeds when ‖θ − θ*‖/‖θ*‖ < 1e-4 with "
                "the exact support" + (f", within {cfg['steps']} iterations" if "steps" in cfg
                                       else "") + ". " + common.badge(common.MEASURED))
    st.subheader("The 50% boundaries together")
    rule_rho = np.linspace(0.02, 0.5, 200)
    common.chart(common.figure(phase_curves, {labels[m]: c for m, c in curves.items()},
                               pm.deltas, rule_rho, rule_of_thumb_delta(rule_rho)),
                 key="ph_curves")
    common.look("Below a curve the method succeeds in more than half the trials. The "
                f"dashed line is the {RULE_LABEL} " + common.badge(common.LITERATURE) +
                ", a rough guide from ℓ1 / Gaussian-width theory for k ≪ d (it ends at "
                "δ = 2/e, where k = d/e), not a bound for these methods. A missing point "
                "means the column never crosses 50% on this grid "
                "(e.g. the Newton methods at δ = 1: with n ≥ d the Newton point is θ* "
                "itself).")
    st.download_button("Download the map (CSV, loadable here)", pm.to_csv,  # when clicked
                       file_name="phase_map.csv", mime="text/csv", key="ph_csv",
                       icon=":material/download:", on_click="ignore")


def main():
    cfg, upload = sidebar()
    st.title("Phase transitions")
    st.markdown(
        "For which problem sizes does each method recover θ* exactly? On a Donoho–Tanner "
        "grid of **undersampling δ = n/d** (x) and **sparsity ρ = k\\*/n** (y) we draw "
        "noiseless Gaussian problems and count successes. With n < d the Hessian XᵀX/n is "
        f"singular, so Topk-I-OBS and I-OBS add a small damping λ = {DEFAULT_DAMPING:g}·"
        "mean diag H there (exact Newton steps for n ≥ d). " + common.badge(common.MEASURED))
    if upload is not None:
        pm = _load(upload)
        if pm is not None:
            show(pm, f"Loaded {upload.name}")
        return
    if not cfg["methods"]:
        common.error("No method selected", "pick at least one method in the sidebar")
        return
    runs = len(cfg["deltas"]) * len(cfg["rhos"]) * cfg["trials"] * len(cfg["methods"])
    if runs > MAX_RUNS:
        common.error(f"This grid is {runs:,} runs, more than the page computes "
                     f"({MAX_RUNS:,})",
                     "lower the trials or the number of δ/ρ values, or compute it with "
                     "`python -m iobs phase --out map.csv` and load the CSV in the sidebar")
        return
    pm = compute(cfg, common.seed())
    secs = pm.config["seconds"]
    where = pm.config["where"]
    if secs is not None and where is not None:
        what = (f"{len(cfg['rhos'])} × {len(cfg['deltas'])} cells" if pm.config["fresh"]
                else f"the new trials of {pm.config['rows']} rows")
        done = ("Read " + what + " from the results cache" if where == "the shared cache"
                else f"Computed {what} on {where}")
        st.caption(f"{done} in {secs:.1f} s (cached now; fewer trials reuse them). "
                   + common.badge(common.MEASURED))
    show(pm, "Computed here", resumable=True)
    with st.expander("Larger grids: the command line", icon=":material/terminal:"):
        st.code("python -m iobs phase --d 200 --deltas 0.05:1:20 --rhos 0.05:1:20 "
                "--trials 20 --out map.csv   # add --dask tcp://scheduler:8786 for a cluster",
                language="bash")
        st.caption("Every trial is seeded by (seed, d, n, k*, trial) only, so grids split "
                   "over processes or machines, or extended cell by cell, agree exactly.")
    common.show_code(*(iobs.METHODS[m].step for m in cfg["methods"] if m != ORACLE),
                     stopping.recovery_verdict, solve_trial, advance,
                     title="Show the code (each method's step, the success rule, one trial; "
                           "the engine that runs many trials with the same steps)")


main()
