"""event's listener serving short requests itself (Connection.serve_inline), against a real
master: which thread served each request (the access log's %{tid}P), what it hands to a worker
thread and that such a request is still served once, and that a client that stops reading
cannot stall the listener.
"""

from __future__ import annotations

import http.client
import os
import socket
from collections.abc import Iterator

import pytest

from tests.harness.master import error_log, master, snapshot
from tests.harness.server import MIME_TYPES, ServerRoot, wait_until

SMALL = b"small file\n" * 50  # 550 bytes
INLINE_LIMIT = 8192  # connection.INLINE_FILE_MAX
CONFIG = """\
StartServers 1
ServerLimit 1
ThreadsPerChild 4
ThreadLimit 4
MinSpareThreads 1
MaxSpareThreads 4
MaxRequestWorkers 4
KeepAliveTimeout 10
MaxKeepAliveRequests 0
Timeout 30
LogLevel info
ExtendedStatus On
TypesConfig {mime_types}
LogFormat "%{{tid}}P %>s %r" threads
CustomLog logs/access_log threads
ErrorDocument 404 /missing.html
AddHandler cgi-script .cgi
<Directory "{htdocs}">
    Options +ExecCGI
</Directory>
<Files "byname.html">
    Require host localhost
</Files>
"""


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("event-inline"), mpm="event")
    (root.htdocs / "small.html").write_bytes(SMALL)
    (root.htdocs / "limit.bin").write_bytes(b"L" * INLINE_LIMIT)
    (root.htdocs / "large.bin").write_bytes(b"B" * (INLINE_LIMIT + 1))
    (root.htdocs / "missing.html").write_text("our own not-found page\n")
    (root.htdocs / "byname.html").write_bytes(SMALL)
    script = root.htdocs / "hello.cgi"
    script.write_text("#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\nfrom cgi\\n'\n")
    script.chmod(0o755)
    root.write_config(
        CONFIG.format(mime_types=MIME_TYPES, htdocs=root.htdocs),
        modules=("mime", "cgi", "log_config", "authz_core", "authz_host"),
    )
    with master(root, idle=4):
        yield root


def access_lines(root: ServerRoot) -> list[tuple[str, str, str]]:
    """(tid, status, request line) per access-log line."""
    path = root.path / "logs" / "access_log"
    text = path.read_text() if path.exists() else ""
    return [tuple(line.split(" ", 2)) for line in text.splitlines()]  # type: ignore[misc]


def logged(root: ServerRoot, count: int) -> list[tuple[str, str, str]]:
    """The last `count` access-log lines, once there are that many more than before."""
    assert wait_until(lambda: len(access_lines(root)) >= count, timeout=10)
    return access_lines(root)[-count:]


def fetch(connection: http.client.HTTPConnection, path: str) -> tuple[int, bytes]:
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def test_small_files_on_several_connections_are_served_by_one_thread(root: ServerRoot) -> None:
    before = len(access_lines(root))
    accesses = sum(w.access_count for w in snapshot(root).workers[0])
    connections = [http.client.HTTPConnection("127.0.0.1", root.port, timeout=10) for _ in range(3)]
    try:
        for _ in range(3):  # interleaved: three connections open at once, each kept alive
            for connection in connections:
                assert fetch(connection, "/small.html") == (200, SMALL)
    finally:
        for connection in connections:
            connection.close()
    lines = logged(root, before + 9)[before:]
    assert {status for _, status, _ in lines} == {"200"}
    # Three connections at once would hold three worker threads; the listener served all nine.
    assert len({tid for tid, _, _ in lines}) == 1, lines
    # ... in an idle worker's scoreboard slot: mod_status counts every one
    assert wait_until(
        lambda: sum(w.access_count for w in snapshot(root).workers[0]) >= accesses + 9, 5
    )


def test_what_needs_a_thread_goes_to_one_and_is_served_once(root: ServerRoot) -> None:
    """On one keep-alive connection: what the listener serves, and what it hands to a worker
    thread: a CGI script (at its handler), a file over the limit (the same), a 404 whose
    ErrorDocument is a local URL (at its error response), a file only a client whose name
    resolves may see (a DNS lookup: the request runs again from its head). The worker that served a request
    needing a thread waits for the connection's next request; after a small file it gives the
    connection back to the listener."""
    before = len(access_lines(root))
    errors_before = error_log(root).count("File does not exist")
    steps = [  # (path, status, body, served by the listener)
        ("/small.html", 200, SMALL, True),
        ("/limit.bin", 200, b"L" * INLINE_LIMIT, True),
        ("/hello.cgi", 200, b"from cgi\n", False),
        ("/small.html", 200, SMALL, False),  # the CGI's worker held the connection
        ("/small.html", 200, SMALL, True),  # ... and gave it back after a small file
        ("/large.bin", 200, b"B" * (INLINE_LIMIT + 1), False),
        ("/small.html", 200, SMALL, False),
        ("/nowhere.html", 404, b"our own not-found page\n", False),
        ("/small.html", 200, SMALL, False),
        ("/small.html", 200, SMALL, True),
        ("/byname.html", 200, SMALL, False),
        ("/small.html", 200, SMALL, True),
    ]
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    try:
        for path, status, body, _ in steps:
            assert fetch(connection, path) == (status, body), path
    finally:
        connection.close()
    lines = logged(root, before + len(steps))[before:]
    assert [(line.split()[1], int(status)) for _, status, line in lines] == [
        (path, status) for path, status, _, _ in steps
    ]
    listener = lines[0][0]
    assert [tid == listener for tid, _, _ in lines] == [inline for *_, inline in steps]
    # the 404's lookup ran in the listener and its answer in a worker: logged once
    wait_until(lambda: error_log(root).count("File does not exist") > errors_before, 5)
    assert error_log(root).count("File does not exist") == errors_before + 1


def test_a_client_that_stops_reading_does_not_stall_the_listener(root: ServerRoot) -> None:
    """A client that sends one request at a time and reads no answer: once the socket takes no
    more, the rest of the answer is left to a worker thread (which waits up to Timeout); the
    listener never waits on it, other clients are still answered at once, and every answer
    arrives whole."""
    stalled = socket.socket()
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills after an answer
    stalled.connect(("127.0.0.1", root.port))
    other = http.client.HTTPConnection("127.0.0.1", root.port, timeout=3)
    request = b"GET /limit.bin HTTP/1.1\r\nHost: localhost\r\n\r\n"

    def answered() -> int:
        return sum(1 for _, _, line in access_lines(root) if "/limit.bin" in line)

    start = answered()
    try:
        for sent in range(1, 1000):  # at most ~8 MiB of answers it never reads
            stalled.sendall(request)  # one at a time: never two in the server's buffer
            if not wait_until(lambda n=sent: answered() >= start + n, timeout=2, interval=0.002):
                break  # this one waits to be sent (in a worker, or in a stalled listener)
        else:
            pytest.fail("the client never stopped being answered")
        # Timeout is 30 s; `other` gives up after 3
        for _ in range(3):
            assert fetch(other, "/small.html") == (200, SMALL)
        # every answer arrives whole once the client reads (the write left to a worker too)
        stalled.settimeout(10)
        reader = stalled.makefile("rb")
        for _ in range(sent):
            assert reader.readline().startswith(b"HTTP/1.1 200 ")
            length = None
            while (line := reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            assert length == INLINE_LIMIT
            assert reader.read(length) == b"L" * INLINE_LIMIT
        reader.close()
    finally:
        stalled.close()
        other.close()


def test_tid_in_the_log_format_is_the_serving_thread(root: ServerRoot) -> None:
    """%{tid}P names a thread of the child (the error log's tid), not the process."""
    before = len(access_lines(root))
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    try:
        assert fetch(connection, "/small.html")[0] == 200
    finally:
        connection.close()
    tid = int(logged(root, before + 1)[-1][0])
    child = snapshot(root).processes[0].pid
    assert tid in {int(name) for name in os.listdir(f"/proc/{child}/task")}
    assert tid != child  # the main thread only waits for the others


def test_nothing_went_wrong(root: ServerRoot) -> None:
    log = error_log(root)
    assert "unexpected error" not in log and "Traceback" not in log, log
