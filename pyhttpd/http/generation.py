"""Generation: what the connection engine needs of one generation, and the Server header.

A generation's frozen config, its hook table and its error log, with what every connection
derives from them (limits, read timeouts, Timeout, the keep-alive settings, the Server header)
computed once per generation, on first use (`connection_settings`). Built by the master (or
`pyhttpd -X`) for each generation; read by the threads serving connections.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from pyhttpd.config.model import ServerConfig
from pyhttpd.errorlog import ErrorLog
from pyhttpd.http.deadlines import ReadTimeouts
from pyhttpd.http.parser import Limits
from pyhttpd.http.phases import Hooks
from pyhttpd.http.replay import Lookup, Replay, ReplayKey
from pyhttpd.version import APACHE_COMPAT, __version__

# pyhttpd's own guard for LimitRequestFields 0 (unlimited in Apache): a head still incomplete
# after this many field lines' worth of bytes is refused like too many fields.
UNLIMITED_FIELDS_GUARD = 1000
MIN_TIMEOUT = 0.001


@dataclass(frozen=True)
class ConnectionSettings:
    """The main server's settings every connection reads (as Apache's, per connection)."""

    limits: Limits
    read_timeouts: ReadTimeouts | None
    server_header: str
    timeout: float
    keep_alive: bool
    keep_alive_timeout: float
    max_keep_alive_requests: int
    head_guard: int  # bytes of an incomplete head past which it is refused


@dataclass(frozen=True)
class Generation:
    """What the engine needs of one generation: its frozen config and hook table."""

    config: ServerConfig
    hooks: Hooks
    error_log: ErrorLog

    @cached_property
    def replays(self) -> dict[ReplayKey, Replay]:
        """Responses the engine may send again (replay.py): one table per generation and
        process, so a new configuration starts without any."""
        return {}

    @cached_property
    def lookups(self) -> dict[ReplayKey, Lookup]:
        """What the lookup phases made of requests (replay.py), per generation and process."""
        return {}

    @property
    def limits(self) -> Limits:
        """The main server's LimitRequest* and HttpProtocolOptions (on a conflict, the safe one)."""
        get = self.config.get
        options = get("HttpProtocolOptions") or frozenset()
        return Limits(
            request_line=int(get("LimitRequestLine")),
            field_size=int(get("LimitRequestFieldSize")),
            fields=int(get("LimitRequestFields")),
            allow_09="require1.0" not in options,
            registered_methods="registeredmethods" in options,
            unsafe="unsafe" in options and "strict" not in options,
        )

    @property
    def read_timeouts(self) -> ReadTimeouts | None:
        """RequestReadTimeout's stages when reqtimeout_module is loaded; None means Timeout only."""
        if not self.config.module_loaded("reqtimeout_module"):
            return None
        return ReadTimeouts.from_setting(self.config.get("RequestReadTimeout"))

    @cached_property
    def connection_settings(self) -> ConnectionSettings:
        """Computed once per generation: a connection's set-up must not re-read the config."""
        get = self.config.get
        limits = self.limits
        fields = limits.fields or UNLIMITED_FIELDS_GUARD
        return ConnectionSettings(
            limits=limits,
            read_timeouts=self.read_timeouts,
            server_header=server_token(str(get("ServerTokens"))),
            # `Timeout 0` (or junk, which atoi makes 0) times out at once, as in Apache; a zero
            # would put the socket in non-blocking mode instead.
            timeout=max(float(get("Timeout")), MIN_TIMEOUT),
            keep_alive=bool(get("KeepAlive")),
            keep_alive_timeout=float(get("KeepAliveTimeout")),
            max_keep_alive_requests=int(get("MaxKeepAliveRequests")),
            head_guard=limits.request_line + fields * (limits.field_size + 2) + 64,
        )


def server_token(tokens: str) -> str:
    """The Server header for ServerTokens (Apache's Prod/Major/Minor/Min/OS/Full ladder)."""
    major, minor = __version__.split(".")[:2]
    return {
        "Prod": "pyhttpd",
        "Major": f"pyhttpd/{major}",
        "Minor": f"pyhttpd/{major}.{minor}",
        "Minimal": f"pyhttpd/{__version__}",
        "OS": f"pyhttpd/{__version__} (Unix)",
    }.get(tokens, f"pyhttpd/{__version__} Apache/{APACHE_COMPAT} (Unix)")
