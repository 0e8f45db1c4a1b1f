"""packaging/haproxy/pyhttpd.cfg for real: two pyhttpd masters and HAProxy on loopback.

The recipe's config is used as written, with only its ports and stats socket moved into the test:
HAProxy health-checks both instances, a bounded load runs through it while the recipe's rolling
graceful restart goes instance by instance over the stats socket (drain, wait for no sessions,
USR1, wait for the new generation and a passing check, ready), and not one request fails; then
one instance stops and the health check takes it out while the other serves on. The system
haproxy service is never started: the binary runs in the foreground and is stopped by its pid.
"""

from __future__ import annotations

import contextlib
import csv
import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.master import PREFORK, get, make_root, master, snapshot
from tests.harness.server import (
    MIME_TYPES,
    REPO,
    ServerRoot,
    free_port,
    port_open,
    stop_process,
    wait_until,
)
from tests.packaging.installed import load_running

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy missing")
RECIPE = REPO / "packaging" / "haproxy" / "pyhttpd.cfg"


def admin(sock_path: Path, command: str) -> str:
    """One command on HAProxy's stats socket (what `socat stdio SOCKET` does in the recipe)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(sock_path))
        sock.sendall(command.encode() + b"\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data.decode()


def servers(sock_path: Path) -> dict[str, dict[str, str]]:
    """`show stat` rows of the pyhttpd backend's servers, by name."""
    text = admin(sock_path, "show stat").lstrip("# ")
    rows = csv.DictReader(text.splitlines())
    return {row["svname"]: row for row in rows if row["pxname"] == "pyhttpd"
            and row["svname"] not in ("BACKEND", "FRONTEND")}  # fmt: skip


@contextlib.contextmanager
def haproxy(tmp_path: Path, front: int, ports: tuple[int, int]) -> Iterator[Path]:
    sock_path = tmp_path / "admin.sock"
    config = RECIPE.read_text()
    config = config.replace("/run/haproxy/pyhttpd.sock", str(sock_path))
    config = config.replace("bind :80", f"bind 127.0.0.1:{front}")
    config = config.replace("127.0.0.1:8081", f"127.0.0.1:{ports[0]}")
    config = config.replace("127.0.0.1:8082", f"127.0.0.1:{ports[1]}")
    (tmp_path / "haproxy.cfg").write_text(config)
    process = subprocess.Popen(
        ["haproxy", "-db", "-f", str(tmp_path / "haproxy.cfg")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert wait_until(lambda: port_open(front) and sock_path.exists(), timeout=10)
        yield sock_path
    finally:
        stop_process(process, timeout=10)
        assert process.stderr is not None
        process.stderr.close()


def state(sock_path: Path, name: str) -> str:
    return servers(sock_path)[name]["status"]


def rolling_graceful(sock_path: Path, name: str, root: ServerRoot, pid: int) -> None:
    """The recipe's steps for one instance."""
    admin(sock_path, f"set server pyhttpd/{name} state drain")
    assert wait_until(lambda: servers(sock_path)[name]["scur"] == "0", timeout=10)
    generation = snapshot(root).running_generation
    os.kill(pid, signal.SIGUSR1)
    assert wait_until(
        lambda: (
            snapshot(root).running_generation == generation + 1
            and snapshot(root).idle_workers() >= 1
        ),
        timeout=15,
    )
    admin(sock_path, f"set server pyhttpd/{name} state ready")
    assert wait_until(lambda: state(sock_path, name) == "UP", timeout=10)


STATUS = f"TypesConfig {MIME_TYPES}\n<Location /server-status>\nSetHandler server-status\nRequire local\n</Location>\n"


def test_two_instances_behind_haproxy_survive_a_rolling_graceful_restart(tmp_path: Path) -> None:
    config = PREFORK.format(start=2, low=1, high=4) + STATUS
    roots = [make_root(tmp_path / name, config) for name in ("web1", "web2")]
    for root in roots:  # the recipe's health check reads mod_status's ?auto page
        root.write_config(
            config + "LogLevel info\n", modules=("mime", "status", "authz_core", "authz_host")
        )
    front = free_port()
    with (
        master(roots[0]) as web1,
        master(roots[1]) as web2,
        haproxy(tmp_path, front, (roots[0].port, roots[1].port)) as sock_path,
    ):
        assert wait_until(
            lambda: {row["status"] for row in servers(sock_path).values()} == {"UP"}, timeout=10
        )
        assert get(roots[0].port, "/server-status?auto") == 200
        with load_running(front) as results:
            rolling_graceful(sock_path, "web1", roots[0], web1.pid)
            rolling_graceful(sock_path, "web2", roots[1], web2.pid)
            served = results["ok"]
            assert wait_until(lambda: results["ok"] >= served + 20, timeout=15)
        assert results["failed"] == 0 and results["ok"] >= 40
        assert all(int(row["stot"]) > 0 for row in servers(sock_path).values())

        # The health check at work: web2 stops, HAProxy marks it DOWN, web1 answers everything.
        web2.process.send_signal(signal.SIGTERM)
        web2.process.wait(timeout=20)
        assert wait_until(lambda: state(sock_path, "web2").startswith("DOWN"), timeout=10)
        assert all(get(front, f"/index.html?n={number}") == 200 for number in range(10))
