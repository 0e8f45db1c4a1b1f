"""A real master (`pyhttpd -D FOREGROUND`) for tests: start it on a ServerRoot, wait until its
scoreboard shows idle workers and its port accepts, and stop it (and the children it forked) by
pid. Also the small clients and readers the master, MPM and signal tests share.
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psutil

from pyhttpd.scoreboard import Scoreboard, ScoreboardSnapshot
from tests.harness.server import REPO, ServerRoot, port_open, stop_process, wait_until

# ExtendedStatus On: the tests read the scoreboard's access counts, which Apache's children keep
# only under it (ap_increment_counts), and it is Off without mod_status
PREFORK = (
    "StartServers {start}\nMinSpareServers {low}\nMaxSpareServers {high}\nMaxRequestWorkers 8\n"
    "ExtendedStatus On\n"
)


def env() -> dict[str, str]:
    values = {key: value for key, value in os.environ.items() if key != "PYHTTPD_ROOT"}
    values["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), values.get("PYTHONPATH")]))
    return values


def pyhttpd(
    root: ServerRoot, *args: str, program: str = "pyhttpd"
) -> subprocess.CompletedProcess[str]:
    """`pyhttpd ARGS` or `pyhttpdctl ARGS` (as modules, before the scripts are installed)."""
    launcher = ["-m", "pyhttpd"]
    if program == "pyhttpdctl":
        launcher = ["-c", "from pyhttpd.cli.ctl import main; main()"]
    argv = [sys.executable, *launcher, *args, "-d", str(root.path), "-f", "httpd.conf"]
    return subprocess.run(
        argv, capture_output=True, text=True, env=env(), cwd=root.path, timeout=60
    )


def snapshot(root: ServerRoot) -> ScoreboardSnapshot:
    with Scoreboard.attach(root.path / "logs" / "apache_runtime_status") as board:
        return board.snapshot()


def live_pids(root: ServerRoot) -> set[int]:
    return {process.pid for process in snapshot(root).processes if process.pid}


def get(port: int, path: str = "/index.html", timeout: float = 5.0) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return int(data.split(b" ", 2)[1])


def steady_load(port: int, results: dict[str, int], stop: threading.Event) -> None:
    """Fresh-connection GETs until told to stop: bounded to 20 s and 3,000 answers."""
    deadline = time.monotonic() + 20
    while not stop.is_set() and time.monotonic() < deadline and results["ok"] < 3000:
        try:
            results["ok" if get(port) == 200 else "failed"] += 1
        except OSError:
            results["failed"] += 1


def error_log(root: ServerRoot) -> str:
    path = root.path / "logs" / "error_log"
    return path.read_text() if path.exists() else ""


@dataclass
class Running:
    root: ServerRoot
    process: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.process.pid

    def children(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.pid).children()
        except psutil.NoSuchProcess:
            return []


def make_root(tmp_path: Path, body: str) -> ServerRoot:
    root = ServerRoot(tmp_path, mpm="prefork")
    (root.htdocs / "index.html").write_text("hello\n")
    root.write_config(body + "\nLogLevel info\n")
    return root


def wait_ready(root: ServerRoot, pid: int, idle: int = 1) -> bool:
    def ready() -> bool:
        try:
            board = snapshot(root)
        except Exception:  # noqa: BLE001 - not created yet
            return False
        return board.master_pid == pid and board.idle_workers() >= idle and port_open(root.port)

    return wait_until(ready, timeout=15)


@contextlib.contextmanager
def master(root: ServerRoot, idle: int = 1) -> Iterator[Running]:
    """`pyhttpd -D FOREGROUND` until the block ends; its children are stopped by pid too."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pyhttpd", "-d", str(root.path), "-f", "httpd.conf", "-D", "FOREGROUND"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env(), cwd=root.path,
    )  # fmt: skip
    running = Running(root, process)
    started: set[int] = set()
    try:
        assert wait_ready(root, process.pid, idle), error_log(root)
        yield running
    finally:
        started = {child.pid for child in running.children()}
        stop_process(process, timeout=15)
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        assert "Traceback" not in error_log(root)
