"""Signals racing fork: a child must never die of a signal that arrives before its MPM installed
its own handlers (the child keeps the master's blocked mask until then).

Real masters (-D FOREGROUND), a burst of SIGUSR1 right after start-up and during the graceful
restarts it causes: the server keeps serving and no child dies of a signal the master logs
(AH00052). Apache, and so pyhttpd, is quiet about children killed by SIGUSR1 itself, so the
race on SIGUSR1 is pinned down deterministically by forking one slow child_main directly.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from pyhttpd.server import children
from tests.harness.master import error_log, get, master, snapshot
from tests.harness.server import ServerRoot, wait_until

BURST = 60  # signals
GAP = 0.01  # seconds between them: children are forked in between, some mid-fork
CONFIGS = {
    "prefork": "StartServers 3\nMinSpareServers 2\nMaxSpareServers 6\nMaxRequestWorkers 8\n",
    "event": "StartServers 2\nServerLimit 16\nThreadsPerChild 2\nThreadLimit 2\n"
    "MinSpareThreads 2\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
}


@pytest.mark.parametrize("mpm", ["prefork", "event"])
def test_a_burst_of_sigusr1_kills_no_child(tmp_path: Path, mpm: str) -> None:
    root = ServerRoot(tmp_path, mpm=mpm)
    (root.htdocs / "index.html").write_text("hello\n")
    root.write_config(CONFIGS[mpm] + "LogLevel info\n")
    with master(root, idle=2) as running:
        deadline = time.monotonic() + 10
        for _ in range(BURST):
            if time.monotonic() > deadline:
                break
            os.kill(running.pid, signal.SIGUSR1)
            time.sleep(GAP)
        assert running.process.poll() is None
        assert wait_until(lambda: snapshot(root).idle_workers() >= 2, timeout=10)
        assert get(root.port) == 200
        time.sleep(1.0)  # the last old children are reaped and logged
        assert get(root.port) == 200
    log = error_log(root)
    assert "AH00052" not in log, [line for line in log.splitlines() if "AH00052" in line]
    assert "AH00171: Graceful restart requested" in log or "AH00493: SIGUSR1 received" in log


def test_a_signal_before_the_child_installed_its_handlers_stays_pending() -> None:
    """fork_child directly, with a child_main that takes its time before installing its
    handlers, as the contract allows: SIGUSR1 sent meanwhile must reach its handler later, not
    kill it (Apache is quiet about children killed by SIGUSR1, so only the status tells)."""
    report_read, report_write = os.pipe()

    def slow_child_main(context: object) -> int:
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, ())
        os.write(report_write, b"B" if signal.SIGUSR1 in blocked else b"U")
        time.sleep(0.5)  # the master's graceful SIGUSR1 arrives now
        seen: list[int] = []
        signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
        signal.pthread_sigmask(signal.SIG_SETMASK, ())
        return 0 if seen else 1

    context = SimpleNamespace(generation_number=0, generation=None)
    try:
        pid = children.fork_child(slow_child_main, context, (), None)  # type: ignore[arg-type]
        assert os.read(report_read, 1) == b"B"
        os.kill(pid, signal.SIGUSR1)
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(report_read)
        os.close(report_write)
    assert not os.WIFSIGNALED(status), f"killed by signal {os.WTERMSIG(status)}"
    assert os.waitstatus_to_exitcode(status) == 0
