"""mod_cgi beside Debian's apache2: the same scripts on one tree, the same requests, compared.

Both servers run the printenv-style Python script of tests/modules/test_cgi.py (and its failing
scripts) from the same directories with the same directives; what is compared is the whole CGI
environment the script sees (less REMOTE_PORT; SERVER_SOFTWARE, each server's own banner, is
masked), the status of each answer, and the cgi lines each error log gets (after the client).
Skipped when /usr/sbin/apache2 is missing (`make test` installs it).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.harness.server import ServerRoot, free_port, port_open, running_server, wait_until
from tests.modules.test_cgi import SCRIPTS

APACHE = "/usr/sbin/apache2"
MODULES = ("authz_core", "alias", "mime", "env", "cgi")

if not os.access(APACHE, os.X_OK):
    pytest.skip(
        "Debian's apache2 is not installed (make test installs it)", allow_module_level=True
    )

COMMON = """
ServerName localhost
ServerAdmin admin@example.com
ServerSignature On
TypesConfig /etc/mime.types
ScriptAlias /cgi-bin/ {root}/cgi-bin/
Alias /noexec/ {root}/noexec/
AddHandler cgi-script .cgi
SetEnv MYVAR myvalue
<Directory {root}>
    Require all granted
</Directory>
<Directory {root}/htdocs>
    Options ExecCGI
</Directory>
<Directory {root}/noexec>
    Options None
</Directory>
"""
REQUESTS = {
    "path info and query": "GET /cgi-bin/env.py/extra/path?a=1&b=2 HTTP/1.1\r\n"
    "Host: localhost:8080\r\nX-Foo: bar\r\nX-Foo: baz\r\nAuthorization: Basic eA==\r\n"
    "Proxy: http://evil/\r\nX_Under: x\r\nCookie: a=1\r\nConnection: close\r\n\r\n",
    "post to AddHandler script": "POST /env.cgi HTTP/1.1\r\nHost: localhost:8080\r\n"
    "Content-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc",
    "isindex query": "GET /cgi-bin/env.py?one+two%20three HTTP/1.1\r\nHost: localhost:8080\r\n"
    "Connection: close\r\n\r\n",
    "http/1.0 without host": "GET /cgi-bin/env.py HTTP/1.0\r\n\r\n",
    "exec cgi off": "GET /noexec/env.cgi HTTP/1.0\r\n\r\n",
    "missing script": "GET /cgi-bin/missing.py HTTP/1.0\r\n\r\n",
    "malformed header": "GET /cgi-bin/bad.sh HTTP/1.0\r\n\r\n",
    "no output": "GET /cgi-bin/empty.sh HTTP/1.0\r\n\r\n",
    "not executable": "GET /cgi-bin/notexec.sh HTTP/1.0\r\n\r\n",
}
_CGI_LINE = re.compile(r"\[cgi:\w+\] \[pid [^]]*\] \[client [^]]*\] (.*)")


def _tree(root: Path) -> None:
    scripts = {**SCRIPTS, "htdocs/env.cgi": SCRIPTS["cgi-bin/env.py"]}
    for name, text in scripts.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        # Apache's children run as nobody, who may not reach this venv's interpreter
        path.write_text(re.sub(r"^#!\S*python\S*", "#!/usr/bin/python3", text))
        path.chmod(0o644 if "notexec" in name or name.endswith(".txt") else 0o755)
    for path in [root, *root.rglob("*")]:
        if path.is_dir():
            path.chmod(0o755)  # Apache's children and scripts may run as nobody


def _start_apache(root: Path, port: int) -> Path:
    logs = root / "logs-apache"
    logs.mkdir()
    lines = [f"ServerRoot {root}", "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so"]
    lines += [f"LoadModule {m}_module modules/mod_{m}.so" for m in MODULES]
    lines += [f"Listen 127.0.0.1:{port}", f"PidFile {logs}/pid", f"ErrorLog {logs}/error_log"]
    lines += [f"Mutex file:{logs} default", f"DocumentRoot {root}/htdocs", "LogLevel info"]
    lines += ["StartServers 1"] + (["User #65534", "Group #65534"] if os.geteuid() == 0 else [])
    config = root / "apache.conf"
    config.write_text("\n".join(lines) + COMMON.format(root=root) + "\n")
    (root / "modules").symlink_to("/usr/lib/apache2/modules")
    started = subprocess.run(
        [APACHE, "-d", str(root), "-f", str(config), "-k", "start"], capture_output=True, timeout=30
    )
    assert started.returncode == 0, started.stderr.decode()
    assert wait_until(lambda: port_open(port) and (logs / "pid").exists())
    return config


def _exchange(port: int, data: str) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data.encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _environment(response: bytes, port: int) -> dict[str, str]:
    head, _, body = response.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        pieces, rest = [], body
        while (size := int(rest.split(b"\r\n", 1)[0], 16)) > 0:
            rest = rest.split(b"\r\n", 1)[1]
            pieces.append(rest[:size])
            rest = rest[size + 2 :]
        body = b"".join(pieces)
    text = body.decode().replace(str(port), "PORT")  # the servers' own ports differ
    found = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    found.pop("REMOTE_PORT", None)
    software = found.pop("SERVER_SOFTWARE", "")  # each server's own banner, in the signature too
    return {key: value.replace(software, "SOFTWARE") for key, value in found.items()}


def _cgi_lines(log: Path) -> list[str]:
    text = log.read_text() if log.exists() else ""
    return [m.group(1) for m in map(_CGI_LINE.search, text.splitlines()) if m]


Answers = dict[str, tuple[bytes, bytes, list[str], list[str]]]


@pytest.fixture(scope="module")
def answers() -> Iterator[tuple[Answers, int, int]]:
    root = Path(tempfile.mkdtemp(prefix="pyhttpd-cgi-diff-"))
    _tree(root)
    apache_port = free_port()
    config = _start_apache(root, apache_port)
    apache_log, our_log = root / "logs-apache" / "error_log", root / "logs" / "error_log"
    try:
        ours = ServerRoot(root)
        ours.write_config(COMMON.format(root=root) + "LogLevel info\n", modules=MODULES)
        found: Answers = {}
        with running_server(ours):
            for name, data in REQUESTS.items():
                apache_before, our_before = len(_cgi_lines(apache_log)), len(_cgi_lines(our_log))
                apache, mine = _exchange(apache_port, data), _exchange(ours.port, data)

                def logged_alike(
                    apache_before: int = apache_before, ours: int = our_before
                ) -> bool:
                    expected = len(_cgi_lines(apache_log)) - apache_before
                    return len(_cgi_lines(our_log)) - ours >= expected

                wait_until(logged_alike, timeout=5)
                found[name] = (
                    apache,
                    mine,
                    _cgi_lines(apache_log)[apache_before:],
                    _cgi_lines(our_log)[our_before:],
                )
            yield found, apache_port, ours.port
    finally:
        pid = int((root / "logs-apache" / "pid").read_text())
        subprocess.run(
            [APACHE, "-d", str(root), "-f", str(config), "-k", "stop"],
            capture_output=True,
            timeout=30,
        )
        wait_until(lambda: not psutil.pid_exists(pid) or _zombie(pid), timeout=15)
        shutil.rmtree(root, ignore_errors=True)


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@pytest.mark.parametrize("name", list(REQUESTS))
def test_same_answer_as_apache(name: str, answers: tuple[Answers, int, int]) -> None:
    found, apache_port, our_port = answers
    apache, mine, apache_lines, our_lines = found[name]
    assert mine.split(b" ", 2)[1] == apache.split(b" ", 2)[1]
    if apache.split(b" ", 2)[1] == b"200":
        assert _environment(mine, our_port) == _environment(apache, apache_port)
    assert our_lines == apache_lines
