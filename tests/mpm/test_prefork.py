"""prefork's child loop and upkeep, with a real master (`pyhttpd -D FOREGROUND`).

Upkeep converges within a few 1-second passes, MaxConnectionsPerChild retires children that the
master replaces, the accept mutex lets concurrent clients through one child at a time, and the
scoreboard counts what the children served.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
from pathlib import Path

from tests.harness.master import (
    PREFORK,
    error_log,
    get,
    live_pids,
    make_root,
    master,
    snapshot,
)
from tests.harness.server import wait_until


def test_upkeep_spawns_up_to_min_spare_servers(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=1, low=3, high=5))
    with master(root):
        assert wait_until(lambda: snapshot(root).idle_workers() >= 3, timeout=8)
        assert len(live_pids(root)) <= 5


def test_upkeep_retires_idle_children_above_max_spare_servers(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=5, low=1, high=2))
    with master(root, idle=2):
        assert wait_until(lambda: len(live_pids(root)) == 2, timeout=10)
        assert snapshot(root).idle_workers() == 2
        assert get(root.port) == 200


def test_max_connections_per_child_retires_and_replaces(tmp_path: Path) -> None:
    body = PREFORK.format(start=1, low=1, high=2) + "MaxConnectionsPerChild 2\n"
    root = make_root(tmp_path, body)
    with master(root):
        first = live_pids(root)
        seen: set[int] = set(first)
        for _ in range(6):
            assert wait_until(lambda: snapshot(root).idle_workers() >= 1, timeout=5)
            assert get(root.port) == 200
            seen |= live_pids(root)
        assert wait_until(lambda: bool(live_pids(root)) and not (first & live_pids(root)), 5)
        assert len(seen | live_pids(root)) >= 3


def test_concurrent_clients_are_all_served(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=3, low=2, high=6))
    with master(root, idle=3):
        statuses: list[int] = []

        def client() -> None:
            for _ in range(10):
                statuses.append(get(root.port))

        threads = [threading.Thread(target=client) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert statuses == [200] * 60
        assert wait_until(lambda: snapshot(root).total_accesses() == 60, timeout=5)
        assert set(snapshot(root).scoreboard_string()) <= {"_", ".", "C"}


def test_a_child_killed_by_an_odd_signal_is_logged_and_replaced(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=2, high=4))
    with master(root, idle=2):
        victim = min(live_pids(root))
        os.kill(victim, signal.SIGSEGV)
        assert wait_until(lambda: f"AH00052: child pid {victim} exit signal" in error_log(root), 5)
        assert wait_until(lambda: len(live_pids(root) - {victim}) == 2, timeout=5)
        assert get(root.port) == 200


def test_graceful_closes_an_idle_keep_alive_connection(tmp_path: Path) -> None:
    body = PREFORK.format(start=1, low=1, high=2) + "KeepAlive On\nKeepAliveTimeout 30\n"
    root = make_root(tmp_path, body)
    with master(root) as running:
        with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
            head = sock.recv(65536)
            assert head.startswith(b"HTTP/1.1 200") and b"Keep-Alive" in head
            assert wait_until(lambda: "K" in snapshot(root).scoreboard_string(), timeout=5)
            running.process.send_signal(signal.SIGUSR1)
            rest = b""
            while chunk := sock.recv(65536):  # EOF well before KeepAliveTimeout (or timeout)
                rest += chunk
            assert len(rest) < 100  # at most the rest of the first response's body
        assert snapshot(root).total_accesses() >= 1
