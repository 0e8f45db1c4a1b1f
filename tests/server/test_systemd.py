"""systemd integration without systemd: the notify protocol and socket activation, for real.

sd_notify: the test binds a unix datagram socket (abstract '@' name and a path), passes it as
$NOTIFY_SOCKET to a real `pyhttpd -D FOREGROUND` master, and reads what systemd would read: READY=1
once the listeners accept, RELOADING=1 + MONOTONIC_USEC then READY=1 around a graceful restart,
STOPPING=1 on SIGTERM. Socket activation: the test binds and listens itself, hands the socket over
as fd 3 with LISTEN_FDS=1 and LISTEN_PID set by a tiny exec wrapper (exec keeps the pid), and
shows that pyhttpd serves on it, and that a request sent while no master runs is answered by the
next one, which is what a `.socket` unit buys across a full restart.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pyhttpd.modules.core_values import ListenAddress
from pyhttpd.server.listeners import bind_listeners
from pyhttpd.server.sd_notify import Notifier
from tests.harness.master import PREFORK, env, error_log, get, make_root, wait_ready
from tests.harness.server import ServerRoot

CONFIG = PREFORK.format(start=1, low=1, high=4)
# exec keeps the pid, so LISTEN_PID names pyhttpd; the passed socket is moved to fd 3
WRAPPER = (
    "import os, sys; fd = int(os.environ.pop('TEST_FD')); os.dup2(fd, 3); os.close(fd); "
    "os.environ['LISTEN_PID'] = str(os.getpid()); os.execv(sys.executable, sys.argv[1:])"
)


@contextmanager
def foreground(root: ServerRoot, extra_env: dict[str, str], **popen: object) -> Iterator[int]:
    """A master with extra environment; yields its pid, stops it with SIGTERM."""
    argv = [sys.executable, "-m", "pyhttpd", "-d", str(root.path), "-f", "httpd.conf"]
    if "pass_fds" in popen:
        argv = [sys.executable, "-c", WRAPPER, *argv]
    process = subprocess.Popen(
        [*argv, "-D", "FOREGROUND"], env={**env(), **extra_env}, cwd=root.path,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **popen,  # type: ignore[call-overload]
    )  # fmt: skip
    try:
        assert wait_ready(root, process.pid), error_log(root)
        yield process.pid
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        assert "Traceback" not in error_log(root)


def messages(sock: socket.socket, until: str) -> list[dict[str, str]]:
    """Datagrams up to and including the first one carrying `until` (5 s per datagram)."""
    found = []
    sock.settimeout(5)
    while True:
        fields = dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())
        found.append(fields)
        if until in fields:
            return found


def test_notifier_is_silent_without_a_socket() -> None:
    assert Notifier(None).ready("x") is False
    assert Notifier("/nonexistent/notify").ready("x") is False


def test_notifier_writes_to_a_socket_path(tmp_path: Path) -> None:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        assert Notifier(str(path)).reloading("graceful restart")
        fields = messages(sock, "RELOADING")[-1]
    assert fields["RELOADING"] == "1" and int(fields["MONOTONIC_USEC"]) > 0
    assert fields["STATUS"] == "graceful restart"


def test_master_notifies_ready_reloading_and_stopping(tmp_path: Path) -> None:
    root = make_root(tmp_path, CONFIG)
    name = f"@pyhttpd-test-{uuid.uuid4().hex}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name[1:])
        with foreground(root, {"NOTIFY_SOCKET": name}) as pid:
            ready = messages(sock, "READY")
            assert ready[-1]["MAINPID"] == str(pid) and "generation 0" in ready[-1]["STATUS"]
            assert get(root.port) == 200
            os.kill(pid, signal.SIGUSR1)
            reload = messages(sock, "READY")
            assert reload[0]["RELOADING"] == "1" and int(reload[0]["MONOTONIC_USEC"]) > 0
            assert "generation 1" in reload[-1]["STATUS"]
            # A configuration that fails keeps the running generation, and systemd hears so.
            config = root.path / "httpd.conf"
            config.write_text(config.read_text() + "NoSuchDirective on\n")
            os.kill(pid, signal.SIGUSR1)
            failed = messages(sock, "READY")
            assert failed[0]["RELOADING"] == "1" and "failed" in failed[-1]["STATUS"]
            assert get(root.port) == 200
            os.kill(pid, signal.SIGTERM)
            assert messages(sock, "STOPPING")[-1]["STOPPING"] == "1"


def listening_socket(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    return sock


def activated(root: ServerRoot, sock: socket.socket) -> object:
    extra = {"LISTEN_FDS": "1", "LISTEN_FDNAMES": "pyhttpd", "TEST_FD": str(sock.fileno())}
    return foreground(root, extra, pass_fds=(sock.fileno(),))


def test_socket_activation_serves_on_the_inherited_socket_across_a_restart(
    tmp_path: Path,
) -> None:
    root = make_root(tmp_path, CONFIG)
    # While the test holds this listening socket, pyhttpd could not bind the address itself
    # (EADDRINUSE): serving proves it adopted fd 3.
    with listening_socket(root.port) as sock:
        with activated(root, sock):  # type: ignore[attr-defined]
            assert get(root.port) == 200
        # No master runs now; the kernel still queues connections on the held socket.
        with socket.create_connection(("127.0.0.1", root.port), timeout=20) as waiting:
            waiting.sendall(b"GET /index.html HTTP/1.0\r\nHost: localhost\r\n\r\n")
            with activated(root, sock):  # type: ignore[attr-defined]
                assert waiting.recv(64).startswith(b"HTTP/1.1 200 ")
    assert "AH00072" not in error_log(root)


def test_an_inherited_socket_no_listen_names_is_closed(tmp_path: Path) -> None:
    root = make_root(tmp_path, "")
    config_port = root.port
    with listening_socket(0) as stray:
        bound = bind_listeners([ListenAddress("127.0.0.1", config_port)], 8, [stray])
        assert stray.fileno() == -1
        assert bound[0].getsockname() == ("127.0.0.1", config_port)
        bound[0].close()
