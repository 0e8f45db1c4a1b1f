"""Authorization and authentication providers at start-up: `pyhttpd -t` and Debian's `apache2 -t`
on one configuration file.

Apache finds a Require line's provider, and lets it parse its arguments, when the configuration
is read; AuthBasicProvider finds its providers the same way. So an unknown provider (or one whose
module is not loaded) and a bad argument fail the syntax check with AH00526, file and line. The
same file, with the same LoadModule lines, goes to both (run side by side); stderr and the exit
code must match (a good file: both say Syntax OK). Skipped when /usr/sbin/apache2 is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.differential.test_vs_apache import APACHE, APACHE_MODULES

REPO = Path(__file__).resolve().parents[2]
BASIC = ("authn_core", "auth_basic")

CASES = [
    (("authz_core", "authz_host"), "Require ipp 10.0.0.0/8"),
    (("authz_core", "authz_host"), "Require ip 300.1.1.1"),
    (("authz_core",), "Require user bob"),
    (BASIC, "AuthBasicProvider file"),
    ((*BASIC, "authn_file"), "AuthBasicProvider file nosuch"),
    ((*BASIC, "authn_file", "authz_core", "authz_user"), "AuthBasicProvider file\nRequire user a"),
]


def _config(root: Path, modules: tuple[str, ...], body: str) -> Path:
    loads = [f"LoadModule mpm_event_module {APACHE_MODULES}/mod_mpm_event.so"]
    loads += [f"LoadModule {name}_module {APACHE_MODULES}/mod_{name}.so" for name in modules]
    text = [
        f"ServerRoot {root}",
        "ServerName localhost",
        f"DocumentRoot {root}/htdocs",
        "ErrorLog logs/error_log",
        *loads,
        f"<Directory {root}/htdocs>",
        body,
        "</Directory>",
    ]
    path = root / "httpd.conf"
    path.write_text("\n".join(text) + "\n")
    return path


def _start(argv: list[str], root: Path) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if key != "PYHTTPD_ROOT"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env, cwd=root
    )


def _result(process: subprocess.Popen[str]) -> tuple[int, str]:
    _, stderr = process.communicate(timeout=60)
    return process.returncode, stderr


@pytest.mark.parametrize(("modules", "body"), CASES)
def test_provider_errors_fail_the_syntax_check_as_in_apache(
    tmp_path: Path, modules: tuple[str, ...], body: str
) -> None:
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "logs").mkdir()
    path = _config(tmp_path, modules, body)
    apache = _start([APACHE, "-t", "-f", str(path)], tmp_path)
    ours = _start([sys.executable, "-m", "pyhttpd", "-d", str(tmp_path), "-f", str(path), "-t"],
                  tmp_path)  # fmt: skip
    assert _result(ours) == _result(apache)
