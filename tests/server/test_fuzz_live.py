"""Mutated requests against a live pyhttpd -X: it never hangs, never crashes, never leaks.

Hypothesis (derandomized, 200 examples) mutates a handful of valid requests: random bytes in,
bytes out, bytes replaced, segments duplicated, and tokens that matter to a parser or to path
mapping spliced in (CR, LF, spaces, tabs, NUL, `../`, `%2e%2e/`, `%2f`, framing headers...). A
second strategy builds traversal paths from those tokens. Each request goes on its own
connection, half-closed, with a 5 s socket timeout: the server must answer (or close) within it,
never with a 500 (a 500 here is a bug in pyhttpd), and a secret file beside the document root must
never appear in any answer. Afterwards the server still serves GET / and its error log holds no
traceback.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.harness.server import ServerRoot, read_to_close, running_server, status_of

SECRET = b"fuzz-secret-3b9e0c"
EXCHANGE_TIMEOUT = 5.0
STATUS_LINE = re.compile(rb"(?:^|\n)HTTP/1\.1 (\d{3}) ")

SEEDS = (
    b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n",
    b"GET /sub/ HTTP/1.1\r\nHost: a\r\nRange: bytes=0-3\r\nIf-None-Match: *\r\n\r\n",
    b"HEAD /sub/page.html HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    b"POST /index.html HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    b"PUT /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    b"TRACE / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\r\n",
    b"GET /index.html\r\n",
    b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: a\r\n\r\n",
)
TOKENS = (
    b"../", b"..", b"..%2f", b"%2e%2e/", b"%2e%2e%2f", b".%2e/", b"%2f", b"%5c", b"%00", b"\x00",
    b"//", b"/./", b"\\..\\", b"%252e%252e/", b"secret.txt", b"/../secret.txt", b" ", b"  ",
    b"\t", b"\r\n", b"\n", b"\r", b":", b"\r\n ", b"HTTP/1.1", b"HTTP/0.9", b"Host: b\r\n",
    b"Content-Length: 99\r\n", b"Content-Length: -1\r\n", b"Transfer-Encoding: chunked\r\n",
    b"Expect: 100-continue\r\n", b"\xff", b"%", b"?", b"#", b"*",
)  # fmt: skip
PATH_PIECES = TOKENS[:16] + (b"index.html", b"sub", b"htdocs", b"a", b"/")


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(("insert", "delete", "replace", "token", "duplicate")))
        position = draw(st.integers(0, len(data)))
        end = draw(st.integers(position, min(len(data), position + 12)))
        if kind == "insert":
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[position:end]
        elif kind == "replace":
            data[position:end] = draw(st.binary(min_size=0, max_size=4))
        elif kind == "token":
            data[position:position] = draw(st.sampled_from(TOKENS))
        else:
            data[position:position] = data[position:end]
    return bytes(data)


@st.composite
def traversal(draw: st.DrawFn) -> bytes:
    pieces = draw(st.lists(st.sampled_from(PATH_PIECES), min_size=1, max_size=10))
    path = b"/" + b"".join(pieces)
    method = draw(st.sampled_from((b"GET", b"HEAD", b"POST", b"OPTIONS")))
    version = draw(
        st.sampled_from((b" HTTP/1.1\r\nHost: a\r\n\r\n", b" HTTP/1.0\r\n\r\n", b"\r\n"))
    )
    return method + b" " + path + version


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("fuzz-live"))
    (root.htdocs / "index.html").write_text("<h1>index</h1>\n")
    (root.htdocs / "sub").mkdir()
    (root.htdocs / "sub" / "page.html").write_text("<p>page</p>\n")
    (root.path / "secret.txt").write_bytes(SECRET + b"\n")
    root.write_config(
        "TraceEnable On\nKeepAliveTimeout 2\nTimeout 5\n"
        "RequestReadTimeout header=2-4,MinRate=100 body=2,MinRate=100\n",
        modules=("reqtimeout", "dir"),
    )
    with running_server(root) as process:
        yield root
        assert process.poll() is None, "pyhttpd died during the fuzz run"


def exchange(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=EXCHANGE_TIMEOUT) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may refuse before it has read everything
        return read_to_close(sock)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(request=st.one_of(mutated(), traversal()))
def test_mutated_requests_are_answered_safely(fuzzed: ServerRoot, request: bytes) -> None:
    answer = exchange(fuzzed.port, request)  # a TimeoutError here is a hang: the test fails
    assert SECRET not in answer
    for status in STATUS_LINE.findall(answer):  # a 500 would be a bug in pyhttpd itself
        assert 100 <= int(status) < 500 or int(status) in (501, 505), answer[:200]


def test_server_still_serves_and_logged_no_traceback(fuzzed: ServerRoot) -> None:
    answer = exchange(fuzzed.port, b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
    assert status_of(answer) == 200 and b"<h1>index</h1>" in answer
    log = (fuzzed.path / "logs" / "error_log").read_text(errors="replace")
    assert "Traceback" not in log and "unexpected error" not in log
