"""Tables and files for ``benchmarks/peers.py``: per-problem detail, ratio summary, CSV/JSON."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

FIELDS = ["problem", "n", "d", "k_star", "solver", "package", "kind", "status",
          "seconds_to_tol", "ratio_to_best_iobs", "wall_seconds", "final_rel_error",
          "support_hits", "nnz", "steps", "first_step_seconds", "ms_per_step",
          "oracle_seconds_to_tol", "oracle_steps_to_tol", "repeats", "note"]


def _median(values):
    values = [v for v in values if v is not None]
    return float(np.median(values)) if values else None


def _fmt(value, spec, missing="-"):
    return missing if value is None else format(value, spec)


def _row(pname, prob, name, spec, reps, failure, tol):
    pkg, kind, _target, note = spec
    row = dict(problem=pname, n=prob.n, d=prob.d, k_star=prob.k_star, solver=name,
               package=pkg, kind=kind, repeats=len(reps), note=note, status=failure)
    if not reps:
        return row
    truth = prob.theta_star != 0
    norm = float(np.linalg.norm(prob.theta_star))
    errs = [float(np.linalg.norm(r["theta"] - prob.theta_star)) / norm for r in reps]
    hits = [np.count_nonzero((r["theta"] != 0) & truth) / prob.k_star for r in reps]
    to_tol = [r["seconds"] if e <= tol else None for r, e in zip(reps, errs)]   # whole calls
    reached = sum(t is not None for t in to_tol)
    row.update(seconds_to_tol=_median(to_tol), wall_seconds=_median([r["wall"] for r in reps]),
               final_rel_error=_median(errs), support_hits=_median(hits),
               nnz=int(np.median([np.count_nonzero(r["theta"]) for r in reps])))
    extra = []
    if "steps" in reps[0]:
        per_step = _median([r["sec_per_step"] for r in reps if np.isfinite(r["sec_per_step"])])
        orc = reps[0].get("oracle") or (None, None)
        row.update(steps=int(np.median([r["steps"] for r in reps])),
                   first_step_seconds=_median([r["first_step"] for r in reps]),
                   ms_per_step=None if per_step is None else 1e3 * per_step,
                   oracle_seconds_to_tol=orc[0], oracle_steps_to_tol=orc[1])
        if reached < len(reps) and reps[0]["steps"] >= reps[0]["max_steps"]:
            extra.append(f"stopped at the {reps[0]['max_steps']}-step cap")
        elif not reps[0]["converged"]:
            extra.append(f"stopped: {reps[0]['stopped']}")
    warns = sorted({w for r in reps for w in r["warnings"]})
    if warns:
        extra.append("warned " + "/".join(warns))
    if failure:
        extra.append(failure)
    row["note"] = "; ".join([note, *extra])
    if reached == len(reps):
        row["status"] = "ok"
    elif reached:
        row["status"] = f"reached 1e-6 in {reached}/{len(reps)} repeats"
    else:
        row["status"] = f"did not reach 1e-6 (final {row['final_rel_error']:.1e})"
    return row


def summarise(pname, prob, solvers, runs, failed, *, tol):
    """Rows for one problem (ratios to the best I-OBS variant) and their printed table."""
    rows = [_row(pname, prob, name, spec, runs.get(name, []), failed.get(name), tol)
            for name, spec in solvers.items()]
    ours = [r for r in rows if r["kind"] == "ours" and r.get("seconds_to_tol") is not None]
    best = min(ours, key=lambda r: r["seconds_to_tol"]) if ours else None
    for r in rows:
        t = r.get("seconds_to_tol")
        if best is not None and t is not None:
            r["ratio_to_best_iobs"] = t / best["seconds_to_tol"]
    head = (f"{'solver':22s} {'to 1e-6 s':>10s} {'ratio':>7s} {'wall s':>8s} {'final err':>9s} "
            f"{'hits':>5s} {'nnz':>5s} {'steps':>5s} {'1st s':>7s} {'ms/step':>8s} "
            f"{'oracle s':>9s} {'o.steps':>7s}  status / note")
    lines = [head, "-" * len(head)]
    for r in rows:
        if r.get("wall_seconds") is None:
            lines.append(f"{r['solver']:22s} {r['status']}")
            continue
        status = "" if r["status"] == "ok" else r["status"] + "; "
        lines.append(
            f"{r['solver']:22s} {_fmt(r.get('seconds_to_tol'), '10.4f'):>10s} "
            f"{_fmt(r.get('ratio_to_best_iobs'), '7.3g'):>7s} {r['wall_seconds']:8.4f} "
            f"{r['final_rel_error']:9.1e} {r['support_hits']:5.2f} {r['nnz']:5d} "
            f"{_fmt(r.get('steps'), '5d'):>5s} {_fmt(r.get('first_step_seconds'), '7.3f'):>7s} "
            f"{_fmt(r.get('ms_per_step'), '8.2f'):>8s} "
            f"{_fmt(r.get('oracle_seconds_to_tol'), '9.4f'):>9s} "
            f"{_fmt(r.get('oracle_steps_to_tol'), '7d'):>7s}  "
            f"{status}{r['note']}")
    lines.append(f"best I-OBS variant: {best['solver']} ({best['seconds_to_tol']:.4f} s, whole "
                 f"call, own stop)" if best else "best I-OBS variant: none reached 1e-6")
    lines.append("oracle s / o.steps: extra information, iobs.run stopping when the error to "
                 "theta* reaches 1e-6 (needs the truth; not a user's call)")
    return rows, "\n".join(lines)


def ratio_table(records, problems):
    """Solvers x problems: time to 1e-6 over our best I-OBS variant's (``x``: did not reach
    1e-6; ``-``: failed, skipped or not installed)."""
    solvers = list(dict.fromkeys(r["solver"] for r in records))
    by_key = {(r["solver"], r["problem"]): r for r in records}
    width = max(9, *(len(p) for p in problems))
    lines = ["time to 1e-6 relative to our best I-OBS variant (> 1: slower than ours; "
             "x: did not reach 1e-6; -: failed/skipped)",
             f"{'solver':22s} " + " ".join(f"{p:>{width}s}" for p in problems)]
    for s in solvers:
        cells = []
        for p in problems:
            r = by_key.get((s, p))
            if r is None or r.get("wall_seconds") is None:
                cells.append("-")
            elif r.get("ratio_to_best_iobs") is not None:
                cells.append(f"{r['ratio_to_best_iobs']:.3g}")
            elif r.get("seconds_to_tol") is not None:
                cells.append(f"{r['seconds_to_tol']:.3f}s")  # no I-OBS variant reached
            else:
                cells.append("x")
        lines.append(f"{s:22s} " + " ".join(f"{c:>{width}s}" for c in cells))
    best = []
    for p in problems:
        ours = [r for r in records if r["problem"] == p and r["kind"] == "ours"
                and r.get("seconds_to_tol") is not None]
        best.append(f"{min(r['seconds_to_tol'] for r in ours):.4f}s" if ours else "none")
    lines.append(f"{'(best I-OBS time)':22s} " + " ".join(f"{b:>{width}s}" for b in best))
    return "\n".join(lines)


TARGETS = (("fastest peer", 3.0), ("abess", 5.0), ("sklearn OMP", 5.0))


def target_check(records, problems):
    """Per problem: our best time against the fastest peer that reaches 1e-6 (target >= 3x)
    and against abess and scikit-learn's OMP (>= 5x); a line that says what falls short."""
    lines = ["targets (ratios of whole calls, median over repeats): fastest peer >= 3x, abess "
             ">= 5x, sklearn OMP >= 5x"]
    short = 0
    for p in problems:
        rows = [r for r in records if r["problem"] == p]
        ours = [r for r in rows if r["kind"] == "ours" and r.get("seconds_to_tol") is not None]
        if not ours:
            lines.append(f"  {p}: no I-OBS variant reached 1e-6: SHORT")
            short += 1
            continue
        best = min(r["seconds_to_tol"] for r in ours)
        peers = [r for r in rows if r["kind"] == "peer" and r.get("seconds_to_tol") is not None]
        cells = []
        for label, goal in TARGETS:
            pool = peers if label == "fastest peer" else [r for r in peers
                                                         if r["solver"] == label]
            if not pool:
                cells.append(f"{label}: none reached 1e-6")
                continue
            r = min(pool, key=lambda r: r["seconds_to_tol"])
            ratio = r["seconds_to_tol"] / best
            ok = ratio >= goal
            short += not ok
            name = f" ({r['solver']})" if label == "fastest peer" else ""
            cells.append(f"{label}{name} {ratio:.2f}x {'ok' if ok else 'SHORT'}")
        lines.append(f"  {p}: " + "; ".join(cells))
    lines.append(f"{short} target(s) short" if short else "all targets met")
    return "\n".join(lines)


def write_out(records, path: Path) -> None:
    """Write the records as CSV (``.csv``) or JSON (anything else)."""
    path = Path(path)
    if path.suffix.lower() == ".csv":
        with path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=FIELDS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(records)
    else:
        path.write_text(json.dumps([{k: r.get(k) for k in FIELDS} for r in records], indent=1))
