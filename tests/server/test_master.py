"""The master process: real `pyhttpd -D FOREGROUND` processes, real signals, real sockets.

Each test starts a master on a temporary ServerRoot (tests.harness), waits by polling with a
deadline, and stops only the pids it started (tests/harness/master.py).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from pyhttpd.errors import StartupError
from pyhttpd.mpm.contract import CHILD_SICK
from pyhttpd.scoreboard import Scoreboard
from pyhttpd.server import children
from tests.harness.master import (
    PREFORK,
    env,
    error_log,
    get,
    live_pids,
    make_root,
    master,
    pyhttpd,
    snapshot,
    steady_load,
    wait_ready,
)
from tests.harness.server import ServerRoot, free_port, port_open, wait_until

# --- start and stop ------------------------------------------------------------------------------


def test_start_forks_start_servers_children(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=3, low=1, high=10))
    with master(root, idle=3) as running:
        board = snapshot(root)
        kids = running.children()
        assert len(kids) == 3
        assert live_pids(root) == {kid.pid for kid in kids}
        assert board.mpm == "prefork" and board.master_pid == running.pid
        assert psutil.Process(running.pid).cmdline()[0].startswith("pyhttpd: master")
        assert all(kid.cmdline()[0].startswith("pyhttpd: child (generation 0)") for kid in kids)
        assert get(root.port) == 200
        assert (root.path / "logs" / "httpd.pid").read_text() == f"{running.pid}\n"
    log = error_log(root)
    assert "AH00163: pyhttpd/" in log and "configured -- resuming normal operations" in log


def test_stop_leaves_no_process_and_no_pid_file(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=1, high=10))
    with master(root, idle=2) as running:
        kids = running.children()
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=15) == 0
        assert wait_until(lambda: not any(kid.is_running() for kid in kids), timeout=5)
    assert not (root.path / "logs" / "httpd.pid").exists()
    assert not (root.path / "logs" / "apache_runtime_status").exists()
    assert "AH00169: caught SIGTERM, shutting down" in error_log(root)


def test_a_killed_child_is_replaced_and_its_slot_cleared(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=2, high=4))
    with master(root, idle=2):
        before = live_pids(root)
        victim = min(before)
        slot = next(p.slot for p in snapshot(root).processes if p.pid == victim)
        assert get(root.port) == 200
        os.kill(victim, signal.SIGKILL)
        assert wait_until(lambda: victim not in live_pids(root), timeout=5)
        assert wait_until(lambda: len(live_pids(root)) == 2, timeout=5)
        assert snapshot(root).processes[slot].pid != victim
        assert get(root.port) == 200


def test_graceful_restart_under_load_loses_no_request(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=3, low=2, high=6))
    with master(root, idle=3) as running:
        results: dict[str, int] = {"ok": 0, "failed": 0}
        stop = threading.Event()
        client = threading.Thread(target=steady_load, args=(root.port, results, stop))
        client.start()
        old = live_pids(root)
        for _ in range(2):
            time.sleep(0.3)
            running.process.send_signal(signal.SIGUSR1)
            generation = snapshot(root).running_generation
            assert wait_until(lambda g=generation: snapshot(root).running_generation > g, 5)
        assert wait_until(lambda: not (old & live_pids(root)), timeout=10)
        time.sleep(0.3)
        stop.set()
        client.join()
        print(f"graceful under load: {results}")
        assert results["failed"] == 0
        assert results["ok"] > 10
        assert snapshot(root).running_generation == 2
        assert "AH00171: Graceful restart requested, doing restart" in error_log(root)


def test_a_broken_config_on_graceful_keeps_the_old_generation(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=1, high=4))
    with master(root, idle=2) as running:
        before = live_pids(root)
        config = root.path / "httpd.conf"
        config.write_text(config.read_text() + "BogusDirective on\n")
        running.process.send_signal(signal.SIGUSR1)
        assert wait_until(lambda: "AH00526" in error_log(root), timeout=5)
        running.process.send_signal(signal.SIGHUP)
        assert wait_until(lambda: "AH00173" in error_log(root), timeout=5)
        time.sleep(0.5)
        assert running.process.poll() is None
        assert live_pids(root) == before
        assert snapshot(root).running_generation == 0
        assert get(root.port) == 200
        assert "Invalid command 'BogusDirective'" in error_log(root)


def test_listen_lines_are_reread_on_graceful_and_restart(tmp_path: Path) -> None:
    """As Apache: a Listen line added is served after a graceful restart, one removed stops
    accepting, and a line that cannot be bound fails the restart while the old one serves."""
    root = make_root(tmp_path, PREFORK.format(start=2, low=1, high=4))
    config = root.path / "httpd.conf"
    first = f"Listen 127.0.0.1:{root.port}\n"
    extra = free_port()
    with master(root, idle=2) as running:
        config.write_text(config.read_text() + f"Listen 127.0.0.1:{extra}\n")
        running.process.send_signal(signal.SIGUSR1)
        assert wait_until(lambda: port_open(extra), timeout=10)
        assert get(extra) == 200 and get(root.port) == 200
        config.write_text(config.read_text().replace(first, ""))
        running.process.send_signal(signal.SIGHUP)
        assert wait_until(lambda: not port_open(root.port), timeout=10)
        assert wait_until(lambda: snapshot(root).idle_workers() >= 2, timeout=10)
        assert get(extra) == 200
        with socket.create_server(("127.0.0.1", 0)) as taken:  # a port someone else holds
            busy = taken.getsockname()[1]
            config.write_text(config.read_text() + f"Listen 127.0.0.1:{busy}\n")
            running.process.send_signal(signal.SIGUSR1)
            assert wait_until(lambda: "AH00072" in error_log(root), timeout=10)
        assert "restart failed: the running generation keeps serving" in error_log(root)
        assert get(extra) == 200 and running.process.poll() is None


def test_hard_restart_replaces_every_child(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=1, high=4))
    with master(root, idle=2) as running:
        before = live_pids(root)
        running.process.send_signal(signal.SIGHUP)
        assert wait_until(
            lambda: snapshot(root).running_generation == 1 and snapshot(root).idle_workers() >= 2,
            timeout=10,
        )
        assert not (before & live_pids(root))
        assert get(root.port) == 200


def test_graceful_stop_closes_and_exits(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=1, high=4))
    with master(root, idle=2) as running:
        running.process.send_signal(signal.SIGWINCH)
        assert running.process.wait(timeout=15) == 0
        assert not (root.path / "logs" / "httpd.pid").exists()
        assert "AH00170: caught SIGWINCH, shutting down gracefully" in error_log(root)


# --- pyhttpd -k and pyhttpdctl -------------------------------------------------------------------


def test_k_start_refuses_a_live_pid_file(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=1, low=1, high=4))
    with master(root) as running:
        result = pyhttpd(root, "-k", "start")
        assert (result.returncode, result.stdout) == (
            0,
            f"httpd (pid {running.pid}) already running\n",
        )


def test_k_stop_when_not_running(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=1, low=1, high=4))
    result = pyhttpd(root, "-k", "stop")
    assert (result.returncode, result.stdout) == (0, "httpd (no pid file) not running\n")
    dead = subprocess.Popen(["true"])
    dead.wait()
    (root.path / "logs" / "httpd.pid").write_text(f"{dead.pid}\n")
    result = pyhttpd(root, "-k", "graceful-stop")
    assert (result.returncode, result.stdout) == (0, f"httpd (pid {dead.pid}?) not running\n")


def test_k_stop_with_a_broken_config_sends_nothing(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=1, low=1, high=4))
    with master(root) as running:
        config = root.path / "httpd.conf"
        config.write_text(config.read_text() + "BogusDirective on\n")
        result = pyhttpd(root, "-k", "stop")
        assert result.returncode == 1 and "AH00526" in result.stderr
        assert running.process.poll() is None


def test_pyhttpdctl_start_status_stop(tmp_path: Path) -> None:
    # a core directive: without mod_status it is Off and fullstatus would show no request lines
    root = make_root(tmp_path, PREFORK.format(start=2, low=1, high=4) + "ExtendedStatus On\n")
    result = pyhttpd(root, "start", program="pyhttpdctl")
    pid_file = root.path / "logs" / "httpd.pid"
    try:
        assert result.returncode == 0, result.stderr
        pid = int(pid_file.read_text())
        assert get(root.port) == 200
        status = pyhttpd(root, "status", program="pyhttpdctl")
        assert status.returncode == 0, status.stderr
        line = next(x for x in status.stdout.splitlines() if x.startswith("Scoreboard: "))
        assert len(line.removeprefix("Scoreboard: ")) == 8
        assert "Server MPM: prefork" in status.stdout
        full = pyhttpd(root, "fullstatus", program="pyhttpdctl")
        rows = [line.split() for line in full.stdout.splitlines()]
        assert sum(1 for row in rows if len(row) > 3 and row[3] in ("_", "W")) >= 1
        assert "GET /index.html HTTP/1.1" in full.stdout  # the worker that served get()
        kids = psutil.Process(pid).children()
        stop = pyhttpd(root, "stop", program="pyhttpdctl")
        assert stop.returncode == 0, stop.stderr
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        assert not any(kid.is_running() for kid in kids)
        assert not pid_file.exists()
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def test_a_missing_child_loop_fails_start_up_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(children.CHILD_MAINS, "prefork", "pyhttpd.mpm.prefork:no_such_loop")
    with pytest.raises(StartupError, match="has no child process loop"):
        children.resolve_child_main("prefork")


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_threaded_mpms_start_through_the_registry(tmp_path: Path, mpm: str) -> None:
    root = ServerRoot(tmp_path, mpm=mpm)
    (root.htdocs / "index.html").write_text("hello\n")
    threads = "ThreadsPerChild 4\nThreadLimit 4\nMinSpareThreads 4\nMaxSpareThreads 16\n"
    root.write_config(f"StartServers 2\nServerLimit 4\nMaxRequestWorkers 16\n{threads}")
    with master(root, idle=8) as running:
        kids = running.children()
        assert len(kids) == 2 and live_pids(root) == {kid.pid for kid in kids}
        assert snapshot(root).scoreboard_string() == "_" * 8 + "." * 8
        assert get(root.port) == 200
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=15) == 0
        assert wait_until(lambda: not any(kid.is_running() for kid in kids), timeout=5)
    assert not (root.path / "logs" / "httpd.pid").exists()


def test_k_graceful_when_not_running_starts_the_server(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=1, low=1, high=4))
    pid_file = root.path / "logs" / "httpd.pid"
    try:
        result = pyhttpd(root, "-k", "graceful")
        assert (result.returncode, result.stdout) == (0, "httpd not running, trying to start\n")
        assert wait_until(lambda: pid_file.exists(), timeout=10)
        pid = int(pid_file.read_text())
        assert wait_ready(root, pid)
        assert get(root.port) == 200
        assert pyhttpd(root, "-k", "stop").returncode == 0
        assert wait_until(lambda: not psutil.pid_exists(pid), timeout=15)
        assert not pid_file.exists()
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def sick_child_main(context: object) -> int:
    """A child that never initialises (used through the MPM registry below)."""
    return CHILD_SICK


SICK_MASTER = """
import sys
from pyhttpd.cli.httpd import load_from_args
from pyhttpd.server import children
from pyhttpd.server.listeners import bind_listeners
from pyhttpd.server.master import Master
children.CHILD_MAINS["prefork"] = "tests.server.test_master:sick_child_main"
config = load_from_args(sys.argv[1:])
listeners = bind_listeners(config.get("Listen"), 511)
sys.exit(Master(config, listeners, lambda: config).run())
"""


def test_children_that_never_initialise_make_the_master_give_up(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=2, high=4))
    argv = [sys.executable, "-c", SICK_MASTER, "-d", str(root.path), "-f", "httpd.conf"]
    result = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=30)
    assert result.returncode == 1
    assert "AH02325: A resource shortage or other unrecoverable failure" in error_log(root)
    assert not (root.path / "logs" / "httpd.pid").exists()


def test_pyhttpdctl_graceful_runs_the_syntax_check_first(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=1, low=1, high=4))
    with master(root) as running:
        config = root.path / "httpd.conf"
        config.write_text(config.read_text() + "BogusDirective on\n")
        result = pyhttpd(root, "graceful", program="pyhttpdctl")
        assert result.returncode == 1
        assert "AH00526: Syntax error on line" in result.stderr
        assert result.stdout.startswith("Action 'graceful' failed.\n")
        assert "AH00171" not in error_log(root)
        assert running.process.poll() is None and snapshot(root).running_generation == 0


def test_graceful_restart_across_an_mpm_change_serves_on(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=1, high=4))
    with master(root, idle=2) as running:
        results: dict[str, int] = {"ok": 0, "failed": 0}
        stop = threading.Event()
        client = threading.Thread(target=steady_load, args=(root.port, results, stop))
        client.start()
        old = live_pids(root)
        time.sleep(0.3)
        root.mpm = "event"
        root.write_config("StartServers 2\nLogLevel info\n")
        running.process.send_signal(signal.SIGUSR1)
        assert wait_until(lambda: snapshot(root).mpm == "event", timeout=10)
        assert wait_until(lambda: snapshot(root).idle_workers() > 0, timeout=10)
        assert wait_until(lambda: not any(psutil.pid_exists(pid) for pid in old), timeout=10)
        time.sleep(0.3)
        stop.set()
        client.join()
        assert results["failed"] == 0 and results["ok"] > 10


# --- ScoreBoardFile ------------------------------------------------------------------------------


def test_scoreboard_file_default_and_server_only(tmp_path: Path) -> None:
    from pyhttpd.config import load
    from pyhttpd.errors import ConfigError
    from pyhttpd.modules.registry import default_registry
    from pyhttpd.server.master import scoreboard_path

    root = make_root(tmp_path, "")
    config = load("httpd.conf", str(root.path), default_registry())
    assert scoreboard_path(config) == str(root.path / "logs" / "apache_runtime_status")
    root.write_config("ScoreBoardFile /run/elsewhere/board\n")
    config = load("httpd.conf", str(root.path), default_registry())
    assert scoreboard_path(config) == "/run/elsewhere/board"
    root.write_config(
        f"<VirtualHost 127.0.0.1:{root.port}>\nScoreBoardFile run/board\n</VirtualHost>\n"
    )
    with pytest.raises(ConfigError, match="ScoreBoardFile cannot occur within <VirtualHost>"):
        load("httpd.conf", str(root.path), default_registry())


def test_scoreboard_file_moves_the_scoreboard_for_master_and_pyhttpdctl(tmp_path: Path) -> None:
    root = make_root(tmp_path, PREFORK.format(start=2, low=1, high=4) + "ScoreBoardFile run/sb\n")
    board_file = root.path / "run" / "sb"
    result = pyhttpd(root, "start", program="pyhttpdctl")  # its readiness check reads the board
    pid_file = root.path / "logs" / "httpd.pid"
    try:
        assert result.returncode == 0, result.stderr + error_log(root)
        pid = int(pid_file.read_text())
        assert board_file.exists()
        assert not (root.path / "logs" / "apache_runtime_status").exists()
        with Scoreboard.attach(board_file) as board:
            assert board.snapshot().master_pid == pid
        status = pyhttpd(root, "status", program="pyhttpdctl")
        assert status.returncode == 0, status.stderr
        assert "Server MPM: prefork" in status.stdout
        stop = pyhttpd(root, "stop", program="pyhttpdctl")
        assert stop.returncode == 0, stop.stderr
        assert not board_file.exists()
    finally:
        if pid_file.exists():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)


def _keep_alive_load(port: int, stop: threading.Event) -> None:
    """One client on a kept-alive connection (reconnecting when the server closes it), until
    told to stop: bounded to 20 s and 5,000 requests."""
    deadline, sent = time.monotonic() + 20, 0
    sock: socket.socket | None = None
    while not stop.is_set() and time.monotonic() < deadline and sent < 5000:
        try:
            sock = sock or socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = sock.recv(65536)
            sent += 1
            if not answer or b"Connection: close" in answer:
                sock.close()
                sock = None
        except OSError:
            if sock is not None:
                sock.close()
            sock = None
    if sock is not None:
        sock.close()


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_every_old_child_leaves_on_graceful_under_keep_alive_load(tmp_path: Path, mpm: str) -> None:
    """The master sends one GRACEFUL byte per child down the generation's pipe of death; a
    child already stopping must not read another's (that child would serve on, forever)."""
    root = ServerRoot(tmp_path, mpm=mpm)
    (root.htdocs / "index.html").write_text("hello\n")
    root.write_config(
        "PidFile logs/httpd.pid\nStartServers 3\nServerLimit 8\nThreadsPerChild 4\n"
        "ThreadLimit 4\nMaxRequestWorkers 32\nMinSpareThreads 4\nMaxSpareThreads 32\n"
    )
    with master(root, idle=12) as running:
        stop = threading.Event()
        clients = [
            threading.Thread(target=_keep_alive_load, args=(root.port, stop)) for _ in range(6)
        ]
        for client in clients:
            client.start()
        try:
            for generation in range(3):
                old = {child.pid for child in running.children()}
                running.process.send_signal(signal.SIGUSR1)
                assert wait_until(lambda g=generation: snapshot(root).running_generation > g, 5)
                assert wait_until(lambda o=old: not (o & live_pids(root)), timeout=10), generation
        finally:
            stop.set()
            for client in clients:
                client.join()
