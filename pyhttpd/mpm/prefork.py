"""mpm_prefork_module (prefork.c): one single-threaded child process per connection.

Directive table and start-up corrections on top; the child loop (`child_main`) at the bottom.
Defaults are Apache's compiled-in ones (Debian's mods-available/mpm_prefork.conf overrides them).
"""

from __future__ import annotations

import fcntl
import os
import select
import selectors
import signal
import socket
from collections.abc import Callable

from pyhttpd.config.module import Module
from pyhttpd.http.connection import Outcome
from pyhttpd.http.generation import Generation
from pyhttpd.http.pre_connection import run_pre_connection
from pyhttpd.mpm.accepting import EXCLUSIVE, Accepted, Acceptor, ListenerSelector
from pyhttpd.mpm.contract import CHILD_OK, GRACEFUL, RESTART, ChildContext
from pyhttpd.mpm.directives import number, process_rows
from pyhttpd.mpm.limits import check_prefork
from pyhttpd.scoreboard import WorkerSlot, WorkerState

DIRECTIVES = (
    *process_rows(
        start=5,
        server_limit=256,
        max_workers=256,
        workers_help="Maximum number of children alive at the same time",
    ),
    number("MinSpareServers", "Minimum number of idle children, to handle request spikes", 5),
    number("MaxSpareServers", "Maximum number of idle children", 10),
)

MODULE = Module(
    name="mpm_prefork_module",
    source="prefork.c",
    directives=DIRECTIVES,
    description="prefork MPM: single-threaded children, one connection each",
    mpm="prefork",
    check_config_hook=check_prefork,
)


# --- the child process ---------------------------------------------------------------------------
# Runs in a prefork child, forked by the master (pyhttpd.server.children). One connection at a
# time. Accept serialization, as Apache's SAFE_ACCEPT, only with several listeners: an fcntl
# record lock (lockf) on a file next to the scoreboard, which the master creates before forking.
# Chosen over a multiprocessing.Lock because the kernel drops an fcntl lock when its holder dies,
# even by SIGKILL; a semaphore held by a killed child would stall every other child. Only the
# lock holder selects on the listeners and the pipe of death. With one listener (Apache: no
# mutex, a blocking accept that wakes one child) every idle child waits in its own epoll, the
# listener registered EPOLLEXCLUSIVE so that a connection wakes one of them: no lock's two
# system calls per connection. Either way one GRACEFUL byte retires exactly one idle child (the
# pipe is non-blocking: the others find it empty). Signal handlers only set flags; while the child
# waits (for the lock or in select) a graceful signal also interrupts the wait, since Python
# retries an interrupted lockf/select otherwise (PEP 475).

ACCEPT_LOCK_SUFFIX = ".accept"


class _Wake(BaseException):
    """Raised by the graceful handler only while the child is waiting, never while it serves."""


class _ChildFlags:
    def __init__(self) -> None:
        self.graceful = False
        self.waiting = False

    def on_graceful(self, signum: int, frame: object) -> None:
        self.graceful = True
        if self.waiting:
            self.waiting = False
            raise _Wake


def child_main(context: ChildContext) -> int:
    """prefork's child_main: accept (under the mutex with several listeners), serve, repeat;
    exit on the pipe of death, a graceful signal, or after MaxConnectionsPerChild connections."""
    flags = _ChildFlags()
    for signum in (signal.SIGUSR1, signal.SIGWINCH, signal.SIGHUP):
        signal.signal(signum, flags.on_graceful)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())  # handlers in place (see mpm.contract)
    generation = context.generation
    limit = int(generation.config.get("MaxConnectionsPerChild") or 0)
    worker = context.scoreboard.worker(context.slot, 0)
    for listener in context.listeners:
        listener.setblocking(False)
    acceptors = {listener: Acceptor(listener) for listener in context.listeners}
    wait = _waiter(context)
    lock_fd = None if wait is not None else _open_lock(context)
    watched = [*context.listeners, context.death_pipe]
    served = 0
    worker.set_state(WorkerState.READY)
    while not flags.graceful:
        client = None
        dying = False
        try:
            flags.waiting = True
            if flags.graceful:
                break
            if lock_fd is not None:
                fcntl.lockf(lock_fd, fcntl.LOCK_EX)
            try:
                ready = wait() if wait is not None else select.select(watched, [], [])[0]
                flags.waiting = False
                dying = context.death_pipe in ready and _death_byte(context.death_pipe)
                # A connection the kernel woke this child for is served before it leaves (as
                # Apache's "if we accept() something we don't want to die"): with EPOLLEXCLUSIVE
                # no other sleeping child was woken for it.
                for listener in ready:
                    if isinstance(listener, socket.socket):
                        try:
                            client = acceptors[listener].accept()
                            break
                        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                            continue
                if dying and client is None:
                    return CHILD_OK
                if flags.graceful and client is None:
                    break
            finally:
                flags.waiting = False
                if lock_fd is not None:
                    fcntl.lockf(lock_fd, fcntl.LOCK_UN)
        except _Wake:
            break
        if client is None:
            continue
        served += 1
        _serve(client, generation, worker, flags)
        if dying or (limit and served >= limit):
            return CHILD_OK
        if not flags.graceful:
            worker.set_state(WorkerState.READY)
    return CHILD_OK


def _waiter(context: ChildContext) -> Callable[[], list[object]] | None:
    """With one listener: the wait on it (EPOLLEXCLUSIVE) and the pipe of death, which needs
    no accept lock; None when the lock must serialize the accepts."""
    if len(context.listeners) != 1 or not EXCLUSIVE:
        return None
    selector = ListenerSelector()
    selector.register_listener(context.listeners[0], None)
    selector.register(context.death_pipe, selectors.EVENT_READ)
    return lambda: [key.fileobj for key, _ in selector.select()]


def _open_lock(context: ChildContext) -> int | None:
    """This child's own descriptor on the accept lock file (None: no serialization)."""
    if context.scoreboard.path is None:
        return None
    try:
        return os.open(context.scoreboard.path + ACCEPT_LOCK_SUFFIX, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None


def _death_byte(fd: int) -> bool:
    """Read one byte of the pipe of death; False when another idle child took it first."""
    try:
        return os.read(fd, 1) in (GRACEFUL, RESTART, b"")
    except BlockingIOError:
        return False


def _serve(
    accepted: Accepted, generation: Generation, worker: WorkerSlot, flags: _ChildFlags
) -> None:
    """One connection. The engine reports each request to the scoreboard slot (W, counts);
    between keep-alive requests the child waits here in K, and a graceful signal ends the wait
    and the connection (Connection: close once stopping), as Apache's children do."""
    served = run_pre_connection(accepted.sock, generation.hooks)  # mod_ssl's handshake
    if served is None:
        return
    client = served
    with client:
        try:
            connection = accepted.connection(client, generation)
        except OSError:
            return
        if not connection.read_ahead():
            return
        connection.observer = worker
        connection.may_keep_alive = lambda: not flags.graceful
        keep_alive_ms = max(float(generation.config.get("KeepAliveTimeout") or 0), 0.001) * 1000
        readable = select.poll()  # one per connection: select.select builds its sets each call
        readable.register(client, select.POLLIN)
        while connection.serve(until_idle=True) is Outcome.IDLE and not flags.graceful:
            worker.set_state(WorkerState.BUSY_KEEPALIVE)
            try:
                flags.waiting = True
                if flags.graceful:
                    break
                events = readable.poll(keep_alive_ms)
                flags.waiting = False
            except _Wake:
                break
            finally:
                flags.waiting = False
            if not events:
                break  # KeepAliveTimeout: close, as Apache does
        worker.set_state(WorkerState.CLOSING)
