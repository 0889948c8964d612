"""A lecture hall on one server: N concurrent sessions moving sliders for D seconds.

Starts ``streamlit run app.py`` on a free port of 127.0.0.1 and connects N clients of
Streamlit's own websocket protocol (``BackMsg``/``ForwardMsg`` protobufs, the messages the
browser sends and receives; no browser, so 20 sessions fit on 2 cores). All N open their
page at once, each with its own seed in the link (``?seed=1000+i``); session i stays on
page i mod P and moves one random slider of that page every ``think`` seconds (about 1 s)
until the time is up. Everything is bounded: at most MAX_SESSIONS sessions, MAX_SECONDS
seconds, a timeout on every script run, and the server is stopped at the end.

Reported: p50/p95 latency of the first page load and of a rerun after a slider change
(message sent -> ``script_finished``), script runs, errors (exception elements, failed or
timed-out runs, lost connections), the server's peak RSS with its child processes
(psutil), and isolation: after every run the page's "link to this view" must carry this
session's seed and this session's slider values, and sessions on one page with different
seeds must draw different figures.

    python benchmarks/load.py                        # 20 sessions x 60 s
    python benchmarks/load.py --sessions 5 --duration 10 --json load.json
    python benchmarks/load.py --url http://127.0.0.1:8500 --watch-pid PID   # through a proxy
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import hashlib
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from iobs.cli import serve

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
MAX_SESSIONS, MAX_SECONDS = 200, 600
RUN_TIMEOUT_S = 120          # one script run, including waiting behind the other sessions
START_TIMEOUT_S = 60
SEED0 = 1000
# url path -> slider keys a session moves. On Phase and Prune a class looks at what the page
# computed: fewer trials per cell (which reuse the computed ones) and the sparsity slider
# (which steps along the sweep the first visit prunes); LIMITS keeps those moves there.
PAGES = {
    "": ("home_cond",),
    "iterates": ("it_k", "it_eta", "it_steps", "it_kstar", "it_noise", "it_cond"),
    "convergence": ("cv_e0", "cv_beta", "cv_lc_steps", "cv_lc_kstar", "cv_lc_d"),
    "projection": ("pj_z1", "pj_z2", "pj_rho", "pj_bigk", "pj_bigrho", "pj_cond"),
    "reproduce": ("rp_runs",),
    "phase": ("ph_trials",),
    "prune": ("pr_sparsity",),
    "data": ("yd_k",),
}
LIMITS = {"ph_trials": (1, 6)}   # key -> (lowest, highest) value a session picks
FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR)


@dataclass
class Run:
    """What one script run sent back."""

    seconds: float
    widgets: dict = field(default_factory=dict)    # key -> Slider proto
    exceptions: list = field(default_factory=list)
    links: list = field(default_factory=list)      # "link to this view" code blocks
    figures: str = ""                              # hash of every Plotly spec, in order
    page_hash: str = ""
    first_chart: float | None = None               # seconds until the first Plotly chart


@dataclass
class Stats:
    loads: list = field(default_factory=list)
    first_charts: list = field(default_factory=list)    # seconds to a load's first chart
    reruns: list = field(default_factory=list)
    by_page: dict = field(default_factory=dict)         # url path -> rerun seconds
    errors: list = field(default_factory=list)
    isolation: list = field(default_factory=list)
    first_figures: dict = field(default_factory=dict)   # session -> (page, seed, hash)


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start_server(port: int, log, env: dict | None = None) -> subprocess.Popen:
    proc = subprocess.Popen(serve.streamlit_command(port), cwd=ROOT, stdout=log,
                            stderr=subprocess.STDOUT, env=env)
    try:
        serve.wait_healthy(f"http://{HOST}:{port}/_stcore/health", [proc], START_TIMEOUT_S)
    except RuntimeError as exc:
        proc.kill()
        raise RuntimeError(f"streamlit did not start on {HOST}:{port}: {exc}") from exc
    return proc


class MemoryWatch(threading.Thread):
    """Samples the RSS (and CPU seconds) of a process and its children every ``every`` s."""

    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.proc, self.every = psutil.Process(pid), every
        self.peak = self.first = 0
        self.cpu = [0.0, 0.0]                      # CPU seconds at the first, last sample
        self.halt = threading.Event()

    def sample(self) -> tuple[int, float]:
        rss, cpu = 0, 0.0
        for p in [self.proc, *self.proc.children(recursive=True)]:
            try:
                rss += p.memory_info().rss
                t = p.cpu_times()
                cpu += t.user + t.system
            except psutil.Error:
                pass
        return rss, cpu

    def run(self):
        self.first, self.cpu[0] = self.sample()
        while not self.halt.is_set():
            try:
                rss, self.cpu[1] = self.sample()
            except psutil.Error:
                return
            self.peak = max(self.peak, rss)
            self.halt.wait(self.every)


async def script_run(ws, state, cache: dict | None = None) -> Run:
    """Send one rerun request; read until the run finishes (an early finish means the
    script asked for another run, which follows on its own).

    ``cache`` (hash -> message, one per connection) does what a browser does: it keeps the
    large messages the server marks cacheable and names them in the next request
    (``cached_message_hashes``), so the server sends a reference instead of the payload
    again, and a reference is read back from it."""
    msg = BackMsg()
    msg.rerun_script.CopyFrom(state)
    if cache is not None:
        msg.rerun_script.cached_message_hashes[:] = list(cache)
    t0 = time.perf_counter()
    await ws.send(msg.SerializeToString())
    out, specs = Run(0.0), []
    while True:
        f = ForwardMsg()
        f.ParseFromString(await asyncio.wait_for(ws.recv(), RUN_TIMEOUT_S))
        if cache is not None and f.WhichOneof("type") == "ref_hash":
            f = cache[f.ref_hash]
        elif cache is not None and f.metadata.cacheable and f.hash:
            cache[f.hash] = f
        kind = f.WhichOneof("type")
        if kind == "new_session":
            out.page_hash = f.new_session.page_script_hash
        elif kind == "delta" and f.delta.WhichOneof("type") == "new_element":
            el = f.delta.new_element
            what = el.WhichOneof("type")
            if what == "exception":
                out.exceptions.append(el.exception.message)
            elif what == "slider" and el.slider.query_param_key:
                out.widgets[el.slider.query_param_key] = el.slider
            elif what == "code" and el.code.code_text.startswith("http"):
                out.links.append(el.code.code_text)
            elif what == "plotly_chart":
                specs.append(el.plotly_chart.spec)
                if out.first_chart is None:
                    out.first_chart = time.perf_counter() - t0
        elif kind == "script_finished" and f.script_finished in FINISHED:
            if f.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
                out.exceptions.append("the script did not compile")
            break
    out.seconds = time.perf_counter() - t0
    out.figures = hashlib.sha256("\n".join(specs).encode()).hexdigest()
    return out


def slider_state(slider, rng, limits=None) -> tuple[WidgetState, str]:
    """A random new value for a slider, within ``limits`` (lowest, highest) when given:
    (widget state, how the URL writes it)."""
    ws = WidgetState(id=slider.id)
    if slider.options:                                  # select_slider: formatted options
        option = rng.choice(list(slider.options))
        ws.string_array_value.data[:] = [option]
        return ws, option
    lo, hi = limits or (slider.min, slider.max)
    lo, hi = max(lo, slider.min), min(hi, slider.max)
    n = int(round((hi - lo) / slider.step))
    value = min(max(round(lo + slider.step * rng.randint(0, n), 10), lo),
                hi)                             # -0.95 + 38 * 0.05 overshoots 0.95
    if slider.data_type == slider.INT:
        value = int(round(value))
    ws.double_array_value.data[:] = [value]
    return ws, f"{value:.12g}"


def check_link(run: Run, seed: int, mine: dict, defaults: dict) -> list[str]:
    """The view link must hold this session's seed and slider values, nothing else."""
    if not run.links:
        return ["no link to the view on the page"]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(run.links[-1]).query))
    bad = [] if query.get("seed") == str(seed) else [f"seed {query.get('seed')} != {seed}"]
    bad += [f"{key}={query[key]} in the link, never set here" for key in query
            if key != "seed" and key not in mine]
    for key, text in mine.items():
        shown = query.get(key, defaults.get(key))
        try:
            same = shown is not None and abs(float(shown) - float(text)) < 1e-9
        except ValueError:
            same = shown == text
        if not same:
            bad.append(f"{key}: link has {shown}, this session set {text}")
    return bad


async def session(i: int, url: str, page: str, deadline: float, think: float,
                  stats: Stats, rng: random.Random, same_seed: bool = False):
    seed = SEED0 if same_seed else SEED0 + i
    state = BackMsg().rerun_script
    state.query_string, state.page_name = f"seed={seed}", page
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None,
                                  open_timeout=START_TIMEOUT_S) as ws:
        cache: dict = {}                       # the browser's message cache
        first = await script_run(ws, state, cache)
        stats.loads.append(first.seconds)
        if first.first_chart is not None:
            stats.first_charts.append(first.first_chart)
        stats.first_figures[i] = (page, seed, first.figures)
        stats.errors += [f"session {i} /{page}: {e}" for e in first.exceptions]
        stats.isolation += [f"session {i} first load: {b}" for b in check_link(first, seed,
                                                                                 {}, {})]
        sliders = {k: first.widgets[k] for k in PAGES[page] if k in first.widgets}
        defaults = {k: (s.options[int(s.default[0])] if s.options else str(s.default[0]))
                    for k, s in sliders.items()}
        state.page_script_hash, mine, states = first.page_hash, {}, {}
        while time.monotonic() + think < deadline and sliders:
            await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))
            key = rng.choice(sorted(sliders))
            states[key], mine[key] = slider_state(sliders[key], rng, LIMITS.get(key))
            del state.widget_states.widgets[:]
            state.widget_states.widgets.extend(states.values())
            # a bound widget lives in the URL too: the browser updates it before the rerun
            state.query_string = urllib.parse.urlencode({"seed": seed, **mine})
            run = await script_run(ws, state, cache)
            stats.reruns.append(run.seconds)
            stats.by_page.setdefault(page, []).append(run.seconds)
            stats.errors += [f"session {i} /{page} {key}={mine[key]}: {e}"
                             for e in run.exceptions]
            stats.isolation += [f"session {i}: {b}" for b in check_link(run, seed, mine,
                                                                         defaults)]


async def drive(base: str, sessions: int, duration: float, think: float, seed: int,
                pages: list[str], same_seed: bool = False) -> Stats:
    """``base``: the server's http://host:port (a single process, or the proxy)."""
    parts = urllib.parse.urlsplit(base)
    stats, url = Stats(), f"ws://{parts.netloc}/_stcore/stream"
    deadline = time.monotonic() + duration
    tasks = [session(i, url, pages[i % len(pages)], deadline, think, stats,
                     random.Random(seed * 100_003 + i), same_seed) for i in range(sessions)]
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True),
                                     duration + RUN_TIMEOUT_S + START_TIMEOUT_S)
    for i, r in enumerate(results):
        if isinstance(r, BaseException):
            stats.errors.append(f"session {i}: {type(r).__name__}: {r}")
    return stats


def run_async(coro):
    """``asyncio.run`` on a fresh thread: callers may already run an event loop (pytest
    with Playwright's sync API does)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _pct(xs, q):
    return round(1000 * statistics.quantiles(xs, n=100, method="inclusive")[q - 1], 1) \
        if len(xs) > 1 else (round(1000 * xs[0], 1) if xs else None)


def main(sessions: int = 20, duration: float = 60.0, *, think: float = 1.0, seed: int = 0,
         pages: list[str] | None = None, log_path: Path | None = None, url: str | None = None,
         watch_pid: int | None = None, same_seed: bool = False) -> dict:
    """Run the load test and return its report (see the module docstring). With ``url``
    (e.g. the proxy of ``python -m iobs serve``) no server is started; ``watch_pid`` is
    then the process whose tree's CPU and memory are reported (none: not reported). The
    server started here gets a fresh HOME: an empty disk cache, so first visits are cold.
    ``same_seed``: every session opens the same link (a class following the lecturer's),
    instead of a seed of its own (each first visit then computes its own results)."""
    if not 1 <= sessions <= MAX_SESSIONS or not 0 < duration <= MAX_SECONDS:
        raise ValueError(f"sessions must be in [1, {MAX_SESSIONS}] and duration in "
                         f"(0, {MAX_SECONDS}]; got sessions={sessions}, duration={duration}")
    pages = list(PAGES) if pages is None else pages
    unknown = set(pages) - set(PAGES)
    if unknown:
        raise ValueError(f"pages must be among {sorted(PAGES)}; got {sorted(unknown)}")
    log_path = log_path or ROOT / "test-output" / "load" / "streamlit-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log, tempfile.TemporaryDirectory(prefix="iobs-load-") as home:
        server = None
        if url is None:                 # our own single server on a free port
            port = free_port()
            server = start_server(port, log, env={**os.environ, "HOME": home})
            url, watch_pid = f"http://{HOST}:{port}", server.pid
        watch = MemoryWatch(watch_pid) if watch_pid is not None else None
        if watch is not None:
            watch.start()
        t0 = time.perf_counter()
        try:
            stats = run_async(drive(url, sessions, duration, think, seed, pages, same_seed))
            wall = time.perf_counter() - t0
        finally:
            if watch is not None:
                watch.halt.set()
                watch.join(5)
            if server is not None:
                serve.stop_processes([server])
    by_page: dict[str, dict] = {}
    for page, s, fig in stats.first_figures.values():
        by_page.setdefault(page, {})[s] = fig
    same = [f"/{p}: seeds {sorted(f)} drew identical figures" for p, f in by_page.items()
            if len(f) > 1 and len(set(f.values())) < len(f)]
    return {
        "sessions": sessions, "held": len(stats.first_figures), "duration_s": duration,
        "wall_s": round(time.perf_counter() - t0, 1), "pages": ["/" + p for p in pages],
        "think_s": think, "same_seed": same_seed, "loads": len(stats.loads),
        "reruns": len(stats.reruns),
        "load_p50_ms": _pct(stats.loads, 50), "load_p95_ms": _pct(stats.loads, 95),
        # a page keeps drawing after its first chart (the Prune sweep fills in below it)
        "first_chart_p50_ms": _pct(stats.first_charts, 50),
        "first_chart_p95_ms": _pct(stats.first_charts, 95),
        "rerun_p50_ms": _pct(stats.reruns, 50), "rerun_p95_ms": _pct(stats.reruns, 95),
        "rerun_max_ms": round(1000 * max(stats.reruns), 1) if stats.reruns else None,
        "rerun_p50_p95_ms_by_page": {"/" + p: [_pct(xs, 50), _pct(xs, 95)]
                                     for p, xs in sorted(stats.by_page.items())},
        "errors": len(stats.errors), "error_samples": stats.errors[:10],
        "isolation_violations": len(stats.isolation) + len(same),
        "isolation_samples": (stats.isolation + same)[:10],
        "url": url,
        "server_cpu_s": round(watch.cpu[1] - watch.cpu[0], 1) if watch else None,
        # over the whole drive: first loads that queue run past ``duration``
        "cores_busy": round((watch.cpu[1] - watch.cpu[0]) / max(wall, 1e-9), 2)
        if watch else None,
        "rss_start_mb": round(watch.first / 2**20, 1) if watch else None,
        "rss_peak_mb": round(watch.peak / 2**20, 1) if watch else None,
        "server_log": str(log_path),
    }


def cli(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds of slider moves")
    ap.add_argument("--think", type=float, default=1.0, help="mean seconds between moves")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pages", nargs="+", choices=[p or "home" for p in PAGES])
    ap.add_argument("--json", type=Path, help="also write the report here")
    ap.add_argument("--url", help="drive this server (e.g. http://127.0.0.1:8500, the proxy "
                                  "of python -m iobs serve) instead of starting one")
    ap.add_argument("--watch-pid", type=int, help="with --url: report this process tree's "
                                                  "CPU and memory (e.g. the serve command)")
    ap.add_argument("--same-seed", action="store_true",
                    help="every session opens the same link instead of a seed of its own")
    a = ap.parse_args(argv)
    pages = None if a.pages is None else ["" if p == "home" else p for p in a.pages]
    report = main(a.sessions, a.duration, think=a.think, seed=a.seed, pages=pages, url=a.url,
                  watch_pid=a.watch_pid, same_seed=a.same_seed)
    for k, v in report.items():
        print(f"{k:>22}: {v}")
    if a.json:
        a.json.write_text(json.dumps(report, indent=1))
    return 0 if report["errors"] == 0 and report["isolation_violations"] == 0 else 1


if __name__ == "__main__":
    sys.exit(cli())
