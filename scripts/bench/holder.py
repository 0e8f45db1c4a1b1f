"""Idle keep-alive connections held open, and fresh requests timed one by one.

`hold` opens N connections with a selector, sends one keep-alive GET on each, reads each answer,
and leaves the connections idle; `still_open` counts those the server has not closed since.
`probe` times fresh GETs on new connections (Connection: close), each bounded by a timeout.
Everything is bounded by a deadline. Runs in the bench process.
"""

from __future__ import annotations

import contextlib
import errno
import selectors
import socket
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def _request(url: str, close: bool) -> tuple[tuple[str, int], bytes]:
    parts = urlsplit(url)
    header = "Connection: close\r\n" if close else ""
    text = f"GET {parts.path or '/'} HTTP/1.1\r\nHost: localhost\r\n{header}\r\n"
    return (parts.hostname or "127.0.0.1", parts.port or 80), text.encode()


def _complete(data: bytes) -> bool:
    """True once a whole response (headers plus Content-Length body) has arrived."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


def fetch(url: str, timeout: float = 5.0) -> int | None:
    """One GET on a new connection; the status, or None when it failed or timed out."""
    address, request = _request(url, close=True)
    try:
        with socket.create_connection(address, timeout=timeout) as sock:
            sock.sendall(request)
            data = b""
            while not _complete(data) and (chunk := sock.recv(65536)):
                data += chunk
        return int(data.split(b" ", 2)[1]) if _complete(data) else None
    except (OSError, ValueError, IndexError):
        return None


@dataclass
class Probe:
    """Latencies (ms) of the fresh requests that got a 200, and how many did not."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0


def probe(url: str, count: int, timeout: float, budget: float) -> Probe:
    """COUNT fresh GETs one after the other, stopping early when BUDGET seconds are spent."""
    result = Probe()
    deadline = time.monotonic() + budget
    for _ in range(count):
        if time.monotonic() > deadline:
            break
        began = time.perf_counter()
        status = fetch(url, timeout)
        if status == 200:
            result.latencies.append((time.perf_counter() - began) * 1000)
        else:
            result.failures += 1
    return result


@dataclass
class Held:
    """Connections opened by `hold`: answered and now idle, still unanswered, or failed."""

    idle: list[socket.socket] = field(default_factory=list)
    waiting: list[socket.socket] = field(default_factory=list)
    failed: int = 0

    def still_open(self) -> int:
        """How many idle connections the server has not closed (no EOF, no error readable)."""
        selector = selectors.DefaultSelector()
        for sock in self.idle:
            selector.register(sock, selectors.EVENT_READ)
        readable = {key.fileobj for key, _ in selector.select(timeout=0)}
        selector.close()
        return len(self.idle) - len(readable)

    def close(self) -> None:
        for sock in self.idle + self.waiting:
            sock.close()
        self.idle.clear()
        self.waiting.clear()


def hold(url: str, count: int, budget: float, parallel: int = 16) -> Held:
    """Open COUNT keep-alive connections, one GET each, within BUDGET seconds.

    At most PARALLEL connections are being opened at once: a burst beyond the server's threads
    would measure how it sheds load (Apache event closes idle connections when its workers are
    all busy), not how many idle connections it holds. Connections whose answer has not come by
    the deadline stay open in `waiting` (a worker MPM with all threads held by idle connections
    answers them only when a keep-alive timeout frees a thread).
    """
    address, request = _request(url, close=False)
    selector = selectors.DefaultSelector()
    held = Held()
    pending: dict[socket.socket, bytes] = {}
    deadline = time.monotonic() + budget
    opened = 0
    while (opened < count or pending) and time.monotonic() < deadline:
        while opened < count and len(pending) < parallel:
            opened += 1
            sock = socket.socket()
            sock.setblocking(False)
            code = sock.connect_ex(address)
            if code not in (0, errno.EINPROGRESS):
                sock.close()
                held.failed += 1
                continue
            pending[sock] = b""
            selector.register(sock, selectors.EVENT_WRITE)
        for key, events in selector.select(timeout=0.1):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            _advance(sock, events, request, pending, selector, held)
    for sock in pending:
        selector.unregister(sock)
        held.waiting.append(sock)
    held.failed += count - opened
    selector.close()
    return held


def _advance(
    sock: socket.socket,
    events: int,
    request: bytes,
    pending: dict[socket.socket, bytes],
    selector: selectors.BaseSelector,
    held: Held,
) -> None:
    try:
        if events & selectors.EVENT_WRITE:
            sock.sendall(request)
            selector.modify(sock, selectors.EVENT_READ)
            return
        chunk = sock.recv(65536)
    except OSError:
        chunk = b""
    if chunk:
        pending[sock] += chunk
        if not _complete(pending[sock]):
            return
    selector.unregister(sock)
    data = pending.pop(sock)
    if chunk and data.startswith(b"HTTP/1.1 200"):
        held.idle.append(sock)
    else:
        held.failed += 1
        with contextlib.suppress(OSError):
            sock.close()
