"""The contract between the master and an MPM's children.

The master forks; the child calls its MPM's `child_main(context)` and exits with the status it
returns. Everything a child needs arrives in one ChildContext: the generation to serve (frozen
config, hooks, error log), the inherited listening sockets, the shared scoreboard, its slot, and
the pipe of death through which the master asks exactly one idle child (or, for threaded MPMs,
one child) to leave gracefully. An MPM sees HTTP only as `serve_connection` / `Connection`.

Exit statuses follow Apache: 0 normal; CHILD_SICK when the child could not initialise (the
master gives up after repeated sick children of the current generation); CHILD_FATAL when the
whole server must stop (AH00050).

Pipe-of-death bytes: GRACEFUL ("!") asks one reader to finish its work and exit; RESTART ("$")
asks it to exit now. Children also obey signals: SIGUSR1 and SIGWINCH graceful, SIGTERM now.

Signals at start-up: `child_main` is entered with the master's signals (TERM, INT, HUP, USR1,
WINCH, CHLD) still BLOCKED and their handlers reset to the default. A child_main must first
install its own handlers (and wakeup fd), and only then unblock with
`signal.pthread_sigmask(signal.SIG_SETMASK, ())`; a signal sent in between (a graceful restart
right after the fork) stays pending and reaches the child's own handler instead of killing it by
its default action. Threads must be started after unblocking or they keep the mask.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Protocol

from pyhttpd.http.generation import Generation
from pyhttpd.scoreboard import Scoreboard

CHILD_OK = 0
CHILD_SICK = 3  # Apache's APEXIT_CHILDSICK
CHILD_FATAL = 15  # Apache's APEXIT_CHILDFATAL

GRACEFUL = b"!"
RESTART = b"$"


@dataclass(frozen=True)
class ChildContext:
    """What one child process gets from the master at fork time."""

    slot: int
    generation_number: int
    generation: Generation
    listeners: tuple[socket.socket, ...]
    scoreboard: Scoreboard
    death_pipe: int  # read end, shared by every child of this generation


class ChildMain(Protocol):
    def __call__(self, context: ChildContext) -> int: ...
