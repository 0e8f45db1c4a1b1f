"""The header block a CGI-like script prints before its body: Apache's ap_scan_script_header_err.

`scan_script_headers` reads lines (bytes, each ending in LF, CR dropped) until the empty line and
applies them to a Request as Apache does: Content-Type sets the content type, Status the status,
Location, Content-Length, Content-Range, Transfer-Encoding and ETag replace, Set-Cookie lines
stay separate, and any other repeated field is merged with ", ". A line without a colon, or the
end of the output before the empty line, is Apache's 500 with its error-log wording; a script too
slow to print its headers is 504. Sans-I/O: the caller supplies the lines; runs in the thread
serving the request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyhttpd.http.messages import Headers
from pyhttpd.http.request import Request

_REPLACED = ("location", "content-length", "content-range", "transfer-encoding", "etag")
MAX_LINE = 8190  # Apache's MAX_STRING_LEN - 2


class ScriptTimeout(Exception):
    """Raised by the line source when the script printed nothing for the configured time."""


@dataclass(frozen=True)
class ScriptHeaderError(Exception):
    """The script's header block was unusable: the status to answer and the error-log line."""

    status: int
    message: str


def _content_type_tolower(value: str) -> str:
    """ap_content_type_tolower: the media type and parameter names in lower case."""
    kind, _, params = value.partition(";")
    out = kind.strip().lower()
    for param in params.split(";") if params else ():
        name, eq, val = param.partition("=")
        out += ";" + (name.lower() + eq + val if eq else param)
    return out


def _status_of(value: str) -> int:
    digits = value.strip()
    count = len(digits) - len(digits.lstrip("0123456789"))
    return int(digits[:count]) if count else 0


def scan_script_headers(request: Request, lines: Iterable[bytes], script: str) -> bool:
    """Apply the script's header block to `request`; True when a Status line was given.

    Raises ScriptHeaderError (500 or 504) with Apache's message, which names `script`.
    """
    merged = Headers()
    cookies: list[str] = []
    first = True
    status_given = False
    source = iter(lines)
    while True:
        try:
            raw = next(source, None)
        except ScriptTimeout:
            raise ScriptHeaderError(
                504, f"Script timed out before returning headers: {script}"
            ) from None
        if raw is None:
            word = (
                "End of script output before headers"
                if first
                else "Premature end of script headers"
            )
            raise ScriptHeaderError(500, f"{word}: {script}")
        line = raw.replace(b"\r", b"").rstrip(b"\n")[:MAX_LINE].decode("latin-1")
        if not line:
            break
        name, colon, value = line.partition(":")
        if not colon:
            raise ScriptHeaderError(
                500, f"malformed header from script '{script}': Bad header: {line[:30]}"
            )
        value = value.lstrip(" \t\r\n\f\v")
        lowered = name.lower()
        if lowered == "content-type":
            request.content_type = _content_type_tolower(value.rstrip())
        elif lowered == "status":
            status = _status_of(value)
            if not 100 <= status <= 599:
                request.log_error(
                    "error", "cgi", f"Invalid status line from script '{script}': {value[:30]}"
                )
                status = 500
            request.status, status_given = status, True
        elif lowered in _REPLACED or lowered == "last-modified":
            request.headers_out.set(name, value)
        elif lowered == "set-cookie":
            cookies.append(value)
        else:
            earlier = merged.get(name)
            merged.set(name, f"{earlier}, {value}" if earlier is not None else value)
        first = False
    for name, value in merged:
        request.headers_out.add(name, value)
    for value in cookies:
        request.headers_out.add("Set-Cookie", value)
    return status_given
