"""mod_proxy and mod_proxy_http against a real pyhttpd -X in front of a real backend.

The backend is a ThreadingHTTPServer in this process, on a free port, that answers with what it
received (method, target, fields in order, body) and counts its connections. The fields a
backend sees, the rewritten Location fields and the error pages and log lines were taken from
Debian's Apache 2.4.71 (mod_proxy_http, event) proxying to the same backend.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.harness.master import error_log, master
from tests.harness.server import ServerRoot, free_port, running_server, wait_until

BIG = bytes(range(256)) * 4096  # 1 MB


@dataclass
class Backend:
    server: ThreadingHTTPServer
    connections: int = 0
    release: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


def _handler(backend: Backend) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            backend.connections += 1
            super().setup()

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            self.answer()

        do_POST = do_HEAD = do_GET

        def read_body(self) -> bytes:
            if self.headers.get("Content-Length"):
                return self.rfile.read(int(self.headers["Content-Length"]))
            body = b""
            if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                while size := int(self.rfile.readline().split(b";")[0], 16):
                    body += self.rfile.read(size)
                    self.rfile.readline()
                self.rfile.readline()
            return body

        def answer(self) -> None:
            body = self.read_body()
            if self.path.startswith("/slow"):
                backend.release.wait(10)
            if self.path.startswith("/close"):
                self.close_connection = True
                return
            if self.path.startswith("/redirect"):
                self.send_response(302)
                self.send_header("Location", f"http://127.0.0.1:{backend.port}/back/target")
                self.send_header("Content-Location", f"http://127.0.0.1:{backend.port}/cl")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if self.path.startswith("/big"):
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(BIG), 100_000):
                    piece = BIG[start : start + 100_000]
                    self.wfile.write(b"%x\r\n%b\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")
                return
            out = json.dumps(
                {
                    "target": self.path,
                    "method": self.command,
                    "headers": [list(item) for item in self.headers.items()],
                    "body": body.decode("latin-1"),
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Keep-Alive", "timeout=5")
            self.send_header("X-Backend", "yes")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(b"" if self.command == "HEAD" else out)
            if self.path.startswith("/bye"):  # keep-alive promised, then closed anyway
                self.close_connection = True

    return Handler


@pytest.fixture(scope="module")
def backend() -> Iterator[Backend]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    server.daemon_threads = True
    found = Backend(server)
    server.RequestHandlerClass = _handler(found)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    found.release.set()
    server.shutdown()
    server.server_close()


def _config(backend: Backend, refused: int) -> str:
    url = f"http://127.0.0.1:{backend.port}"
    return f"""
ServerName proxyhost
ProxyTimeout 1
ProxyPass /back/excluded !
ProxyPass /back/ {url}/
ProxyPassReverse /back/ {url}/
ProxyPass /refused/ http://127.0.0.1:{refused}/
<Location /loc/>
    ProxyPass {url}/inner/
    ProxyPreserveHost On
</Location>
<Location /plain/>
    ProxyPass {url}/plain/
    ProxyAddHeaders Off
</Location>
"""


def _make(tmp: Path, backend: Backend, mpm: str = "event") -> ServerRoot:
    root = ServerRoot(tmp, mpm=mpm)
    root.write_config(_config(backend, free_port()), modules=("authz_core", "proxy", "proxy_http"))
    return root


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory, backend: Backend) -> Iterator[ServerRoot]:
    server_root = _make(tmp_path_factory.mktemp("proxy"), backend)
    with running_server(server_root):
        yield server_root


class Client:
    """One keep-alive connection to the proxy; each response read whole by its framing."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def send(self, head: str, body: bytes = b"") -> tuple[int, dict[str, str], bytes]:
        self.sock.sendall(head.replace("\n", "\r\n").encode() + body)
        status = int(self.file.readline().split()[1])
        headers: dict[str, str] = {}
        while (line := self.file.readline().decode("latin-1").strip()) != "":
            name, _, value = line.partition(":")
            headers[name.lower()] = value.strip()
        if "content-length" in headers:
            return status, headers, self.file.read(int(headers["content-length"]))
        out = b""
        if headers.get("transfer-encoding") == "chunked":
            while size := int(self.file.readline(), 16):
                out += self.file.read(size)
                self.file.readline()
            self.file.readline()
        return status, headers, out

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def client(root: ServerRoot) -> Iterator[Client]:
    found = Client(root.port)
    yield found
    found.close()


def seen(body: bytes) -> dict[str, object]:
    return dict(json.loads(body))


# --- the backend request -------------------------------------------------------------------


def test_backend_sees_apaches_fields(client: Client, root: ServerRoot, backend: Backend) -> None:
    status, headers, body = client.send(
        f"GET /back/a/b?q=1 HTTP/1.1\nHost: 127.0.0.1:{root.port}\nX-Forwarded-For: 1.2.3.4\n"
        "Connection: keep-alive, X-Hop\nX-Hop: 1\nTE: trailers\n"
        "Proxy-Authorization: Basic x\n\n"
    )
    assert status == 200 and headers["x-backend"] == "yes"
    assert "keep-alive" in headers["connection"].lower()
    assert headers["content-type"] == "application/json"
    got = seen(body)
    assert got["target"] == "/a/b?q=1" and got["method"] == "GET"
    assert got["headers"] == [
        ["Host", f"127.0.0.1:{backend.port}"],
        ["X-Forwarded-For", "1.2.3.4, 127.0.0.1"],
        ["Proxy-Authorization", "Basic x"],
        ["X-Forwarded-Host", f"127.0.0.1:{root.port}"],
        ["X-Forwarded-Server", "proxyhost"],
        ["Connection", "Keep-Alive"],
    ]


def test_location_form_with_preserved_host(client: Client, root: ServerRoot) -> None:
    _, _, body = client.send("GET /loc/x?y HTTP/1.1\nHost: front.example\n\n")
    got = seen(body)
    assert got["target"] == "/inner/x?y"
    assert ["Host", "front.example"] in got["headers"]


def test_proxy_add_headers_off(client: Client) -> None:
    _, _, body = client.send("GET /plain/p HTTP/1.1\nHost: x\n\n")
    names = [name for name, _ in seen(body)["headers"]]  # type: ignore[attr-defined]
    assert not [n for n in names if n.startswith("X-Forwarded")]


def test_bodies_both_ways(client: Client) -> None:
    _, _, body = client.send("POST /back/post HTTP/1.1\nHost: x\nContent-Length: 5\n\n", b"hello")
    got = seen(body)
    assert got["body"] == "hello" and ["Content-Length", "5"] in got["headers"]
    _, _, body = client.send(
        "POST /back/small HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n",
        b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    )
    got = seen(body)
    assert got["body"] == "hello world" and ["Content-Length", "11"] in got["headers"]
    large = b"z" * 40_000
    chunks = b"".join(b"%x\r\n%b\r\n" % (8000, large[i : i + 8000]) for i in range(0, 40_000, 8000))
    _, _, body = client.send(
        "POST /back/large HTTP/1.1\nHost: x\nTransfer-Encoding: chunked\n\n",
        chunks + b"0\r\n\r\n",
    )
    got = seen(body)
    assert got["body"] == large.decode() and ["Transfer-Encoding", "chunked"] in got["headers"]
    status, headers, body = client.send("GET /back/big HTTP/1.1\nHost: x\n\n")
    assert status == 200 and body == BIG and headers["transfer-encoding"] == "chunked"


def test_head_has_no_body(client: Client) -> None:
    client.sock.sendall(b"HEAD /back/h HTTP/1.1\r\nHost: x\r\n\r\n")
    status = int(client.file.readline().split()[1])
    while client.file.readline() not in (b"\r\n", b""):
        pass
    assert status == 200
    assert seen(client.send("GET /back/after HTTP/1.1\nHost: x\n\n")[2])["target"] == "/after"


def test_backend_connections_are_reused(root: ServerRoot, backend: Backend) -> None:
    before = backend.connections
    for n in range(5):  # -X serves in one thread: one kept backend connection serves them all
        fresh = Client(root.port)
        assert fresh.send(f"GET /back/n{n} HTTP/1.1\nHost: x\n\n")[0] == 200
        fresh.close()
    assert backend.connections - before <= 1


def test_kept_connection_closed_by_the_backend_is_replaced(client: Client) -> None:
    assert client.send("GET /back/bye HTTP/1.1\nHost: x\n\n")[0] == 200
    status, _, body = client.send("GET /back/again HTTP/1.1\nHost: x\n\n")
    assert status == 200 and seen(body)["target"] == "/again"


# --- mapping and rewriting -------------------------------------------------------------------


def test_reverse_mapping_of_location_fields(client: Client, root: ServerRoot) -> None:
    status, headers, _ = client.send(
        f"GET /back/redirect HTTP/1.1\nHost: 127.0.0.1:{root.port}\n\n"
    )
    assert status == 302
    assert headers["location"] == f"http://127.0.0.1:{root.port}/back/back/target"
    assert headers["content-location"] == f"http://127.0.0.1:{root.port}/back/cl"


def test_exclusion_is_served_locally(client: Client) -> None:
    assert client.send("GET /back/excluded HTTP/1.1\nHost: x\n\n")[0] == 404


# --- failures ------------------------------------------------------------------------------

PAGE_502 = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
    b"<html><head>\n<title>502 Proxy Error</title>\n</head><body>\n<h1>Proxy Error</h1>\n"
    b"<p>The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\n"
    b"The proxy server could not handle the request<p>Reason: <strong>Error reading from remote"
    b" server</strong></p></p>\n</body></html>\n"
)


def logged(root: ServerRoot, text: str) -> bool:
    return wait_until(lambda: text in error_log(root), timeout=5)


def test_backend_closing_is_a_502(client: Client, root: ServerRoot, backend: Backend) -> None:
    status, headers, body = client.send("GET /back/close HTTP/1.1\nHost: x\n\n")
    assert (status, body) == (502, PAGE_502)
    assert headers["connection"] == "Keep-Alive"  # as Apache: the client's connection stays
    assert logged(
        root,
        "(20014)Internal error (specific information not available): AH01102: error reading "
        f"status line from remote server 127.0.0.1:{backend.port}",
    )
    assert logged(root, "AH00898: Error reading from remote server returned by /back/close")


def test_backend_closing_on_a_kept_client_connection_closes_it(client: Client) -> None:
    assert client.send("GET /back/first HTTP/1.1\nHost: x\n\n")[0] == 200
    client.sock.sendall(b"GET /back/close HTTP/1.1\r\nHost: x\r\n\r\n")
    assert client.file.read() == b""  # no answer: the client may retry (Apache's AH01104)


def test_backend_silent_past_proxy_timeout_is_a_502(client: Client, root: ServerRoot) -> None:
    status, _, body = client.send("GET /back/slow HTTP/1.1\nHost: x\n\n")
    assert (status, body) == (502, PAGE_502)
    assert logged(root, "(70007)The timeout specified has expired: AH01102:")


def test_refused_connection_is_a_503(client: Client, root: ServerRoot) -> None:
    status, headers, _ = client.send("GET /refused/x HTTP/1.1\nHost: x\n\n")
    assert status == 503 and headers["connection"] == "close"
    assert logged(root, "(111)Connection refused: AH00957: http: attempt to connect to 127.0.0.1:")
    assert logged(root, "AH01114: HTTP: failed to make connection to backend: 127.0.0.1")


# --- every MPM with the real master ----------------------------------------------------------


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_proxy_under_each_mpm(tmp_path: Path, backend: Backend, mpm: str) -> None:
    root = _make(tmp_path, backend, mpm)
    with master(root):
        client = Client(root.port)
        try:
            status, _, body = client.send(
                "POST /back/m HTTP/1.1\nHost: x\nContent-Length: 3\n\n", b"abc"
            )
            assert status == 200 and seen(body)["body"] == "abc"
            assert client.send("GET /back/big HTTP/1.1\nHost: x\n\n")[2] == BIG
        finally:
            client.close()
