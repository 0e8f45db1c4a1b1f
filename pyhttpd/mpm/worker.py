"""mpm_worker_module (worker.c): children with ThreadsPerChild threads and a listener thread.

Directive table and start-up corrections on top; the child (`child_main`) at the bottom.
"""

from __future__ import annotations

import select
import socket

from pyhttpd.config.module import Module
from pyhttpd.http.connection import Outcome
from pyhttpd.http.pre_connection import run_pre_connection
from pyhttpd.mpm.accepting import Accepted
from pyhttpd.mpm.contract import ChildContext
from pyhttpd.mpm.directives import process_rows, thread_rows
from pyhttpd.mpm.limits import WORKER_TAGS, check_threaded
from pyhttpd.mpm.threads import Listener, open_connection, run_child
from pyhttpd.scoreboard import WorkerSlot, WorkerState

DIRECTIVES = (
    *process_rows(
        start=3,
        server_limit=16,
        max_workers=400,
        workers_help="Maximum number of threads alive at the same time",
    ),
    *thread_rows(),
)

MODULE = Module(
    name="mpm_worker_module",
    source="worker.c",
    directives=DIRECTIVES,
    description="worker MPM: threaded children, a thread per connection",
    mpm="worker",
    check_config_hook=lambda settings: check_threaded(settings, WORKER_TAGS),
)


# --- the child (see pyhttpd/mpm/threads.py for which thread runs what) -----------------------
#
#   listener thread  WorkerListener: accepts only while a worker thread is idle (the pool's
#                    `available` is the semaphore), hands the socket through the queue.
#   worker threads   serve_to_end: the whole connection, keep-alive waits (K) included; after a
#                    graceful begins, a kept-alive connection is closed after its current request.


class WorkerListener(Listener):
    """worker's listener: Listener's defaults (accept while a thread is idle), plus the job."""

    def run_job(self, job: object, slot: WorkerSlot) -> None:
        assert isinstance(job, Accepted)
        serve_to_end(job, slot, self)
        return None


def serve_to_end(accepted: Accepted, slot: WorkerSlot, listener: Listener) -> None:
    """Worker thread: one connection to its end; K while waiting for the next request."""
    hooks = listener.context.generation.hooks
    served = run_pre_connection(accepted.sock, hooks)  # mod_ssl's handshake
    if served is None:
        return
    sock = served
    with sock:
        connection = open_connection(sock, listener, accepted)
        if connection is None or not connection.read_ahead():
            return
        connection.observer = slot
        keep_alive_ms = max(float(listener.config.get("KeepAliveTimeout")), 0.001) * 1000
        readable = _readable(sock, listener.stopping.read_fd)
        while True:
            slot.set_state(WorkerState.BUSY_READ)
            if connection.serve(until_idle=True) is Outcome.CLOSE or listener.stopping.is_set:
                return
            slot.set_state(WorkerState.BUSY_KEEPALIVE)
            if not readable.poll(keep_alive_ms) or listener.stopping.is_set:
                return  # KeepAliveTimeout, or the child is stopping


def _readable(sock: socket.socket, stopping_fd: int) -> select.poll:
    """The keep-alive wait of one connection, made once: the next request's first byte, or the
    child starting to stop (its stopping pipe)."""
    poll = select.poll()
    poll.register(sock, select.POLLIN)
    poll.register(stopping_fd, select.POLLIN)
    return poll


def child_main(context: ChildContext) -> int:
    """Main thread of a worker child: returns its exit status."""
    return run_child(context, WorkerListener)
