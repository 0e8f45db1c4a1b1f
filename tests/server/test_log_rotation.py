"""Log rotation as logrotate does it: `mv` the logs, then a graceful restart reopens them.

A real `pyhttpd -D FOREGROUND` master per MPM (tests/harness/master.py): no access
line is lost across the rename, the requests after the graceful land in the new file, and once the
old children are gone no process of the server (master or new child) still holds a renamed file,
which is the master closing an old generation's log files (reference §3, Apache's pconf clear).
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from tests.harness.master import Running, error_log, get, master, snapshot
from tests.harness.server import ServerRoot, wait_until

BEFORE = 15  # requests before the rotation
AFTER = 15  # requests after the graceful restart
CONFIGS = {
    "prefork": "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 4\n",
    "worker": "StartServers 1\nServerLimit 4\nThreadsPerChild 2\nThreadLimit 2\n"
    "MinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
    "event": "StartServers 1\nServerLimit 4\nThreadsPerChild 2\nThreadLimit 2\n"
    "MinSpareThreads 1\nMaxSpareThreads 8\nMaxRequestWorkers 8\n",
}
LOG = 'LogFormat "%h %t \\"%r\\" %>s %b" plain\nCustomLog logs/access_log plain\n'


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def open_paths(pid: int) -> set[str]:
    """What /proc/<pid>/fd points at (empty once the process has gone)."""
    found = set()
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return found
    for name in names:
        try:
            found.add(os.readlink(f"/proc/{pid}/fd/{name}"))
        except OSError:
            pass
    return found


def generations(running: Running) -> set[str]:
    """The children's process titles ("pyhttpd: child (generation N)")."""
    titles = set()
    for child in running.children():
        try:
            titles.add(" ".join(child.cmdline()))
        except psutil.Error:
            pass
    return titles


def new_generation_serving(root: ServerRoot, running: Running) -> bool:
    titles = generations(running)
    if not titles or any("generation 0" in title for title in titles):
        return False
    board = snapshot(root)
    return board.idle_workers() >= 1 and all(
        process.generation == 1 for process in board.processes if process.pid
    )


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_log_rotation_by_mv_then_graceful_loses_no_access_line(tmp_path: Path, mpm: str) -> None:
    root = ServerRoot(tmp_path, mpm=mpm)
    (root.htdocs / "index.html").write_text("hello\n")
    root.write_config(CONFIGS[mpm] + LOG + "LogLevel info\n")
    logs = root.path / "logs"
    access, rotated = logs / "access_log", logs / "access_log.1"
    with master(root, idle=1) as running:
        for number in range(BEFORE):
            assert get(root.port, f"/index.html?before={number}") == 200
        os.rename(access, rotated)
        os.rename(logs / "error_log", logs / "error_log.1")
        os.kill(running.pid, signal.SIGUSR1)
        assert wait_until(lambda: new_generation_serving(root, running), timeout=15), error_log(
            root
        )
        for number in range(AFTER):
            assert get(root.port, f"/index.html?after={number}") == 200

        # log_transaction runs after the response: wait for the last lines to land
        def complete() -> bool:
            return len(lines(rotated)) + len(lines(access)) >= BEFORE + AFTER

        assert wait_until(complete, timeout=10)
        old, new = lines(rotated), lines(access)
        assert len(old) + len(new) == BEFORE + AFTER
        assert all("?after=" not in line for line in old)
        assert sum("?after=" in line for line in new) == AFTER
        assert sum("?before=" in line for line in old + new) == BEFORE

        # Nothing of this server holds a renamed log once the old children are gone: the
        # master closed generation 0's files and the new children never inherited them.
        renamed = {str(rotated), str(logs / "error_log.1")}

        def released() -> bool:
            holders = [running.pid] + [child.pid for child in running.children()]
            return not any(open_paths(pid) & renamed for pid in holders)

        assert wait_until(released, timeout=10), open_paths(running.pid)
        assert str(access) in open_paths(running.pid)
        assert "resuming normal operations" in error_log(root)  # the reopened error log


def test_a_restart_reopens_the_logs_and_keeps_no_renamed_one(tmp_path: Path) -> None:
    root = ServerRoot(tmp_path, mpm="prefork")
    (root.htdocs / "index.html").write_text("hello\n")
    root.write_config(CONFIGS["prefork"] + LOG)
    logs = root.path / "logs"
    with master(root, idle=1) as running:
        assert get(root.port, "/index.html?first") == 200
        os.rename(logs / "access_log", logs / "access_log.1")
        os.kill(running.pid, signal.SIGHUP)
        assert wait_until(lambda: new_generation_serving(root, running), timeout=15)
        assert get(root.port, "/index.html?second") == 200
        assert wait_until(lambda: any("?second" in x for x in lines(logs / "access_log")), 10)
        assert str(logs / "access_log.1") not in open_paths(running.pid)
        assert all("?second" not in line for line in lines(logs / "access_log.1"))
