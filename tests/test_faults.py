"""Injected faults: damaged checkpoints, a writer killed mid-write, a stopped computation.

Every test works on a temporary copy of the shipped checkpoints (``store.PACKAGE_DIR`` and
``IOBS_CACHE_DIR`` point into ``tmp_path``); the committed files are only read, and their
hashes are checked to be unchanged afterwards. Rebuilding uses a 3-step training recipe:
the point is the detect -> report -> rebuild -> verify path, not the model's quality.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="checkpoints are torch state dicts")

from iobs.prune import api, store, train  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "iobs" / "prune" / "checkpoints"
KILL_TIMEOUT_S = 60


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def shipped_hashes():
    """sha256 of the committed checkpoints, checked again when the module is done."""
    before = {p.name: _sha(p) for p in SHIPPED.iterdir() if p.is_file()}
    yield before
    after = {p.name: _sha(p) for p in SHIPPED.iterdir() if p.is_file()}
    assert after == before, "a fault test touched the committed checkpoints"


@pytest.fixture
def pkg(tmp_path, monkeypatch, shipped_hashes):
    """A writable copy of the checkpoint folder, an empty user cache, a 3-step recipe and
    an empty model cache, so load_model really goes through the store."""
    folder = tmp_path / "pkg"
    shutil.copytree(SHIPPED, folder)
    monkeypatch.setattr(store, "PACKAGE_DIR", folder)
    monkeypatch.setenv("IOBS_CACHE_DIR", str(tmp_path / "cache"))
    for task in ("vit", "gpt"):
        monkeypatch.setitem(train.RECIPES, task, train.Recipe(task, steps=3, batch=8))
    monkeypatch.setattr(api, "_CACHE", {})
    return folder


class _Evil:
    """Unpickling this runs a shell command: what weights_only=True must refuse."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _pickle_bomb(marker: Path) -> bytes:
    buf = io.BytesIO()
    torch.save({"blocks.0.attn.qkv.weight": _Evil(marker)}, buf)
    return buf.getvalue()


def _flip(data: bytes) -> bytes:
    mid = len(data) // 2
    return data[:mid] + bytes(b ^ 0xFF for b in data[mid:mid + 64]) + data[mid + 64:]


# name -> (new file bytes from old bytes, whether the manifest is updated to match)
DAMAGE = {
    "flipped bytes": (_flip, False),
    "truncated": (lambda b: b[: len(b) // 2], False),
    "empty": (lambda b: b"", False),
    "truncated, manifest hash updated": (lambda b: b[: len(b) // 2], True),
    "empty, manifest hash updated": (lambda b: b"", True),
    "pickle with code, manifest hash updated": (None, True),
    "new weights, old manifest (killed between the two writes)": (
        lambda b: b[:-8] + b"\0" * 8, False),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_damaged_checkpoint_is_detected_reported_and_rebuilt(pkg, tmp_path, damage):
    make, rehash = DAMAGE[damage]
    path, marker = pkg / "vit.pt", tmp_path / "pwned"
    path.write_bytes(_pickle_bomb(marker) if make is None else make(path.read_bytes()))
    if rehash:
        manifest = json.loads((pkg / "manifest.json").read_text())
        manifest["vit"]["sha256"] = _sha(path)
        (pkg / "manifest.json").write_text(json.dumps(manifest))
    assert store.load_checkpoint("vit") is None, "a damaged checkpoint was loaded"
    assert not marker.exists(), "loading the checkpoint ran code from it"
    messages = []
    model = api.load_model("vit", progress=lambda f, msg: messages.append(msg))
    assert any("training vit" in m for m in messages), messages       # reported
    record = json.loads((pkg / "manifest.json").read_text())["vit"]
    assert record["sha256"] == _sha(path)                              # rebuilt, consistent
    assert record["recipe"]["steps"] == 3
    loaded = store.load_checkpoint("vit")
    assert loaded is not None
    for name, tensor in loaded[0].state_dict().items():
        assert torch.equal(tensor, model.state_dict()[name])
    assert not list(pkg.glob(".*.tmp")), "a temp file was left behind"
    assert not marker.exists()


def test_unreadable_manifest_triggers_a_rebuild_of_the_gpt(pkg):
    (pkg / "manifest.json").write_text("{ not json")
    assert store.load_checkpoint("gpt") is None
    messages = []
    api.load_model("gpt", progress=lambda f, msg: messages.append(msg))
    assert any("training gpt" in m for m in messages)
    assert store.load_checkpoint("gpt") is not None
    assert "vit" not in store.read_manifest(pkg)   # the rest stays to be rebuilt on demand


# -- atomic writes: kill the writer ----------------------------------------------------
WRITER = r"""
import os, sys, time
from pathlib import Path
from iobs.prune import store

target, size, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
real_fdopen = os.fdopen


class Halfway:
    '''A file that writes half the payload, says so, then hangs (to be killed).'''

    def __init__(self, f):
        self.f = f

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.f.__exit__(*exc)

    def write(self, payload):
        self.f.write(payload[: len(payload) // 2])
        self.f.flush()
        os.fsync(self.f.fileno())
        print("halfway", flush=True)
        time.sleep(600)


if mode == "halfway":
    os.fdopen = lambda fd, m: Halfway(real_fdopen(fd, m))
    store._atomic_write(target, b"N" * size)
else:                      # write new payloads back to back until killed
    print("writing", flush=True)
    i = 0
    while True:
        store._atomic_write(target, bytes([65 + i % 2]) * size)
        i += 1
"""


def _writer(tmp_path, target, size, mode):
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return subprocess.Popen([sys.executable, str(script), str(target), str(size), mode],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def _kill(proc):
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=KILL_TIMEOUT_S)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL


def test_a_writer_killed_halfway_leaves_the_old_checkpoint_intact(pkg, tmp_path):
    target = pkg / "vit.pt"
    old = target.read_bytes()
    proc = _writer(tmp_path, target, 8 * 2**20, "halfway")
    assert proc.stdout.readline().strip() == "halfway"
    temps = list(pkg.glob(".vit.pt.*.tmp"))
    assert len(temps) == 1 and 0 < temps[0].stat().st_size < 8 * 2**20   # mid-write
    _kill(proc)
    assert target.read_bytes() == old
    loaded = store.load_checkpoint("vit")                # still verifies and loads
    assert loaded is not None and loaded[1]["sha256"] == _sha(target)


def test_a_writer_killed_at_random_moments_never_leaves_a_partial_file(tmp_path):
    rng = np.random.default_rng(7)
    size = 4 * 2**20
    target = tmp_path / "blob.bin"
    target.write_bytes(b"O" * size)
    whole = {b"O" * size, b"A" * size, b"B" * size}
    for delay in rng.uniform(0.05, 0.6, size=3):
        proc = _writer(tmp_path, target, size, "loop")
        assert proc.stdout.readline().strip() == "writing"
        time.sleep(delay)
        _kill(proc)
        assert target.read_bytes() in whole, "a reader saw a partly written file"
    leftovers = list(tmp_path.glob(".blob.bin.*.tmp"))
    assert len(leftovers) <= 3                 # at most one orphaned temp file per kill


# -- a stopped long computation --------------------------------------------------------
TINY = {"ph_d": "16", "ph_nd": "3", "ph_nr": "3", "ph_trials": "1", "ph_steps": "40"}


def _run(at):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return at.run()


def test_a_stopped_phase_computation_leaves_the_app_usable():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.query_params.update(TINY)
    at.switch_page("pages/phase.py")
    at.session_state["ph_stopped"] = True         # what the Stop button's callback sets
    _run(at)
    assert not at.exception
    assert any("Stopped" in w.value for w in at.warning), "no notice that it stopped"
    assert at.button(key="ph_resume")
    at.slider(key="ph_nd").set_value(4)           # other controls still work while stopped
    _run(at)
    assert not at.exception and at.get("plotly_chart")
    at.switch_page("pages/projection.py")         # and so do the other pages
    _run(at)
    assert not at.exception and len(at.get("plotly_chart")) >= 1
    at.switch_page("pages/phase.py")
    _run(at)
    at.button(key="ph_resume").click()
    _run(at)
    assert not at.exception and not at.warning
    maps = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    assert maps and all("z" in t for t in maps if t["type"] == "heatmap")


# -- the same, live: Stop pressed while the server computes ---------------------------
LIVE = "ph_d=128&ph_nd=10&ph_nr=12&ph_trials=8&ph_steps=300"   # ~3-5 s on 2 idle cores


async def _until_finished(ws, on_element=None) -> tuple[list, int]:
    """Elements of the script run now in progress, up to its last ``script_finished``."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    elements = []
    while True:
        f = ForwardMsg()
        f.ParseFromString(await asyncio.wait_for(ws.recv(), 120))
        kind = f.WhichOneof("type")
        if kind == "new_session":
            elements = [("new_session", f.new_session.page_script_hash)]
        elif kind == "delta" and f.delta.WhichOneof("type") == "new_element":
            el = f.delta.new_element
            elements.append((el.WhichOneof("type"), getattr(el, el.WhichOneof("type"))))
            if on_element is not None:
                await on_element(*elements[-1])
        elif kind == "script_finished" and f.script_finished in (
                ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR):
            return elements, f.script_finished


def _find(elements, kind, key=None):
    return [e for k, e in elements if k == kind and (key is None or e.id.endswith(key))]


async def _stop_while_computing(url):
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None) as ws:
        msg = BackMsg()
        msg.rerun_script.query_string, msg.rerun_script.page_name = LIVE, "phase"
        pressed = []

        async def press_stop(kind, el):
            # Stop, once a row is done (the progress bar moved) and the button is there
            if kind == "progress" and el.value > 0 and not pressed and stop:
                click = BackMsg()
                click.rerun_script.CopyFrom(msg.rerun_script)
                click.rerun_script.page_script_hash = page_hash[0]
                click.rerun_script.widget_states.widgets.append(
                    WidgetState(id=stop[0].id, trigger_value=True))
                await ws.send(click.SerializeToString())
                pressed.append(el.value)
            if kind == "button" and el.id.endswith("ph_stop"):
                stop.append(el)
            if kind == "new_session":
                page_hash[0] = el

        stop, page_hash = [], [""]
        await ws.send(msg.SerializeToString())
        elements, status = await _until_finished(ws, press_stop)
        assert pressed, "the computation finished before Stop could be pressed"
        assert status == 0 and not _find(elements, "exception")
        warnings_ = [e.body for e in _find(elements, "alert") if e.format == 2]
        assert any("Stopped" in w for w in warnings_), warnings_
        assert _find(elements, "plotly_chart"), "the rows done so far are not drawn"
        resume = _find(elements, "button", "ph_resume")
        assert resume
        msg.rerun_script.page_script_hash = page_hash[0]
        msg.rerun_script.widget_states.widgets.append(
            WidgetState(id=resume[0].id, trigger_value=True))
        await ws.send(msg.SerializeToString())
        elements, status = await _until_finished(ws)
        assert status == 0 and not _find(elements, "exception")
        assert not [e for e in _find(elements, "alert") if e.format == 2]   # complete now
        assert len(_find(elements, "plotly_chart")) == 2


def test_stop_pressed_during_a_live_computation_keeps_the_server_usable(tmp_path):
    from benchmarks import load

    port = load.free_port()
    with open(tmp_path / "server.log", "w") as log:
        server = load.start_server(port, log)
        try:
            load.run_async(_stop_while_computing(f"ws://{load.HOST}:{port}/_stcore/stream"))
        finally:
            server.terminate()
            server.wait(timeout=30)
