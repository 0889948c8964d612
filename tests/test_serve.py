"""``python -m iobs serve``: two Streamlit workers behind a real nginx, driven through it.

Checks stickiness (a browser's XSRF cookie always reaches the same worker, and different
cookies reach both), websocket forwarding (a short load of protocol-level sessions through
the proxy; a real browser page: tests/browser/test_serve_proxy.py), XSRF protection left
on, and a clean stop. nginx
comes from Debian (``.ci/run`` installs it); without it the test skips, except in CI
(``IOBS_REQUIRE_BROWSER=1``), where it fails.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from benchmarks import load
from iobs.cli import serve

ROOT = Path(__file__).resolve().parents[1]
NGINX = serve.find_nginx()
REQUIRED = bool(os.environ.get("IOBS_REQUIRE_BROWSER"))


def _cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "iobs", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)


def test_config_names_every_worker_and_keeps_websockets_and_stickiness():
    out = _cli("serve", "--workers", "3", "--port", "9100", "--upstream", "10.0.0.7:8501",
               "--print-config")
    assert out.returncode == 0, out.stderr
    conf = out.stdout
    for s in ("127.0.0.1:9101", "127.0.0.1:9102", "127.0.0.1:9103", "10.0.0.7:8501"):
        assert f"server {s} " in conf
    assert "listen 127.0.0.1:9100;" in conf                 # loopback unless told otherwise
    assert "hash $iobs_sticky consistent;" in conf and "$cookie__streamlit_xsrf" in conf
    assert "proxy_set_header Upgrade $http_upgrade;" in conf and "@@" not in conf


@pytest.mark.parametrize("args,match", [
    (["--workers", "0"], "--workers must be in"),
    (["--upstream", "nohost"], "--upstream must be HOST:PORT"),
    (["--port", "70000"], "--port must be in"),
    (["--cache-disk", "lots"], "--cache-disk must be a size"),
])
def test_bad_arguments_are_one_line_and_exit_2(args, match):
    out = _cli("serve", *args, "--print-config")
    assert out.returncode == 2 and match in out.stderr and "Traceback" not in out.stderr


def test_disk_cache_keeps_the_newest_results_within_its_bound(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    folder = tmp_path / ".streamlit" / "cache"
    folder.mkdir(parents=True)
    for i in range(5):                               # 1 kB each, the first written oldest
        f = folder / f"f{i}.memo"
        f.write_bytes(b"x" * 1024)
        os.utime(f, (1000 + i, 1000 + i))
    (folder / "other.txt").write_bytes(b"y" * 4096)  # not a cached result: never touched
    assert serve.disk_cache() == (5, 5 * 1024)
    assert serve.disk_cache(limit=int(2.5 * 1024)) == (2, 2 * 1024)
    assert sorted(f.name for f in folder.iterdir()) == ["f3.memo", "f4.memo", "other.txt"]
    assert serve.disk_cache(clear=True) == (0, 0)
    assert serve.size_bytes("512mb") == 512 * 2**20 and serve.size_bytes("2GB") == 2 * 2**30
    with pytest.raises(ValueError, match="512mb or 2gb"):
        serve.size_bytes("2 gigs")


def _free_block(n: int) -> int:
    """A port p with p .. p + n all free on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            p = s.getsockname()[1]
        if p + n < 65535 and all(_free(q) for q in range(p, p + n + 1)):
            return p
    raise RuntimeError("no block of free ports")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


@contextlib.contextmanager
def start_serve(workers: int = 2, env: dict | None = None):
    """``python -m iobs serve --workers N`` on free ports (``env`` added to the environment):
    yields url, port, process."""
    if NGINX is None:
        if REQUIRED:
            pytest.fail("nginx is required in CI (.ci/run installs it)")
        pytest.skip("nginx is not installed (apt-get install -y nginx)")
    port = _free_block(workers)
    proc = subprocess.Popen([sys.executable, "-m", "iobs", "serve", "--workers", str(workers),
                             "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})
    line = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(180)
    try:
        if not line or not line[0].startswith("http://"):
            pytest.fail("serve did not start: "
                        + (proc.stderr.read()[-2000:] if proc.poll() is not None else ""))
        yield {"url": line[0].strip(), "port": port, "proc": proc}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def served():
    with start_serve() as s:
        yield s


def _worker(url: str, cookie: str) -> str:
    req = urllib.request.Request(url + "/_stcore/health",
                                 headers={"Cookie": f"_streamlit_xsrf={cookie}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
        return r.headers["X-Iobs-Worker"]


def test_each_browser_sticks_to_one_worker_and_browsers_spread(served):
    url, port = served["url"], served["port"]
    seen = {c: _worker(url, c) for c in (f"browser-{i}" for i in range(20))}
    assert set(seen.values()) == {f"127.0.0.1:{port + 1}", f"127.0.0.1:{port + 2}"}
    assert all(_worker(url, c) == w for c, w in seen.items())        # sticky
    with urllib.request.urlopen(url + "/_stcore/health", timeout=10) as r:
        assert "_streamlit_xsrf" in r.headers.get("Set-Cookie", "")  # XSRF protection is on


def test_sessions_through_the_proxy_are_error_free_and_isolated(served):
    report = load.main(6, 8.0, url=served["url"], watch_pid=served["proc"].pid,
                       pages=["", "iterates", "convergence"],
                       log_path=ROOT / "test-output" / "serve" / "load.log")
    assert report["held"] == 6
    assert report["errors"] == 0, report["error_samples"]
    assert report["isolation_violations"] == 0, report["isolation_samples"]
    assert report["reruns"] >= 6 and report["cores_busy"] is not None


def test_stopping_serve_stops_every_worker(served):
    children = psutil.Process(served["proc"].pid).children(recursive=True)
    assert len([c for c in children if "streamlit" in " ".join(c.cmdline())]) == 2
    assert any("nginx" in c.name() for c in children)
    served["proc"].send_signal(signal.SIGTERM)
    assert served["proc"].wait(timeout=60) == 0
    time.sleep(1)
    assert not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
