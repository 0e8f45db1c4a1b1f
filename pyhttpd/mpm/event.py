"""mpm_event_module (event.c): worker, plus a listener that parks idle keep-alive connections.

Directive table and start-up corrections on top; the child (`child_main`) at the bottom.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import queue
import select
import selectors
import socket
import threading
import time

from pyhttpd.config.module import Module
from pyhttpd.http.connection import LINGER, Connection, Outcome
from pyhttpd.http.pre_connection import run_pre_connection
from pyhttpd.mpm.accepting import Accepted
from pyhttpd.mpm.contract import ChildContext
from pyhttpd.mpm.directives import ASYNC_REQUEST_WORKER_FACTOR, process_rows, thread_rows
from pyhttpd.mpm.limits import EVENT_TAGS, check_threaded
from pyhttpd.mpm.threads import (
    TICK,
    Handback,
    Listener,
    Stop,
    WakePipe,
    open_connection,
    run_child,
)
from pyhttpd.scoreboard import WorkerSlot, WorkerState

# A lingering socket's readable event drops at most DRAIN_READS x DRAIN_SIZE bytes per round.
DRAIN_READS = 4
DRAIN_SIZE = 65536

DIRECTIVES = (
    *process_rows(
        start=3,
        server_limit=16,
        max_workers=400,
        workers_help="Maximum number of threads alive at the same time",
    ),
    *thread_rows(),
    ASYNC_REQUEST_WORKER_FACTOR,
)

MODULE = Module(
    name="mpm_event_module",
    source="event.c",
    directives=DIRECTIVES,
    description="event MPM: worker plus an async listener for keep-alive connections",
    mpm="event",
    check_config_hook=lambda settings: check_threaded(settings, EVENT_TAGS),
)


# --- the child (see pyhttpd/mpm/threads.py for which thread runs what) -----------------------
#
#   listener thread  EventListener: the selector also holds the parked keep-alive connections
#                    (insertion order is deadline order: one KeepAliveTimeout) and the connections
#                    whose request head is being read (Connection.feed, listener_feed.py, each with its
#                    header-stage deadline). A new connection, or a parked one that turns readable,
#                    is read here until its head is whole (or invalid), and its body too when it
#                    is small (PREREAD_BODY, under the body stage), so slow heads and bodies
#                    hold no worker. A whole request is then served here, in an idle worker's
#                    scoreboard slot (WorkerPool.borrow), when the engine finds nothing in it
#                    that can wait (Connection.serve_inline: a small file): no hand-off to a
#                    thread at all. The rest goes to the pool's queue. A head past its
#                    deadline goes to a worker for the engine's answer (408 or a silent close); an
#                    expired parked connection is closed. It alone counts the open connections,
#                    writes the scoreboard counters and decides whether to accept.
#   worker threads   serve_until_idle: serve what the connection has (or what serve_inline
#                    handed over). After a request the listener would have served itself, give
#                    the connection back; after one that needed a thread (CGI, WSGI), while no
#                    job waits for a thread, hold the connection for its next request (up to its
#                    KeepAliveTimeout, counting as an available worker) and serve that too; a job
#                    queued meanwhile releases a holder (through the holder's own pipe). Then hand
#                    it back (IDLE: park it, or CLOSE) through the returns queue and wake the
#                    listener (for a CLOSE only when the count matters now: see `wants_closes`).
#   lingering close  a connection closing with input still coming (an unread body, requests
#                    behind a Connection: close) comes back as LINGER with our FIN sent: the
#                    listener reads and drops what the client still sends until it closes or
#                    LINGER seconds pass (Apache's linger queue), so no worker thread waits.


class EventListener(Listener):
    def __init__(self, context: ChildContext, wake: WakePipe) -> None:
        super().__init__(context, wake)
        self.factor = float(self.config.get("AsyncRequestWorkerFactor"))
        self.keep_alive = max(float(self.config.get("KeepAliveTimeout")), 0.001)
        self.open = 0  # accepted and not yet closed, parked ones included
        self.parked: dict[Connection, float] = {}  # -> deadline, oldest first
        self.reading: dict[Connection, float] = {}  # head being read -> its deadline
        self.watched: set[Connection] = set()  # those in the selector (parked or reading)
        self.next_head_deadline = float("inf")  # at most the earliest of `reading`
        # sockets in their lingering close -> deadline, oldest first (one LINGER for all)
        self.lingering: dict[socket.socket, float] = {}
        # (socket, connection, outcome, keep-alive deadline of an IDLE one) from the workers
        self.returns: queue.SimpleQueue[tuple[socket.socket, Connection | None, Outcome, float]] = (
            queue.SimpleQueue()
        )
        self.limited = False  # stopped accepting at the AsyncRequestWorkerFactor limit
        self._counters = (-1, -1, -1)
        # the slot of an idle worker borrowed for serve_inline, kept until the round of
        # selector events ends or a job is queued (see `serve`)
        self._lent: WorkerSlot | None = None

    # --- listener thread -------------------------------------------------------------------------

    def should_accept(self) -> bool:
        """Apache's connections_above_limit: accept while below ThreadsPerChild + factor x idle
        workers (once limited, one idle worker's worth lower to resume, against flip-flopping);
        above it, or with no idle worker, new connections wait in the backlog (another child
        takes them) and the parked ones are kept. (Apache also closes its keep-alive connections
        when no worker is idle; here the idle count touches 0 between two requests of one client,
        a worker handing a connection back while the next is queued, so that rule would close
        them at random.)"""
        idle = self.pool.available
        if idle <= 0:
            return False
        counted = idle - 1 if self.limited else idle
        # A connection still sending its head holds no worker: it does not count here (else a
        # slowloris fills the limit and fresh clients wait in the backlog).
        active = self.open - len(self.reading)
        self.limited = active >= self.pool.size + self.factor * counted
        return not self.limited

    def connection_accepted(self, accepted: Accepted) -> None:
        self.open += 1
        if self.context.generation.hooks.pre_connection_wanted(accepted.sock):
            # A TLS handshake to do: a worker does it (bounded by Timeout) and serves the first
            # request, as Apache's event does; the connection is parked here between requests.
            self.submit(accepted)
            return
        connection = open_connection(accepted.sock, self, accepted)
        if connection is None:  # the client already left; the socket is closed
            self.open -= 1
            return
        connection.linger_elsewhere = connection.feed.plain  # (TLS lingers in its worker)
        self.read_head(connection)

    def finished(self) -> bool:
        return self.open == 0

    def wants_closes(self) -> bool:
        """Worker threads: whether a closed connection must wake the listener now. While it
        accepts, its next wake-up (the next connection, at most TICK) counts the close: a
        wake per connection is a write, a select and a GIL hand-off. It must wake when the
        count can decide (accepting stopped at the limit, or a graceful stop waits for 0);
        `timeout` covers a close queued just before accepting stopped."""
        return not self.accepting or self.stop is not Stop.NONE

    def graceful(self) -> None:
        self.close_parked()

    def timeout(self) -> float:
        if not self.accepting and not self.returns.empty():
            return 0.0  # a worker may have skipped the wake just before accepting stopped
        deadlines = []
        if self.parked:
            deadlines.append(next(iter(self.parked.values())))
        if self.reading:
            deadlines.append(self.next_head_deadline)
        if self.lingering:
            deadlines.append(next(iter(self.lingering.values())))
        if not deadlines:
            return TICK
        return min(max(min(deadlines) - time.monotonic(), 0.0), TICK)

    def tick(self) -> None:
        while not self.returns.empty():  # only this thread takes from it: get_nowait succeeds
            sock, connection, outcome, deadline = self.returns.get_nowait()
            if outcome is Outcome.IDLE and connection is not None:
                self.park(connection, deadline)
            elif outcome is Outcome.LINGER:
                self.linger(sock)
            else:
                self.open -= 1  # the worker closed it
        now = time.monotonic()
        # Only the expired are visited: parked connections are in deadline order, and copying
        # ten thousand of them on every wake-up was what made fresh requests wait (bench test 7).
        while self.parked:
            connection, deadline = next(iter(self.parked.items()))
            if deadline > now:
                break
            self.unpark(connection)
            self.close(connection.sock)
        while self.lingering:
            sock, deadline = next(iter(self.lingering.items()))
            if deadline > now:
                break
            self.end_linger(sock)
        if self.reading and self.next_head_deadline <= now:
            for connection, deadline in list(self.reading.items()):
                if deadline <= now:
                    self.stop_reading(connection)
                    self.submit(ExpiredHead(connection))  # the engine answers, then closes
            self.next_head_deadline = min(self.reading.values(), default=float("inf"))
        # keep-alive connections: parked here, or held by a worker waiting for their next request
        counters = (self.open, len(self.parked) + self.pool.holding, len(self.lingering))
        if counters != self._counters:
            self._counters = counters
            self.process.set_counters(
                connections=counters[0], keep_alive=counters[1], lingering_close=counters[2]
            )

    def park(self, connection: Connection, deadline: float) -> None:
        if self.stop is not Stop.NONE:
            self.unwatch(connection)
            self.close(connection.sock)
            return
        pending = getattr(connection.sock, "pending", None)
        if pending is not None and pending():  # TLS bytes already decrypted: no readable event
            self.read_head(connection)
            return
        self.parked[connection] = deadline
        self.watch(connection)

    def unpark(self, connection: Connection) -> None:
        del self.parked[connection]
        self.unwatch(connection)

    def readable(self, connection: Connection) -> None:
        """The selector's one callback for a watched connection: the next request of a parked
        one, or more of a head being read. In neither (closed or expired earlier in this
        round): nothing to do."""
        if connection in self.parked:
            del self.parked[connection]  # it stays in the selector: usually parked again soon
            self.read_head(connection)
        elif connection in self.reading:
            self.head_readable(connection)

    def watch(self, connection: Connection) -> None:
        """Have the selector call `readable` once the connection is readable. One already in the
        selector (parked, or served here and parked again) stays as it is: no epoll_ctl per
        request, and no new callback either, since `readable` asks where the connection is."""
        if connection not in self.watched:
            self.selector.register(
                connection.sock, selectors.EVENT_READ, functools.partial(self.readable, connection)
            )
            self.watched.add(connection)

    def unwatch(self, connection: Connection) -> None:
        """Out of the selector (before a worker takes the connection, or it closes)."""
        if connection in self.watched:
            self.watched.remove(connection)
            self.selector.unregister(connection.sock)

    def read_head(self, connection: Connection) -> None:
        """Read what the client sent; a whole (or invalid) head goes to a worker, a partial one
        waits in the selector until more arrives or its deadline passes."""
        state = connection.feed.read()
        if state == "ready":
            connection.feed.handed_over()
            self.serve(connection)
        elif state == "closed":
            self.unwatch(connection)
            self.close(connection.sock)
        else:
            self.watch_head(connection)
            self.watch(connection)

    def head_readable(self, connection: Connection) -> None:
        state = connection.feed.read()
        if state == "waiting":
            self.watch_head(connection)
            return
        self.stop_reading(connection)
        if state == "ready":
            connection.feed.handed_over()
            self.serve(connection)
        else:
            self.close(connection.sock)

    def serve(self, connection: Connection) -> None:
        """A whole request is in: serve it here in an idle worker's place when the engine finds
        nothing in it that can wait (Connection.serve_inline), else queue it for a worker.

        The idle worker's slot is borrowed once for a round of selector events (a round of
        the bench's test 1 holds ~20 requests), not for each: two lock round trips a request.
        It goes back once the round and the next tick are over (`round_done`), or before a
        job is queued, which that worker could otherwise take while the listener still uses
        its slot."""
        slot = (self._lent or self.pool.borrow()) if connection.feed.plain else None
        if slot is None:
            self.unwatch(connection)
            self.submit(connection)  # queued if every worker is busy; never blocks
            return
        self._lent = connection.observer = slot
        outcome = connection.serve_inline()
        if outcome is Outcome.IDLE:
            self.park(connection, time.monotonic() + self.keep_alive)
            return
        self.unwatch(connection)
        if outcome is Outcome.CLOSE:
            self.close(connection.sock)
        elif outcome is Outcome.LINGER:
            self.linger(connection.sock)
        else:
            self.submit(connection)

    def submit(self, job: object) -> None:
        """Queue a job for a worker thread, the borrowed slot given back first."""
        self.round_done()
        self.pool.submit(job)

    def round_done(self) -> None:
        """The round of selector events (and the tick after it) is over: the borrowed slot
        goes back to its worker before the listener decides whether to accept, and waits."""
        slot, self._lent = self._lent, None
        if slot is not None:
            slot.set_state(WorkerState.READY)
            self.pool.give_back(slot)

    def watch_head(self, connection: Connection) -> None:
        """(Re)set the deadline of a request being read; `next_head_deadline` never later than
        the earliest (a deadline only moves later, so a stale minimum just scans early)."""
        deadline = connection.feed.deadline()
        self.reading[connection] = deadline
        self.next_head_deadline = min(self.next_head_deadline, deadline)

    def stop_reading(self, connection: Connection) -> None:
        del self.reading[connection]
        self.unwatch(connection)

    def close_parked(self) -> None:
        for connection in list(self.parked):
            self.unpark(connection)
            self.close(connection.sock)

    def close(self, sock: socket.socket) -> None:
        sock.close()
        self.open -= 1

    def linger(self, sock: socket.socket) -> None:
        """Apache's lingering close, here: our FIN is out; drop what the client still sends
        until it closes or LINGER seconds pass, then close (so the kernel does not answer late
        bytes with a reset that destroys the response in the client's buffer)."""
        self.lingering[sock] = time.monotonic() + LINGER
        self.selector.register(sock, selectors.EVENT_READ, functools.partial(self.drain, sock))

    def drain(self, sock: socket.socket) -> None:
        """A lingering socket is readable: drop what is there (a few reads at most per round,
        so one fast sender cannot hold the listener); its end or an error closes it."""
        if sock not in self.lingering:
            return
        for _ in range(DRAIN_READS):
            try:
                if not sock.recv(DRAIN_SIZE):
                    break
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                break
        else:
            return
        self.end_linger(sock)

    def end_linger(self, sock: socket.socket) -> None:
        del self.lingering[sock]
        self.selector.unregister(sock)
        self.close(sock)

    # --- worker threads --------------------------------------------------------------------------

    def run_job(self, job: object, slot: WorkerSlot) -> Handback:
        return serve_until_idle(job, slot, self)


class ExpiredHead:
    """A job: a connection whose head missed its deadline in the listener."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection


def serve_until_idle(job: object, slot: WorkerSlot, listener: EventListener) -> Handback:
    """Worker thread: serve a new socket or a resumed Connection until it idles or closes; the
    hand-back (run by the pool once this thread is READY again) returns it to the listener."""
    expired = isinstance(job, ExpiredHead)
    if isinstance(job, ExpiredHead):
        job = job.connection
    if isinstance(job, Connection):
        connection: Connection | None = job
        sock = job.sock
    else:
        assert isinstance(job, Accepted)
        hooks = listener.context.generation.hooks
        served = run_pre_connection(job.sock, hooks)  # mod_ssl's handshake
        if served is None:  # closed by the failed hook
            listener.returns.put((job.sock, None, Outcome.CLOSE, 0.0))
            listener.wake.wake()
            return None
        sock = served
        connection = open_connection(sock, listener, job)
    outcome = Outcome.CLOSE
    deadline = 0.0  # an IDLE connection's KeepAliveTimeout, when it is handed back
    try:
        if connection is not None:
            connection.observer = slot
            slot.set_state(WorkerState.BUSY_READ)
            if expired:
                outcome = connection.expire_head()
            else:
                outcome = connection.serve(until_idle=True)
                while outcome is Outcome.IDLE:
                    deadline = time.monotonic() + listener.keep_alive
                    if connection.last_fits_inline:
                        break  # the listener serves such a request itself: give it back
                    # one that needed a thread (CGI, WSGI) waits here for the next
                    slot.set_state(WorkerState.READY)  # available: a job takes this thread over
                    held = _hold(connection, deadline, listener)
                    if held is not Held.READY:
                        outcome = Outcome.IDLE if held is Held.RELEASED else Outcome.CLOSE
                        break
                    slot.set_state(WorkerState.BUSY_READ)
                    outcome = connection.serve(until_idle=True)
    except BaseException:
        listener.returns.put((sock, None, Outcome.CLOSE, 0.0))  # never lose the count
        sock.close()
        raise
    if outcome is Outcome.CLOSE:
        sock.close()

    def handback() -> None:
        listener.returns.put((sock, connection, outcome, deadline))
        if outcome is not Outcome.CLOSE or listener.wants_closes():
            listener.wake.wake()  # IDLE and LINGER: the listener watches it from now on

    return handback


class Held(enum.Enum):
    READY = "ready"  # the next request arrived: serve it here
    RELEASED = "released"  # a job needs this thread: park the connection
    CLOSE = "close"  # KeepAliveTimeout passed, the client left, or the child is stopping


def _hold(connection: Connection, deadline: float, listener: EventListener) -> Held:
    """Worker thread: wait here for the connection's next request instead of parking it, as
    long as no job waits for a thread (the holder counts as available; a job queued meanwhile
    releases it). A client that sends its next request as soon as it has its answer then
    skips the listener's round trip (two thread hand-offs, a selector registration, the head
    read in another thread); when threads run short, connections are parked as before."""
    sock = connection.sock
    pending = getattr(sock, "pending", None)
    if pending is not None and pending():  # TLS bytes already decrypted: no readable event
        return Held.READY
    pool = listener.pool
    # (a release that came just as the previous hold ended still sits in the pipe: this hold
    # then ends at once and parks the connection, which is harmless and rare)
    released, release = _release_pipe()
    if listener.stopping.is_set or not pool.hold_begin(release):
        return Held.RELEASED
    try:
        poller = _hold_poll(connection, released, listener.stopping.read_fd)
        while (left := deadline - time.monotonic()) > 0:
            ready = {fd for fd, _ in poller.poll(left * 1000)}
            if sock.fileno() in ready:
                return Held.READY
            if listener.stopping.read_fd in ready:
                return Held.CLOSE
            if released in ready:
                _drain(released)
                return Held.RELEASED
        return Held.CLOSE
    except (OSError, ValueError):
        return Held.CLOSE
    finally:
        pool.hold_end(release)


_THREAD = threading.local()


def _release_pipe() -> tuple[int, int]:
    """This worker thread's release pipe (read end, write end), made at its first hold."""
    pipe: tuple[int, int] | None = getattr(_THREAD, "release_pipe", None)
    if pipe is None:
        pipe = _THREAD.release_pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    return pipe


def _hold_poll(connection: Connection, released: int, stopping: int) -> select.poll:
    """The poll object of this thread's holds of `connection`: made at its first hold and kept
    while the thread goes on with the same connection (a poll object and three registrations
    per request were a fifth of event's WSGI samples)."""
    kept: tuple[Connection, select.poll] | None = getattr(_THREAD, "hold_poll", None)
    if kept is not None and kept[0] is connection:
        return kept[1]
    poller = select.poll()
    for fd in (connection.sock.fileno(), released, stopping):
        poller.register(fd, select.POLLIN)
    _THREAD.hold_poll = (connection, poller)
    return poller


def _drain(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        os.read(fd, 64)


def child_main(context: ChildContext) -> int:
    """Main thread of an event child: returns its exit status."""
    return run_child(context, EventListener)
