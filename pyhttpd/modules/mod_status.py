"""status_module (mod_status.c): the server-status handler and its scoreboard detail settings.

Directive table on top; the `server-status` handler, which reads a scoreboard snapshot, arrives
with the HTTP layer. ExtendedStatus defaults to On whenever this module is loaded, as in Apache
2.4 (whose core.c owns the two directives; here they come with the module that needs them).
Both are main-server settings (Apache's GLOBAL_ONLY). Runs only while a configuration is processed.
"""

from __future__ import annotations

from pyhttpd.config.directives import RSRC_CONF, ArgShape, Command, DirectiveSpec
from pyhttpd.config.module import Module

HANDLER = "server-status"


def on_off(cmd: Command, on: bool) -> bool:
    """FLAG handler: the processor passes On/Off as a bool (directives.take_flag expects text)."""
    return on


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "ExtendedStatus",
        ArgShape.FLAG,
        RSRC_CONF,
        on_off,
        '"On" to track extended status information, "Off" to disable',
        server_only=True,
        default=True,
    ),
    DirectiveSpec(
        "SeeRequestTail",
        ArgShape.FLAG,
        RSRC_CONF,
        on_off,
        'For extended status, "On" to see the last 63 chars of the request line, "Off" '
        "(default) to see the first 63",
        server_only=True,
        default=False,
    ),
)

MODULE = Module(
    name="status_module",
    source="mod_status.c",
    directives=DIRECTIVES,
    description="the server-status page: scoreboard, workers and counters",
)
