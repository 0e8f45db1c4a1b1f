"""The MPM matrix: the same black-box checks against a real master (-D FOREGROUND) running each
of prefork, worker and event on one small configuration.

One master per MPM for the whole module (module-scoped fixture); the child-killing check runs
last for each MPM since it changes the process set.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.harness.master import Running, get, live_pids, master, snapshot
from tests.harness.server import ServerRoot, raw_exchange, status_of, wait_until

BIG = bytes(range(256)) * 1200  # 300 KB
CONFIGS = {
    "prefork": "StartServers 2\nMinSpareServers 2\nMaxSpareServers 4\nMaxRequestWorkers 8\n",
    "worker": "StartServers 2\nServerLimit 4\nThreadsPerChild 4\nThreadLimit 4\n"
    "MinSpareThreads 5\nMaxSpareThreads 16\nMaxRequestWorkers 16\n",
}
CONFIGS["event"] = CONFIGS["worker"]
# MinSpareThreads 5 sits between one child's threads (4) and two children's less the two test
# clients (6): two children are enough at rest and under the matrix's load, and losing one always
# calls for a replacement, whether or not the load happens to hold a thread (event's listener
# serves small files itself, so it often holds none).
IDLE = {"prefork": 2, "worker": 8, "event": 8}


@dataclass
class Server:
    mpm: str
    root: ServerRoot
    running: Running

    @property
    def port(self) -> int:
        return self.root.port

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


@pytest.fixture(scope="module", params=["prefork", "worker", "event"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    mpm = request.param
    root = ServerRoot(tmp_path_factory.mktemp(f"matrix-{mpm}"), mpm=mpm)
    (root.htdocs / "index.html").write_text("<h1>hello</h1>\n")
    (root.htdocs / "big.bin").write_bytes(BIG)
    root.write_config(CONFIGS[mpm] + "KeepAliveTimeout 5\nLogLevel info\n")
    with master(root, idle=IDLE[mpm]) as running:
        yield Server(mpm, root, running)


def request_bytes(path: str, method: str = "GET", extra: str = "") -> bytes:
    return f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n{extra}\r\n".encode()


def read_responses(sock: socket.socket, count: int) -> list[tuple[int, dict[str, str], bytes]]:
    """`count` responses with Content-Length bodies, however they are split across segments."""
    data, answers = b"", []
    while len(answers) < count:
        head_end = data.find(b"\r\n\r\n")
        if head_end >= 0:
            lines = data[:head_end].decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
            end = head_end + 4 + int(headers.get("content-length", "0"))
            if len(data) >= end:
                answers.append((int(lines[0].split()[1]), headers, data[head_end + 4 : end]))
                data = data[end:]
                continue
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed after {len(answers)} responses: {data[:80]!r}")
        data += chunk
    return answers


def closed_after(sock: socket.socket, timeout: float = 5.0) -> bool:
    """Does the server close the connection (EOF or reset) within `timeout`?"""
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_keep_alive_over_http_client(server: Server) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        bodies, socks = [], []
        for _ in range(3):
            connection.request("GET", "/index.html")
            response = connection.getresponse()
            bodies.append((response.status, response.read()))
            socks.append(connection.sock)
            assert response.getheader("Connection", "").lower() != "close"
        assert bodies == [(200, b"<h1>hello</h1>\n")] * 3
        assert socks[0] is not None and socks[0] is socks[1] is socks[2]  # one connection
    finally:
        connection.close()


def test_pipelining_three_requests(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            request_bytes("/index.html") + request_bytes("/nope") + request_bytes("/index.html")
        )
        answers = read_responses(sock, 3)
    assert [status for status, _, _ in answers] == [200, 404, 200]
    assert answers[0][2] == answers[2][2] == b"<h1>hello</h1>\n"


def test_a_request_then_a_half_close_is_answered(server: Server) -> None:
    answer = raw_exchange(server.port, b"GET /index.html HTTP/1.0\r\n\r\n")
    assert status_of(answer) == 200 and answer.endswith(b"<h1>hello</h1>\n")


def test_not_found_page(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request_bytes("/no/such/file.html"))
        [(status, headers, body)] = read_responses(sock, 1)
    assert status == 404
    assert b"Not Found" in body and headers["content-type"].startswith("text/html")


def test_bad_request_closes_the_connection(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\n\r\n")  # HTTP/1.1 without Host
        [(status, headers, _)] = read_responses(sock, 1)
        assert status == 400
        assert headers.get("connection", "").lower() == "close"
        assert closed_after(sock)


def test_head(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request_bytes("/big.bin", "HEAD") + request_bytes("/index.html"))
        data = b""
        while b"hello" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert f"Content-Length: {len(BIG)}".encode() in head
    assert rest.startswith(b"HTTP/1.1 200 ")  # no body after HEAD's header block


def test_a_300_kb_file_exact(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request_bytes("/big.bin"))
        [(status, headers, body)] = read_responses(sock, 1)
    assert status == 200 and int(headers["content-length"]) == len(BIG)
    assert body == BIG


def test_range_request(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(request_bytes("/big.bin", extra="Range: bytes=1000-1999\r\n"))
        [(status, headers, body)] = read_responses(sock, 1)
    assert status == 206
    assert headers["content-range"] == f"bytes 1000-1999/{len(BIG)}"
    assert body == BIG[1000:2000]


def test_sigkill_of_a_child_costs_at_most_the_requests_in_flight(server: Server) -> None:
    """Two clients loop over fresh connections; one child is killed; each client has at most
    one request in flight, so at most two fail, and the child is replaced."""
    results = {"ok": 0, "failed": 0}
    lock, stop = threading.Lock(), threading.Event()

    def load() -> None:
        deadline = time.monotonic() + 15
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                ok = get(server.port, timeout=5) == 200
            except (OSError, IndexError, ValueError):
                ok = False
            with lock:
                results["ok" if ok else "failed"] += 1

    before = live_pids(server.root)
    assert len(before) == 2
    clients = [threading.Thread(target=load) for _ in range(2)]
    for client in clients:
        client.start()
    try:
        assert wait_until(lambda: results["ok"] >= 20, timeout=10)
        victim = min(before)
        os.kill(victim, signal.SIGKILL)
        assert wait_until(lambda: victim not in live_pids(server.root), timeout=5)
        assert wait_until(lambda: len(live_pids(server.root)) == 2, timeout=5)
        replaced = live_pids(server.root) - before
        assert len(replaced) == 1 and replaced <= {c.pid for c in server.running.children()}
        served = results["ok"]
        assert wait_until(lambda: results["ok"] >= served + 20, timeout=10)
    finally:
        stop.set()
        for client in clients:
            client.join()
    print(f"{server.mpm}: SIGKILL of a child under load: {results}")
    assert results["failed"] <= len(clients)
    assert snapshot(server.root).idle_workers() >= 1
