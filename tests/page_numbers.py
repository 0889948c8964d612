"""Every number the home page and each page's default view show, for a regression guard.
(Over 300 lines: extraction, summaries, the fresh-process runner and the recorder are one
tool and read together.)

``page_numbers(app_dir, page)`` opens ``<app_dir>/app.py`` in Streamlit's AppTest, switches
to ``pages/<page>.py`` (home when ``page`` is None) and returns a flat ``{key: value}`` dict:

* ``chart<i>/trace<j>/<attr path>``  every numeric attribute of every Plotly trace (x, y, z,
  customdata, marker sizes, ...); ``chart<i>/frame<f>/trace<j>/<attr path>`` for animation
  frames. Plotly's ``{"dtype", "bdata", "shape"}`` arrays are decoded with numpy.
* ``metric<i>:<label>/value`` and ``.../delta``  every number in an ``st.metric``'s text.
* ``dataframe<i>/<column>/<row>`` (and ``table<i>/...``)  numeric columns, and text columns
  whose every cell is a formatted number (``"3.98e-01"``, ``"0.036 ± 0.012"``, ``"97.2%"``,
  ``"ρ = 0.5"``, ``"1, 2, 6, 7"``); such a cell's value is the list of its numbers.

A value is a number (a scalar) or a summary of an array (``summary``): shape, size, counts
of NaN/±inf, and over the finite entries sum, sum of squares, an order-sensitive weighted
sum, min, max, plus the first 20 entries rounded to 10 significant digits. Non-finite
numbers are written as the strings "nan", "inf", "-inf" so the result is strict JSON.

``stable_numbers(app_dir, page)`` runs ``page_numbers`` several times, each in a fresh
Python process (so Streamlit's caches, which would replay a cached wall-clock time, start
empty every time) and keeps the entries identical in all runs; the rest (timings) are
returned as ``dropped`` with the reason. Entries whose label names a time (a metric
"Prune time", a column "seconds to 1e-06") are dropped even when they happen to agree.

Command line (used by ``stable_numbers`` and by tests/test_page_numbers.py)::

    python tests/page_numbers.py APP_DIR PAGE|home [--out F]    one run, JSON to F/stdout
    python tests/page_numbers.py APP_DIR --record OUT.json      stable numbers, all pages

Run it with ``cwd=APP_DIR`` and ``PYTHONPATH=APP_DIR`` so that ``iobs`` and the app's own
packages are the ones under APP_DIR (``run_in_subprocess`` does that, and
``page_numbers`` refuses to mix trees).
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PAGES = ["iterates", "convergence", "projection", "phase", "reproduce", "prune"]
HEAD = 20            # leading entries kept verbatim in an array summary
SIG = 10             # significant digits of those entries
# labels (metric labels, column names) that hold wall-clock measurements
TIMING_LABEL = re.compile(r"\btime\b|second|\bms\b|latency|elapsed|\bper s\b", re.I)
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
               "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")

_NUM = r"[-+−]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+−]?\d+)?"
_NUM_RE = re.compile(_NUM)
# what may surround the numbers of a cell that counts as "a formatted number"
_CELL_RE = re.compile(rf"\s*(?:[^\W\d]{{1,3}}\s*=\s*)?{_NUM}(?:\s*(?:[,±/×x]|\+/-)\s*{_NUM})*"
                      r"\s*%?\s*")
_EMPTY_CELLS = {"", "—", "–", "-", "n/a", "nan", "None", "inf", "-inf"}


# -- values ----------------------------------------------------------------------------
def _sig(v: float):
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return float(f"{v:.{SIG}g}")


def _scalar(v):
    v = float(v)
    return v if math.isfinite(v) else _sig(v)


def summary(a) -> dict:
    """Compact, change-sensitive summary of a numeric array (any shape)."""
    import numpy as np

    a = np.asarray(a)
    flat = a.astype(np.float64).ravel()
    fin = flat[np.isfinite(flat)]
    idx = np.flatnonzero(np.isfinite(flat))
    # deterministic pseudo-random weights in [0.5, 1.5): a permutation changes the sum
    w = ((idx * 2654435761) % 1000) / 1000.0 + 0.5
    out = {"shape": list(a.shape), "n": int(flat.size),
           "n_nan": int(np.isnan(flat).sum()), "n_posinf": int(np.isposinf(flat).sum()),
           "n_neginf": int(np.isneginf(flat).sum())}
    if fin.size:
        out.update(sum=float(fin.sum()), sumsq=float((fin * fin).sum()),
                   wsum=float((fin * w).sum()), min=float(fin.min()), max=float(fin.max()))
    else:
        out.update(sum=None, sumsq=None, wsum=None, min=None, max=None)
    out["head"] = [_sig(float(v)) for v in flat[:HEAD]]
    return out


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _numeric_list(v):
    """A (nested, rectangular) list of numbers/None as a float array, else None."""
    import numpy as np

    def ok(x):
        if isinstance(x, list):
            return all(ok(y) for y in x)
        return x is None or _is_number(x)

    if not ok(v) or not _has_number(v):
        return None
    try:
        return np.array(v, dtype=np.float64)   # None -> nan
    except (ValueError, TypeError):            # ragged
        return None


def _has_number(v) -> bool:
    if isinstance(v, list):
        return any(_has_number(y) for y in v)
    return _is_number(v)


def _decode(d: dict):
    import numpy as np

    raw = base64.b64decode(d["bdata"])
    a = np.frombuffer(raw, dtype=np.dtype(d["dtype"]))
    shape = d.get("shape")
    if shape:
        if isinstance(shape, str):
            shape = [int(s) for s in shape.split(",") if s.strip()]
        a = a.reshape(shape)
    return a


def _walk(obj, path: str, out: dict):
    """Collect every numeric leaf / numeric array under a trace dict."""
    if isinstance(obj, dict):
        if "bdata" in obj and "dtype" in obj:
            out[path] = summary(_decode(obj))
            return
        for k in sorted(obj):
            _walk(obj[k], f"{path}/{k}", out)
    elif isinstance(obj, list):
        arr = _numeric_list(obj)
        if arr is not None:
            out[path] = summary(arr)
        elif any(isinstance(x, dict) for x in obj):
            for i, x in enumerate(obj):
                _walk(x, f"{path}[{i}]", out)
        # lists of strings (categories, colours, colourscales) carry no numbers of interest
    elif _is_number(obj):
        out[path] = _scalar(obj)


def _cell_numbers(cell):
    """The numbers of a cell, [] for an empty/placeholder one, None if it is text."""
    if cell is None:
        return []
    if _is_number(cell):
        return [_scalar(cell)]
    s = str(cell).strip()
    if s in _EMPTY_CELLS:
        return []
    if not _CELL_RE.fullmatch(s):
        return None
    return [_scalar(float(t.replace("−", "-"))) for t in _NUM_RE.findall(s)]


def _metric_numbers(v):
    """Every number in a metric's value/delta ("97.2%", "0.14 s", 3)."""
    if v is None or isinstance(v, bool):
        return []
    if _is_number(v):
        return [_scalar(v)]
    return [_scalar(float(t.replace("−", "-"))) for t in _NUM_RE.findall(str(v))]


def _frame_numbers(df, prefix: str, out: dict, timing: set):
    import pandas as pd

    def label(x):
        return "|".join(map(str, x)) if isinstance(x, tuple) else str(x)

    rows = [label(r) for r in df.index]
    for j, col in enumerate(df.columns):
        name = label(col)
        series = df.iloc[:, j]
        if pd.api.types.is_bool_dtype(series):
            continue
        if pd.api.types.is_numeric_dtype(series):
            cells = [[_scalar(v)] if not pd.isna(v) else ["nan"] for v in series]
        else:
            cells = [_cell_numbers(v) for v in series]
            if any(c is None for c in cells) or not any(cells):
                continue   # a text column
        for r, c in zip(rows, cells):
            key = f"{prefix}/{name}/{r}"
            out[key] = c[0] if len(c) == 1 else c
            if TIMING_LABEL.search(name):
                timing.add(key)


# -- one run ---------------------------------------------------------------------------
def _check_tree(app_dir: str):
    """The app's packages must come from app_dir (else we would record the wrong tree)."""
    root = Path(app_dir).resolve()
    bad = []
    for name in ("iobs", "pages", "ui"):
        mod = sys.modules.get(name)
        f = getattr(mod, "__file__", None) or next(iter(getattr(mod, "__path__", [])), None)
        if f and root not in Path(f).resolve().parents:
            bad.append(f"{name} from {f}")
    if bad:
        raise RuntimeError(f"modules not from {root}: {', '.join(bad)}; run with "
                           f"cwd={root} and PYTHONPATH={root} (see run_in_subprocess)")


def _collect(at, page_key_timing: set) -> dict:
    out: dict = {}
    for i, el in enumerate(at.get("plotly_chart")):
        spec = json.loads(el.proto.spec)
        for j, tr in enumerate(spec.get("data") or []):
            _walk(tr, f"chart{i}/trace{j}", out)
        for f, fr in enumerate(spec.get("frames") or []):
            for j, tr in enumerate(fr.get("data") or []):
                _walk(tr, f"chart{i}/frame{f}/trace{j}", out)
    for i, m in enumerate(at.metric):
        for part in ("value", "delta"):
            nums = _metric_numbers(getattr(m, part, None))
            if nums:
                key = f"metric{i}:{m.label}/{part}"
                out[key] = nums[0] if len(nums) == 1 else nums
                if TIMING_LABEL.search(str(m.label)):
                    page_key_timing.add(key)
    for kind in ("dataframe", "table"):
        for i, el in enumerate(getattr(at, kind)):
            _frame_numbers(el.value, f"{kind}{i}", out, page_key_timing)
    return out


def page_numbers(app_dir: str, page: str | None, *, with_timing: bool = False):
    """Every number ``page`` (None: home) shows in its default view; see the module doc.

    With ``with_timing`` returns ``(numbers, keys whose label names a time)``."""
    import warnings

    import numpy  # noqa: F401  (loaded before threadpool_limits so that it is limited)
    try:
        import scipy.linalg  # noqa: F401
    except ImportError:
        pass
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass
    from streamlit.testing.v1 import AppTest
    from threadpoolctl import threadpool_limits

    app_dir = str(Path(app_dir).resolve())
    if app_dir not in sys.path:
        sys.path.insert(0, app_dir)
    _check_tree(app_dir)
    timing: set = set()
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        at = AppTest.from_file(os.path.join(app_dir, "app.py"), default_timeout=120).run()
        assert not at.exception, [e.message for e in at.exception]
        if page:
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception, (page, [e.message for e in at.exception])
        _check_tree(app_dir)
        out = _collect(at, timing)
    return (out, sorted(timing)) if with_timing else out


# -- fresh processes -------------------------------------------------------------------
def run_in_subprocess(app_dir: str, page: str | None, timeout: float = 600) -> dict:
    """``page_numbers`` in a fresh interpreter with cwd = PYTHONPATH = app_dir.

    Returns ``{"numbers": ..., "timing": [...], "seconds": wall time}``."""
    app_dir = str(Path(app_dir).resolve())
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([app_dir] + ([env["PYTHONPATH"]]
                                                     if env.get("PYTHONPATH") else []))
    env.update({v: "1" for v in THREAD_VARS})
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "numbers.json")
        p = subprocess.run([sys.executable, str(Path(__file__).resolve()), app_dir,
                            page or "home", "--out", out], cwd=app_dir, env=env,
                           capture_output=True, text=True, timeout=timeout)
        if p.returncode:
            raise RuntimeError(f"page_numbers({page or 'home'}) in {app_dir} failed "
                               f"(rc={p.returncode}):\n{(p.stdout + p.stderr)[-6000:]}")
        with open(out, encoding="utf-8") as f:
            res = json.load(f)
    res["seconds"] = time.perf_counter() - t0
    return res


def _canon(v) -> str:
    return json.dumps(v, sort_keys=True)


def stable_numbers(app_dir: str, page: str | None, runs: int = 2) -> dict:
    """Entries identical in ``runs`` fresh runs: ``{"numbers": {...}, "dropped": {key: why}}``."""
    results = [run_in_subprocess(app_dir, page) for _ in range(runs)]
    first = results[0]["numbers"]
    timing = set().union(*(r["timing"] for r in results))
    numbers, dropped = {}, {}
    for key in sorted(set().union(*(r["numbers"] for r in results))):
        vals = [r["numbers"].get(key, KeyError) for r in results]
        if any(v is KeyError for v in vals):
            dropped[key] = "present in only some runs"
        elif len({_canon(v) for v in vals}) > 1:
            dropped[key] = "differs between runs"
        elif key in timing:
            dropped[key] = "label names a time"
        else:
            numbers[key] = first[key]
    return {"numbers": numbers, "dropped": dropped,
            "seconds": [round(r["seconds"], 2) for r in results]}


def record(app_dir: str, out_path: str, runs: int = 2) -> dict:
    data = {}
    for page in [None, *PAGES]:
        name = page or "home"
        res = stable_numbers(app_dir, page, runs=runs)
        data[name] = {"numbers": res["numbers"], "dropped": res["dropped"]}
        print(f"{name:12s} {len(res['numbers']):6d} stable, {len(res['dropped']):4d} dropped, "
              f"runs took {res['seconds']} s", file=sys.stderr, flush=True)
    meta = {"app_dir": str(Path(app_dir).resolve()), "runs": runs}
    try:
        meta["commit"] = subprocess.run(["git", "-C", app_dir, "rev-parse", "HEAD"],
                                        capture_output=True, text=True).stdout.strip()
    except OSError:
        pass
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump({"_meta": meta, **data}, f, indent=1, sort_keys=True, ensure_ascii=False,
                  allow_nan=False)
        f.write("\n")
    return data


def main(argv: list[str]) -> int:
    if len(argv) >= 3 and argv[1] == "--record":
        runs = int(argv[3]) if len(argv) > 3 else 2
        record(argv[0], argv[2], runs=runs)
        return 0
    out = None
    if len(argv) == 4 and argv[2] == "--out":
        out, argv = argv[3], argv[:2]
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    app_dir, page = argv
    numbers, timing = page_numbers(app_dir, None if page == "home" else page,
                                   with_timing=True)
    f = open(out, "w", encoding="utf-8") if out else sys.stdout
    try:
        json.dump({"numbers": numbers, "timing": timing}, f, allow_nan=False,
                  ensure_ascii=False)
    finally:
        if out:
            f.close()
    return 0


if __name__ == "__main__":
    # as a script, sys.path[0] is tests/; drop it so that nothing resolves there
    if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
        sys.path.pop(0)
    sys.exit(main(sys.argv[1:]))
