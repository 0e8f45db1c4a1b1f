"""mod_cgi against a real pyhttpd -X, and one CGI request under each MPM with the real master.

Expected environments, statuses and error-log lines were taken from Debian's Apache 2.4.71
(mod_cgi, prefork) running the same scripts on the same layout: its values are the reference
except SERVER_SOFTWARE (pyhttpd's own banner). Scripts are Python and /bin/sh, run with no shell
in between.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from pyhttpd.http.cgi_env import header_variable
from pyhttpd.modules.mod_cgi import build_argv
from tests.harness.master import error_log, master
from tests.harness.server import ServerRoot, running_server, status_of, wait_until

ENV_PY = f"""#!{sys.executable}
import os, sys
sys.stdout.write("Content-Type: text/plain\\r\\n\\r\\n")
for key in sorted(os.environ):
    sys.stdout.write(f"{{key}}={{os.environ[key]}}\\n")
sys.stdout.write("CWD=" + os.getcwd() + "\\n")
sys.stdout.write("ARGV=" + "|".join(sys.argv[1:]) + "\\n")
"""
ECHO_PY = f"""#!{sys.executable}
import os, sys
data = sys.stdin.buffer.read()
sys.stdout.write("Content-Type: application/octet-stream\\n\\n")
sys.stdout.flush()
length = os.environ.get("CONTENT_LENGTH", "-")
sys.stdout.buffer.write(b"CL=%s len=%d\\n" % (length.encode(), len(data)) + data)
"""
SCRIPTS = {
    "cgi-bin/env.py": ENV_PY,
    "cgi-bin/echo.py": ECHO_PY,
    "cgi-bin/args.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\nfor a; do echo \"[$a]\"; done\n",
    "cgi-bin/err.sh": "#!/bin/sh\necho 'oops on stderr' >&2\necho 'second line' >&2\n"
    "printf 'Content-Type: text/plain\\n\\nok\\n'\n",
    "cgi-bin/status.sh": "#!/bin/sh\nprintf 'Status: 418 I am a teapot\\nContent-Type: text/plain"
    "\\nX-Custom: yes\\nX-Custom: again\\n\\nteapot\\n'\n",
    "cgi-bin/away.sh": "#!/bin/sh\nprintf 'Location: http://example.com/elsewhere\\n\\nignored\\n'\n",
    "cgi-bin/moved.sh": "#!/bin/sh\nprintf 'Status: 301\\nLocation: /x\\n\\nmine\\n'\n",
    "cgi-bin/local.sh": "#!/bin/sh\nprintf 'Location: /hello.txt\\n\\n'\n",
    "cgi-bin/nph-raw.sh": "#!/bin/sh\nprintf 'HTTP/1.0 203 Whatever\\r\\nContent-Type: text/plain"
    "\\r\\nX-Nph: 1\\r\\n\\r\\nraw body\\n'\n",
    "cgi-bin/bad.sh": "#!/bin/sh\necho 'not a header line'\n",
    "cgi-bin/empty.sh": "#!/bin/sh\nexit 1\n",
    "cgi-bin/hang.sh": '#!/bin/sh\nsleep 30 &\necho $! > "$PIDS/hang"\nwait\n',
    "cgi-bin/late.sh": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nstart\\n'\n"
    'sleep 30 &\necho $! > "$PIDS/late"\nwait\n',
    "htdocs/app.cgi": "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nhandled by AddHandler\\n'\n",
    "htdocs/hello.txt": "hello\n",
    "noexec/env.cgi": "#!/bin/sh\necho never\n",
    "cgi-bin/notexec.sh": "#!/bin/sh\necho never\n",
}


def _config(root: ServerRoot) -> str:
    base = root.path
    return f"""
ServerAdmin admin@example.com
Timeout 2
TypesConfig /etc/mime.types
ScriptAlias /cgi-bin/ {base}/cgi-bin/
Alias /noexec/ {base}/noexec/
AddHandler cgi-script .cgi
SetEnv MYVAR myvalue
SetEnv PIDS {base}/pids
<Directory {root.htdocs}>
    Options ExecCGI
</Directory>
<Directory {base}/noexec>
    Options None
</Directory>
"""


def _make(tmp: Path, mpm: str = "event") -> ServerRoot:
    root = ServerRoot(tmp, mpm=mpm)
    for name, text in SCRIPTS.items():
        path = root.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644 if "notexec" in name or name.endswith(".txt") else 0o755)
    (root.path / "pids").mkdir()
    root.write_config(_config(root), modules=("authz_core", "alias", "mime", "env", "cgi"))
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    server_root = _make(tmp_path_factory.mktemp("cgi"))
    with running_server(server_root):
        yield server_root


def request(root: ServerRoot, text: str, body: bytes = b"") -> bytes:
    """Send a `Connection: close` request and read to the end (no half-close: event's listener
    takes a client's early EOF for a goodbye)."""
    with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
        sock.sendall(text.replace("\n", "\r\n").encode() + body)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def get(root: ServerRoot, path: str, *headers: str) -> bytes:
    lines = "".join(f"{h}\n" for h in headers)
    return request(
        root, f"GET {path} HTTP/1.1\nHost: localhost:{root.port}\n{lines}Connection: close\n\n"
    )


def body_of(response: bytes) -> bytes:
    head, _, body = response.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    out = b""
    while True:
        size, _, rest = body.partition(b"\r\n")
        if int(size, 16) == 0:
            return out
        out, body = out + rest[: int(size, 16)], rest[int(size, 16) + 2 :]


def headers_of(response: bytes) -> dict[str, str]:
    lines = response.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}


def logged(root: ServerRoot, text: str) -> bool:
    return wait_until(lambda: text in error_log(root), timeout=5)


# --- the environment -------------------------------------------------------------------------


def test_environment_is_apaches(root: ServerRoot) -> None:
    response = get(
        root,
        "/cgi-bin/env.py/extra/path?a=1&b=2",
        "X-Foo: bar",
        "X-Foo: baz",
        "Authorization: Basic eA==",
        "Proxy-Authorization: x",
        "Proxy: http://evil/",
        "X_Under: dropped",
    )
    assert status_of(response) == 200
    lines = body_of(response).decode().splitlines()
    env = dict(line.split("=", 1) for line in lines)
    env.pop("LC_CTYPE", None)  # Python's own locale coercion in the script, not the server's
    port, base = str(root.port), str(root.path)
    assert env.pop("REMOTE_PORT").isdigit()
    assert env.pop("SERVER_SOFTWARE").startswith("pyhttpd/")
    assert env == {
        "CONTEXT_DOCUMENT_ROOT": f"{base}/cgi-bin/",
        "CONTEXT_PREFIX": "/cgi-bin/",
        "DOCUMENT_ROOT": f"{base}/htdocs",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "HTTP_CONNECTION": "close",
        "HTTP_HOST": f"localhost:{port}",
        "HTTP_X_FOO": "bar, baz",
        "MYVAR": "myvalue",
        "PIDS": f"{base}/pids",
        "PATH": os.environ.get("PATH", "/bin:/usr/bin:/usr/ucb:/usr/bsd:/usr/local/bin"),
        "PATH_INFO": "/extra/path",
        "PATH_TRANSLATED": f"{base}/htdocs/extra/path",
        "QUERY_STRING": "a=1&b=2",
        "REMOTE_ADDR": "127.0.0.1",
        "REQUEST_METHOD": "GET",
        "REQUEST_SCHEME": "http",
        "REQUEST_URI": "/cgi-bin/env.py/extra/path?a=1&b=2",
        "SCRIPT_FILENAME": f"{base}/cgi-bin/env.py",
        "SCRIPT_NAME": "/cgi-bin/env.py",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_ADMIN": "admin@example.com",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SIGNATURE": "",
        "CWD": f"{base}/cgi-bin",
        "ARGV": "",
    }


def test_add_handler_script_in_document_root(root: ServerRoot) -> None:
    response = get(root, "/app.cgi")
    assert status_of(response) == 200
    assert body_of(response) == b"handled by AddHandler\n"


def test_isindex_query_becomes_arguments_of_a_shell_script(root: ServerRoot) -> None:
    response = get(root, "/cgi-bin/args.sh?foo+bar%20baz+a;b")
    assert body_of(response) == b"[foo]\n[bar baz]\n[a\\;b]\n"


def test_pure_helpers() -> None:
    assert header_variable("X-Forwarded-For") == "HTTP_X_FORWARDED_FOR"
    assert header_variable("X_Under") is None
    assert build_argv("/s", "a=1+2") == ["/s"]
    assert build_argv("/s", "") == ["/s"]


# --- request bodies --------------------------------------------------------------------------


def test_post_with_content_length(root: ServerRoot) -> None:
    data = bytes(range(256)) * 400  # 100 KB: more than a pipe holds
    response = request(
        root,
        f"POST /cgi-bin/echo.py HTTP/1.1\nHost: x\nContent-Length: {len(data)}\n"
        "Connection: close\n\n",
        data,
    )
    assert status_of(response) == 200
    assert body_of(response) == f"CL={len(data)} len={len(data)}\n".encode() + data


def test_post_chunked_has_no_content_length(root: ServerRoot) -> None:
    response = request(
        root,
        "POST /cgi-bin/echo.py HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n"
        "Connection: close\n\n",
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    assert body_of(response) == b"CL=- len=11\nhello world"


# --- the script's headers --------------------------------------------------------------------


def test_status_header_and_fields(root: ServerRoot) -> None:
    response = get(root, "/cgi-bin/status.sh")
    assert status_of(response) == 418
    headers = headers_of(response)
    assert headers["x-custom"] == "yes, again" and headers["content-type"] == "text/plain"
    assert body_of(response) == b"teapot\n"  # chunked, or with a length when it was all there


def test_absolute_location_is_a_302(root: ServerRoot) -> None:
    response = get(root, "/cgi-bin/away.sh")
    assert status_of(response) == 302
    assert headers_of(response)["location"] == "http://example.com/elsewhere"
    assert b"ignored" not in response


def test_location_with_status_passes_through(root: ServerRoot) -> None:
    response = get(root, "/cgi-bin/moved.sh")
    assert status_of(response) == 301
    assert headers_of(response)["location"] == "/x" and body_of(response) == b"mine\n"


def test_local_location_is_served_internally(root: ServerRoot) -> None:
    response = request(
        root,
        "POST /cgi-bin/local.sh HTTP/1.1\nHost: x\nContent-Length: 3\nConnection: close\n\n",
        b"abc",
    )
    assert status_of(response) == 200 and body_of(response) == b"hello\n"
    assert "location" not in headers_of(response)


def test_nph_script_output_goes_out_as_is(root: ServerRoot) -> None:
    response = request(root, "GET /cgi-bin/nph-raw.sh HTTP/1.1\nHost: x\n\n")  # then closed
    assert response == (
        b"HTTP/1.0 203 Whatever\r\nContent-Type: text/plain\r\nX-Nph: 1\r\n\r\nraw body\n"
    )


# --- failures, in Apache's words -------------------------------------------------------------


def test_stderr_goes_to_the_error_log(root: ServerRoot) -> None:
    assert body_of(get(root, "/cgi-bin/err.sh")) == b"ok\n"
    script = root.path / "cgi-bin" / "err.sh"
    assert logged(root, "[cgi:error] ") and logged(
        root, f"AH01215: stderr from {script}: oops on stderr"
    )
    assert logged(root, f"AH01215: stderr from {script}: second line")


@pytest.mark.parametrize(
    ("path", "status", "line"),
    [
        ("/noexec/env.cgi", 403, "AH02809: stderr from {base}/noexec/env.cgi: Options ExecCGI is "
         "off in this directory"),
        ("/cgi-bin/missing.sh", 404, "AH02811: stderr from {base}/cgi-bin/missing.sh: script not "
         "found or unable to stat"),
        ("/cgi-bin/bad.sh", 500, "malformed header from script 'bad.sh': Bad header: not a "
         "header line"),
        ("/cgi-bin/empty.sh", 500, "End of script output before headers: empty.sh"),
        ("/cgi-bin/notexec.sh", 500, "AH01215: stderr from {base}/cgi-bin/notexec.sh: "
         "(13)Permission denied: exec of '{base}/cgi-bin/notexec.sh' failed"),
    ],
)  # fmt: skip
def test_refusals(root: ServerRoot, path: str, status: int, line: str) -> None:
    assert status_of(get(root, path)) == status
    assert logged(root, line.format(base=root.path))


def _killed(root: ServerRoot, name: str) -> bool:
    pid_file = root.path / "pids" / name
    if not wait_until(pid_file.exists, timeout=5):
        return False
    pid = int(pid_file.read_text())
    return wait_until(lambda: not psutil.pid_exists(pid), timeout=10)


def test_script_silent_past_timeout_is_a_504_and_killed(root: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
        sock.sendall(b"GET /cgi-bin/hang.sh HTTP/1.1\r\nHost: x\r\n\r\n")
        response = sock.recv(65536)
        assert status_of(response) == 504
        assert headers_of(response)["connection"] == "Keep-Alive"  # as Apache: kept
    script = root.path / "cgi-bin" / "hang.sh"
    assert logged(root, f"AH01220: Timeout waiting for output from CGI script {script}")
    assert logged(root, "Script timed out before returning headers: hang.sh")
    assert _killed(root, "hang")  # the script's own child went with it


def test_script_stalling_after_its_head_closes_the_connection(root: ServerRoot) -> None:
    response = get(root, "/cgi-bin/late.sh")
    assert status_of(response) == 200
    assert response.endswith(b"6\r\nstart\n\r\n")  # no last chunk: the client sees it cut
    assert _killed(root, "late")
    text = (root.path / "logs" / "error_log").read_text()
    assert "AH01220: Timeout waiting for output from CGI script" in text
    assert "Traceback" not in text  # Apache's words only, no engine traceback


# --- every MPM with the real master ----------------------------------------------------------


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_cgi_under_each_mpm(tmp_path: Path, mpm: str) -> None:
    root = _make(tmp_path, mpm)
    with master(root):
        response = request(
            root,
            "POST /cgi-bin/echo.py HTTP/1.1\nHost: x\nContent-Length: 5\nConnection: close\n\n",
            b"hello",
        )
        assert body_of(response) == b"CL=5 len=5\nhello"
        assert body_of(get(root, "/cgi-bin/err.sh")) == b"ok\n"
        assert logged(root, "AH01215: stderr from")
