"""Time limits and protocol options of the connection engine, over real sockets.

RequestReadTimeout's header and body stages (mod_reqtimeout loaded, small values so the tests are
quick), the plain Timeout without the module, KeepAliveTimeout, a client that stops reading, the
caps on an endless head, HttpProtocolOptions Unsafe / RegisteredMethods / Require1.0, and a hook
that raises. Timing is only ever asserted as "cut off within N seconds", with generous N.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyhttpd.errors import HttpError
from pyhttpd.http.connection import Outcome
from pyhttpd.http.parser import Limits, parse_head
from pyhttpd.http.phases import Phase
from tests.harness.engine import engine_generation, serve_once
from tests.harness.server import (
    ServerRoot,
    raw_exchange,
    read_to_close,
    running_server,
    server_side_tcp,
    status_of,
    wait_until,
)

CUT_OFF = 8.0  # generous bound for "the server gave up on this client"


def read_until_closed(sock: socket.socket, limit: float = CUT_OFF) -> tuple[bytes, float]:
    """Everything the server sends until it closes; and how long that took."""
    began = time.monotonic()
    sock.settimeout(limit)
    return read_to_close(sock), time.monotonic() - began


def log_text(root: ServerRoot) -> str:
    path = root.path / "logs" / "error_log"
    return path.read_text(errors="replace") if path.exists() else ""


def wait_for_log(root: ServerRoot, needle: str) -> bool:
    return wait_until(lambda: needle in log_text(root), timeout=5.0)


# --- mod_reqtimeout loaded ------------------------------------------------------------------


@pytest.fixture(scope="module")
def timed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("reqtimeout"))
    (root.htdocs / "index.html").write_text("hello\n")
    root.write_config(
        "LogLevel info\nTimeout 3\nKeepAliveTimeout 1\nCustomLog logs/access_log common\n"
        "RequestReadTimeout header=1-2,MinRate=100 body=1,MinRate=100\n",
        modules=("reqtimeout",),
    )
    with running_server(root):
        yield root


def test_idle_connection_is_closed_silently_after_the_header_timeout(timed: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", timed.port)) as sock:
        data, took = read_until_closed(sock)
    assert data == b"" and took < CUT_OFF


def test_partial_request_line_is_closed_silently(timed: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", timed.port)) as sock:
        sock.sendall(b"GET /index.html HT")
        data, took = read_until_closed(sock)
    assert data == b"" and took < CUT_OFF
    assert wait_for_log(timed, "[reqtimeout:info]")
    assert wait_until(lambda: '" 408 -' in (timed.path / "logs" / "access_log").read_text())


def test_unfinished_headers_get_408_and_the_log_line(timed: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", timed.port)) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n")
        data, took = read_until_closed(sock)
    assert status_of(data) == 408 and b"Connection: close" in data
    assert b"<title>408 Request Timeout</title>" in data
    assert took < CUT_OFF
    assert wait_for_log(timed, "AH01382: Request header read timeout")


def test_a_steady_trickle_is_cut_off_at_the_maximum(timed: ServerRoot) -> None:
    """MinRate extends the header stage, but never past its maximum (2 s here)."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", timed.port), timeout=CUT_OFF) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        for number in range(100):  # ~470 bytes/s for up to 10 s; the server ends it at 2 s
            try:
                sock.sendall(f"X-{number}: {'y' * 40}\r\n".encode())
            except OSError:
                break
            if _readable(sock, 0.1):  # the client's pace, and the moment the server answers
                break
        answer, _ = read_until_closed(sock)
    assert status_of(answer) == 408
    assert time.monotonic() - began < CUT_OFF


def _readable(sock: socket.socket, wait: float) -> bool:
    return bool(select.select([sock], [], [], wait)[0])


def test_slow_body_gets_408_and_close(timed: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", timed.port)) as sock:
        sock.sendall(b"POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nabc")
        data, took = read_until_closed(sock)
    assert status_of(data) == 408 and b"Connection: close" in data and took < CUT_OFF
    assert wait_for_log(timed, "AH01382: Request body read timeout")


def test_chunked_body_that_stalls_gets_408(timed: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", timed.port)) as sock:
        sock.sendall(
            b"POST /index.html HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"
        )
        data, _ = read_until_closed(sock)
    assert status_of(data) == 408


def test_keep_alive_wait_ends_silently_after_keep_alive_timeout(timed: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", timed.port)) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n")
        data, took = read_until_closed(sock)
    assert data.count(b"HTTP/1.1 200 OK") == 1 and data.endswith(b"hello\n")
    assert took < CUT_OFF


def test_pipelined_partial_second_request_times_out_like_the_first(timed: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", timed.port)) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\n")
        data, _ = read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 200 OK") and b"HTTP/1.1 408 Request Timeout" in data


def test_server_still_serves_after_the_timeouts(timed: ServerRoot) -> None:
    answer = raw_exchange(timed.port, b"GET /index.html HTTP/1.0\r\n\r\n")
    assert status_of(answer) == 200


# --- Timeout only (no mod_reqtimeout) --------------------------------------------------------


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("plain-timeout"))
    (root.htdocs / "index.html").write_text("hello\n")
    (root.htdocs / "zerocopy").mkdir()
    for path in (root.htdocs / "big.bin", root.htdocs / "zerocopy" / "big.bin"):
        with open(path, "wb") as handle:
            handle.truncate(16 * 1024 * 1024)  # sparse: 16 MiB of zeros, beyond socket buffers
    root.write_config(
        "LogLevel info\nTimeout 1\n<Directory htdocs/zerocopy>\nEnableSendfile On\n</Directory>\n"
    )
    with running_server(root):
        yield root


def test_without_reqtimeout_the_head_waits_timeout_then_408(plain: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", plain.port)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        data, took = read_until_closed(sock)
    assert status_of(data) == 408 and took < CUT_OFF
    assert "AH01382" not in log_text(plain)  # only mod_reqtimeout says AH01382


def test_without_reqtimeout_a_slow_body_gets_408(plain: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", plain.port)) as sock:
        sock.sendall(b"PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\nab")
        data, _ = read_until_closed(sock)
    assert status_of(data) == 408


def _server_side_state(server_port: int, client_port: int) -> str | None:
    row = server_side_tcp(server_port, client_port)
    return row.state if row else None


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net/tcp")
@pytest.mark.parametrize("path", ["/big.bin", "/zerocopy/big.bin"])  # read-write, sendfile
def test_a_client_that_stops_reading_is_dropped_after_timeout(plain: ServerRoot, path: str) -> None:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    try:
        sock.connect(("127.0.0.1", plain.port))
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: a\r\n\r\n" % path.encode())
        client_port = sock.getsockname()[1]
        established = "01"
        assert wait_until(lambda: _server_side_state(plain.port, client_port) == established)
        # We never read: the server's writes stop progressing, and Timeout (1 s) ends them.
        assert wait_until(
            lambda: _server_side_state(plain.port, client_port) != established, timeout=CUT_OFF
        )
        received, _ = read_until_closed(sock, limit=20.0)
        assert len(received) < 16 * 1024 * 1024
    finally:
        sock.close()
    assert status_of(raw_exchange(plain.port, b"GET /index.html HTTP/1.0\r\n\r\n")) == 200


def test_sigterm_stops_the_server_while_a_client_hangs(tmp_path: Path) -> None:
    root = ServerRoot(tmp_path)
    root.write_config("Timeout 60\n")
    with running_server(root) as process:
        with socket.create_connection(("127.0.0.1", root.port), timeout=CUT_OFF) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 ")  # the connection is being served
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")  # the server now waits in recv
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=CUT_OFF)
            except subprocess.TimeoutExpired:
                pytest.fail("pyhttpd -X ignored SIGTERM while serving a connection")


# --- endless heads ---------------------------------------------------------------------------


def _flood(port: int, line: bytes, budget: int = 8 * 1024 * 1024) -> tuple[int, bytes]:
    """Send `line` over and over until the server answers or closes; bytes sent and the answer."""
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=CUT_OFF) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n")
        while sent < budget:
            readable, writable, _ = select.select([sock], [sock], [], CUT_OFF)
            if readable or not writable:  # the server answered, closed, or stopped reading
                break
            try:
                sent += sock.send(line * 64)
            except OSError:
                break
        try:
            answer, _ = read_until_closed(sock)
        except OSError:
            answer = b""
    return sent, answer


def test_endless_header_fields_are_refused_by_the_field_limit(plain: ServerRoot) -> None:
    sent, answer = _flood(plain.port, b"X: y\r\n")
    assert sent < 8 * 1024 * 1024  # what the kernel took; the server stopped after 100 fields
    assert answer == b"" or status_of(answer) == 400  # a reset may beat the 400 to the client
    assert wait_for_log(plain, "AH00563: Number of request header fields exceeds server limit")


def test_an_endless_header_line_is_refused(plain: ServerRoot) -> None:
    sent, answer = _flood(plain.port, b"a" * 1024)
    assert sent < 8 * 1024 * 1024
    assert answer == b"" or status_of(answer) == 400
    assert wait_for_log(plain, "AH00561: Size of a request header field exceeds server limit")
    assert status_of(raw_exchange(plain.port, b"GET /index.html HTTP/1.0\r\n\r\n")) == 200


# --- HttpProtocolOptions ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def options(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("protocol-options"))
    (root.htdocs / "index.html").write_text("hello\n")
    root.write_config(
        "LogLevel info\nHttpProtocolOptions Unsafe RegisteredMethods Require1.0\n"
        "LimitRequestFields 0\nLimitRequestFieldSize 100\n"
    )
    with running_server(root):
        yield root


@pytest.mark.parametrize(
    ("raw", "status"),
    [
        # Unsafe: what Apache 2.4 relaxes
        (b"GET   /index.html   HTTP/1.1  \r\nHost: a\r\n\r\n", 200),
        (b"GET /index.html http/1.1\r\nHost: a\r\n\r\n", 200),
        (b"GET /index.html HTTP/1.1\r\nHost: a\r\nB@d: x\r\n\r\n", 200),
        (b"GET /index.html HTTP/1.1\r\nHost: a\r\nX: a\x01b\x7f\r\n\r\n", 200),
        # ... and what it still refuses
        (b"GET\t/index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b" GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/01.1\r\nHost: a\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX : y\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
        # RegisteredMethods: 501 at read time, before Host is even looked at
        (b"FOO / HTTP/1.1\r\n\r\n", 501),
        (b"get / HTTP/1.1\r\n\r\n", 501),
        (b"PATCH /index.html HTTP/1.1\r\nHost: a\r\n\r\n", 405),
        # Require1.0
        (b"GET /index.html\r\n", 400),
    ],
)
def test_protocol_options(options: ServerRoot, raw: bytes, status: int) -> None:
    assert status_of(raw_exchange(options.port, raw)) == status


def test_registered_methods_501_names_the_method_and_closes(options: ServerRoot) -> None:
    answer = raw_exchange(options.port, b"FOO /x HTTP/1.1\r\nHost: a\r\n\r\n")
    assert b"Connection: close" in answer and b"FOO not supported for current URL." in answer
    assert wait_for_log(options, "AH02423")


def test_require10_answers_09_with_a_full_response(options: ServerRoot) -> None:
    assert raw_exchange(options.port, b"GET /index.html\r\n").startswith(b"HTTP/1.1 400 ")


def test_unlimited_fields_still_cap_the_head(options: ServerRoot) -> None:
    """LimitRequestFields 0 is unlimited in Apache; pyhttpd still bounds the buffered head."""
    sent, answer = _flood(options.port, b"X: y\r\n")
    assert sent < 8 * 1024 * 1024
    assert answer == b"" or status_of(answer) == 400
    assert wait_for_log(options, "AH00563: request head exceeds the server's limits")
    assert status_of(raw_exchange(options.port, b"GET /index.html HTTP/1.0\r\n\r\n")) == 200


def test_strict_is_the_default() -> None:
    with pytest.raises(HttpError, match="Invalid request line"):
        parse_head(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Limits())
    parsed = parse_head(b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", Limits(unsafe=True))
    assert parsed is not None and parsed[0].target == "/"


# --- a hook that raises ----------------------------------------------------------------------


def _broken_hook(request: object) -> int:
    raise ZeroDivisionError("a bug in a module")


def test_a_raising_handler_hook_is_a_500_with_a_traceback(tmp_path: Path) -> None:
    root = ServerRoot(tmp_path)
    hooks = {Phase.HANDLER: _broken_hook, Phase.LOG_TRANSACTION: _broken_hook}
    with engine_generation(root, hooks) as (generation, _):
        answer, outcomes = serve_once(generation, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    assert status_of(answer) == 500 and outcomes == [Outcome.CLOSE]
    text = log_text(root)
    assert "[core:error]" in text and "ZeroDivisionError: a bug in a module" in text
    assert "Traceback" in text and "hook failed: log_transaction" in text


def test_a_raising_output_headers_hook_is_logged_and_the_connection_continues(
    tmp_path: Path,
) -> None:
    root = ServerRoot(tmp_path)
    (root.htdocs / "index.html").write_text("hello\n")
    with engine_generation(root, {Phase.OUTPUT_HEADERS: _broken_hook}) as (generation, _):
        answer, _ = serve_once(
            generation,
            b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n"
            b"Connection: close\r\n\r\n",
        )
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert "hook failed: output_headers" in log_text(root)


# --- engine behaviour the differential run against Apache pinned down -------------------------


def test_http09_error_body_is_sent_once(plain: ServerRoot) -> None:
    answer = raw_exchange(plain.port, b"GET /nope\r\n")
    assert answer.count(b"<html>") == 1 and not answer.startswith(b"HTTP/")


def test_unknown_expectation_is_417_and_keeps_the_connection(plain: ServerRoot) -> None:
    answer = raw_exchange(plain.port, b"GET /index.html HTTP/1.1\r\nHost: a\r\nExpect: foo\r\n\r\n")
    assert status_of(answer) == 417 and b"Connection: close" not in answer
    assert wait_for_log(plain, "AH00570: client sent an unrecognized expectation value")


def test_304_and_encoded_slash_404_keep_the_connection(plain: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", plain.port), timeout=CUT_OFF) as sock:
        sock.sendall(
            b"GET /index.html HTTP/1.1\r\nHost: a\r\nIf-None-Match: *\r\n\r\n"
            b"GET /a%2fb HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        )
        data, _ = read_until_closed(sock)
    assert [int(s) for s in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)] == [304, 404, 200]
