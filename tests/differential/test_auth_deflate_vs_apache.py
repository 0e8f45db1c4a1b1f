"""Basic authentication and mod_deflate: pyhttpd -X and Debian's apache2 on one configuration.

The same raw requests go to both servers (test_vs_apache's two_servers, with mod_auth_basic,
mod_authn_core, mod_authn_file, mod_authz_user, mod_filter and mod_deflate loaded in both by
the same LoadModule lines). Compared: the status, WWW-Authenticate, Content-Encoding, Vary,
Content-Length, whether the ETag got its -gzip suffix, the body (compressed bytes included),
and the error-log line each failed authentication writes (AH number and text). Password files
are made by htpasswd in every format. Skipped when /usr/sbin/apache2 is missing.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.differential.test_vs_apache import APACHE_MODULES, Servers, _exchange, two_servers
from tests.harness.server import wait_until

MODULES = ("authn_core", "authn_file", "auth_basic", "authz_user", "filter", "deflate")
FORMATS = {"bcrypt": "-B", "md5": "-m", "sha": "-s", "crypt": "-d", "plain": "-p"}
COMPARED = ("www-authenticate", "content-encoding", "vary", "content-length")


def _extra(passwords: Path) -> str:
    loads = [f"LoadModule {m}_module {APACHE_MODULES}/mod_{m}.so" for m in MODULES]
    sections = [
        f'<Location /{name}/>\nAuthType Basic\nAuthName "{name}"\n'
        f"AuthUserFile {passwords}/{name}\nRequire valid-user\n</Location>"
        for name in FORMATS
    ]
    sections.append(
        f"<Location /only/>\nAuthType Basic\nAuthName Only\nAuthUserFile {passwords}/md5\n"
        "Require user alice\n</Location>"
    )
    return "\n".join([*loads, "AddOutputFilterByType DEFLATE text/plain", *sections]) + "\n"


@pytest.fixture(scope="module")
def servers() -> Iterator[Servers]:
    passwords = Path(tempfile.mkdtemp(prefix="pyhttpd-auth-"))
    try:
        passwords.chmod(0o755)  # Apache's children run as nobody
        for name, flag in FORMATS.items():
            for user in ("alice", "carol"):
                create = ["-c"] if user == "alice" else []
                subprocess.run(
                    ["htpasswd", "-b", *create, flag, str(passwords / name), user, "pw-123"],
                    check=True,
                    capture_output=True,
                )
            (passwords / name).chmod(0o644)
        with two_servers(_extra(passwords)) as both:
            yield both
    finally:
        shutil.rmtree(passwords, ignore_errors=True)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


CASES: dict[str, tuple[str, dict[str, str]]] = {
    **{f"{name} right": (f"/{name}/", {"Authorization": _basic("alice", "pw-123")}) for name in FORMATS},
    **{f"{name} wrong": (f"/{name}/", {"Authorization": _basic("carol", "wrong-pw")}) for name in FORMATS},
    "no header": ("/md5/", {}),
    "unknown user": ("/sha/", {"Authorization": _basic("mallory", "x")}),
    "wrong scheme": ("/md5/", {"Authorization": "Bearer abc"}),
    "bad base64": ("/md5/", {"Authorization": "Basic !!!!"}),
    "no colon": ("/md5/", {"Authorization": "Basic " + base64.b64encode(b"alice").decode()}),
    "require user refused": ("/only/", {"Authorization": _basic("carol", "pw-123")}),
    "require user granted": ("/only/", {"Authorization": _basic("alice", "pw-123")}),
    "gzip": ("/range.txt", {"Accept-Encoding": "gzip"}),
    "gzip q=0": ("/range.txt", {"Accept-Encoding": "gzip;q=0"}),
    "no accept-encoding": ("/range.txt", {}),
    "tiny file": ("/index.html", {"Accept-Encoding": "gzip"}),
}  # fmt: skip


def _ask(port: int, path: str, headers: dict[str, str]) -> tuple[str, dict[str, str], bytes]:
    lines = [f"GET {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    response = _exchange(port, ("\r\n".join(lines) + "\r\n\r\n").encode())
    head, _, body = response.partition(b"\r\n\r\n")
    status_line, *fields = head.decode("latin-1").split("\r\n")
    found: dict[str, str] = {}
    for field in fields:
        name, _, value = field.partition(":")
        found.setdefault(name.strip().lower(), value.strip())
    compared = {name: found.get(name, "-") for name in COMPARED}
    compared["etag -gzip"] = str(found.get("etag", "").endswith('-gzip"'))
    return status_line.split(" ", 2)[1], compared, body


def _error_lines(path: Path) -> list[str]:
    """The AH-numbered lines of an error log, without their time, pid and client port."""
    text = path.read_text() if path.exists() else ""
    found = re.findall(r"\[(\w+:\w+)\] .*?\] (AH0161\d|AH0163\d): (.*)", text)
    return [f"[{where}] {tag}: {message}" for where, tag, message in found]


@pytest.mark.parametrize("name", list(CASES))
def test_same_answer_as_apache(servers: Servers, name: str) -> None:
    path, headers = CASES[name]
    apache = _ask(servers.apache, path, headers)
    ours = _ask(servers.pyhttpd, path, headers)
    assert ours == apache


def test_same_error_log_lines_as_apache(servers: Servers) -> None:
    for path, headers in CASES.values():
        _ask(servers.apache, path, headers)
        _ask(servers.pyhttpd, path, headers)
    apache_log = servers.root / "logs-apache" / "error_log"
    ours_log = servers.root / "logs" / "error_log"
    assert wait_until(lambda: len(_error_lines(ours_log)) >= len(_error_lines(apache_log)) > 0)
    assert sorted(set(_error_lines(ours_log))) == sorted(set(_error_lines(apache_log)))
