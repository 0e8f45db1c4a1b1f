"""The installed service as root: a privileged port, children as www-data, logrotate's rotation.

The tree is `make install`'s, relocated under a world-readable folder in /tmp (the children run
as www-data and must reach the document root); the server is started and stopped with the
installed `pyhttpdctl`, on port 80 or another free port below 1024. Skipped when not root.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from pyhttpd.scoreboard import Scoreboard
from tests.harness.master import get
from tests.harness.server import wait_until
from tests.packaging.installed import (
    Tree,
    free_port_below_1024,
    install_tree,
    installed_server,
    load_running,
    public_directory,
    require_system_python,
)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (User www-data, port < 1024)")
AFTER = 10  # requests after the rotation's graceful restart


@pytest.fixture
def tree() -> Iterator[Tree]:
    require_system_python()
    with public_directory() as base:
        yield install_tree(base)


def ids(pid: int) -> dict[str, list[int]]:
    """Uid, Gid (real, effective, saved, filesystem), Groups and the capability sets."""
    found: dict[str, list[int]] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("Uid", "Gid", "Groups"):
            found[key] = [int(word) for word in value.split()]
        elif key in ("CapInh", "CapPrm", "CapEff"):
            found[key] = [int(value.strip(), 16)]
    return found


def test_root_binds_a_privileged_port_and_children_run_as_www_data(tree: Tree) -> None:
    port = free_port_below_1024()
    www = pwd.getpwnam("www-data")
    with installed_server(tree, port) as master:
        assert get(port, "/index.html") == 200
        children = psutil.Process(master).children()
        assert children
        for child in children:
            found = ids(child.pid)
            assert found["Uid"] == [www.pw_uid] * 4 and found["Gid"] == [www.pw_gid] * 4
            assert found["Groups"] == [] and found["CapPrm"] == found["CapEff"] == [0]
        # The master stays root, as Apache's does, for what only it does: reopening the logs and
        # re-reading the configuration on a restart. It never holds a client connection: its
        # only inet sockets are the listeners.
        assert ids(master)["Uid"][1] == 0
        sockets = psutil.Process(master).net_connections(kind="inet")
        assert sockets and all(s.status == psutil.CONN_LISTEN for s in sockets)
        assert {s.laddr.port for s in sockets} == {port}


def generation_one(tree: Tree, master: int) -> bool:
    """The graceful restart is done: generation 1 serves and every generation-0 child left."""
    with Scoreboard.attach(tree.run / "apache_runtime_status") as board:
        serving = board.snapshot().running_generation == 1
    try:
        titles = [" ".join(child.cmdline()) for child in psutil.Process(master).children()]
    except psutil.Error:  # a generation-0 child between its exit and the master's reaping
        return False
    return serving and bool(titles) and all("generation 1" in title for title in titles)


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_logrotate_rotates_under_load_and_loses_no_line(tree: Tree, tmp_path: Path) -> None:
    if shutil.which("logrotate") is None:
        pytest.skip("logrotate is not installed")
    port = free_port_below_1024()
    access, rotated = tree.logs / "access.log", tree.logs / "access.log.1"
    with installed_server(tree, port) as master:
        with load_running(port) as results:
            # logrotate itself, forced: it renames the live logs and runs the postrotate command
            # (the installed pyhttpdctl status, then graceful)
            subprocess.run(
                ["logrotate", "--force", "--state", str(tmp_path / "state"), str(tree.logrotate)],
                check=True, capture_output=True, timeout=60, env=tree.environment(),
            )  # fmt: skip
        assert wait_until(lambda: generation_one(tree, master), timeout=20)
        for number in range(AFTER):
            assert get(port, f"/index.html?after={number}") == 200
        total = results["ok"] + AFTER

        def complete() -> bool:
            return len(lines(rotated)) + len(lines(access)) >= total

        assert wait_until(complete, timeout=10), (len(lines(rotated)), len(lines(access)), total)
    old, new = lines(rotated), lines(access)
    assert results["failed"] == 0 and len(old) + len(new) == total
    assert old and all("?after=" not in line for line in old)
    assert sum("?after=" in line for line in new) == AFTER
    assert oct(access.stat().st_mode & 0o777) == "0o640"  # logrotate's `create 640 root adm`
