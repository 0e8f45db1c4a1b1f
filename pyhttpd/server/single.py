"""`pyhttpd -X`: one process, in the foreground, serving connections one after another.

Apache's debug mode: no children, no restart signals (HUP and USR1 just end it, as in Apache);
TERM and INT stop it. Used until the process model lands, and for debugging afterwards. As
Apache -X does, it keeps a scoreboard (one process, one worker, at ScoreBoardFile) so that
mod_status shows it; the file goes away when it stops (a file that cannot be created leaves an
anonymous map: the server still serves, mod_status answers 500).
"""

from __future__ import annotations

import os
import selectors
import signal
import socket
from types import FrameType

from pyhttpd.config import ServerConfig
from pyhttpd.http.generation import Generation
from pyhttpd.http.pre_connection import run_pre_connection
from pyhttpd.modules.core_values import extended_status
from pyhttpd.mpm.accepting import Accepted, Acceptor
from pyhttpd.scoreboard import Scoreboard, WorkerSlot, WorkerState
from pyhttpd.scoreboard import file_path as scoreboard_file
from pyhttpd.server.generation import build_generation
from pyhttpd.server.listeners import bind_listeners


class _Stop(BaseException):
    """Raised by the signal handler; a BaseException so that the engine's guard against buggy
    hooks (which catches Exception) lets the stop through."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _serve(
    client: socket.socket, accepted: Accepted, generation: Generation, worker: WorkerSlot
) -> None:
    try:
        connection = accepted.connection(client, generation)
    except OSError:  # the client reset before we could look at it
        return
    connection.observer = worker
    worker.set_state(WorkerState.BUSY_READ)
    try:
        connection.serve()
    finally:
        worker.set_state(WorkerState.READY)


def _scoreboard(config: ServerConfig) -> Scoreboard:
    try:
        return Scoreboard.create(
            scoreboard_file(config.server_root, config.get("ScoreBoardFile")), 1, 1
        )
    except OSError:
        return Scoreboard.create(None, 1, 1)


def run_single_process(config: ServerConfig) -> int:
    generation = build_generation(config)
    listeners = bind_listeners(config.get("Listen") or (), int(config.get("ListenBacklog")))
    selector = selectors.DefaultSelector()
    for listener in listeners:
        listener.setblocking(False)
        selector.register(listener, selectors.EVENT_READ, Acceptor(listener))
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(signum, _stop)
    board = _scoreboard(config)
    board.set_generation(0, 1)
    board.set_limits(config.mpm or "prefork", 1, 1)
    board.set_request_tail(bool(config.get("SeeRequestTail")))
    board.set_extended_status(extended_status(config))
    board.process(0).started(os.getpid(), 0)
    worker = board.worker(0, 0)
    worker.set_state(WorkerState.READY)
    try:
        while True:
            for key, _ in selector.select():
                try:
                    accepted = key.data.accept()  # a blocking socket
                except BlockingIOError:
                    continue
                served = run_pre_connection(accepted.sock, generation.hooks)  # mod_ssl's handshake
                if served is None:
                    continue
                with served:
                    _serve(served, accepted, generation, worker)
    except _Stop:
        return 0
    finally:
        board.unlink()
        board.close()
        selector.close()
        for listener in listeners:
            listener.close()
