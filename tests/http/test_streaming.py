"""Request bodies read on demand and streamed responses, through the real engine and sockets.

Handlers of the test's own (CGI, WSGI and proxy use the same two interfaces): one reads the body
its own way and echoes it, one leaves it unread, one streams its answer. Each connection is a real
loopback socket served by `serve_connection`.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyhttpd.http.phases import DECLINED, OK, Phase
from pyhttpd.http.request import Request, StreamAborted, StreamBody
from tests.harness.engine import engine_generation, serve_once
from tests.harness.server import ServerRoot, status_of


def echo_by_size(request: Request) -> int:
    """Echo the body read 3 bytes at a time, then report the trailers."""
    parts = []
    while chunk := request.body_input.read(3):
        parts.append(chunk)
    trailers = ",".join(f"{n}={v}" for n, v in request.body_input.trailers)
    request.body = b"".join(parts) + f"|{trailers}".encode()
    request.content_type = "text/plain"
    return OK


def echo_lines(request: Request) -> int:
    request.body = b"".join(b"<" + line + b">" for line in request.body_input)
    return OK


def ignore_body(request: Request) -> int:
    request.body = b"ignored"
    return OK


def not_found(request: Request) -> int:
    return 404


def stream(request: Request) -> int:
    closed = request.notes.setdefault("closed", [])
    mode = request.query
    request.content_type = "text/plain"

    def chunks() -> Iterator[bytes]:
        yield b""
        if mode == "fail-first":
            raise ValueError("the application failed at once")
        if mode == "abort-first":
            request.log_error("error", "test", "the module's own words")
            raise StreamAborted("aborted before any byte")
        yield b"one,"
        if mode == "fail-later":
            raise ValueError("the application failed half-way")
        yield b"two"

    if mode == "length":
        request.headers_out.set("Content-Length", "7")
    request.body = StreamBody(chunks(), lambda: closed.append(True))
    return OK


HANDLERS = {
    "/echo": echo_by_size,
    "/lines": echo_lines,
    "/ignore": ignore_body,
    "/missing": not_found,
    "/stream": stream,
}
CLOSED: list[Request] = []


def dispatch(request: Request) -> int:
    handler = HANDLERS.get(request.uri)
    if handler is None:
        return DECLINED
    CLOSED.append(request)
    return handler(request)


@pytest.fixture
def root(tmp_path: Path) -> ServerRoot:
    root = ServerRoot(tmp_path)
    (root.htdocs / "index.html").write_text("hello\n")
    return root


def exchange(root: ServerRoot, raw: bytes, config: str = "") -> bytes:
    with engine_generation(root, {Phase.HANDLER: dispatch}, config) as (generation, _):
        answer, _ = serve_once(generation, raw)
    return answer


def test_a_handler_reads_a_length_body_in_pieces_and_the_next_request_follows(
    root: ServerRoot,
) -> None:
    answer = exchange(
        root,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
        b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    first, second = answer.split(b"HTTP/1.1 ", 2)[1:]
    assert first.startswith(b"200") and first.endswith(b"hello world|")
    assert second.startswith(b"200") and second.endswith(b"hello\n")


def test_a_chunked_body_and_its_trailers_reach_the_handler(root: ServerRoot) -> None:
    answer = exchange(
        root,
        b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n",
    )
    assert status_of(answer) == 200 and answer.endswith(b"hello world|X-Sum=42")


def test_lines_iterate_as_a_file_would(root: ServerRoot) -> None:
    answer = exchange(
        root, b"POST /lines HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nab\ncd\nef!"
    )
    assert answer.endswith(b"<ab\n><cd\n><ef!>")


def test_an_unread_body_is_discarded_so_keep_alive_goes_on(root: ServerRoot) -> None:
    answer = exchange(
        root,
        b"POST /ignore HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n0\r\n\r\n"
        b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    )
    assert answer.count(b"HTTP/1.1 200 OK") == 2 and answer.endswith(b"hello\n")


@pytest.mark.parametrize("path", [b"/ignore", b"/echo"])
def test_a_chunked_body_over_the_limit_is_413_read_or_not(root: ServerRoot, path: bytes) -> None:
    answer = exchange(
        root,
        b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"a\r\n0123456789\r\n0\r\n\r\n",
        config="LimitRequestBody 5",
    )
    assert status_of(answer) == 413 and b"ignored" not in answer


def _expect_continue(port: int, path: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST " + path + b" HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
            b"Content-Length: 5\r\n\r\n"
        )
        first = sock.recv(65536)
        if first.startswith(b"HTTP/1.1 100 "):
            sock.sendall(b"hello")
            first += sock.recv(65536)
        return first


def test_100_continue_is_sent_when_the_handler_reads(root: ServerRoot) -> None:
    with engine_generation(root, {Phase.HANDLER: dispatch}) as (generation, _):
        answer, _ = serve_once(generation, lambda port: _expect_continue(port, b"/echo"))
    assert answer.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK")
    assert answer.endswith(b"hello|")


def test_no_100_continue_for_an_error_and_the_connection_closes(root: ServerRoot) -> None:
    with engine_generation(root, {Phase.HANDLER: dispatch}) as (generation, _):
        answer, _ = serve_once(generation, lambda port: _expect_continue(port, b"/missing"))
    assert answer.startswith(b"HTTP/1.1 404 ") and b"Connection: close" in answer


def test_a_stream_is_chunked_for_http11_and_closed_once(root: ServerRoot) -> None:
    CLOSED.clear()
    answer = exchange(
        root,
        b"GET /stream HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n"
        b"Connection: close\r\n\r\n",
    )
    head, _, rest = answer.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding: chunked" in head and b"Content-Length" not in head
    assert rest.startswith(b"4\r\none,\r\n3\r\ntwo\r\n0\r\n\r\nHTTP/1.1 200 OK")
    assert CLOSED[0].notes["closed"] == [True]


def test_a_stream_is_close_delimited_for_http10(root: ServerRoot) -> None:
    answer = exchange(root, b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Connection: close" in head and b"chunked" not in head and body == b"one,two"


def test_a_stream_with_a_length_is_sent_as_is(root: ServerRoot) -> None:
    answer = exchange(root, b"GET /stream?length HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Length: 7" in head and b"chunked" not in head and body == b"one,two"


def test_head_closes_the_stream_without_reading_it(root: ServerRoot) -> None:
    CLOSED.clear()
    answer = exchange(root, b"HEAD /stream HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 200 and answer.endswith(b"\r\n\r\n")
    assert CLOSED[0].notes["closed"] == [True]


def test_a_stream_failing_at_once_is_a_500(root: ServerRoot) -> None:
    CLOSED.clear()
    answer = exchange(root, b"GET /stream?fail-first HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status_of(answer) == 500 and CLOSED[0].notes["closed"] == [True]
    log = (root.path / "logs" / "error_log").read_text()
    assert "ValueError: the application failed at once" in log


def test_a_stream_aborted_at_once_is_a_500_in_the_module_s_words_only(root: ServerRoot) -> None:
    answer = exchange(root, b"GET /stream?abort-first HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status_of(answer) == 500
    log = (root.path / "logs" / "error_log").read_text()
    assert "the module's own words" in log and "Traceback" not in log


def test_a_stream_failing_half_way_closes_the_connection(root: ServerRoot) -> None:
    CLOSED.clear()
    answer = exchange(
        root,
        b"GET /stream?fail-later HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html HTTP/1.1\r\n"
        b"Host: a\r\n\r\n",
    )
    assert status_of(answer) == 200 and answer.endswith(b"4\r\none,\r\n")
    assert answer.count(b"HTTP/1.1 ") == 1 and CLOSED[0].notes["closed"] == [True]
    assert "the application failed half-way" in (root.path / "logs" / "error_log").read_text()


def test_limit_request_body_of_the_location_applies(root: ServerRoot) -> None:
    """Apache reads LimitRequestBody from the request's own per-dir config, so a <Location>
    limit holds: checked when the body is first read (or discarded), after the hooks mapped it."""
    config = "<Location /echo>\nLimitRequestBody 5\n</Location>"
    request = b"POST %b HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nConnection: close\r\n\r\n"
    assert status_of(exchange(root, request % b"/echo" + b"0123456789", config)) == 413
    assert status_of(exchange(root, request % b"/ignore" + b"0123456789", config)) == 200


def _upload_then_read(port: int) -> bytes:
    """Send a large body's first megabytes as fast as the server takes them, then read the
    answer to the end: a reset instead of a FIN raises ConnectionResetError here."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 10000000\r\n\r\n")
        sock.setblocking(False)
        sent = 0
        with contextlib.suppress(BlockingIOError, BrokenPipeError, ConnectionResetError):
            while sent < 3_000_000:
                sent += sock.send(b"x" * 65536)
        sock.settimeout(5)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def test_a_refused_upload_gets_its_413_without_a_reset(root: ServerRoot) -> None:
    """Closing with the body unread would make the kernel answer it with a reset, which can
    destroy the 413 in the client's buffer; the engine lingers as Apache does."""
    with engine_generation(root, {}, "LimitRequestBody 1000") as (generation, _):
        answer, _ = serve_once(generation, _upload_then_read)
    assert status_of(answer) == 413 and answer.endswith(b"</body></html>\n")
