"""event's lingering close in the listener, against a real master: a connection closed with
input still coming (a refused upload) is drained there until its client closes or LINGER
seconds pass, while both worker threads stay free; mod_status's "closing" column
(ConnsAsyncClosing) counts it meanwhile.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pyhttpd.http.connection import LINGER
from tests.harness.master import get, master, snapshot
from tests.harness.server import ServerRoot, wait_until

CONFIG = """\
StartServers 1
ServerLimit 1
ThreadsPerChild 2
ThreadLimit 2
MinSpareThreads 1
MaxSpareThreads 2
MaxRequestWorkers 2
KeepAliveTimeout 5
LimitRequestBody 1000
"""
# more than the listener reads ahead of a worker (listener_feed.PREREAD_BODY): the request
# goes to a worker thread, which refuses it (413) with most of the body unread
SENT = 70_000
UPLOAD = (
    b"POST /upload HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000000\r\n\r\n" + b"u" * SENT
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("event-linger"), mpm="event")
    (root.htdocs / "index.html").write_text("<h1>hello</h1>\n")
    root.write_config(CONFIG)
    with master(root, idle=2):
        yield root


def refused_upload(port: int) -> socket.socket:
    """A client that sends part of a large body, reads the whole 413 up to the server's FIN,
    and keeps its socket open."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(UPLOAD)
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    assert answer.startswith(b"HTTP/1.1 413 ") and answer.endswith(b"</html>\n")
    return sock


def lingering(root: ServerRoot) -> int:
    return snapshot(root).connection_totals().lingering_close


def test_the_listener_lingers_and_the_worker_threads_stay_free(root: ServerRoot) -> None:
    clients = [refused_upload(root.port) for _ in range(3)]
    try:
        assert wait_until(lambda: lingering(root) == 3, timeout=LINGER)
        # three connections linger and a child has two threads: none of them is waiting
        assert snapshot(root).idle_workers() == 2
        assert get(root.port, "/index.html") == 200
        # late bytes are read and dropped (no reset for them), and the client's close ends it
        clients[0].sendall(b"u" * 50_000)
        clients[0].close()
        assert wait_until(lambda: lingering(root) == 2, timeout=LINGER)
        # the others end after LINGER seconds, their clients still silent
        assert wait_until(lambda: lingering(root) == 0, timeout=LINGER + 5)
        assert wait_until(lambda: snapshot(root).connection_totals().connections == 0, timeout=5)
    finally:
        for client in clients:
            client.close()


def test_requests_behind_a_connection_close_are_dropped_by_the_listener(root: ServerRoot) -> None:
    """A request with Connection: close and another pipelined behind it: the answer to the
    first only, then the lingering close in the listener."""
    with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
        first = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        sock.sendall(first + b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        assert answer.count(b"HTTP/1.1 200 ") == 1
        assert wait_until(lambda: lingering(root) == 1, timeout=LINGER)
    assert wait_until(lambda: lingering(root) == 0, timeout=LINGER + 5)
