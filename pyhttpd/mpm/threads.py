"""What the threaded MPMs (worker and event) share: the child's skeleton, its listener loop and
its pool of worker threads.

Owns: the wake pipe (signals and worker threads wake the listener through it), the `Stop` ladder
(GRACEFUL: stop accepting and finish in-flight connections; NOW: exit at once), the pool of
ThreadsPerChild worker threads fed through a queue, and the listener loop skeleton that worker.py
and event.py specialise (`should_accept`, `connection_accepted`, `run_job`, `finished`, `tick`).
Never knows HTTP beyond `Connection`; never imports the server package.

Which thread runs what:

    main thread      run_child: installs the signal handlers (they only set a flag; the C-level
                     wakeup fd writes the signal number into the wake pipe), starts the listener
                     thread and joins it; returns at once on SIGTERM.
    listener thread  Listener.run: the selector over the wake pipe, the pipe of death, the
                     listening sockets (only while accepting) and whatever the MPM adds; accepts,
                     hands sockets to the pool; on graceful stops accepting, waits for `finished`,
                     stops and joins the pool.
    worker threads   WorkerPool._run: READY, take a job from the queue, `Listener.run_job`, repeat;
                     each owns one scoreboard worker slot. A job may return a hand-back that runs
                     once the thread counts as idle again (event returns its connection so, and
                     the listener never sees a returned connection while its worker looks busy).

Several children share the listening sockets, which are non-blocking (as Apache's): a child that
loses the race for a connection gets EAGAIN and goes back to its selector. There is no accept
mutex between worker children (Apache's is for several Listen sockets); the listeners are in
each child's epoll with EPOLLEXCLUSIVE, so a connection wakes one sleeping child, not all.
"""

from __future__ import annotations

import contextlib
import enum
import os
import queue
import selectors
import signal
import socket
import threading
import time
from collections.abc import Callable
from types import FrameType

from pyhttpd.cpu_binding import settle_threaded_child
from pyhttpd.http.connection import Connection
from pyhttpd.mpm.accepting import Accepted, Acceptor, ListenerSelector
from pyhttpd.mpm.contract import CHILD_OK, CHILD_SICK, GRACEFUL, RESTART, ChildContext
from pyhttpd.scoreboard import WorkerSlot, WorkerState

Handback = Callable[[], None] | None
RunJob = Callable[[object, WorkerSlot], Handback]
TICK = 1.0  # the listener's longest sleep: it re-checks its state at least this often
PIPE_READ = 4096
ACCEPT_BACKOFF = 0.1  # after an accept error other than a lost race (EMFILE...)


class Stop(enum.IntEnum):
    NONE = 0
    GRACEFUL = 1  # '!', SIGUSR1, SIGWINCH, MaxConnectionsPerChild
    NOW = 2  # '$', SIGTERM, SIGINT, SIGHUP


SIGNAL_STOPS: dict[int, Stop] = {
    int(signal.SIGTERM): Stop.NOW,
    int(signal.SIGINT): Stop.NOW,
    int(signal.SIGHUP): Stop.NOW,
    int(signal.SIGUSR1): Stop.GRACEFUL,
    int(signal.SIGWINCH): Stop.GRACEFUL,
}


class WakePipe:
    """A non-blocking self-pipe: any thread (or the signal machinery) wakes the listener."""

    def __init__(self) -> None:
        self.read_fd, self.write_fd = os.pipe()
        os.set_blocking(self.read_fd, False)
        os.set_blocking(self.write_fd, False)

    def wake(self) -> None:
        try:
            os.write(self.write_fd, b"\0")
        except BlockingIOError:
            pass  # already full: the listener will wake anyway

    def drain(self) -> bytes:
        chunks = []
        try:
            while chunk := os.read(self.read_fd, PIPE_READ):
                chunks.append(chunk)
                if len(chunk) < PIPE_READ:
                    break  # all there was: a later byte wakes the (level-triggered) selector
        except BlockingIOError:
            pass
        return b"".join(chunks)


class Broadcast:
    """A pipe that, once set, stays readable: wakes every thread waiting on it (worker's K)."""

    def __init__(self) -> None:
        self.read_fd, self._write_fd = os.pipe()
        self.is_set = False

    def set(self) -> None:
        if not self.is_set:
            self.is_set = True
            os.write(self._write_fd, b"!")


def open_connection(
    sock: socket.socket, listener: Listener, accepted: Accepted
) -> Connection | None:
    """Worker thread: the engine's Connection for an accepted socket (or what pre_connection
    made of it), refusing keep-alive once the child stops; None (socket closed) if the client
    already left."""
    try:
        connection = accepted.connection(sock, listener.context.generation)
    except OSError:
        sock.close()
        return None
    stopping = listener.stopping
    connection.may_keep_alive = lambda: not stopping.is_set
    return connection


class WorkerPool:
    """ThreadsPerChild threads fed by one queue. `available` counts READY threads (and event's
    holding ones) minus queued jobs: the listener's semaphore (it goes negative when event
    queues more than it has).

    Holding (event): a worker that finished a request may keep waiting for its connection's
    next one while it has nothing else to do; it counts as available, and a job queued while
    no thread waits for one releases the longest-holding one (a byte on that holder's own
    pipe: one wake-up per job, not one per holder).
    """

    def __init__(self, context: ChildContext, run_job: RunJob, wake: WakePipe) -> None:
        self.context = context
        self._run_job = run_job
        self._wake = wake
        self._jobs: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._available = 0
        self.outstanding = 0  # jobs submitted and not yet finished
        self._waiting = 0  # threads blocked on the queue
        self._queued = 0  # jobs in the queue (stop sentinels aside)
        self._holders: list[int] = []  # the release pipes (write ends) of holding threads
        self._idle: list[WorkerSlot] = []  # the slots of threads blocked on the queue
        # Wake the listener whenever a thread turns READY (set once a graceful stop begins, for
        # `finished`); otherwise only when it may have stopped accepting for want of a thread.
        self.wake_always = False
        count = int(context.generation.config.get("ThreadsPerChild"))
        self.slots = [context.scoreboard.worker(context.slot, i) for i in range(count)]
        for slot in self.slots:
            slot.set_state(WorkerState.STARTING)
        self.threads = [
            threading.Thread(target=self._run, args=(slot,), name=f"worker-{i}", daemon=True)
            for i, slot in enumerate(self.slots)
        ]

    @property
    def size(self) -> int:
        return len(self.threads)

    @property
    def available(self) -> int:
        return max(self._available, 0)

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def submit(self, job: object) -> None:
        """Listener thread: queue a job (never blocks); release a holder if no thread waits."""
        with self._lock:
            self._available -= 1
            self.outstanding += 1
            self._queued += 1
            release = self._holders.pop(0) if self._holders and self._queued > self._waiting else -1
        self._jobs.put(job)
        if release >= 0:
            with contextlib.suppress(BlockingIOError):  # a full pipe has released it already
                os.write(release, b"\0")

    def borrow(self) -> WorkerSlot | None:
        """Listener thread: the slot of a thread waiting for a job, taken (counted busy) for the
        listener to serve a request itself in that thread's place (event's serve_inline); None
        when no thread waits or a job is queued. Only the listener queues jobs, so the slot's
        thread stays blocked on the queue until `give_back`."""
        with self._lock:
            if self._queued or not self._idle:
                return None
            self._available -= 1
            return self._idle.pop()

    def give_back(self, slot: WorkerSlot) -> None:
        with self._lock:
            self._available += 1
            self._idle.append(slot)

    @property
    def holding(self) -> int:
        """Threads holding a keep-alive connection for its next request (event)."""
        return len(self._holders)

    def hold_begin(self, release_fd: int) -> bool:
        """Worker thread: start holding a connection, unless a job waits for a thread; a job
        queued later writes a byte to `release_fd` (the write end of the holder's pipe)."""
        with self._lock:
            if self._queued > self._waiting:
                return False
            self._holders.append(release_fd)
            self._available += 1
            wake = self._available <= 1  # the listener may have stopped accepting for want of one
        if wake:
            self._wake.wake()
        return True

    def hold_end(self, release_fd: int) -> None:
        with self._lock:
            if release_fd in self._holders:  # else a job took it out when it released it
                self._holders.remove(release_fd)
            self._available -= 1

    def stop(self, timeout: float | None = None) -> None:
        """Listener thread: let every worker finish its job and exit; wait for them."""
        for _ in self.threads:
            self._jobs.put(None)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self.threads:
            left = None if deadline is None else max(deadline - time.monotonic(), 0)
            thread.join(left)

    def _run(self, slot: WorkerSlot) -> None:
        """Worker thread: READY, one job, repeat until the None sentinel. A job may return a
        hand-back, run once the thread counts as idle again (event returns its connection so)."""
        handback: Handback = None
        while True:
            slot.set_state(WorkerState.READY)
            with self._lock:
                self._available += 1
                wake = self._available <= 1 or self.wake_always
            if wake:  # a write, a select wake-up and a GIL hand-off: not for every connection
                self._wake.wake()
            if handback is not None:
                handback()
            with self._lock:
                self._waiting += 1
                self._idle.append(slot)
            job = self._jobs.get()
            with self._lock:
                self._waiting -= 1
                self._idle.remove(slot)
                if job is not None:
                    self._queued -= 1
            if job is None:
                break
            handback = None
            try:
                handback = self._run_job(job, slot)
            except Exception as error:  # noqa: BLE001 - a bug costs a connection, not a thread
                self.context.generation.error_log.log(
                    "error", "mpm", f"unexpected error in a worker thread: {error!r}"
                )
            finally:
                with self._lock:
                    self.outstanding -= 1
        slot.set_state(WorkerState.DEAD)


class Listener:
    """The listener thread's loop; worker.py and event.py subclass it."""

    def __init__(self, context: ChildContext, wake: WakePipe) -> None:
        self.context = context
        self.config = context.generation.config
        self.process = context.scoreboard.process(context.slot)
        self.wake = wake
        self.stop = Stop.NONE
        self.status = CHILD_OK
        self.accepting = False
        self.stopping = Broadcast()
        self.pool = WorkerPool(context, self.run_job, wake)
        self.max_connections = int(self.config.get("MaxConnectionsPerChild") or 0)
        self.accepted = 0
        self.selector = ListenerSelector()
        self.selector.register(wake.read_fd, selectors.EVENT_READ, self._on_wake)
        self.listeners = list(context.listeners)
        for sock in self.listeners:
            sock.setblocking(False)  # several children share it: accept must not block
        self.acceptors = {sock: Acceptor(sock) for sock in self.listeners}
        if context.death_pipe >= 0:
            os.set_blocking(context.death_pipe, False)
            self.selector.register(context.death_pipe, selectors.EVENT_READ, self._on_death)

    # --- what the MPMs specialise (listener thread unless noted) -------------------------------

    def should_accept(self) -> bool:
        return self.pool.available > 0

    def connection_accepted(self, accepted: Accepted) -> None:
        self.pool.submit(accepted)

    def run_job(self, job: object, slot: WorkerSlot) -> Handback:  # worker threads
        raise NotImplementedError

    def finished(self) -> bool:
        return self.pool.outstanding == 0

    def tick(self) -> None:
        """Once per loop, before deciding whether to accept."""

    def timeout(self) -> float:
        return TICK

    def graceful(self) -> None:
        """Called once when a graceful exit begins (listeners already closed)."""

    def round_done(self) -> None:
        """After each round of selector events and the tick that follows it."""

    # --- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        try:
            self.pool.start()
            while True:
                self.tick()
                self.round_done()  # (before the accept decision and the wait)
                if self.stop is Stop.NOW:
                    return
                if self.stop is Stop.GRACEFUL:
                    if self.finished():
                        break
                else:
                    self.set_accepting(self.should_accept())
                events = self.selector.select(self.timeout())
                if len(events) > 1 and self.accepting:  # accept first: a stop in this round
                    # must not strand a connection the kernel woke only this child for
                    # (EPOLLEXCLUSIVE); a round holds ~20 events: no key function for each
                    acceptors = self.acceptors
                    ready = [event for event in events if event[0].fileobj in acceptors]
                    if ready:
                        ready += [event for event in events if event[0].fileobj not in acceptors]
                        events = ready
                for key, _ in events:
                    key.data()
            self.pool.stop()
        except Exception as error:  # noqa: BLE001 - logged; the child exits and is replaced
            self.context.generation.error_log.log(
                "error", "mpm", f"listener thread failed: {error!r}"
            )
            self.status = CHILD_SICK
            self.stop = Stop.NOW

    def set_accepting(self, accepting: bool) -> None:
        if accepting == self.accepting:
            return
        for sock in self.listeners:
            if accepting:
                self.selector.register_listener(sock, lambda s=sock: self._accept(s))
            else:
                self.selector.unregister(sock)
        self.accepting = accepting
        self.process.set_not_accepting(not accepting)

    def begin_stop(self, stop: Stop) -> None:
        if stop <= self.stop:
            return
        self.stop = stop
        if stop is Stop.GRACEFUL:
            # The master sends one GRACEFUL byte per child down the generation's pipe of death:
            # a child already on its way out must not take another child's byte (that child
            # would never stop). A hard restart or stop reaches it by signal.
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(self.context.death_pipe)
            self.set_accepting(False)
            for sock in self.listeners:
                sock.close()  # this process's descriptor only
            self.listeners = []
            self.process.set_quiescing(True)
            self.pool.wake_always = True
            self.stopping.set()
            self.graceful()

    def _accept(self, listener: socket.socket) -> None:
        if not self.accepting:
            return  # stopped (and the socket closed) earlier in this round of events
        try:
            accepted = self.acceptors[listener].accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # another child was faster, or the client gave up
        except OSError as error:  # EMFILE and the like: log, back off a little, carry on
            self.context.generation.error_log.log(
                "error", "mpm", f"({error.errno}){error.strerror}: accept failed"
            )
            time.sleep(ACCEPT_BACKOFF)
            return
        self.accepted += 1
        self.connection_accepted(accepted)  # a blocking socket (accept does not inherit O_NONBLOCK)
        if self.max_connections and self.accepted >= self.max_connections:
            self.begin_stop(Stop.GRACEFUL)

    def _on_wake(self) -> None:
        for number in self.wake.drain():
            stop = SIGNAL_STOPS.get(number)
            if stop is not None:
                self.begin_stop(stop)

    def _on_death(self) -> None:
        try:
            byte = os.read(self.context.death_pipe, 1)
        except BlockingIOError:
            return  # another child took it
        if byte == RESTART:
            self.begin_stop(Stop.NOW)
        elif byte == GRACEFUL or not byte:  # EOF: the master is gone
            if not byte:
                self.selector.unregister(self.context.death_pipe)
            self.begin_stop(Stop.GRACEFUL)


class _Flags:
    now = False


def run_child(context: ChildContext, make_listener: Callable[..., Listener]) -> int:
    """Main thread of a worker or event child: signals, the listener thread, the exit status."""
    settle_threaded_child(context.slot)  # before any thread starts: they inherit it
    wake = WakePipe()
    flags = _Flags()

    def handler(signum: int, frame: FrameType | None) -> None:
        if SIGNAL_STOPS.get(signum) is Stop.NOW:
            flags.now = True

    signal.set_wakeup_fd(wake.write_fd, warn_on_full_buffer=False)
    for signum in SIGNAL_STOPS:
        signal.signal(signum, handler)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, ())  # handlers in place (see mpm.contract)
    try:
        listener = make_listener(context, wake)
    except Exception as error:  # noqa: BLE001 - Apache's "child could not initialise"
        context.generation.error_log.log("emerg", "mpm", f"child init failed: {error!r}")
        return CHILD_SICK
    thread = threading.Thread(target=listener.run, name="listener", daemon=True)
    thread.start()
    while thread.is_alive() and not flags.now:
        thread.join(0.2)
    return listener.status
