"""A real pyhttpd process on a free 127.0.0.1 port, built from configuration text.

`ServerRoot` makes a temporary ServerRoot (htdocs/, logs/, httpd.conf); `running_server` starts
`pyhttpd -X` on it, waits by polling with a deadline until the port accepts, and stops it by pid
(never by name). After the test, the caller may scan the error log.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MIME_TYPES = REPO / "conf" / "mime.types"  # TypesConfig for tests that load mod_mime
MPM_MODULES = {
    "prefork": "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so",
    "worker": "LoadModule mpm_worker_module modules/mod_mpm_worker.so",
    "event": "LoadModule mpm_event_module modules/mod_mpm_event.so",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: object, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll `predicate()` until it is true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(interval)
    return False


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


@dataclass
class ServerRoot:
    """A temporary ServerRoot with htdocs/ and logs/, and the config text to run it with."""

    path: Path
    port: int = field(default_factory=free_port)
    mpm: str = "event"

    def __post_init__(self) -> None:
        (self.path / "htdocs").mkdir(parents=True, exist_ok=True)
        (self.path / "logs").mkdir(exist_ok=True)

    @property
    def htdocs(self) -> Path:
        return self.path / "htdocs"

    def write_config(self, body: str = "", modules: tuple[str, ...] = ()) -> Path:
        loads = [MPM_MODULES[self.mpm]] + [
            f"LoadModule {name}_module modules/mod_{name}.so" for name in modules
        ]
        text = "\n".join(
            [
                *loads,
                "ServerName localhost",
                f"Listen 127.0.0.1:{self.port}",
                "DocumentRoot htdocs",
                "ErrorLog logs/error_log",
                body,
            ]
        )
        config = self.path / "httpd.conf"
        config.write_text(text + "\n")
        return config

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextlib.contextmanager
def running_server(root: ServerRoot, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run `pyhttpd -X` on the root until the block ends; fail loudly if it never listens."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pyhttpd", "-d", str(root.path), "-f", "httpd.conf", "-X", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=str(root.path),
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        if not wait_until(lambda: port_open(root.port) or process.poll() is not None):
            raise AssertionError("pyhttpd did not start listening within 10 s")
        if process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"pyhttpd exited at start-up: {err.decode()}")
        yield process
    finally:
        stop_process(process, timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


def stop_process(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM a process this test started (if still running), SIGKILL it after `timeout`."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class TcpRow:
    """The server's end of one loopback connection, from /proc/net/tcp (Linux)."""

    state: str  # hex, as the kernel writes it: "01" is ESTABLISHED
    send_queue: int  # bytes written but not yet acknowledged by the client


def server_side_tcp(server_port: int, client_port: int) -> TcpRow | None:
    """The TCP state and send queue of the server's end of one loopback connection."""
    with open("/proc/net/tcp") as table:
        next(table)
        for row in table:
            fields = row.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.split(":")[1], 16) == server_port
                and int(remote.split(":")[1], 16) == client_port
            ):
                return TcpRow(fields[3], int(fields[4].split(":")[0], 16))
    return None


def read_to_close(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (a reset ends it as a close does)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except ConnectionResetError:
        pass
    return b"".join(chunks)


def raw_exchange(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Send raw bytes, half-close, and read the whole answer until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])
