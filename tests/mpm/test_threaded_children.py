"""worker and event children, forked here without the master: real sockets, real scoreboard.

Each test binds a listener on 127.0.0.1:0, creates an anonymous scoreboard and a generation from
a temporary config, forks ONE child running the MPM's `child_main`, drives real clients from this
process, polls the scoreboard with deadlines and stops the child by pid (SIGTERM, or '!' on the
pipe of death for graceful). Timing bounds are generous on purpose.
"""

from __future__ import annotations

import os
import select
import signal
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyhttpd.config import load
from pyhttpd.http.connection import Connection, Outcome
from pyhttpd.http.listener_feed import PREREAD_BODY
from pyhttpd.modules.registry import default_registry
from pyhttpd.mpm import event, worker
from pyhttpd.mpm.contract import GRACEFUL, RESTART, ChildContext
from pyhttpd.scoreboard import Scoreboard, ScoreboardSnapshot
from pyhttpd.server.generation import build_generation
from tests.harness.master import master
from tests.harness.server import MPM_MODULES, ServerRoot, wait_until

CHILD_MAINS = {"worker": worker.child_main, "event": event.child_main}
REQUEST = b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n"


@dataclass
class Child:
    pid: int
    port: int
    scoreboard: Scoreboard
    death_write: int
    root: Path
    threads: int
    status: int | None = None

    def snapshot(self) -> ScoreboardSnapshot:
        return self.scoreboard.snapshot()

    def states(self) -> str:
        return "".join(w.state.code for w in self.snapshot().workers[0][: self.threads])

    def wait_states(self, predicate: Callable[[str], bool], timeout: float = 10.0) -> str:
        assert wait_until(lambda: predicate(self.states()), timeout), self.states()
        return self.states()

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)

    def wait_exit(self, timeout: float = 10.0) -> int | None:
        deadline = time.monotonic() + timeout
        while self.status is None and time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
            else:
                time.sleep(0.02)
        return self.status


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length body; leaves the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before a response: {data!r}")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return int(lines[0].split()[1]), headers, body


def kept_alive(child: Child) -> socket.socket:
    """A connection that was served one request and is now waiting in keep-alive."""
    sock = child.connect()
    sock.sendall(REQUEST)
    status, headers, _ = read_response(sock)
    assert status == 200 and headers["connection"] == "Keep-Alive"
    return sock


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        return sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True


def at_eof(sock: socket.socket) -> bool:
    """Without blocking: has the server closed this connection?"""
    if not select.select([sock], [], [], 0)[0]:
        return False
    try:
        return sock.recv(1, socket.MSG_PEEK) == b""
    except ConnectionResetError:
        return True


@contextmanager
def forked_child(tmp_path: Path, mpm: str, directives: str) -> Iterator[Child]:
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "logs").mkdir()
    (tmp_path / "htdocs" / "index.html").write_text("<h1>hello</h1>\n")
    (tmp_path / "htdocs" / "big.bin").write_bytes(b"x" * 16_000_000)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(511)
    port = listener.getsockname()[1]
    text = "\n".join(
        [
            MPM_MODULES[mpm],
            "ServerName localhost",
            f"Listen 127.0.0.1:{port}",
            "DocumentRoot htdocs",
            "ErrorLog logs/error_log",
            "ThreadLimit 8",
            directives,
        ]
    )
    (tmp_path / "httpd.conf").write_text(text + "\n")
    config = load("httpd.conf", str(tmp_path), default_registry())
    generation = build_generation(config)
    scoreboard = Scoreboard.create(None, 1, int(config.get("ThreadLimit")))
    death_read, death_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 70
        try:
            scoreboard.process(0).started(os.getpid(), 1)
            context = ChildContext(0, 1, generation, (listener,), scoreboard, death_read)
            code = CHILD_MAINS[mpm](context)
        except BaseException:  # noqa: BLE001
            traceback.print_exc()
        finally:
            os._exit(code)
    os.close(death_read)
    child = Child(pid, port, scoreboard, death_write, tmp_path, int(config.get("ThreadsPerChild")))
    try:
        yield child
    finally:
        if child.status is None:
            os.kill(pid, signal.SIGTERM)
            if child.wait_exit(5) is None:
                os.kill(pid, signal.SIGKILL)
                child.wait_exit(5)
        listener.close()
        os.close(death_write)
        scoreboard.close()
    log = (
        (tmp_path / "logs" / "error_log").read_text()
        if (tmp_path / "logs/error_log").exists()
        else ""
    )
    assert "unexpected error" not in log and "failed" not in log, log


# --- worker: a thread per connection --------------------------------------------------------------


def test_worker_holds_a_thread_per_connection_and_the_next_client_waits(tmp_path: Path) -> None:
    with forked_child(tmp_path, "worker", "ThreadsPerChild 2\nKeepAliveTimeout 30") as child:
        child.wait_states(lambda s: s == "__")
        held = [kept_alive(child) for _ in range(2)]
        child.wait_states(lambda s: s == "KK")
        third = child.connect()
        third.sendall(REQUEST)
        third.settimeout(0.5)
        with pytest.raises(TimeoutError):
            third.recv(1)  # no idle thread: not even accepted
        held[0].close()  # frees a thread (EOF ends its keep-alive wait)
        third.settimeout(10)
        assert read_response(third)[0] == 200
        # the slot is counted after the response is sent (and logged)
        assert wait_until(lambda: sum(w.access_count for w in child.snapshot().workers[0]) == 3)
        for sock in (held[1], third):
            sock.close()


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_idle_keep_alive_connections_and_a_fresh_request(tmp_path: Path, mpm: str) -> None:
    """event parks idle keep-alive connections off-thread; worker keeps a thread per connection,
    so with every thread in K the fresh request waits for KeepAliveTimeout (2 s)."""
    directives = "ThreadsPerChild 2\nKeepAliveTimeout 2\nAsyncRequestWorkerFactor 10"
    if mpm == "worker":
        directives = directives.rsplit("\n", 1)[0]
    with forked_child(tmp_path, mpm, directives) as child:
        child.wait_states(lambda s: s == "__")
        held = [kept_alive(child) for _ in range(6 if mpm == "event" else 2)]
        if mpm == "event":
            assert wait_until(lambda: child.snapshot().processes[0].keep_alive == 6, 5), (
                child.snapshot().processes[0]
            )
            assert child.snapshot().processes[0].connections == 6
            assert child.states() == "__"  # parked connections hold no thread
        else:
            child.wait_states(lambda s: s == "KK")
        started = time.monotonic()
        fresh = child.connect()
        fresh.sendall(REQUEST)
        assert read_response(fresh)[0] == 200
        elapsed = time.monotonic() - started
        if mpm == "event":
            assert elapsed < 2.0
        else:
            assert elapsed >= 1.0
        for sock in (*held, fresh):
            sock.close()


# --- both: scoreboard, graceful exit, MaxConnectionsPerChild --------------------------------------


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_scoreboard_states_follow_a_connection(tmp_path: Path, mpm: str) -> None:
    with forked_child(tmp_path, mpm, "ThreadsPerChild 2\nKeepAliveTimeout 30") as child:
        assert child.wait_states(lambda s: "S" not in s and "." not in s) == "__"
        sock = child.connect()
        sock.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
        child.wait_states(lambda s: "W" in s)  # blocked writing: we do not read yet
        assert any(w.request == "GET /big.bin HTTP/1.1" for w in child.snapshot().workers[0])
        status, _, body = read_response(sock)
        assert status == 200 and len(body) == 16_000_000
        if mpm == "worker":
            child.wait_states(lambda s: sorted(s) == ["K", "_"])
        else:
            child.wait_states(lambda s: s == "__")
            assert wait_until(lambda: child.snapshot().processes[0].keep_alive == 1, 5)
        sock.close()
        child.wait_states(lambda s: s == "__")
        if mpm == "event":
            assert wait_until(lambda: child.snapshot().processes[0].connections == 0, 5)
        assert sum(w.access_count for w in child.snapshot().workers[0]) == 1


def half_sent_request(child, mpm: str) -> socket.socket:
    """A connection that has sent part of its head, once the child has taken it in hand."""
    slow = child.connect()
    slow.sendall(REQUEST[:20])
    if mpm == "event":  # event's listener reads the head: no worker is in R (issue 4)
        assert wait_until(lambda: child.snapshot().processes[0].connections == 2, 5)
    else:
        child.wait_states(lambda s: "R" in s)
    return slow


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_graceful_finishes_the_request_in_flight_then_exits(tmp_path: Path, mpm: str) -> None:
    with forked_child(tmp_path, mpm, "ThreadsPerChild 2\nKeepAliveTimeout 30") as child:
        child.wait_states(lambda s: s == "__")
        idle = kept_alive(child)
        slow = half_sent_request(child, mpm)
        os.write(child.death_write, GRACEFUL)
        assert wait_until(lambda: child.snapshot().processes[0].quiescing, 5)
        assert closed_by_server(idle, 5)  # the idle keep-alive connection is closed at once
        assert child.status is None
        slow.sendall(REQUEST[20:])
        status, headers, _ = read_response(slow)
        assert status == 200 and headers["connection"] == "close"  # no keep-alive when stopping
        assert closed_by_server(slow, 5)
        assert child.wait_exit(10) == 0
        idle.close()
        slow.close()


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_max_connections_per_child_then_graceful_exit(tmp_path: Path, mpm: str) -> None:
    with forked_child(tmp_path, mpm, "ThreadsPerChild 2\nMaxConnectionsPerChild 3") as child:
        for _ in range(3):
            with child.connect() as sock:
                sock.sendall(REQUEST)
                assert read_response(sock)[0] == 200
        assert child.wait_exit(10) == 0


@pytest.mark.parametrize("how", ["SIGTERM", "$"])
@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_stop_now_exits_at_once_despite_open_connections(
    tmp_path: Path, mpm: str, how: str
) -> None:
    with forked_child(tmp_path, mpm, "ThreadsPerChild 2\nKeepAliveTimeout 30") as child:
        child.wait_states(lambda s: s == "__")
        idle = kept_alive(child)
        slow = half_sent_request(child, mpm)
        if how == "SIGTERM":
            os.kill(child.pid, signal.SIGTERM)
        else:
            os.write(child.death_write, RESTART)
        assert child.wait_exit(3) == 0
        idle.close()
        slow.close()


# --- event: AsyncRequestWorkerFactor ----------------------------------------------------------


def test_event_over_its_connection_limit_stops_accepting_and_keeps_its_connections(
    tmp_path: Path,
) -> None:
    """ThreadsPerChild 2, factor 0.1: at most 2 + 0.1 x idle workers connections (2.2 with both
    idle, 2.1 once limited: Apache resumes one idle worker's worth lower). Above it the child
    stops accepting (another child would take new clients) and keeps its keep-alive
    connections, as Apache's event does; once one leaves, it accepts again. (With a larger
    factor, whether a third connection crosses the limit depends on whether a worker is still
    busy with a request when the listener counts.)"""
    directives = "ThreadsPerChild 2\nKeepAliveTimeout 30\nAsyncRequestWorkerFactor 0.1"
    with forked_child(tmp_path, "event", directives) as child:
        child.wait_states(lambda s: s == "__")
        held = [kept_alive(child) for _ in range(3)]  # 3 >= 2 + 0.1 x idle: limited
        assert wait_until(lambda: child.snapshot().processes[0].not_accepting, 5)
        with child.connect() as fresh:  # waits in the listen backlog
            fresh.sendall(REQUEST)
            assert not any(at_eof(sock) for sock in held)
            held.pop().close()  # one leaves: 2 < 2 + 0.1 x 2 idle, the child accepts again
            assert read_response(fresh)[0] == 200
        assert not any(at_eof(sock) for sock in held)
        for sock in held:
            sock.close()


# --- end to end: the real master with -D FOREGROUND ------------------------------------------


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_master_runs_threaded_children_end_to_end(tmp_path: Path, mpm: str) -> None:
    root = ServerRoot(tmp_path, mpm=mpm)
    (root.htdocs / "index.html").write_text("<h1>hello</h1>\n")
    root.write_config(
        "PidFile logs/httpd.pid\nStartServers 2\nServerLimit 4\nThreadsPerChild 4\n"
        "ThreadLimit 4\nMaxRequestWorkers 16\nMinSpareThreads 4\nMaxSpareThreads 16\n"
    )
    with master(root, idle=8) as running:  # 2 children x 4 threads
        with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
            for _ in range(3):  # keep-alive across requests
                sock.sendall(REQUEST)
                assert read_response(sock)[0] == 200
        running.process.send_signal(signal.SIGUSR1)  # graceful: no fresh connection refused
        for _ in range(20):  # (a kept-alive one may be closed between requests, as in Apache)
            with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
                sock.sendall(REQUEST.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
                assert read_response(sock)[0] == 200
        running.process.send_signal(signal.SIGTERM)
        assert running.process.wait(timeout=15) == 0
        assert not (root.path / "logs" / "httpd.pid").exists()
    log = (root.path / "logs" / "error_log").read_text()
    assert "failed" not in log and ":crit]" not in log and ":error]" not in log, log


def allowed_cpus(status: str) -> set[int]:
    """The CPUs of a /proc status file's Cpus_allowed_list ("0-3,6")."""
    text = next(line for line in status.splitlines() if line.startswith("Cpus_allowed_list:"))
    cpus: set[int] = set()
    for part in text.split(":", 1)[1].strip().split(","):
        first, _, last = part.partition("-")
        cpus.update(range(int(first), int(last or first) + 1))
    return cpus


CPUS_SCRIPT = (
    "#!/bin/sh\nprintf 'Content-Type: text/plain\\n\\n'\ngrep Cpus_allowed_list /proc/self/status\n"
    "awk '{print \"policy\", $41}' /proc/self/stat\n"  # its scheduling policy (0: SCHED_OTHER)
)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to bind")
@pytest.mark.parametrize("mpm", ["worker", "event", "prefork"])
def test_threaded_children_are_bound_to_one_cpu_each_and_their_cgi_scripts_are_not(
    tmp_path: Path, mpm: str
) -> None:
    """pyhttpd/cpu_binding.py: every thread of a worker or event child on one CPU and
    SCHED_BATCH, the two children on two CPUs; prefork's children and any child's CGI scripts
    keep every CPU and the normal policy."""
    everything = os.sched_getaffinity(0)
    root = ServerRoot(tmp_path, mpm=mpm)
    (root.path / "cgi-bin").mkdir()
    script = root.path / "cgi-bin" / "cpus.sh"
    script.write_text(CPUS_SCRIPT)
    script.chmod(0o755)
    shape = (
        "MinSpareServers 2\nMaxSpareServers 4\n"
        if mpm == "prefork"
        else "ThreadsPerChild 4\nThreadLimit 4\nMinSpareThreads 4\nMaxSpareThreads 16\n"
    )
    root.write_config(
        "LoadModule alias_module modules/mod_alias.so\nLoadModule cgi_module modules/mod_cgi.so\n"
        "ScriptAlias /cgi-bin/ cgi-bin/\nStartServers 2\nServerLimit 4\nMaxRequestWorkers 16\n"
        + shape
    )
    with master(root, idle=2) as running:
        masks: dict[int, list[set[int]]] = {}
        policies: set[int] = set()
        for child in running.children():
            tasks = list(Path(f"/proc/{child.pid}/task").iterdir())
            masks[child.pid] = [allowed_cpus((task / "status").read_text()) for task in tasks]
            policies.update(os.sched_getscheduler(int(task.name)) for task in tasks)
        with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
            sock.sendall(b"GET /cgi-bin/cpus.sh HTTP/1.0\r\n\r\n")
            answer = b"".join(iter(lambda: sock.recv(65536), b""))
    assert answer.startswith(b"HTTP/1.1 200 "), answer
    assert allowed_cpus(answer.decode()) == everything  # the script's own mask
    assert b"\npolicy 0\n" in answer  # and SCHED_OTHER
    assert len(masks) >= 2
    if mpm == "prefork":
        assert all(mask == everything for threads in masks.values() for mask in threads)
        assert policies == {os.SCHED_OTHER}
        return
    assert policies == {os.SCHED_BATCH}
    bound = []
    for threads in masks.values():
        assert len(threads) >= 2 and all(len(mask) == 1 for mask in threads), threads
        assert all(mask == threads[0] for mask in threads)  # the listener's and the workers'
        bound.append(next(iter(threads[0])))
    assert len(set(bound)) == 2 == len(bound), bound  # slots 0 and 1: two CPUs


# --- the engine's support for threaded MPMs (in-process, real TCP sockets) ---------------------


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, object]] = []

    def request_started(self, request_line: str, client: str, vhost: str, protocol: str) -> None:
        self.events.append(("started", (request_line, client, vhost, protocol)))

    def request_finished(self, bytes_sent: int) -> None:
        self.events.append(("finished", bytes_sent))


@contextmanager
def engine_pair(tmp_path: Path, directives: str = "") -> Iterator[tuple[Connection, socket.socket]]:
    (tmp_path / "htdocs").mkdir()
    (tmp_path / "htdocs" / "index.html").write_text("<h1>hello</h1>\n")
    (tmp_path / "httpd.conf").write_text(
        f"{MPM_MODULES['event']}\nServerName localhost\nDocumentRoot htdocs\nErrorLog error_log\n"
        + directives
    )
    generation = build_generation(load("httpd.conf", str(tmp_path), default_registry()))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        client = socket.create_connection(listener.getsockname(), timeout=10)
        server, _ = listener.accept()
    with client, server:
        yield Connection(server, generation), client


def test_serve_until_idle_returns_idle_and_resumes_with_its_state(tmp_path: Path) -> None:
    with engine_pair(tmp_path) as (connection, client):
        recorder = Recorder()
        connection.observer = recorder
        port = connection.local[1]
        client.sendall(REQUEST * 2)  # pipelined: both are served before IDLE
        assert connection.serve(until_idle=True) is Outcome.IDLE
        assert connection.served == 2 and not connection.buffer
        answers = b""
        while answers.count(b"<h1>hello</h1>\n") < 2:
            answers += client.recv(65536)
        assert answers.count(b"HTTP/1.1 200 OK\r\n") == 2
        assert recorder.events[0] == (
            "started",
            ("GET /index.html HTTP/1.1", "127.0.0.1", f"localhost:{port}", "HTTP/1.1"),
        )  # the vhost as Apache's scoreboard keeps it: ServerName:local port
        assert recorder.events[1] == ("finished", 15)
        client.sendall(REQUEST)  # resumed: the next request is read at once
        assert connection.serve(until_idle=True) is Outcome.IDLE
        status, headers, _ = read_response(client)
        assert status == 200 and headers["keep-alive"] == "timeout=5, max=97"
        connection.may_keep_alive = lambda: False  # the child is stopping
        client.sendall(REQUEST)
        assert connection.serve(until_idle=True) is Outcome.CLOSE
        assert read_response(client)[1]["connection"] == "close"
        assert len(recorder.events) == 8


def test_serve_until_idle_closes_when_the_client_leaves(tmp_path: Path) -> None:
    with engine_pair(tmp_path) as (connection, client):
        client.sendall(REQUEST)
        assert connection.serve(until_idle=True) is Outcome.IDLE
        client.shutdown(socket.SHUT_WR)
        assert connection.serve(until_idle=True) is Outcome.CLOSE
        assert connection.served == 1


def test_feed_nonblocking_reports_a_whole_head_without_consuming_it(tmp_path: Path) -> None:
    with engine_pair(tmp_path) as (connection, client):
        assert connection.feed.read() == "waiting"  # nothing sent yet: no wait either
        client.sendall(REQUEST[:20])
        assert wait_until(lambda: connection.feed.read() == "waiting" and connection.buffer)
        first_deadline = connection.feed.deadline()
        client.sendall(REQUEST[20:])
        assert wait_until(lambda: connection.feed.read() == "ready")
        assert connection.buffer == REQUEST  # not consumed: serve parses it again
        assert connection.feed.deadline() >= first_deadline
        connection.feed.handed_over()
        assert connection.serve(until_idle=True) is Outcome.IDLE
        assert read_response(client)[0] == 200
        client.sendall(b"GET / HTTP/1.1\r\nbroken header\r\n\r\n")
        assert wait_until(lambda: connection.feed.read() == "ready")  # the worker answers
        assert connection.serve(until_idle=True) is Outcome.CLOSE
        assert read_response(client)[0] == 400


def test_feed_nonblocking_sees_the_client_leave(tmp_path: Path) -> None:
    with engine_pair(tmp_path) as (connection, client):
        client.sendall(b"GET / HT")
        client.shutdown(socket.SHUT_WR)
        assert wait_until(lambda: connection.feed.read() == "closed")


def test_a_whole_request_before_a_half_close_is_answered(tmp_path: Path) -> None:
    """`printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc` style clients send, then shut their side."""
    with engine_pair(tmp_path) as (connection, client):
        client.sendall(REQUEST)
        client.shutdown(socket.SHUT_WR)
        assert wait_until(lambda: connection.feed.read() == "ready")
        connection.feed.handed_over()
        connection.serve(until_idle=True)
        assert read_response(client)[0] == 200
        assert connection.feed.read() == "closed"


def test_expire_head_answers_408_once_the_request_line_is_in(tmp_path: Path) -> None:
    with engine_pair(tmp_path) as (connection, client):
        client.sendall(b"GET /index.html HTTP/1.1\r\nHost: loc")
        assert wait_until(lambda: connection.feed.read() == "waiting" and connection.buffer)
        assert connection.expire_head() is Outcome.CLOSE
        assert read_response(client)[0] == 408
    (tmp_path / "second").mkdir()
    with engine_pair(tmp_path / "second") as (connection, client):
        client.sendall(b"GET /index")
        assert wait_until(lambda: connection.feed.read() == "waiting" and connection.buffer)
        assert connection.expire_head() is Outcome.CLOSE  # no request line: a silent close
        connection.sock.close()
        assert closed_by_server(client, 5)


def test_event_reads_slow_heads_in_the_listener(tmp_path: Path) -> None:
    """Slow heads (slowloris) hold no worker thread: a fresh request is answered at once, and a
    head that misses RequestReadTimeout's header stage gets the engine's 408."""
    directives = (
        "LoadModule reqtimeout_module modules/mod_reqtimeout.so\n"
        "ThreadsPerChild 2\nKeepAliveTimeout 2\n"
        "RequestReadTimeout header=1-2,MinRate=500"
    )
    with forked_child(tmp_path, "event", directives) as child:
        child.wait_states(lambda s: s == "__")
        slow = [child.connect() for _ in range(6)]
        for sock in slow:
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: loc")
        assert wait_until(lambda: child.snapshot().processes[0].connections == 6, 5)
        assert child.states() == "__"  # no worker reads a head
        started = time.monotonic()
        fresh = child.connect()
        fresh.sendall(REQUEST)
        assert read_response(fresh)[0] == 200
        assert time.monotonic() - started < 1.0
        kept = kept_alive(child)  # parked, then a slow head on the same connection
        kept.sendall(b"GET /index.html HTTP/1.1\r\n")
        for sock in (*slow, kept):
            sock.settimeout(10)
            assert read_response(sock)[0] == 408
        for sock in (*slow, kept, fresh):
            sock.close()


POST_HEAD = b"POST /index.html HTTP/1.1\r\nHost: loc\r\nContent-Length: %d\r\n"


def test_feed_nonblocking_waits_for_a_small_body_but_not_for_100_continue(tmp_path: Path) -> None:
    with engine_pair(tmp_path) as (connection, client):
        client.sendall(POST_HEAD % 10 + b"\r\n01234")
        assert wait_until(
            lambda: connection.feed.read() == "waiting" and b"01234" in connection.buffer
        )
        client.sendall(b"56789")
        assert wait_until(lambda: connection.feed.read() == "ready")
        connection.feed.handed_over()
        assert connection.serve(until_idle=True) is Outcome.IDLE
        assert read_response(client)[0] == 200
        client.sendall(POST_HEAD % 10 + b"Expect: 100-continue\r\n\r\n")
        assert wait_until(lambda: connection.feed.read() == "ready")  # no body until 100
    big = PREREAD_BODY + 10
    (tmp_path / "big").mkdir()
    with engine_pair(tmp_path / "big") as (connection, client):
        client.sendall(POST_HEAD % big + b"\r\n" + b"x" * PREREAD_BODY)
        assert wait_until(lambda: connection.feed.read() == "ready")  # a worker reads on


def test_expire_head_answers_408_for_a_body_that_stalls(tmp_path: Path) -> None:
    reqtimeout = "LoadModule reqtimeout_module modules/mod_reqtimeout.so\nLogLevel info\n"
    with engine_pair(tmp_path, reqtimeout) as (connection, client):
        client.sendall(POST_HEAD % 10 + b"\r\n0123")
        assert wait_until(
            lambda: connection.feed.read() == "waiting" and b"0123" in connection.buffer
        )
        assert connection.expire_head() is Outcome.CLOSE
        assert read_response(client)[0] == 408
    assert "AH01382: Request body read timeout" in (tmp_path / "error_log").read_text()
