"""``python -m iobs serve``: the app for a class, on N Streamlit worker processes behind nginx.

One Streamlit process runs every session in one interpreter (measured: 1.2 of 2 cores used
under load), so more sessions than it can hold need more processes. This command starts
N workers on 127.0.0.1 (ports ``--port + 1`` ...), writes ``deploy/nginx.conf.template``
out with them as the upstream (plus any ``--upstream host:port`` on other machines),
starts nginx in the foreground and stops everything on Ctrl-C. nginx keeps each browser
on one worker (a hash of its XSRF cookie) and forwards websockets; XSRF protection stays
on, with one cookie secret shared by the local workers.

Written here rather than taken from a library: it only launches two well-kept servers
(Streamlit, nginx) with their own command lines and waits on their health endpoints. The
helpers that start, wait on and stop a server (:func:`streamlit_command`,
:func:`wait_healthy`, :func:`stop_processes`) are also what the load benchmark and the
browser tests use.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

__all__ = ["DISK_CACHE_ENV", "SHARED_CACHE_ENV", "add_parser", "disk_cache", "find_nginx",
           "main", "nginx_config", "size_bytes", "stop_processes", "streamlit_command",
           "wait_healthy"]

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
MAX_WORKERS = 32
START_TIMEOUT_S = 120

EPILOG = """\
examples:
  python -m iobs serve --workers 2                     # http://127.0.0.1:8500
  python -m iobs serve --workers 4 --host 0.0.0.0      # open to the room's network
  python -m iobs serve --workers 2 --upstream 10.0.0.7:8501 --upstream 10.0.0.7:8502
                                                       # add workers started on another host
  python -m iobs serve --workers 2 --print-config      # the nginx config, nothing started
  python -m iobs serve --workers 2 --dask tcp://10.0.0.9:8786
                                                       # the Phase page computes on a cluster

Results are computed once for all workers: each worker keeps at most --cache-memory of
them in memory (Streamlit's server.maxCacheDataSize) and all share Streamlit's disk cache
(~/.streamlit/cache), keyed by the iobs sources so a changed library recomputes.
"""
SHARED_CACHE_ENV = "IOBS_SHARED_CACHE"   # read by ui.caching: persist results to disk
CACHE_MEMORY = "512mb"
DISK_CACHE_ENV = "IOBS_CACHE_DISK"      # the disk cache's bound, read by ui.caching
CACHE_DISK = "2gb"
_SIZE = re.compile(r"^(\d+(\.\d+)?)(kb|mb|gb)$", re.IGNORECASE)


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve the app with N worker processes behind nginx",
                       description=__doc__.split("\n\n")[0], epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workers", type=int, default=2, help=f"local workers, 1..{MAX_WORKERS}")
    p.add_argument("--port", type=int, default=8500, help="the proxy's port (workers: next)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address the proxy listens on (0.0.0.0: every interface)")
    p.add_argument("--upstream", action="append", default=[], metavar="HOST:PORT",
                   help="a worker on another machine (repeatable)")
    p.add_argument("--nginx", default=None, help="nginx binary (default: the one on PATH)")
    p.add_argument("--cache-memory", default=CACHE_MEMORY, metavar="SIZE",
                   help=f"cached results each worker keeps in memory (default {CACHE_MEMORY})")
    p.add_argument("--dask", default=None, metavar="ADDRESS",
                   help="a Dask scheduler for the Phase page's work (default: local processes)")
    p.add_argument("--cache-disk", default=CACHE_DISK, metavar="SIZE",
                   help=f"the shared disk cache's bound; the oldest results go first "
                        f"(default {CACHE_DISK})")
    p.add_argument("--clear-cache", action="store_true",
                   help="empty the shared disk cache of results before starting")
    p.add_argument("--print-config", action="store_true",
                   help="print the nginx config and exit")
    p.set_defaults(func=main)


def _check(args) -> list[str]:
    if not 1 <= args.workers <= MAX_WORKERS:
        raise ValueError(f"--workers must be in [1, {MAX_WORKERS}]; got {args.workers}")
    if not 1 <= args.port <= 65535 - args.workers:
        raise ValueError(f"--port must be in [1, {65535 - args.workers}]; got {args.port}")
    for flag, value in (("--cache-memory", args.cache_memory),
                        ("--cache-disk", args.cache_disk)):
        if not _SIZE.match(str(value)):
            raise ValueError(f"{flag} must be a size such as 512mb or 2gb; got {value!r}")
    for u in args.upstream:
        host, _, port = u.rpartition(":")
        if not host or not port.isdigit() or not 1 <= int(port) <= 65535:
            raise ValueError(f"--upstream must be HOST:PORT; got {u!r}")
    return [f"127.0.0.1:{args.port + 1 + i}" for i in range(args.workers)] + args.upstream


def nginx_config(prefix: str, listen: str, servers: list[str]) -> str:
    """``deploy/nginx.conf.template`` with its fields filled in."""
    text = TEMPLATE.read_text()
    lines = "\n".join(f"        server {s} max_fails=0;" for s in servers)
    return (text.replace("@@PREFIX@@", prefix).replace("@@LISTEN@@", listen)
            .replace("@@SERVERS@@", lines))


def _unspecified(host: str) -> bool:
    """True for the every-interface address (IPv4 or IPv6): connect to loopback instead."""
    try:
        return ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def size_bytes(text: str) -> int:
    """``"512mb"`` -> 536870912 (kb, mb, gb; powers of 1024)."""
    m = _SIZE.match(str(text).strip())
    if not m:
        raise ValueError(f"a size must look like 512mb or 2gb; got {text!r}")
    return int(float(m.group(1)) * {"kb": 2**10, "mb": 2**20, "gb": 2**30}[m.group(3).lower()])


def disk_cache(clear: bool = False, limit: int | None = None) -> tuple[int, int]:
    """(files, bytes) of results in Streamlit's disk cache (``~/.streamlit/cache``, shared by
    the workers); ``clear`` deletes them first (what ``streamlit cache clear`` removes), and
    ``limit`` (bytes) deletes the oldest-written ones until the rest fit: Streamlit bounds
    what it keeps in memory (``server.maxCacheDataSize``) but not its disk folder."""
    folder = Path.home() / ".streamlit" / "cache"
    found = []
    for f in folder.glob("*.memo") if folder.is_dir() else []:
        try:
            st = f.stat()
        except FileNotFoundError:                  # another worker trimmed it meanwhile
            continue
        found.append((st.st_mtime, st.st_size, f))
    found.sort()                                   # oldest first
    total = sum(size for _, size, _ in found)
    while found and (clear or (limit is not None and total > limit)):
        _, size, f = found.pop(0)
        f.unlink(missing_ok=True)
        total -= size
    return len(found), total


def find_nginx(path: str | None = None) -> str | None:
    """``path``, or the nginx on PATH, or Debian's /usr/sbin/nginx (not on a user's PATH)."""
    return path or shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


def streamlit_command(port: int, *extra: str) -> list[str]:
    """``streamlit run app.py`` on 127.0.0.1:``port``, headless, no usage statistics and no
    file watcher (run it with ``cwd=ROOT``)."""
    return [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"),
            "--server.headless", "true", "--server.address", "127.0.0.1",
            "--server.port", str(port), "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", *extra]


def wait_healthy(url: str, procs, timeout: float = START_TIMEOUT_S) -> None:
    """Return once ``url`` (a health endpoint) answers 200; ``RuntimeError`` when one of
    ``procs`` exits first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"a server exited while starting (exit {p.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop_processes(procs, timeout: float = 15) -> None:
    """Terminate every process still running, then kill those that outlive ``timeout``."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main(args) -> int:
    servers = _check(args)
    listen = f"{args.host}:{args.port}"
    prefix = Path(tempfile.mkdtemp(prefix="iobs-serve-"))
    if args.print_config:
        print(nginx_config(str(prefix), listen, servers))
        prefix.rmdir()
        return 0
    nginx = find_nginx(args.nginx)
    if nginx is None:
        raise ValueError("nginx not found: install it (apt-get install -y nginx) or pass "
                         "--nginx PATH")
    app = ROOT / "app.py"
    if not app.exists():
        raise ValueError(f"the app is not here ({app}): run serve from a checkout of iobs")
    prefix.chmod(0o755)
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / d).mkdir(parents=True)
        (prefix / "tmp" / d).chmod(0o777)          # nginx's workers may run as nobody
    secret = secrets.token_hex(16)
    env = {**os.environ, "STREAMLIT_SERVER_COOKIE_SECRET": secret, SHARED_CACHE_ENV: "1",
           DISK_CACHE_ENV: args.cache_disk}
    if args.dask:
        env["IOBS_DASK_SCHEDULER"] = args.dask     # iobs.research.executors.DASK_ENV
    files, size = disk_cache(clear=args.clear_cache, limit=size_bytes(args.cache_disk))
    procs = []
    log = print if sys.stderr is None else (lambda *a: print(*a, file=sys.stderr, flush=True))
    stopping = {"now": False}

    def on_signal(signum, frame):
        stopping["now"] = True

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for i in range(args.workers):
            port = args.port + 1 + i
            out = open(prefix / f"worker-{port}.log", "w")
            procs.append(subprocess.Popen(
                streamlit_command(port, "--server.enableXsrfProtection", "true",
                                  "--server.maxCacheDataSize", args.cache_memory),
                cwd=str(ROOT), stdout=out, stderr=subprocess.STDOUT, env=env))
        for i, p in enumerate(procs):
            wait_healthy(f"http://127.0.0.1:{args.port + 1 + i}/_stcore/health", [p])
        conf = prefix / "nginx.conf"
        conf.write_text(nginx_config(str(prefix), listen, servers))
        procs.append(subprocess.Popen([nginx, "-p", str(prefix), "-c", str(conf),
                                       "-g", "daemon off;"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT))
        shown = "127.0.0.1" if _unspecified(args.host) else args.host
        wait_healthy(f"http://{shown}:{args.port}/_stcore/health", procs)
        log(f"serving http://{shown}:{args.port} : {args.workers} local worker(s)"
            + (f" + {len(args.upstream)} remote" if args.upstream else "")
            + f" behind nginx; logs and config in {prefix}; Ctrl-C stops")
        log(f"results: at most {args.cache_memory} in memory per worker (models and figures "
            f"apart, bounded by entry counts), shared on disk in "
            f"{Path.home() / '.streamlit' / 'cache'} ({files} entries, {size / 1e6:.1f} MB "
            "at start)" + (f"; Phase work on the Dask cluster at {args.dask}" if args.dask
                           else ""))
        print(f"http://{shown}:{args.port}", flush=True)
        while not stopping["now"]:
            if any(p.poll() is not None for p in procs):
                log(f"a server exited; stopping the others (logs in {prefix})")
                return 1
            time.sleep(0.5)
        return 0
    except RuntimeError as exc:      # a server that did not start: one line, not a traceback
        log(f"error: {exc} (logs in {prefix})")
        return 1
    finally:
        stop_processes(procs)
        for s, h in old.items():
            signal.signal(s, h)
