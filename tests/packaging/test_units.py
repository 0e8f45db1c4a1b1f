"""The systemd units and the logrotate rule as installed: systemd's own verifier, and the settings
the service depends on. systemd is not PID 1 here, so the units are verified, not started; what
they drive (sd_notify, LISTEN_FDS) is tested for real in tests/server/test_systemd.py.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.installed import Tree, install_tree


def unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Tree:
    return install_tree(tmp_path_factory.mktemp("installed"))


def test_systemd_analyze_verifies_the_units(tree: Tree) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    result = subprocess.run(
        ["systemd-analyze", "verify", "pyhttpd.service", "pyhttpd.socket"],
        cwd=tree.units, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr


def test_the_service_is_a_notify_unit_with_graceful_reload_and_stop() -> None:
    service = unit(Path(__file__).parents[2] / "packaging/systemd/pyhttpd.service")["Service"]
    assert service["Type"] == "notify" and service["NotifyAccess"] == "main"
    assert service["ExecStart"] == "/usr/sbin/pyhttpd -D FOREGROUND"
    assert service["ExecReload"] == "/usr/sbin/pyhttpdctl graceful"
    assert service["ExecStop"] == "/usr/sbin/pyhttpdctl graceful-stop"
    assert service["KillMode"] == "mixed" and service["PrivateTmp"] == "true"
    assert service["Restart"] == "on-failure" and service["RuntimeDirectory"] == "pyhttpd"
    socket_unit = unit(Path(__file__).parents[2] / "packaging/systemd/pyhttpd.socket")
    assert socket_unit["Socket"]["Service"] == "pyhttpd.service"


def test_logrotate_accepts_the_rule(tree: Tree, tmp_path: Path) -> None:
    if shutil.which("logrotate") is None:
        pytest.skip("logrotate is not installed")
    result = subprocess.run(
        ["logrotate", "--debug", "--state", str(tmp_path / "state"), str(tree.logrotate)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"rotating pattern: {tree.logs}/*.log" in result.stderr
