"""Apache's request phases, the hook table modules fill, and the walk through them.

Phases run in Apache's order. RUN_FIRST phases stop at the first hook that does not decline;
RUN_ALL phases run every hook unless one fails. A hook returns OK, DECLINED, DONE or an HTTP
status (an int >= 100), as in Apache. The table is built once per generation and then frozen.
Sans-I/O: hooks see a Request, never a socket.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING

from pyhttpd.errors import HttpError

if TYPE_CHECKING:
    import socket

    from pyhttpd.config.model import ServerConfig
    from pyhttpd.errorlog import ErrorLog
    from pyhttpd.http.request import Request

OK = 0
DECLINED = -1
DONE = -2


class Phase(Enum):
    POST_READ_REQUEST = "post_read_request"
    TRANSLATE_NAME = "translate_name"
    MAP_TO_STORAGE = "map_to_storage"
    HEADER_PARSER = "header_parser"
    ACCESS_CHECKER = "access_checker"
    # Not a step of the walk: as Apache runs it only when authorization cannot decide without
    # a user, mod_authz_core runs it from auth_checker (pyhttpd has no access_checker_ex).
    CHECK_USER_ID = "check_user_id"
    AUTH_CHECKER = "auth_checker"
    TYPE_CHECKER = "type_checker"
    FIXUPS = "fixups"
    HANDLER = "handler"
    # pyhttpd's name for the moment Apache's output filters first see the response headers
    # (mod_headers, mod_expires, mod_deflate): after the handler or the error response, before
    # the head is written. RUN_ALL; return values are ignored.
    OUTPUT_HEADERS = "output_headers"
    LOG_TRANSACTION = "log_transaction"

    # Phases key the hook table, looked up ~30 times a request: identity hashing (members are
    # singletons) instead of Enum's Python-level __hash__ saves ~66 calls per request.
    __hash__ = object.__hash__


RUN_FIRST = frozenset(
    {
        Phase.TRANSLATE_NAME,
        Phase.MAP_TO_STORAGE,
        Phase.CHECK_USER_ID,
        Phase.AUTH_CHECKER,
        Phase.TYPE_CHECKER,
        Phase.HANDLER,
    }
)


class Order(Enum):
    """Apache's APR_HOOK_FIRST / MIDDLE / LAST."""

    FIRST = 0
    MIDDLE = 1
    LAST = 2


Hook = Callable[["Request"], int]


def replayable(hook: Hook) -> Hook:
    """Mark a hook whose effect on a request depends only on the request's head, the local
    address, the configuration and what the directory walk checks: a static file's response
    produced by such hooks alone may be sent again from the engine's replay table without
    running them (replay.py). A marked hook that, for one request, reads anything else (the
    client's address, the time, another file, an expression) sets `request.replayable = False`.
    """
    hook.replayable = True  # type: ignore[attr-defined]
    return hook


# Apache's pre_connection: takes the accepted socket, returns the one to serve (mod_ssl's TLS).
ConnectionHook = Callable[["socket.socket"], "socket.socket"]


@dataclass(frozen=True)
class HookContext:
    """What a module's register_hooks receives: this generation's config and error log.

    Hooks are closures over what their module prepares here (compiled formats, open log files,
    loaded tables), so nothing per-generation is global. What a module opens for its generation
    (log files) it hands back through `on_close`, as Apache registers a pool cleanup on pconf:
    the master runs the cleanups when it retires the generation.
    """

    config: ServerConfig
    error_log: ErrorLog
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def on_close(self, cleanup: Callable[[], None]) -> None:
        """Run `cleanup` (in the master) when this generation is retired or the server stops."""
        self.cleanups.append(cleanup)


@dataclass
class Hooks:
    """phase -> hooks in run order; modules add to it in register_hooks, then it is frozen.

    Freezing makes, per phase, the tuple of hooks to call and whether the phase is RUN_FIRST:
    what `run` would otherwise recompute for every request.
    """

    table: dict[Phase, list[tuple[Order, int, Hook]]] = field(default_factory=dict)
    pre_connection: list[ConnectionHook] = field(default_factory=list)
    # per pre_connection hook: whether it has work on a socket (event's listener asks, so that
    # only connections with a handshake to do go to a worker before their first request)
    pre_connection_applies: list[Callable[[socket.socket], bool]] = field(default_factory=list)
    frozen: bool = False
    _plan: dict[Phase, tuple[tuple[Hook, ...], bool]] = field(default_factory=dict, repr=False)
    # REQUEST_PHASES that have hooks (a phase without any is OK, or DECLINED for RUN_FIRST:
    # neither is DONE, so skipping it changes nothing)
    request_phases: tuple[Phase, ...] = ()
    # phases with a hook not marked `replayable`: a request that runs one is not replayed
    impure: frozenset[Phase] = frozenset()

    def add(self, phase: Phase, hook: Hook, order: Order = Order.MIDDLE) -> None:
        assert not self.frozen, "hooks are registered once, when a generation is built"
        entries = self.table.setdefault(phase, [])
        entries.append((order, len(entries), hook))
        entries.sort(key=lambda entry: (entry[0].value, entry[1]))

    def add_pre_connection(
        self, hook: ConnectionHook, applies: Callable[[socket.socket], bool] | None = None
    ) -> None:
        assert not self.frozen, "hooks are registered once, when a generation is built"
        self.pre_connection.append(hook)
        self.pre_connection_applies.append(applies or (lambda sock: True))

    def pre_connection_wanted(self, sock: socket.socket) -> bool:
        """Whether a pre_connection hook has work on this accepted socket (a TLS handshake)."""
        return any(applies(sock) for applies in self.pre_connection_applies)

    def freeze(self) -> Hooks:
        self.frozen = True
        self._plan = {
            phase: (tuple(hook for _, _, hook in self.table.get(phase, ())), phase in RUN_FIRST)
            for phase in Phase
        }
        self.request_phases = tuple(phase for phase in REQUEST_PHASES if self._plan[phase][0])
        self.impure = frozenset(
            phase
            for phase in Phase
            if phase is not Phase.LOG_TRANSACTION  # logging does not shape the response
            and any(not getattr(hook, "replayable", False) for hook in self._plan[phase][0])
        )
        return self

    def has(self, phase: Phase) -> bool:
        """Whether any hook runs in this phase."""
        return bool(self._plan[phase][0])

    def run(self, phase: Phase, request: Request) -> int:
        """Run one phase; return OK, DONE or DECLINED (RUN_FIRST with no taker)."""
        hooks, run_first = self._plan[phase]
        if phase in self.impure:
            request.replayable = False
        result = DECLINED
        for hook in hooks:
            result = hook(request)
            if result >= 100:
                raise HttpError(result, close=False)
            if result == DONE:
                return DONE
            if run_first and result != DECLINED:
                return result
        return result if run_first else OK

    def run_all(self, phase: Phase, request: Request) -> None:
        """Run every hook of a phase that cannot change the outcome (output headers, logging).

        A failing hook here must not lose the response or the connection: errors are swallowed
        after being noted on the request for the error log.
        """
        if phase in self.impure:
            request.replayable = False
        for hook in self._plan[phase][0]:
            try:
                hook(request)
            except Exception as error:  # noqa: BLE001 - a logger must never kill a connection
                request.notes.setdefault("hook_errors", []).append(f"{phase.value}: {error!r}")


REQUEST_PHASES = (  # ap_process_request_internal's, in order
    Phase.POST_READ_REQUEST,
    Phase.TRANSLATE_NAME,
    Phase.MAP_TO_STORAGE,
    Phase.HEADER_PARSER,
    Phase.ACCESS_CHECKER,
    Phase.AUTH_CHECKER,  # runs check_user_id when a Require needs a user (mod_authz_core)
    Phase.TYPE_CHECKER,
    Phase.FIXUPS,
)


def process_request(request: Request, hooks: Hooks) -> None:
    """ap_process_request_internal + ap_invoke_handler, in Apache's order (a local ErrorDocument's
    request; the connection engine runs the two halves itself, see Connection._process)."""
    if run_lookup(request, hooks):
        return
    run_handler(request, hooks)


def run_lookup(request: Request, hooks: Hooks) -> bool:
    """ap_process_request_internal: the phases up to fixups; True when a hook answered DONE."""
    for phase in hooks.request_phases:
        if hooks.run(phase, request) == DONE:
            return True
    return False


def run_handler(request: Request, hooks: Hooks) -> None:
    """ap_invoke_handler: the first handler that takes the request; none is a 404."""
    if hooks.run(Phase.HANDLER, request) == DECLINED:
        raise HttpError(404, f"no handler for {request.uri}", "AH00128", close=False)
