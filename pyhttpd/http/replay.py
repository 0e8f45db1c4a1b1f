"""Replays: a static file's response, kept and sent again without walking the hooks.

A GET or HEAD answered 200 with a whole file, by hooks that all declared their outcome a function
of the request's head, the local address, the configuration and the directory walk
(`phases.replayable`), after a walk map_to_storage could remember (no .htaccess found, no <If>,
any link followable), depends on nothing else but the file. The engine keeps what it sent, per
generation and process, under the local address, the request line and the header fields exactly
as they came. The same request again costs a stat of the file, whose identity (device, inode,
size, mtime, ctime: what ETag, Last-Modified and Content-Length come from) must be unchanged,
and an access() per access file the walk looked for, all still absent; the head goes out again
with a fresh Date and this connection's keep-alive fields, the body as the sender sends any
file, and the log hooks see the request as the hooks left it. Anything that differs takes the
full walk. The walk through translate_name ... handler costs ~100 µs of Python; a replay ~20.

Apache has no such table (mod_cache's quick handler is the nearest, and it skips the access
checks that a replay only skips when they could not refuse). Used from any thread: the table is
a memo (memo.remember).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from pyhttpd.config.model import Settings
from pyhttpd.http.messages import Headers, RequestHead
from pyhttpd.http.parser import KEPT_HEAD_MAX
from pyhttpd.http.request import FileBody, Request, file_identity
from pyhttpd.http.writer import head_fields, head_start

REPLAYS = 256  # requests kept per generation and process; the table restarts when full
# map_to_storage's note: the access files a remembered walk looked for (present: walk again)
WALK_PROBES_NOTE = "walk_probes"
# the connection's own fields, set on every response by the engine
CONNECTION_FIELDS = frozenset({"connection", "keep-alive"})
# a request's fields that are its own, not its hooks' outcome
PER_REQUEST = frozenset(
    {
        "head",
        "client",
        "local",
        "start_time",
        "bytes_sent",
        "body_input",
        "error_log",
        "may_block",
        "stat",
    }
)

ReplayKey = tuple[tuple[str, int], str, tuple[tuple[str, str], ...]]


@dataclass(frozen=True)
class Replay:
    """One response to send again while its file and the walk's access files are unchanged."""

    identity: tuple[int, int, int, int, int]
    probes: tuple[str, ...]
    body: FileBody
    start: bytes  # the status line and "Date: "
    fields: bytes  # after the Date: Server and the response's fields but the connection's
    keep_alive: bool  # what the request and response allow (the connection may still refuse)
    header_only: bool
    fits_inline: bool  # event's listener may send it itself
    server: Settings  # the virtual host's settings, for the scoreboard
    # the request as its hooks left it, for the log hooks (headers_out without the connection's)
    state: dict[str, Any]

    def still_valid(self) -> os.stat_result | None:
        """The file's stat when nothing the response depends on has changed, else None."""
        try:
            info = os.stat(self.body.path)
        except OSError:
            return None
        if file_identity(info) != self.identity:
            return None
        for probe in self.probes:  # (a loop: any() of a generator costs a frame per request)
            if os.access(probe, os.F_OK):
                return None
        return info

    def request_state(self) -> dict[str, Any]:
        """The request's fields as the hooks left them, with its containers copied."""
        state = dict(self.state)
        state["notes"] = dict(state["notes"])
        state["environment"] = dict(state["environment"])
        state["headers_out"] = state["headers_out"].copy()
        return state


def replay_key(local: tuple[str, int], head: RequestHead) -> ReplayKey:
    return (local, head.request_line, tuple(head.headers))


def replay_of(
    request: Request, keep_alive: bool, fits_inline: bool, server_header: str
) -> Replay | None:
    """What to keep of a response the engine has just sent, when it may be replayed.

    `keep_alive`: what the request and response allowed, before the connection's own say.
    """
    body = request.body
    probes = request.notes.get(WALK_PROBES_NOTE)
    if (
        not request.replayable
        or probes is None
        or request.status != 200
        or not isinstance(body, FileBody)
        or body.identity is None
        or body.offset != 0
        or body.length != body.identity[2]
        or request.head.version not in ((1, 0), (1, 1))
        or "error_response" in request.notes
        or sum(len(name) + len(value) for name, value in request.head.headers) > KEPT_HEAD_MAX
    ):
        return None  # (a long head is not kept: the key holds its fields)
    fields = [(n, v) for n, v in request.headers_out if n.lower() not in CONNECTION_FIELDS]
    if fields != list(request.headers_out)[: len(fields)]:
        return None  # a module's own Connection field, before the engine's
    state = {name: value for name, value in vars(request).items() if name not in PER_REQUEST}
    state["notes"] = dict(request.notes)
    state["environment"] = dict(request.environment)
    state["headers_out"] = Headers(fields)  # the connection's are this connection's to add
    return Replay(
        identity=body.identity,
        probes=tuple(probes),
        body=body,
        start=head_start(200).encode("latin-1", "replace"),
        fields=head_fields(fields, server_header).encode("latin-1", "replace"),
        keep_alive=keep_alive,
        header_only=request.header_only,
        fits_inline=fits_inline,
        server=request.server,
        state=state,
    )
