"""Sans-I/O response framing: the status line and header block, Date and Server included.

Returns bytes for `connection.py` to send together with a small body in one write (two small
writes on a keep-alive connection stall on delayed ACKs). The Date header is cached per second.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterable
from email.utils import formatdate

from pyhttpd.http.messages import Headers
from pyhttpd.http.responses import status_line

# the current second, its IMF-fixdate, and that encoded (a replayed head's Date)
_date_cache: tuple[int, str, bytes] = (0, "", b"")


def http_date(now: float | None = None) -> str:
    """RFC 9110 IMF-fixdate, cached for the current second."""
    second = int(time.time() if now is None else now)
    if _date_cache[0] != second:
        _new_second(second)
    return _date_cache[1]


def http_date_bytes() -> bytes:
    """The current second's http_date, encoded."""
    second = int(time.time())
    if _date_cache[0] != second:
        _new_second(second)
    return _date_cache[2]


def _new_second(second: int) -> None:
    global _date_cache
    text = formatdate(second, usegmt=True)
    _date_cache = (second, text, text.encode("latin-1"))


@functools.lru_cache(maxsize=1024)
def http_date_of(second: int) -> str:
    """IMF-fixdate of a whole second, remembered (Last-Modified of the files being served:
    formatdate is ~12 Python calls)."""
    return formatdate(second, usegmt=True)


def response_head(
    status: int, headers: Headers, *, server: str, version: str = "HTTP/1.1"
) -> bytes:
    """The head of a response: status line, Date, Server, then the given fields, then CRLF."""
    head = head_start(status, version) + http_date() + head_fields(headers, server) + "\r\n\r\n"
    return head.encode("latin-1", "replace")


def head_start(status: int, version: str = "HTTP/1.1") -> str:
    """A head up to its Date's value: what a replayed response (replay.py) keeps before it."""
    return status_line(status, version) + "\r\nDate: "


def head_fields(fields: Iterable[tuple[str, str]], server: str = "") -> str:
    """The Server field (when there is one) and `fields`, each line after its CRLF."""
    lines = [f"\r\nServer: {server}"] if server else []
    lines += [f"\r\n{name}: {value}" for name, value in fields]
    return "".join(lines)
