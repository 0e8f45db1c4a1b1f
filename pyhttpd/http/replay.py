"""Replays: a static file's response, kept and sent again without walking the hooks.

A GET or HEAD answered 200 with a whole file, by hooks that all declared their outcome a function
of the request's head, the local address, the configuration and the directory walk
(`phases.replayable`), after a walk map_to_storage could remember (no .htaccess found, no <If>,
any link followable), depends on nothing else but the file. The engine keeps what it sent, per
generation and process, under the local address and the head's bytes exactly as they came
(RequestHead.raw: only a head the parser keeps, 4 KiB at most). The same request again costs a
stat of the file, whose identity (device, inode, size, mtime, ctime: what ETag, Last-Modified
and Content-Length come from) must be unchanged, and an access() per access file the walk
looked for, all still absent; the head goes out again with a fresh Date and this connection's
keep-alive fields, the body as the sender sends any file, and the log hooks see the request as
the hooks left it. Anything that differs takes the full walk. The walk through translate_name
... handler costs ~100 µs of Python; a replay ~20.

A request whose response cannot be replayed (a 304, a range, a compressed body, a handler's
output) but whose lookup phases were all replayable keeps a Lookup: the same request again
restores what those phases made of it, after map_to_storage's own check (the same regular file,
the access files absent), and goes on at its handler with the file's fresh stat. Its handler
finds the Lookup's memo in the request's notes (LOOKUP_MEMO_NOTE): what it derives from the
restored request alone (mod_wsgi's environ, all but the client's and the request's own entries)
it may keep there for the next request the Lookup restores.

Apache has no such table (mod_cache's quick handler is the nearest, and it skips the access
checks that a replay only skips when they could not refuse). Used from any thread: the table is
a memo (memo.remember).
"""

from __future__ import annotations

import os
import stat as stat_module
from dataclasses import dataclass, field
from typing import Any

from pyhttpd.config.model import Settings
from pyhttpd.http.messages import Headers
from pyhttpd.http.request import FileBody, Request, file_identity
from pyhttpd.http.writer import head_fields, head_start

REPLAYS = 256  # requests kept per generation and process; the table restarts when full
# map_to_storage's note: the access files a remembered walk looked for (present: walk again)
WALK_PROBES_NOTE = "walk_probes"
# a restored request's note: its Lookup's memo (a dict), which its handler may fill
LOOKUP_MEMO_NOTE = "lookup_memo"
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

# the local address and the head's exact bytes (RequestHead.raw): the same bytes parse the same
# under one generation's limits, and their size is bounded
ReplayKey = tuple[tuple[str, int], bytes]


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
        info = walk_still_valid(self.body.path, self.probes)
        return info if info is not None and file_identity(info) == self.identity else None

    def request_state(self) -> dict[str, Any]:
        """The request's fields as the hooks left them, with its containers copied."""
        return _restored(self.state)


@dataclass(frozen=True)
class Lookup:
    """What the lookup phases (post_read_request ... fixups) made of a request, to go on from
    at its handler while the walk still holds: the same regular file, the same access files
    absent. The handler then runs with the file's fresh stat (a 304, a range, a compressed or a
    dynamic response: whatever it answers)."""

    path: str
    probes: tuple[str, ...]
    state: dict[str, Any]
    # what handlers derived from the restored state alone (LOOKUP_MEMO_NOTE); any thread may
    # fill it, and a value computed twice is the same value
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def still_valid(self) -> os.stat_result | None:
        return walk_still_valid(self.path, self.probes)

    def request_state(self) -> dict[str, Any]:
        restored = _restored(self.state)
        restored["notes"][LOOKUP_MEMO_NOTE] = self.memo
        return restored


def lookup_of(request: Request) -> Lookup | None:
    """What to keep of a request whose lookup phases just ended, when another may go on from it."""
    probes = request.notes.get(WALK_PROBES_NOTE)
    info = request.stat
    if (
        not request.replayable
        or probes is None
        or request.filename is None
        or info is None
        or not stat_module.S_ISREG(info.st_mode)
    ):
        return None
    return Lookup(request.filename, tuple(probes), _snapshot(request, request.headers_out))


def walk_still_valid(path: str, probes: tuple[str, ...]) -> os.stat_result | None:
    """map_to_storage's check of a remembered walk (and of replays and lookups built on one):
    the file's stat when it is still a regular file and the access files looked for are still
    absent. The file's stat succeeding means every directory on the way is searchable, so an
    access() that fails says the access file is absent (not unreadable)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    if not stat_module.S_ISREG(info.st_mode):
        return None
    for probe in probes:  # (a loop: any() of a generator costs a frame per request)
        if os.access(probe, os.F_OK):
            return None
    return info


def _snapshot(request: Request, headers_out: Headers) -> dict[str, Any]:
    """The request's fields that its hooks set, with copies of its containers."""
    state = {name: value for name, value in vars(request).items() if name not in PER_REQUEST}
    state["notes"] = dict(request.notes)
    state["environment"] = dict(request.environment)
    state["headers_out"] = headers_out.copy()
    return state


def _restored(state: dict[str, Any]) -> dict[str, Any]:
    restored = dict(state)
    restored["notes"] = dict(restored["notes"])
    restored["environment"] = dict(restored["environment"])
    restored["headers_out"] = restored["headers_out"].copy()
    return restored


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
    ):
        return None
    fields = [(n, v) for n, v in request.headers_out if n.lower() not in CONNECTION_FIELDS]
    if fields != list(request.headers_out)[: len(fields)]:
        return None  # a module's own Connection field, before the engine's
    # the connection's fields are each connection's to add
    state = _snapshot(request, Headers(fields))
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
