"""Generation: what the connection engine needs of one generation, and the Server header.

A generation's frozen config, its hook table and its error log, with the limits and read
timeouts derived from them once per connection. Built by the master (or `pyhttpd -X`) for each
generation; read by the threads serving connections.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhttpd.config.model import ServerConfig
from pyhttpd.errorlog import ErrorLog
from pyhttpd.http.deadlines import ReadTimeouts
from pyhttpd.http.parser import Limits
from pyhttpd.http.phases import Hooks
from pyhttpd.version import APACHE_COMPAT, __version__


@dataclass(frozen=True)
class Generation:
    """What the engine needs of one generation: its frozen config and hook table."""

    config: ServerConfig
    hooks: Hooks
    error_log: ErrorLog

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
