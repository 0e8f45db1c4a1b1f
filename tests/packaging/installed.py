"""An installed pyhttpd for the packaging tests: `packaging/install.sh` run for real, relocated.

`install_tree(base)` runs `make install`'s script with every FHS directory moved under `base`
(PREFIX=base/usr, SYSCONFDIR=base/etc/pyhttpd, LOGDIR=base/var/log/pyhttpd, …), so the launchers,
the localized configuration, the unit and the logrotate rule are the ones an administrator gets,
only rooted elsewhere. The launchers run on Debian's /usr/bin/python3 and its python3-* packages
(`make system-deps`). `public_directory()` is a 0755 folder under /tmp, because a root-started
server's children run as www-data and must be able to reach the document root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.harness.master import steady_load
from tests.harness.server import REPO, port_open, wait_until

SYSTEM_PYTHON = "/usr/bin/python3"
LAUNCHERS = ("pyhttpd", "pyhttpdctl", "pyhttpd-enmod", "pyhttpd-dismod", "pyhttpd-query")


def require_system_python() -> None:
    probe = "import pyparsing, click, psutil, setproctitle"
    if subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True).returncode != 0:
        pytest.skip("Debian's python3 libraries are missing: run `make system-deps`")


@dataclass(frozen=True)
class Tree:
    """Where one relocated install put things."""

    base: Path

    @property
    def sbin(self) -> Path:
        return self.base / "usr" / "sbin"

    @property
    def etc(self) -> Path:
        return self.base / "etc" / "pyhttpd"

    @property
    def logs(self) -> Path:
        return self.base / "var" / "log" / "pyhttpd"

    @property
    def www(self) -> Path:
        return self.base / "var" / "www" / "pyhttpd"

    @property
    def run(self) -> Path:
        return self.base / "run" / "pyhttpd"

    @property
    def units(self) -> Path:
        return self.base / "lib" / "systemd" / "system"

    @property
    def logrotate(self) -> Path:
        return self.base / "etc" / "logrotate.d" / "pyhttpd"

    def environment(self) -> dict[str, str]:
        """The caller's environment minus anything pointing at the checkout."""
        drop = ("PYHTTPD_ROOT", "PYHTTPD_CONFIG", "PYTHONPATH", "VIRTUAL_ENV")
        values = {key: value for key, value in os.environ.items() if key not in drop}
        values["PATH"] = f"{self.sbin}:/usr/sbin:/usr/bin:/sbin:/bin"
        return values

    def command(self, name: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(self.sbin / name), *args], capture_output=True, text=True,
            env=self.environment(), timeout=60, check=check,
        )  # fmt: skip


def install_tree(base: Path, **extra: str) -> Tree:
    tree = Tree(base)
    variables = {
        "PREFIX": str(base / "usr"),
        "SYSCONFDIR": str(tree.etc),
        "LOGDIR": str(tree.logs),
        "WWWDIR": str(tree.www),
        "RUNDIR": str(tree.run),
        "UNITDIR": str(tree.units),
        "LOGROTATEDIR": str(tree.logrotate.parent),
        "DESTDIR": "",
        **extra,
    }
    subprocess.run(
        [str(REPO / "packaging" / "install.sh")], env={**os.environ, **variables},
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return tree


@contextlib.contextmanager
def public_directory() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pyhttpd-pkg-", dir="/tmp"))
    try:
        path.chmod(0o755)
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def free_port_below_1024() -> int:
    """A privileged port nothing listens on (80 first), for the root tests."""
    for port in (80, *range(1023, 600, -1)):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port below 1024")


@contextlib.contextmanager
def installed_server(tree: Tree, port: int) -> Iterator[int]:
    """`pyhttpdctl start` on the installed tree (port via -C); yields the master pid and stops
    it by pid (SIGTERM, as `pyhttpdctl stop` would send, without two more interpreters)."""
    define = ("-C", f"Define PYHTTPD_PORT {port}")
    tree.command("pyhttpdctl", "start", *define)
    pid = int((tree.run / "httpd.pid").read_text())
    try:
        assert wait_until(lambda: port_open(port), timeout=15)
        yield pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
            if not wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=15):
                os.kill(pid, signal.SIGKILL)


@contextlib.contextmanager
def load_running(port: int, first: int = 20) -> Iterator[dict[str, int]]:
    """test_master's bounded steady_load in a thread; yields its counts once `first` requests
    were answered, and stops it when the block ends."""
    results = {"ok": 0, "failed": 0}
    stop = threading.Event()
    load = threading.Thread(target=steady_load, args=(port, results, stop))
    load.start()
    try:
        assert wait_until(lambda: results["ok"] >= first, timeout=15)
        yield results
    finally:
        stop.set()
        load.join(timeout=30)
