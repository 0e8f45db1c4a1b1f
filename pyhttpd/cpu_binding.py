"""Threaded children run on one CPU each: their GIL hand-offs then stay on that CPU.

Only the thread holding the GIL runs Python, so a worker or event child never uses much more than
one CPU. Spread over several, its threads fight: a thread that releases the GIL around a
microsecond's system call (recv, stat, access, send) finds that a sibling woken on another CPU
has taken it, and waits in turn. Measured with the bench's worker shape (2 children x 25
threads, wrk with 50 keep-alive connections, 2 CPUs): ~6.5 context switches per request and
~10k req/s spread, against 1-2.5 and ~17-24k req/s bound. The WSGI hello row rose from ~6k to
~7.5-8.5k req/s for worker and event. On one CPU a woken sibling runs once the holder blocks.

`bind_to_one_cpu` binds the calling thread (and so every thread the child starts afterwards) to
one of the CPUs the process may use, round-robin by scoreboard slot; a process the child starts
(a CGI script) is started `unbound()`, so that it inherits all of them. Apache binds nothing: this is for Python's GIL.
Prefork's single-threaded children are left to the kernel's balancing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

_allowed: frozenset[int] | None = None  # what this process could use before it was bound


def bind_to_one_cpu(slot: int) -> int | None:
    """Bind this child to CPU number `slot` modulo the CPUs it may use; the CPU, or None when
    there is nothing to choose from (one CPU) or the system cannot bind."""
    global _allowed
    try:
        allowed = sorted(os.sched_getaffinity(0))
        if len(allowed) < 2:
            return None
        cpu = allowed[slot % len(allowed)]
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError):  # not Linux, or a seccomp policy refuses it
        return None
    _allowed = frozenset(allowed)
    return cpu


@contextmanager
def unbound() -> Iterator[None]:
    """Run the block (a process spawn) in this thread with every CPU the child had before it
    was bound: a process started in it inherits them at fork, with no moment on one CPU."""
    if _allowed is None:
        yield
        return
    bound = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, _allowed)
    except OSError:
        yield
        return
    try:
        yield
    finally:
        os.sched_setaffinity(0, bound)
