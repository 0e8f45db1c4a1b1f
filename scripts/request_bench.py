"""Measure pyhttpd's CPU cost per keep-alive static GET, in-process (issue 8: speed).

Developer helper: nothing imports it. It writes a temporary ServerRoot with a Debian-like config
(mods-enabled's modules and their .conf files, a combined CustomLog, `<Directory />
AllowOverride None`, MaxKeepAliveRequests 0) and a 612-byte file, builds one generation, and
serves pipelined keep-alive GETs with `serve_connection` over a real loopback TCP socket; the
client is a separate process (this script with `--client`), so its work is not counted.
`--bench-conf` uses `make bench`'s own pyhttpd configuration instead (no access log, only the
built-in modules). `--wsgi` serves the bench's WSGI "hello" application instead (GET /hello), with the bench's own
pyhttpd configuration for it (scripts/bench/tuning.py: pyhttpd_conf with wsgi, worker MPM).

It prints the best µs/request of `--runs` timed runs, and the Python function calls per request
(cProfile's total calls / requests) from one profiled run; `--top N` lists the N functions with
the most own time. The machine's cores are shared: trust the call count first, then the best
of several runs.

    .venv/bin/python scripts/request_bench.py [--wsgi] [--requests 3000] [--runs 5] [--top 25]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUEST_LINE = "GET {} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n"
LAST_LINE = "GET {} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
BATCH = 50  # requests per client write (pipelined)
SMALL_FILE = (  # 612 bytes, the size of nginx's and many distributions' default index page
    b"<!DOCTYPE html>\n<html><head><title>small</title></head><body>\n"
    + b"<p>"
    + b"x" * 66
    + b"</p>\n"
).ljust(597, b"\n") + b"</body></html>\n"

CONFIG = """\
ServerRoot "ROOT"
Include REPO/mods-enabled/*.load
Include REPO/mods-enabled/*.conf
TypesConfig REPO/conf/mime.types
ServerName localhost
Listen 127.0.0.1:PORT
DocumentRoot "ROOT/htdocs"
ErrorLog logs/error_log
PidFile logs/pid
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
CustomLog logs/access_log combined
<Directory />
    AllowOverride None
</Directory>
MaxKeepAliveRequests 0
"""


def write_root(root: Path, port: int = 8080) -> Path:
    """A ServerRoot in `root` with the benchmark's config and /small.html (612 bytes)."""
    assert len(SMALL_FILE) == 612
    (root / "htdocs").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    (root / "htdocs" / "small.html").write_bytes(SMALL_FILE)
    config = root / "httpd.conf"
    text = CONFIG.replace("ROOT", str(root)).replace("REPO", str(REPO))
    config.write_text(text.replace("PORT", str(port)))
    return config


def write_wsgi_root(root: Path, port: int = 8080) -> Path:
    """A ServerRoot in `root` as the bench writes pyhttpd's for its WSGI row (worker MPM)."""
    sys.path.append(str(REPO))  # after PYTHONPATH: a tree given there stays the one measured
    from scripts.bench import tuning

    (root / "htdocs").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    (root / "hello.wsgi").write_text(tuning.WSGI_APP)
    config = root / "httpd.conf"
    text = tuning.pyhttpd_conf(root, port, "worker", tuning.DEFAULT, wsgi=True)
    config.write_text(f"ServerRoot {root}\n" + text)
    return config


def write_bench_root(root: Path, port: int = 8080) -> Path:
    """A ServerRoot in `root` as `make bench` writes pyhttpd's static instance (event MPM)."""
    sys.path.append(str(REPO))
    from scripts.bench import tuning

    (root / "htdocs").mkdir(parents=True, exist_ok=True)
    (root / "logs").mkdir(exist_ok=True)
    (root / "htdocs" / "small.html").write_bytes(SMALL_FILE)
    config = root / "httpd.conf"
    text = tuning.pyhttpd_conf(root, port, "event", tuning.DEFAULT, wsgi=False)
    config.write_text(f"ServerRoot {root}\n" + text)
    return config


def client(port: int, count: int, path: str) -> None:
    """The client process: `count` pipelined GETs, the last with Connection: close."""
    request, last = REQUEST_LINE.format(path).encode(), LAST_LINE.format(path).encode()
    sock = socket.create_connection(("127.0.0.1", port))

    def reader() -> None:
        while sock.recv(1 << 20):
            pass

    thread = threading.Thread(target=reader)
    thread.start()
    for _ in range((count - 1) // BATCH):
        sock.sendall(request * BATCH)
    sock.sendall(request * ((count - 1) % BATCH) + last)
    thread.join()
    sock.close()


def serve_once(
    generation: object, count: int, profile: cProfile.Profile | None, path: str = "/small.html"
) -> tuple[float, float]:
    """Serve one client connection of `count` requests; return its CPU and wall seconds.

    CPU time (this process's; the client is another) is the measure: wall time also counts the
    waits for the client, which shares the cores."""
    from pyhttpd.http.connection import serve_connection

    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        argv = [sys.executable, __file__, "--client", str(port), str(count), path]
        process = subprocess.Popen(argv)
        conn, _ = listener.accept()
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        if profile is not None:
            profile.enable()
        serve_connection(conn, generation)  # type: ignore[arg-type]
        if profile is not None:
            profile.disable()
        cpu = time.process_time() - cpu_started
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
        process.wait(timeout=60)
    return cpu, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--top", type=int, default=0, help="list the N costliest functions")
    parser.add_argument("--sort", default="tottime", help="pstats order for --top (ncalls...)")
    parser.add_argument("--callers", help="with --top: who calls the functions matching this")
    parser.add_argument("--wsgi", action="store_true", help="the bench's WSGI hello app")
    parser.add_argument("--bench-conf", action="store_true", help="make bench's static config")
    parser.add_argument("--client", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--write-root", help="only write the ServerRoot (port from --port)")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args()
    if args.client:
        client(int(args.client[0]), int(args.client[1]), args.client[2])
        return
    write = write_wsgi_root if args.wsgi else write_bench_root if args.bench_conf else write_root
    path = "/hello" if args.wsgi else "/small.html"
    if args.write_root:
        print(write(Path(args.write_root).resolve(), args.port))
        return

    from pyhttpd.config import load
    from pyhttpd.modules.registry import default_registry
    from pyhttpd.server.generation import build_generation

    with tempfile.TemporaryDirectory(prefix="request_bench.") as directory:
        root = Path(directory)
        write(root)
        generation = build_generation(load("httpd.conf", str(root), default_registry()))
        serve_once(generation, 200, None, path)  # warm up (imports, caches)
        times = [serve_once(generation, args.requests, None, path) for _ in range(args.runs)]
        profile = cProfile.Profile()
        serve_once(generation, args.requests, profile, path)
        access_log = root / "logs" / "access_log"
        log_lines = access_log.read_bytes().count(b"\n") if access_log.exists() else 0
    sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # mod_wsgi points them at the log
    stats = pstats.Stats(profile)
    calls = stats.total_calls  # type: ignore[attr-defined]
    cpu = [run[0] / args.requests * 1e6 for run in times]
    wall = [run[1] / args.requests * 1e6 for run in times]
    print(
        f"{args.requests} keep-alive GETs of {path} x {args.runs} runs:"
        f" best {min(cpu):.0f} µs CPU/request (runs: {', '.join(f'{t:.0f}' for t in cpu)}),"
        f" best {min(wall):.0f} µs wall/request;"
        f" {calls / args.requests:.0f} Python calls/request; {log_lines} access-log lines"
    )
    if args.top:
        stats.sort_stats(args.sort).print_stats(args.top)
        if args.callers:
            stats.print_callers(args.callers)


if __name__ == "__main__":
    main()
