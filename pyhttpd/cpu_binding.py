"""Threaded children run on one CPU each, as SCHED_BATCH: their GIL hand-offs then cost no
cross-CPU wake-up and no preemption.

Only the thread holding the GIL runs Python, so a worker or event child never uses much more than
one CPU. Spread over several, its threads fight: a thread that releases the GIL around a
microsecond's system call (recv, stat, access, send) finds that a sibling woken on another CPU
has taken it, and waits in turn. Bound to one CPU, a thread woken there still preempted the
running one (the listener that had just handed it a connection, still holding the GIL) only to
wait for the GIL; SCHED_BATCH threads do not preempt on wake-up, so the woken thread runs once
the holder blocks. Measured with the bench's worker shape (2 children x 25 threads, 2 CPUs):

- keep-alive (wrk -c50): ~10k req/s and ~6.5 context switches a request spread; 15-28k bound;
- no keep-alive (ab -c50): 6-9k spread, 5-6k bound, 8k bound as SCHED_BATCH.

Event's listener serves small files itself and was unchanged; its WSGI row rose from ~6k to
~8-10k req/s with the binding. SCHED_BATCH's cost: under CPU contention from other processes, a
woken thread waits for the running task to block or for the scheduler tick instead of
preempting it (an idle CPU runs it at once).

`settle_threaded_child` binds the calling thread (and so every thread the child starts
afterwards) to one of the CPUs the process may use, round-robin by scoreboard slot, and makes it
SCHED_BATCH; a process the child starts (a CGI script) is started `unbound()`, so that it
inherits every CPU and the normal policy. Apache does neither: this is for Python's GIL.
Prefork's single-threaded children are left to the kernel.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_allowed: frozenset[int] | None = None  # what this process could use before it was bound
_batch = False  # whether this process made itself SCHED_BATCH


def settle_threaded_child(slot: int) -> None:
    """Bind this child to CPU number `slot` modulo the CPUs it may use (not with one CPU, or
    where binding is refused), and make it SCHED_BATCH."""
    global _batch
    try:
        os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        _batch = True
    except (AttributeError, OSError):  # not Linux, or a seccomp policy refuses it
        pass
    _bind(slot)


def _bind(slot: int) -> None:
    global _allowed
    try:
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) < 2:
            return
        os.sched_setaffinity(0, {allowed[slot % len(allowed)]})
    except (AttributeError, OSError):
        return
    _allowed = frozenset(allowed)


@contextmanager
def unbound() -> Iterator[None]:
    """Run the block (a process spawn) in this thread with every CPU the child had before it
    was bound and the normal policy: a process started in it inherits them at fork."""
    if _allowed is None and not _batch:
        yield
        return
    bound = os.sched_getaffinity(0)
    try:
        if _allowed is not None:
            os.sched_setaffinity(0, _allowed)
        if _batch:
            os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    except OSError:
        pass
    try:
        yield
    finally:
        try:
            os.sched_setaffinity(0, bound)
            if _batch:
                os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
        except OSError:
            pass
