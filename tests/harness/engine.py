"""The connection engine in the test's own process, with hooks of the test's own.

For behaviour that needs a handler no shipped module has (a raising hook, a handler that reads
the body its own way, a streamed response): the generation is built from a real configuration
as the server builds it, the test's hooks are added, and one real loopback connection is served
by `serve_connection` in a thread while the test plays the client.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from pyhttpd.config import load
from pyhttpd.errorlog import ErrorLog
from pyhttpd.http.connection import Outcome, serve_connection
from pyhttpd.http.generation import Generation
from pyhttpd.http.phases import Hook, HookContext, Hooks, Order, Phase
from pyhttpd.modules.registry import default_registry
from tests.harness.server import ServerRoot, raw_exchange

CUT_OFF = 8.0  # generous bound for one served connection


@contextmanager
def engine_generation(
    root: ServerRoot, hooks: dict[Phase, Hook], config: str = ""
) -> Iterator[tuple[Generation, ErrorLog]]:
    """A generation of `root`'s configuration plus `hooks` (each run first in its phase)."""
    loaded = load(str(root.write_config(config)), str(root.path), default_registry())
    log = ErrorLog(str(root.path / "logs" / "error_log"))
    table = Hooks()
    context = HookContext(loaded, log)
    for module in loaded.modules:
        register = getattr(module.declaration, "register_hooks", None)
        if register is not None:
            register(table, context)
    for phase, hook in hooks.items():
        table.add(phase, hook, Order.FIRST)
    try:
        yield Generation(loaded, table.freeze(), log), log
    finally:
        log.close()


Client = Callable[[int], bytes] | bytes  # raw bytes for raw_exchange, or a function of the port


def serve_once(generation: Generation, client: Client) -> tuple[bytes, list[Outcome]]:
    """Serve one connection in a thread; `client` is raw bytes for raw_exchange, or a function
    of the port that plays the client and returns what it read."""
    answers, outcomes = _serve_each(generation, [client])
    return answers[0], outcomes


def serve_in_turn(generation: Generation, datas: list[bytes]) -> list[bytes]:
    """Serve one connection per item of `datas`, one after another, on one listening socket
    (so that the engine's tables keyed by the local address are shared); return the answers."""
    return _serve_each(generation, list(datas))[0]


def _serve_each(generation: Generation, clients: list[Client]) -> tuple[list[bytes], list[Outcome]]:
    """One connection per client, in turn, served in a thread on one listening socket."""
    outcomes: list[Outcome] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(CUT_OFF)

        def serve() -> None:
            for _ in clients:
                accepted, _ = listener.accept()
                with accepted:
                    outcomes.append(serve_connection(accepted, generation))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        answers = [
            raw_exchange(port, client) if isinstance(client, bytes) else client(port)
            for client in clients
        ]
        thread.join(CUT_OFF)
        assert not thread.is_alive()
    return answers, outcomes
