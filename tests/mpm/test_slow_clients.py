"""Slow clients against the event MPM (issue 4): Debian's slowhttptest holds hundreds of
connections open with slow headers (slowloris, -H) and then slow bodies (R-U-Dead-Yet, -B),
while this test sends a fresh request every 0.2 s and asserts each one is answered.

The real master (-D FOREGROUND) with the event MPM, two children with few threads, and
mod_reqtimeout limits short enough for the run to stay short. slowhttptest targets 127.0.0.1
only, runs for a bounded time and is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from tests.harness.master import master
from tests.harness.server import ServerRoot, stop_process

SLOWHTTPTEST = shutil.which("slowhttptest")
pytestmark = pytest.mark.skipif(SLOWHTTPTEST is None, reason="slowhttptest is not installed")

CONFIG = """
LoadModule reqtimeout_module modules/mod_reqtimeout.so
StartServers 2
ServerLimit 2
ThreadsPerChild 4
ThreadLimit 4
MinSpareThreads 4
MaxSpareThreads 8
MaxRequestWorkers 8
KeepAliveTimeout 2
RequestReadTimeout header=5-10,MinRate=50 body=5-10,MinRate=50
"""
ATTACK_SECONDS = 12
FRESH_EVERY = 0.2
FRESH_BOUND = 3.0  # seconds for one fresh request, connect to last byte


@dataclass
class Fresh:
    """The fresh requests sent while the attack runs."""

    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    answered_at: list[float] = field(default_factory=list)  # when the answered ones were sent

    @property
    def sent(self) -> int:
        return len(self.latencies) + len(self.failures)


def fresh_request(port: int) -> float:
    """One GET on a new connection; its latency, or an exception."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=FRESH_BOUND) as sock:
        sock.settimeout(max(FRESH_BOUND - (time.monotonic() - started), 0.01))
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    elapsed = time.monotonic() - started
    if not data.startswith(b"HTTP/1.1 200 "):
        raise AssertionError(f"unexpected answer {data[:40]!r}")
    if elapsed > FRESH_BOUND:
        raise TimeoutError(f"answered after {elapsed:.2f} s")
    return elapsed


def send_fresh_requests(port: int, stop: threading.Event, into: Fresh) -> None:
    """A fresh request every FRESH_EVERY seconds, each on its own thread (a slow answer does
    not delay the next request); returns once every one has been answered or has failed."""

    def one() -> None:
        sent = time.monotonic() - began
        try:
            latency = fresh_request(port)
        except (OSError, AssertionError) as error:
            with lock:
                into.failures.append(f"sent at {sent:.1f} s: {error!r}")
        else:
            with lock:
                into.latencies.append(latency)
                into.answered_at.append(round(sent, 1))

    lock, began, senders = threading.Lock(), time.monotonic(), []
    while not stop.wait(FRESH_EVERY):
        sender = threading.Thread(target=one)
        sender.start()
        senders.append(sender)
    for sender in senders:
        sender.join()


def connections_to(port: int) -> int:
    return sum(
        1
        for c in psutil.net_connections("tcp4")
        if c.laddr and c.laddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


@contextlib.contextmanager
def slowhttptest(port: int, mode: str) -> Iterator[subprocess.Popen[bytes]]:
    assert SLOWHTTPTEST is not None
    argv = [SLOWHTTPTEST, mode, "-c", "300", "-r", "100", "-i", "5", "-l", str(ATTACK_SECONDS)]
    argv += ["-u", f"http://127.0.0.1:{port}/index.html", "-p", "3"]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        stop_process(process, timeout=5)


def run_attack(port: int, mode: str) -> tuple[Fresh, int]:
    """The attack for ATTACK_SECONDS with fresh requests throughout; (fresh, most connections)."""
    fresh, stop = Fresh(), threading.Event()
    held = 0
    with slowhttptest(port, mode) as attack:
        client = threading.Thread(target=send_fresh_requests, args=(port, stop, fresh))
        client.start()
        deadline = time.monotonic() + ATTACK_SECONDS
        try:
            while time.monotonic() < deadline and attack.poll() is None:
                held = max(held, connections_to(port))
                time.sleep(0.5)
        finally:
            stop.set()
            client.join()
    worst = max(fresh.latencies, default=0.0)
    print(
        f"slowhttptest {mode}: up to {held} connections held; fresh requests "
        f"{len(fresh.latencies)}/{fresh.sent} answered, max latency {worst:.3f} s; "
        f"answered those sent at {sorted(fresh.answered_at)}; failures {fresh.failures[:3]}"
    )
    return fresh, held


@pytest.mark.parametrize(
    "mode",
    [
        "-H",  # slow heads: read by event's listener, no worker held
        "-B",  # slow bodies (4096 bytes each): read by the listener too (PREREAD_BODY)
    ],
)
def test_event_serves_fresh_requests_under_slow_clients(tmp_path: Path, mode: str) -> None:
    root = ServerRoot(tmp_path, mpm="event")
    (root.htdocs / "index.html").write_text("hello\n")
    root.write_config(CONFIG)
    with master(root, idle=8):
        fresh, held = run_attack(root.port, mode)
    assert held >= 100, "slowhttptest did not hold its connections"
    assert fresh.sent >= ATTACK_SECONDS / FRESH_EVERY / 2
    assert fresh.failures == [], fresh.failures
