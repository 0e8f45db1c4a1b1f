"""The master's signal handling: handlers only enqueue (never log, never act).

Apache's meaning: TERM and INT stop, HUP restarts, USR1 is graceful, WINCH is graceful-stop.
The handler puts the signal number on a queue and wakes the master's wait through a pipe
(signal.set_wakeup_fd), so the master loop reacts within one tick. Runs in the master only;
children install their own handlers right after fork: a child starts with HANDLED blocked (the
mask fork_child set around fork) and its MPM's child_main clears the mask once its handlers are
in place (pyhttpd.mpm.contract), so a signal sent in between stays pending instead of killing it.
"""

from __future__ import annotations

import os
import queue
import select
import signal
from enum import Enum
from types import FrameType


class Action(Enum):
    STOP = "stop"
    RESTART = "restart"
    GRACEFUL = "graceful"
    GRACEFUL_STOP = "graceful-stop"
    CHILD = "child"  # SIGCHLD: reap


ACTIONS: dict[int, Action] = {
    signal.SIGTERM: Action.STOP,
    signal.SIGINT: Action.STOP,
    signal.SIGHUP: Action.RESTART,
    signal.SIGUSR1: Action.GRACEFUL,
    signal.SIGWINCH: Action.GRACEFUL_STOP,
    signal.SIGCHLD: Action.CHILD,
}
HANDLED = tuple(ACTIONS)


class SignalQueue:
    """Signals for the master loop: `wait(timeout)` returns the actions that arrived."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)

    def install(self) -> None:
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        for signum in HANDLED:
            signal.signal(signum, self._enqueue)
        for ignored in (signal.SIGPIPE, signal.SIGXFSZ):
            signal.signal(ignored, signal.SIG_IGN)

    def _enqueue(self, signum: int, frame: FrameType | None) -> None:
        self._queue.put(signum)

    def wait(self, timeout: float) -> list[Action]:
        """Block up to `timeout` seconds for a signal; return the queued actions in order."""
        if self._queue.empty():
            try:
                select.select([self._read], [], [], max(timeout, 0.0))
            except InterruptedError:
                pass
        try:
            while os.read(self._read, 512):
                pass
        except BlockingIOError:
            pass
        actions: list[Action] = []
        while not self._queue.empty():
            actions.append(ACTIONS[self._queue.get_nowait()])
        return actions


def reset_in_child() -> None:
    """A forked child starts with default handlers and no wakeup fd (its MPM sets its own).
    Call with HANDLED blocked; they stay blocked until the MPM unblocks them."""
    signal.set_wakeup_fd(-1)
    for signum in HANDLED:
        signal.signal(signum, signal.SIG_DFL)
