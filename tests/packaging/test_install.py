"""`make install`: the FHS tree, the launchers, and dpkg's rule for changed configuration files.

packaging/install.sh runs for real, relocated under a temporary folder (tests/packaging/installed.py)
or staged with DESTDIR; the installed launchers run on Debian's python3.
"""

from __future__ import annotations

import hashlib
import stat
import subprocess
from pathlib import Path

from tests.harness.server import REPO
from tests.packaging.installed import LAUNCHERS, install_tree, require_system_python


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_install_lays_out_the_tree_and_the_launchers_run(tmp_path: Path) -> None:
    require_system_python()
    tree = install_tree(tmp_path)
    for name in LAUNCHERS:
        launcher = tree.sbin / name
        assert launcher.stat().st_mode & 0o111 and launcher.read_text().startswith("#!/usr/bin/py")
    assert (tree.etc / "httpd.conf").is_file() and (tree.etc / "mime.types").is_file()
    assert (tree.etc / "mods-available" / "mpm_prefork.load").is_file()
    enabled = tree.etc / "mods-enabled"
    assert (enabled / "mpm_event.load").resolve() == tree.etc / "mods-available/mpm_event.load"
    assert {p.name for p in enabled.iterdir()} == {
        p.name for p in (REPO / "mods-enabled").iterdir()
    }
    assert stat.S_IMODE(tree.logs.stat().st_mode) == 0o750
    assert (tree.www / "index.html").read_bytes() == (REPO / "htdocs/index.html").read_bytes()
    config = (tree.etc / "httpd.conf").read_text()
    assert f"PidFile {tree.run}/httpd.pid" in config and f"ErrorLog {tree.logs}/error.log" in config
    assert "User www-data" in config and f"DocumentRoot {tree.www}" in config
    unit = (tree.units / "pyhttpd.service").read_text()
    assert f"ExecStart={tree.sbin}/pyhttpd -D FOREGROUND" in unit
    assert f"{tree.logs}/*.log" in tree.logrotate.read_text()
    # The launchers default to the installed ServerRoot and httpd.conf (no -d, no -f).
    assert tree.command("pyhttpd", "-t").stderr.strip() == "Syntax OK"
    assert tree.command("pyhttpd-query", "-M").stdout.strip() == "event"
    tree.command("pyhttpd-dismod", "-q", "mpm_event")
    tree.command("pyhttpd-enmod", "-q", "mpm_prefork")
    assert tree.command("pyhttpd", "-M").stdout.count("mpm_prefork_module") == 1


def test_an_upgrade_never_overwrites_a_changed_configuration_file(tmp_path: Path) -> None:
    tree = install_tree(tmp_path)
    config, types = tree.etc / "httpd.conf", tree.etc / "mime.types"
    default_config = config.read_text()
    config.write_text(default_config + "# the administrator's line\n")
    # mime.types as an older release left it, untouched since: an upgrade replaces it
    sums = tree.base / "usr/share/pyhttpd/conffiles.md5sums"
    types.write_text("text/plain txt\n")
    sums.write_text(
        "".join(
            f"{md5(types)} {line.split()[1]}\n" if line.endswith(f" {types}") else line + "\n"
            for line in sums.read_text().splitlines()
        )
    )
    (tree.etc / "mods-enabled" / "status.load").unlink()  # the administrator's choice
    (tree.etc / "mods-enabled" / "status.conf").unlink()

    install_tree(tmp_path)

    assert config.read_text().endswith("# the administrator's line\n")
    assert (tree.etc / "httpd.conf.pyhttpd-new").read_text() == default_config
    assert types.read_bytes() == (REPO / "conf/mime.types").read_bytes()
    assert not (tree.etc / "mime.types.pyhttpd-new").exists()
    assert not (tree.etc / "mods-enabled" / "status.load").exists()

    config.write_text(default_config)  # back to the default: the next upgrade updates it again
    install_tree(tmp_path)
    assert not (tree.etc / "httpd.conf.pyhttpd-new").exists()


def test_make_install_honours_prefix_and_destdir(tmp_path: Path) -> None:
    stage = tmp_path / "stage"
    subprocess.run(
        ["make", "-s", "-C", str(REPO), "install", f"DESTDIR={stage}", "PREFIX=/usr"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    launcher = (stage / "usr/sbin/pyhttpd").read_text()
    assert 'LIBDIR = "/usr/lib/pyhttpd"' in launcher and str(stage) not in launcher
    assert (stage / "usr/lib/pyhttpd/pyhttpd/server/master.py").is_file()
    assert "PidFile /run/pyhttpd/httpd.pid" in (stage / "etc/pyhttpd/httpd.conf").read_text()
    assert (
        "ExecStart=/usr/sbin/pyhttpd" in (stage / "lib/systemd/system/pyhttpd.service").read_text()
    )
    assert (stage / "etc/logrotate.d/pyhttpd").is_file()
    assert (stage / "var/log/pyhttpd").is_dir() and (stage / "var/www/pyhttpd/index.html").is_file()
    assert (stage / "etc/pyhttpd/mods-enabled/mpm_event.load").is_symlink()
