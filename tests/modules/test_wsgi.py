"""mod_wsgi: WSGI applications served by a real master under prefork, worker and event.

One master per MPM for the whole module (module-scoped fixture) serves the apps in
tests/modules/wsgi_apps/: `router.wsgi` is wrapped in wsgiref.validate's validator, so every
request to it is also a PEP 3333 check (a violation is a 500 and a traceback in the error log);
`raw.wsgi` fails on purpose and uses wsgi.file_wrapper; `unsafe.wsgi` is not thread-safe. worker
and event run one child with four threads so concurrent requests share a process. Clients are
real: http.client and raw sockets. The checks that need no MPM run on `pyhttpd -X`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyhttpd.config import load
from pyhttpd.errorlog import ErrorLog
from pyhttpd.http.phases import HookContext, Hooks
from pyhttpd.modules.mod_wsgi import MODULE as wsgi_module
from pyhttpd.modules.registry import default_registry
from tests.harness.master import live_pids, master
from tests.harness.server import REPO, ServerRoot, running_server, wait_until
from tests.mpm.test_matrix import CONFIGS as MATRIX_CONFIGS

APPS = Path(__file__).resolve().parent / "wsgi_apps"
BIG = bytes(range(256)) * 8192  # 2 MiB
CONFIGS = {  # worker and event: one child, so concurrent requests share its interpreter
    "prefork": MATRIX_CONFIGS["prefork"],
    "worker": "StartServers 1\nServerLimit 1\nThreadsPerChild 4\nThreadLimit 4\n"
    "MinSpareThreads 1\nMaxSpareThreads 4\nMaxRequestWorkers 4\n",
}
CONFIGS["event"] = CONFIGS["worker"]
IDLE = {"prefork": 2, "worker": 4, "event": 4}
APP_CONFIG = f"""
WSGIScriptAlias /v {APPS}/router.wsgi
WSGIScriptAlias /raw {APPS}/raw.wsgi
WSGIScriptAlias /unsafe {APPS}/unsafe.wsgi
<Location /v>
    WSGIChunkedRequest On
</Location>
EnableSendfile On
KeepAliveTimeout 5
LogLevel info
"""


def unexpected_errors(log: str) -> list[str]:
    """Error lines the tests did not cause on purpose: anything at error level but mod_wsgi's
    own reports (a traceback only right after its "Exception occurred" line)."""
    found, previous = [], ""
    for line in log.splitlines():
        if "Traceback (most recent call last)" in line and "[wsgi:error]" in line:
            if "Exception occurred processing WSGI script" not in previous:
                found.append(line)
        elif ":error]" in line and "[wsgi:error]" not in line:
            found.append(line)
        previous = line
    return found


@dataclass
class Server:
    mpm: str
    root: ServerRoot

    @property
    def port(self) -> int:
        return self.root.port

    def log(self) -> str:
        return (self.root.path / "logs" / "error_log").read_text()


@pytest.fixture(scope="module", params=["prefork", "worker", "event"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    mpm = request.param
    root = ServerRoot(tmp_path_factory.mktemp(f"wsgi-{mpm}"), mpm=mpm)
    (root.htdocs / "big.bin").write_bytes(BIG)
    root.write_config(CONFIGS[mpm] + APP_CONFIG, modules=("wsgi",))
    with master(root, idle=IDLE[mpm]):
        yield Server(mpm, root)
        unexpected = unexpected_errors(Server(mpm, root).log())
        assert not unexpected, unexpected
        (root.path / "logs" / "error_log").write_text("")  # master() refuses any traceback


def fetch(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        fields = {name.lower(): value for name, value in response.getheaders()}
        return response.status, fields, response.read()
    finally:
        connection.close()


def raw(port: int, data: bytes) -> bytes:
    """Send a request and read until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(data)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def test_validated_environ_and_script_name_split(server: Server) -> None:
    status, headers, body = fetch(server.port, "GET", "/v/env/x/y?a=1", headers={"X-Test": "t"})
    assert status == 200 and headers["content-type"] == "application/json"
    environ = json.loads(body)
    assert environ["SCRIPT_NAME"] == "/v" and environ["PATH_INFO"] == "/env/x/y"
    assert environ["QUERY_STRING"] == "a=1" and environ["REQUEST_URI"] == "/v/env/x/y?a=1"
    assert environ["REQUEST_METHOD"] == "GET" and environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["SERVER_PORT"] == str(server.port) and environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["SCRIPT_FILENAME"] == f"{APPS}/router.wsgi"
    assert environ["HTTP_X_TEST"] == "t" and environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.multithread"] is (server.mpm != "prefork")
    assert environ["wsgi.multiprocess"] is True and environ["wsgi.run_once"] is False


def test_post_echo_with_content_length_and_chunked(server: Server) -> None:
    payload = bytes(range(256)) * 400  # 100 KiB
    status, _, body = fetch(server.port, "POST", "/v/echo", body=payload)
    assert (status, body) == (200, payload)
    chunks = iter([payload[:1000], payload[1000:]])  # http.client sends an iterable chunked
    status, _, body = fetch(server.port, "POST", "/v/echo", body=chunks)
    assert (status, body) == (200, payload)
    status, _, body = fetch(server.port, "POST", "/v/lines", body=b"one\ntwo\nthree\n")
    assert (status, body) == (200, b"4 2\n")


def test_streamed_response_is_chunked_on_the_wire(server: Server) -> None:
    answer = raw(
        server.port, b"GET /v/stream HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    expected = b"written\n" + b"".join(b"chunk %d\n" % n for n in range(5))
    decoded, rest = b"", body
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        decoded, rest = decoded + rest[:size], rest[size + 2 :]
    assert decoded == expected and rest == b"\r\n"
    old = raw(server.port, b"GET /v/stream HTTP/1.0\r\n\r\n")  # close-delimited
    assert old.partition(b"\r\n\r\n")[2] == expected


def test_content_length_from_the_app_is_honoured(server: Server) -> None:
    status, headers, body = fetch(server.port, "GET", "/v/sized")
    assert (status, headers["content-length"], body) == (200, "12", b"hello world!")
    assert "transfer-encoding" not in headers


def test_write_inside_the_iterable_keeps_the_order(server: Server) -> None:
    status, headers, body = fetch(server.port, "GET", "/raw/mixed")
    assert (status, headers["transfer-encoding"], body) == (200, "chunked", b"abcd")


def test_file_wrapper_sends_a_large_file(server: Server) -> None:
    status, headers, body = fetch(server.port, "GET", "/raw/file")
    assert status == 200 and headers["content-length"] == str(len(BIG)) and body == BIG
    status, headers, body = fetch(server.port, "GET", "/raw/tempfile")
    assert (status, headers["content-length"]) == (200, "307200")
    assert body == bytes(range(256)) * 1200


def test_hop_by_hop_header_from_the_app_is_a_500(server: Server) -> None:
    status, _, _ = fetch(server.port, "GET", "/raw/hop")
    assert status == 500
    assert wait_until(lambda: "hop-by-hop header 'Connection'" in server.log(), timeout=5)


def test_wsgi_errors_reach_the_error_log(server: Server) -> None:
    assert fetch(server.port, "GET", "/v/errors")[0] == 200
    assert wait_until(
        lambda: (
            "[wsgi:error]" in server.log()
            and "a note from the application" in server.log()
            and "printed by the application" in server.log()
        ),
        timeout=5,
    )


def test_an_exception_is_a_500_and_the_child_lives_on(server: Server) -> None:
    status, _, body = fetch(server.port, "GET", "/raw/raise")
    assert status == 500 and b"Internal Server Error" in body
    pattern = re.compile(
        r"\[wsgi:error\] \[pid (\d+):tid \d+\] \[client [^]]+\] mod_wsgi \(pid=\1\): Exception "
        rf"occurred processing WSGI script '{re.escape(str(APPS))}/raw.wsgi'\."
    )
    assert wait_until(lambda: pattern.search(server.log()) is not None, timeout=5)
    log = server.log()
    assert "ValueError: the application failed on purpose" in log
    assert 'File "' + str(APPS / "raw.wsgi") + '", line' in log  # the app's frame, not ours
    pid = int(pattern.search(log).group(1))  # type: ignore[union-attr]
    assert pid in live_pids(server.root)  # the child that ran the app still serves
    assert fetch(server.port, "GET", "/raw/pid")[0] == 200


def test_a_failure_in_mid_response_closes_without_the_last_chunk(server: Server) -> None:
    answer = raw(server.port, b"GET /raw/late HTTP/1.1\r\nHost: localhost\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and b"Transfer-Encoding: chunked" in head
    assert body == b"b\r\nfirst part\n\r\n"  # no terminating 0-chunk: the client sees the cut
    assert wait_until(lambda: "RuntimeError: the application failed in mid" in server.log())


def _concurrent_unsafe(port: int) -> dict[str, bytes]:
    answers: dict[str, bytes] = {}

    def ask(name: str) -> None:
        answers[name] = fetch(port, "GET", f"/unsafe?{name}")[2]

    threads = [threading.Thread(target=ask, args=(name,)) for name in ("first", "second")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    return answers


def test_non_thread_safe_app_fails_in_threads_and_passes_under_prefork(server: Server) -> None:
    answers = _concurrent_unsafe(server.port)
    assert set(answers) == {"first", "second"}
    mixed_up = [name for name, seen in answers.items() if seen != name.encode()]
    if server.mpm == "prefork":
        assert mixed_up == []  # one request per process: the global is never shared
    else:
        assert mixed_up  # two threads in one child overwrote each other's global


# --- one process (-X): loading, reloading and refusing ----------------------------------------


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    """One `pyhttpd -X` for the checks below (each reads only its own lines of the log)."""
    tmp_path = tmp_path_factory.mktemp("wsgi-single")
    root = ServerRoot(tmp_path)
    (tmp_path / "lib").mkdir()
    script = tmp_path / "reload.wsgi"
    script.write_text("application = None\n")
    for directory in ("exec", "noexec"):
        (root.htdocs / directory).mkdir()
        shutil.copy(APPS / "router.wsgi", root.htdocs / directory / "app.wsgi")
    (root.path / "conf").mkdir()
    shutil.copy(REPO / "conf" / "mime.types", root.path / "conf" / "mime.types")
    site = tmp_path / "venv" / "lib" / "python{}.{}".format(*sys.version_info[:2]) / "site-packages"
    site.mkdir(parents=True)
    (site / "homemod.py").write_text("WHERE = 'from the python home'\n")
    (tmp_path / "home.wsgi").write_text(_HOME_APP)
    root.write_config(
        f"WSGIScriptAlias /reload {script}\nWSGIScriptAlias /broken {APPS}/broken.wsgi\n"
        f"WSGIScriptAlias /nameless {APPS}/nameless.wsgi\n"
        f"WSGIScriptAlias /missing {tmp_path}/missing.wsgi\n"
        f"WSGIScriptAlias /v {APPS}/router.wsgi\nWSGIPythonPath {tmp_path}/lib\n"
        f"WSGIScriptAliasMatch ^/m/([a-z]+) {APPS}/$1.wsgi\n"
        f"WSGIScriptAlias /auth {APPS}/router.wsgi pass-authorization=On\n"
        f"WSGIPythonHome {tmp_path}/venv\nWSGIScriptAlias /home {tmp_path}/home.wsgi\n"
        f"AddHandler wsgi-script .wsgi\n<Directory {root.htdocs}/exec>\nOptions +ExecCGI\n"
        "</Directory>\n",
        modules=("wsgi", "mime"),
    )
    with running_server(root):
        yield root


_HOME_APP = """
import homemod
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [homemod.WHERE.encode()]
"""
_VERSION_APP = """
import sys
with open({loads!r}, "a") as loads:  # one line each time the script is executed
    loads.write("loaded\\n")
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"version {version} %d" % (sys.path.index({lib!r}) if {lib!r} in sys.path else -1)]
"""


def _log(root: ServerRoot) -> str:
    return (root.path / "logs" / "error_log").read_text()


def test_script_loaded_once_and_reloaded_when_changed(single: ServerRoot) -> None:
    script, loads = single.path / "reload.wsgi", single.path / "loads.txt"
    lib = str(single.path / "lib")

    def version(number: int) -> str:
        text = _VERSION_APP.replace("{lib!r}", repr(lib)).replace("{loads!r}", repr(str(loads)))
        return text.replace("{version}", str(number))

    script.write_text(version(1))
    for _ in range(3):  # WSGIPythonPath's directory is first in sys.path
        assert fetch(single.port, "GET", "/reload")[2] == b"version 1 0"
    assert loads.read_text() == "loaded\n"  # executed once for three requests
    stat = script.stat()
    script.write_text(version(2))
    os.utime(script, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert fetch(single.port, "GET", "/reload")[2] == b"version 2 0"
    assert loads.read_text() == "loaded\nloaded\n"
    environ = json.loads(fetch(single.port, "GET", "/v/env")[2])
    assert environ["wsgi.multithread"] is False and environ["wsgi.multiprocess"] is False


def test_script_that_fails_to_import_is_a_500(single: ServerRoot) -> None:
    assert fetch(single.port, "GET", "/broken")[0] == 500
    log = _log(single)
    assert f"Failed to exec Python script file '{APPS}/broken.wsgi'." in log
    assert f"Exception occurred processing WSGI script '{APPS}/broken.wsgi'." in log
    assert "ModuleNotFoundError: No module named 'a_module_that_does_not_exist'" in log
    assert fetch(single.port, "GET", "/v/env")[0] == 200  # the process lives on


def test_missing_script_and_missing_callable_are_404(single: ServerRoot) -> None:
    assert fetch(single.port, "GET", "/nameless")[0] == 404
    assert fetch(single.port, "GET", "/missing")[0] == 404
    log = _log(single)
    assert (
        f"Target WSGI script '{APPS}/nameless.wsgi' does not contain WSGI application "
        "'application'." in log
    )
    assert f"Target WSGI script not found or unable to stat: {single.path}/missing.wsgi" in log


def test_chunked_request_needs_wsgi_chunked_request(single: ServerRoot) -> None:
    status, _, _ = fetch(single.port, "POST", "/v/echo", body=iter([b"abc"]))  # chunked
    assert status == 411
    assert "optional support for chunked transfer encoding has not been enabled" in _log(single)


def test_add_handler_needs_options_exec_cgi(single: ServerRoot) -> None:
    status, _, body = fetch(single.port, "GET", "/exec/app.wsgi/env/x")
    assert status == 200
    environ = json.loads(body)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/exec/app.wsgi", "/env/x")
    assert fetch(single.port, "GET", "/noexec/app.wsgi")[0] == 403
    expected = f"Options ExecCGI is off in this directory: {single.htdocs}/noexec/app.wsgi"
    assert expected in _log(single)


def test_alias_match_and_pass_authorization(single: ServerRoot) -> None:
    status, _, body = fetch(single.port, "GET", "/m/router/env/%C3%A9", headers={"X-Test": "m"})
    environ = json.loads(body)
    assert status == 200 and environ["SCRIPT_NAME"] == "/m/router"
    assert environ["PATH_INFO"] == "/env/\u00c3\u00a9"  # PEP 3333: the bytes as latin-1
    credentials = {"Authorization": "Basic dTpw"}
    assert (
        json.loads(fetch(single.port, "GET", "/v/env", headers=credentials)[2]).get(
            "HTTP_AUTHORIZATION"
        )
        is None
    )  # Apache keeps credentials from the application by default
    passed = json.loads(fetch(single.port, "GET", "/auth/env", headers=credentials)[2])
    assert passed["HTTP_AUTHORIZATION"] == "Basic dTpw"
    proxy_credentials = {"Proxy-Authorization": "Basic dTpw", "Proxy": "http://x"}
    environ = json.loads(fetch(single.port, "GET", "/auth/env", headers=proxy_credentials)[2])
    assert environ["HTTP_PROXY_AUTHORIZATION"] is None and environ["HTTP_PROXY"] is None


def test_python_home_site_packages_are_importable(single: ServerRoot) -> None:
    assert fetch(single.port, "GET", "/home")[2] == b"from the python home"


def test_a_python_home_that_is_missing_is_a_start_up_warning(tmp_path: Path) -> None:
    root = ServerRoot(tmp_path)
    config = load(
        str(root.write_config(f"WSGIPythonHome {tmp_path}/nowhere\n", modules=("wsgi",))),
        str(tmp_path),
        default_registry(),
    )
    log = ErrorLog(str(tmp_path / "logs" / "error_log"))
    try:
        wsgi_module.register_hooks(Hooks(), HookContext(config, log))
    finally:
        log.close()
    text = (tmp_path / "logs" / "error_log").read_text()
    assert "[wsgi:warn]" in text and f"Unable to stat Python home {tmp_path}/nowhere." in text
