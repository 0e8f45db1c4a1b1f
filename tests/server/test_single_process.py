"""pyhttpd -X against real sockets: the protocol rules and static files of the core."""

from __future__ import annotations

import http.client
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.server import ServerRoot, raw_exchange, running_server, status_of


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    server_root = ServerRoot(tmp_path_factory.mktemp("single"))
    (server_root.htdocs / "index.html").write_text("<h1>hello</h1>\n")
    (server_root.htdocs / "big.bin").write_bytes(os.urandom(300_000))
    (server_root.htdocs / "sub").mkdir()
    (server_root.path / "secret.txt").write_text("outside the document root\n")
    server_root.write_config("EnableSendfile On\nTraceEnable On\nMaxKeepAliveRequests 3\n")
    with running_server(server_root):
        yield server_root


def request(
    root: ServerRoot,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response


def test_get_static_file_has_validators_and_apache_headers(root: ServerRoot) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    connection.request("GET", "/index.html")
    response = connection.getresponse()
    assert response.status == 200
    assert response.read() == b"<h1>hello</h1>\n"
    assert response.getheader("Content-Length") == "15"
    assert response.getheader("ETag", "").startswith('"f-')
    assert response.getheader("Last-Modified", "").endswith("GMT")
    assert response.getheader("Server", "").startswith("pyhttpd/")
    assert response.getheader("Date", "").endswith("GMT")
    connection.close()


def test_head_has_length_but_no_body(root: ServerRoot) -> None:
    answer = raw_exchange(root.port, b"HEAD /index.html HTTP/1.0\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert status_of(answer) == 200 and b"Content-Length: 15" in head and body == b""


def test_keep_alive_serves_several_requests_then_max_closes(root: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
        one = b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
        sock.sendall(one * 3)  # pipelined; MaxKeepAliveRequests 3 closes after the third
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3
    assert data.count(b"Connection: Keep-Alive") == 2 and data.count(b"Connection: close") == 1


def test_http10_closes_unless_keep_alive_asked(root: ServerRoot) -> None:
    answer = raw_exchange(root.port, b"GET /index.html HTTP/1.0\r\n\r\n")
    assert b"Connection: close" in answer
    with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
        sock.sendall(b"GET /index.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        first = sock.recv(65536)
        assert b"Connection: Keep-Alive" in first
        sock.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK")


def test_http09_gets_only_the_body(root: ServerRoot) -> None:
    assert raw_exchange(root.port, b"GET /index.html\r\n") == b"<h1>hello</h1>\n"


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", 400),  # no Host
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
        (b"get / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
        (b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n", 501),
        (b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n folded\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        ),
        (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
        (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 400),
        (b"GET /../secret.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /%2e%2e/secret.txt HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /a%2fb HTTP/1.1\r\nHost: a\r\n\r\n", 404),
        (b"GET /bad%zz HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET nope HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /nope HTTP/1.1\r\nHost: a\r\n\r\n", 404),
        (b"PUT /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab", 405),
        (b"DELETE /nope HTTP/1.1\r\nHost: a\r\n\r\n", 405),
        (b"POST /nope HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab", 404),
    ],
)
def test_rejections_get_apaches_status(root: ServerRoot, raw: bytes, status: int) -> None:
    assert status_of(raw_exchange(root.port, raw)) == status


def test_protocol_errors_close_the_connection(root: ServerRoot) -> None:
    answer = raw_exchange(
        root.port, b"GET / HTTP/1.1\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
    )
    assert answer.count(b"HTTP/1.1") == 1 and b"Connection: close" in answer


def test_error_page_is_apaches(root: ServerRoot) -> None:
    answer = raw_exchange(root.port, b"GET /nope HTTP/1.0\r\n\r\n")
    assert b"<title>404 Not Found</title>" in answer
    assert b"The requested URL was not found on this server." in answer


def test_conditional_requests(root: ServerRoot) -> None:
    first = request(root, "GET", "/index.html")
    etag, modified = first.getheader("ETag"), first.getheader("Last-Modified")
    assert request(root, "GET", "/index.html", {"If-None-Match": etag}).status == 304
    assert request(root, "GET", "/index.html", {"If-Modified-Since": modified}).status == 304
    assert request(root, "GET", "/index.html", {"If-Match": '"nope"'}).status == 412
    assert request(root, "GET", "/index.html", {"If-Match": etag}).status == 200
    past = "Thu, 01 Jan 1970 00:00:00 GMT"
    assert request(root, "GET", "/index.html", {"If-Unmodified-Since": past}).status == 412


def test_ranges(root: ServerRoot) -> None:
    data = (root.htdocs / "big.bin").read_bytes()
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    connection.request("GET", "/big.bin", headers={"Range": "bytes=10-19"})
    response = connection.getresponse()
    assert response.status == 206 and response.read() == data[10:20]
    assert response.getheader("Content-Range") == f"bytes 10-19/{len(data)}"
    connection.request("GET", "/big.bin", headers={"Range": "bytes=0-1,-2"})
    response = connection.getresponse()
    body = response.read()
    assert response.status == 206
    assert response.getheader("Content-Type", "").startswith("multipart/byteranges; boundary=")
    assert data[:2] in body and data[-2:] in body
    connection.request("GET", "/big.bin", headers={"Range": f"bytes={len(data) + 5}-"})
    response = connection.getresponse()
    response.read()
    assert response.status == 416
    assert response.getheader("Content-Range") == f"bytes */{len(data)}"
    connection.close()


def test_large_file_by_sendfile_is_exact(root: ServerRoot) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    connection.request("GET", "/big.bin")
    assert connection.getresponse().read() == (root.htdocs / "big.bin").read_bytes()
    connection.close()


def test_chunked_body_and_expect_continue_are_read(root: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
        sock.sendall(
            b"POST /index.html HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
            b"Content-Length: 5\r\n\r\n"
        )
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(b"hello")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200")  # Apache serves the file to POST
    answer = raw_exchange(
        root.port,
        b"PUT /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n",
    )
    assert status_of(answer) == 405 and b"Allow: HEAD,GET,POST,OPTIONS,TRACE" in answer


def test_options_and_trace(root: ServerRoot) -> None:
    answer = raw_exchange(root.port, b"OPTIONS * HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 200 and b"Allow: HEAD,GET,POST,OPTIONS,TRACE" in answer
    answer = raw_exchange(root.port, b"TRACE / HTTP/1.1\r\nHost: a\r\nX-Probe: 1\r\n\r\n")
    assert status_of(answer) == 200 and b"message/http" in answer and b"X-Probe: 1" in answer


def test_directory_without_index_or_autoindex_is_not_found_as_in_apache(root: ServerRoot) -> None:
    assert request(root, "GET", "/sub/").status == 404


def test_server_survives_every_rejection(root: ServerRoot, tmp_path: Path) -> None:
    for raw in (b"\x00\x01\x02\r\n\r\n", b"GET /\x00 HTTP/1.1\r\n\r\n", b"\r\n" * 10):
        raw_exchange(root.port, raw)
    assert request(root, "GET", "/index.html").status == 200
