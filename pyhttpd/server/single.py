"""`pyhttpd -X`: one process, in the foreground, serving connections one after another.

Apache's debug mode: no children, no restart signals (HUP and USR1 just end it, as in Apache);
TERM and INT stop it. Used until the process model lands, and for debugging afterwards.
"""

from __future__ import annotations

import selectors
import signal
import socket
from types import FrameType

from pyhttpd.config import ServerConfig
from pyhttpd.http.connection import serve_connection
from pyhttpd.http.pre_connection import run_pre_connection
from pyhttpd.server.generation import build_generation
from pyhttpd.server.listeners import bind_listeners


class _Stop(BaseException):
    """Raised by the signal handler; a BaseException so that the engine's guard against buggy
    hooks (which catches Exception) lets the stop through."""


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def run_single_process(config: ServerConfig) -> int:
    generation = build_generation(config)
    listeners = bind_listeners(config.get("Listen") or (), int(config.get("ListenBacklog")))
    selector = selectors.DefaultSelector()
    for listener in listeners:
        listener.setblocking(False)
        selector.register(listener, selectors.EVENT_READ)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
        signal.signal(signum, _stop)
    try:
        while True:
            for key, _ in selector.select():
                listener = key.fileobj
                assert isinstance(listener, socket.socket)
                try:
                    client, _ = listener.accept()
                except BlockingIOError:
                    continue
                client.setblocking(True)
                served = run_pre_connection(client, generation.hooks)  # mod_ssl's handshake
                if served is None:
                    continue
                with served:
                    serve_connection(served, generation)
    except _Stop:
        return 0
    finally:
        selector.close()
        for listener in listeners:
            listener.close()
