"""The bench's CPU cost per request: a server's CPU time counts its live children and the ones
its master already reaped (a prefork child replaced mid-run). Real processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.bench.cases import per_request
from scripts.bench.servers import Server
from tests.harness.server import wait_until

# A "master" whose child burns CPU and is reaped, then a live child that burns CPU too.
PROGRAM = """
import os, sys, time
def burn(seconds):
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass
pid = os.fork()
if pid == 0:
    burn(0.3)
    os._exit(0)
os.waitpid(pid, 0)
if os.fork() == 0:
    burn(0.3)
    open(sys.argv[1], "w").close()
    time.sleep(60)
    os._exit(0)
time.sleep(60)
"""


def test_cpu_seconds_count_reaped_and_live_children(tmp_path: Path) -> None:
    marker = tmp_path / "burnt"
    process = subprocess.Popen([sys.executable, "-c", PROGRAM, str(marker)])
    server = Server("probe", tmp_path / "root", process)
    try:
        assert wait_until(marker.exists, timeout=20)
        assert server.cpu_seconds() >= 0.5
    finally:
        server.stop()
    assert process.poll() is not None


def test_per_request_is_microseconds_and_none_without_requests() -> None:
    assert per_request(0.5, 10_000) == 50.0
    assert per_request(0.5, 0) is None
