"""status_module (mod_status.c): the server-status handler and its scoreboard detail settings.

Directive table on top; the `server-status` handler at the bottom. Loading this module turns
ExtendedStatus (a core directive, core_values.extended_status) On by default, as in Apache 2.4.
SeeRequestTail is core's in Apache; here it comes with the module that shows it. Both are
main-server settings (Apache's GLOBAL_ONLY).

The handler answers GET (and HEAD) for `SetHandler server-status`: it maps the master's scoreboard
file (ScoreBoardFile) read-only, takes one snapshot and renders it through pyhttpd.status as the
HTML page, `?auto` text, with `?refresh[=N]` and `?notable` as Apache reads them (substrings
anywhere in the query). A scoreboard that is missing or belongs to no live master of this process
is a 500 with AH01237. Directive handlers run while a configuration is processed; the handler in
the thread serving the request (a child, or `pyhttpd -X`).
"""

from __future__ import annotations

import os
import re
import time

from pyhttpd.config.directives import RSRC_CONF, ArgShape, DirectiveSpec, take_flag
from pyhttpd.config.module import Module
from pyhttpd.errors import HttpError
from pyhttpd.http.generation import server_token
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Phase, replayable
from pyhttpd.http.redirect import server_name, signature
from pyhttpd.http.request import Request
from pyhttpd.modules.core_values import extended_status
from pyhttpd.scoreboard import Scoreboard, ScoreboardError, ScoreboardSnapshot, file_path
from pyhttpd.status.auto import CONTENT_TYPE, render_auto
from pyhttpd.status.html import render_html
from pyhttpd.status.model import ServerInfo, build_report
from pyhttpd.version import SERVER_BUILT, SERVER_VERSION

HANDLER = "server-status"


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "SeeRequestTail",
        ArgShape.FLAG,
        RSRC_CONF,
        take_flag,
        'For extended status, "On" to see the last 63 chars of the request line, "Off" '
        "(default) to see the first 63",
        server_only=True,
        default=False,
    ),
)

# --- hooks ---------------------------------------------------------------------------------

HTML_TYPE = "text/html; charset=ISO-8859-1"
DEFAULT_REFRESH = 10


def refresh_seconds(query: str) -> int | None:
    """`refresh` anywhere in the query: `refresh=N` with N >= 1 (atol), else 10; None without."""
    at = query.find("refresh")
    if at < 0:
        return None
    digits = re.match(r"=\s*([+-]?\d+)", query[at + len("refresh") :])
    seconds = int(digits.group(1)) if digits else 0
    return seconds if seconds >= 1 else DEFAULT_REFRESH


def read_scoreboard(path: str) -> ScoreboardSnapshot:
    """One snapshot of the master's scoreboard; it must belong to this process's master (a
    child's parent) or to this process itself (`pyhttpd -X`)."""
    with Scoreboard.attach(path) as board:
        snapshot = board.snapshot()
    if snapshot.master_pid not in (os.getpid(), os.getppid()):
        raise ScoreboardError(f"{path}: scoreboard of pid {snapshot.master_pid}, not this server")
    return snapshot


def register(hooks: Hooks, context: HookContext) -> None:
    config = context.config
    extended = extended_status(config)
    path = file_path(config.server_root, config.get("ScoreBoardFile"))
    banner = server_token(str(config.get("ServerTokens")))

    def handle_status(request: Request) -> int:
        if request.handler != HANDLER or request.method not in ("GET", "HEAD"):
            return DECLINED
        try:
            snapshot = read_scoreboard(path)
        except (ScoreboardError, OSError, ValueError) as error:
            request.log_error("error", "status", f"Server status unavailable: {error}", "AH01237")
            raise HttpError(500, close=False) from error
        query = request.query or ""
        server = ServerInfo(server_name(request), request.local[0], SERVER_VERSION, SERVER_BUILT)
        report = build_report(
            snapshot, server, extended=extended, now=time.time(), load=os.getloadavg()
        )
        refresh = refresh_seconds(query)
        if refresh is not None:
            request.headers_out.set("Refresh", str(refresh))
        if "auto" in query:
            request.content_type = CONTENT_TYPE
            page = render_auto(report)
        else:
            request.content_type = HTML_TYPE
            page = render_html(
                report, notable="notable" in query, signature=signature(request, banner)
            )
        request.status = 200
        request.body = page.encode("latin-1", "replace")
        return OK

    hooks.add(Phase.HANDLER, replayable(handle_status))  # its page is never replayed


MODULE = Module(
    name="status_module",
    source="mod_status.c",
    directives=DIRECTIVES,
    description="the server-status page: scoreboard, workers and counters",
    register_hooks=register,
)
