"""`make deb`: the package's fields and conffiles, lintian, and a real install, upgrade-in-place
and purge with dpkg into a temporary root.

`dpkg --root DIR` would run the maintainer scripts chrooted into DIR, which holds no shell or
python3; `--force-script-chrootless` runs them here with $DPKG_ROOT=DIR instead, and the scripts
prefix every path with it (and skip systemd). `--force-depends`: DIR's fresh dpkg database knows
none of python3's packages. The live system is not touched.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.server import REPO

pytestmark = pytest.mark.skipif(shutil.which("dpkg-deb") is None, reason="dpkg-deb missing")


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    out = tmp_path_factory.mktemp("deb")
    result = subprocess.run(
        [str(REPO / "packaging/debian/build.sh")], env={**os.environ, "OUT": str(out)},
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    yield Path(result.stdout.strip())


def dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends",
         "--log=/dev/null", *args],
        capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip


def test_the_package_marks_its_conffiles(deb: Path) -> None:
    fields = subprocess.run(
        ["dpkg-deb", "--field", str(deb), "Package", "Architecture", "Depends"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "Package: pyhttpd" in fields and "Architecture: all" in fields
    assert "python3-pyparsing" in fields and "python3-setproctitle" in fields
    conffiles = subprocess.run(
        ["dpkg-deb", "--info", str(deb), "conffiles"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert {"/etc/pyhttpd/httpd.conf", "/etc/pyhttpd/mime.types", "/etc/logrotate.d/pyhttpd",
            "/etc/pyhttpd/mods-available/mpm_event.load"} <= set(conffiles)  # fmt: skip
    contents = subprocess.run(
        ["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    for path in ("./usr/sbin/pyhttpdctl", "./lib/systemd/system/pyhttpd.service",
                 "./usr/lib/pyhttpd/pyhttpd/server/master.py"):  # fmt: skip
        assert path in contents
    assert "./etc/pyhttpd/mods-enabled/" not in contents  # postinst makes it, once


def test_lintian_finds_nothing(deb: Path) -> None:
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed")
    result = subprocess.run(
        ["lintian", "--fail-on", "warning", str(deb)], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout


def test_install_reinstall_and_purge_into_a_temporary_root(deb: Path, tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "var/lib/dpkg/info").mkdir(parents=True)
    (root / "var/lib/dpkg/updates").mkdir()
    for name in ("status", "available"):
        (root / "var/lib/dpkg" / name).touch()
    dpkg(root, "--install", str(deb))

    etc = root / "etc/pyhttpd"
    assert (etc / "mods-enabled/mpm_event.load").readlink() == Path(
        "../mods-available/mpm_event.load"
    )
    logs = (root / "var/log/pyhttpd").stat()
    assert stat.S_IMODE(logs.st_mode) == 0o750 and logs.st_uid == 0
    assert (root / "var/www/pyhttpd/index.html").read_bytes() == (
        REPO / "htdocs/index.html"
    ).read_bytes()
    assert list((root / "usr/lib/pyhttpd/pyhttpd").glob("__pycache__/*.pyc"))  # compiled

    # An administrator's changes survive a reinstall (dpkg's conffile rule), and the modules
    # they disabled stay disabled: postinst enables the defaults on the first install only.
    (etc / "httpd.conf").write_text((etc / "httpd.conf").read_text() + "# mine\n")
    (etc / "mods-enabled/status.load").unlink()
    dpkg(root, "--install", str(deb))
    assert (etc / "httpd.conf").read_text().endswith("# mine\n")
    assert not (etc / "mods-enabled/status.load").exists()

    dpkg(root, "--purge", "pyhttpd")
    left = sorted(
        str(path.relative_to(root)) for path in root.rglob("*")
        if not str(path.relative_to(root)).startswith("var/lib/dpkg") and not path.is_dir()
    )  # fmt: skip
    assert left == []
    assert not etc.exists() and not (root / "var/log/pyhttpd").exists()
