"""Request: Apache's request_rec — what one request carries through the hook phases.

Built by the connection engine from a parsed head; filled in by the hooks (filename, per-dir
settings, content type, handler); read by the writer and the log. Lives in the thread serving it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pyhttpd.config.model import ServerConfig, Settings, VirtualHost
from pyhttpd.errorlog import ErrorLog
from pyhttpd.http.body_input import BodyInput
from pyhttpd.http.messages import Headers, RequestHead
from pyhttpd.http.phases import Hooks


@dataclass
class FileBody:
    """A response body read from a file: its path, the byte range to send, and whether the
    connection may use zero-copy sendfile for it (EnableSendfile)."""

    path: str
    offset: int
    length: int
    sendfile: bool = False
    # the whole file's file_identity as this request's stat saw it: lets the sender reuse a
    # small file's bytes read for an earlier request (sending.py)
    identity: tuple[int, int, int, int, int] | None = None


def file_identity(stat: os.stat_result) -> tuple[int, int, int, int, int]:
    """(device, inode, size, mtime_ns, ctime_ns): any write, rename or chmod changes one."""
    return (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns)


@dataclass
class StreamBody:
    """A response body produced while it is sent (CGI output, a WSGI iterable, a proxied reply).

    The engine writes each chunk as it comes: exactly Content-Length bytes when the handler set
    one, else chunked for HTTP/1.1 and close-delimited for HTTP/1.0. `close` runs once, always,
    even when no chunk is asked for (HEAD, 304) — PEP 3333's rule, and a CGI child's reaping.
    A `raw` body is the whole response, head included (an nph- CGI script): the engine writes
    its bytes as they are, adds nothing, and closes the connection after it.
    """

    chunks: Iterable[bytes]
    close: Callable[[], None] | None = None
    raw: bool = False

    def finish(self) -> None:
        close, self.close = self.close, None
        if close is not None:
            close()


Body = bytes | FileBody | StreamBody


class StreamAborted(Exception):
    """Raised by a StreamBody's iterator to end a response that has already begun: the engine
    closes the connection (the client sees a short body) and logs nothing more, so the raiser
    logs the reason first in its module's words (mod_wsgi's report, mod_cgi's AH01220)."""


@dataclass
class Request:
    head: RequestHead
    config: ServerConfig
    hooks: Hooks
    vhost: VirtualHost | None
    server: Settings
    client: tuple[str, int]
    local: tuple[str, int]
    uri: str
    query: str
    per_dir: Settings
    filename: str | None = None
    path_info: str = ""
    stat: os.stat_result | None = None
    content_type: str | None = None
    handler: str | None = None
    status: int = 200
    headers_out: Headers = field(default_factory=Headers)
    body: Body = b""
    body_input: BodyInput = field(default_factory=BodyInput.empty)
    notes: dict[str, Any] = field(default_factory=dict)
    start_time: float = field(default_factory=time.time)
    bytes_sent: int = 0  # body bytes written, for %b / %B
    error_log: ErrorLog | None = None
    environment: dict[str, str] = field(default_factory=dict)
    # False while event's listener serves the request itself: a hook that would wait on the
    # network (a DNS lookup) raises ThreadNeeded instead, and a worker thread runs it again.
    may_block: bool = True
    # False once a hook that is not `phases.replayable` ran (or a marked one read something
    # beyond the head, the configuration and the walk): the response must not be replayed
    replayable: bool = True

    @property
    def method(self) -> str:
        return self.head.method

    @property
    def header_only(self) -> bool:
        return self.head.method == "HEAD"

    def log_error(self, level: str, module: str, message: str, tag: str = "") -> None:
        """Apache's ap_log_rerror: an error-log line that names this request's client (a
        replay would not write it again: the request is not replayed)."""
        self.replayable = False
        if self.error_log is not None:
            client = f"{self.client[0]}:{self.client[1]}"
            self.error_log.log(level, module, message, tag=tag, client=client)
