"""The sans-I/O request reader: buffer bytes -> RequestHead, with Apache's limits and rejections.

`parse_head(buffer, limits)` looks for one complete request head at the start of the buffer and
returns it with the number of bytes it used, or None when more bytes are needed. It raises
HttpError with Apache's status for what Apache rejects under `HttpProtocolOptions Strict`:

- request line longer than LimitRequestLine: 414; a header line longer than LimitRequestFieldSize or
  more than LimitRequestFields fields: 400 (Apache 2.4 answers 400, not 431, for both);
- a malformed request line, a bad version, control characters, whitespace before a colon, obsolete
  line folding, an invalid field name or value: 400; HTTP/2 and above on this path: 505.

The other HttpProtocolOptions, as Debian's Apache 2.4 behaves with them:

- `Require1.0`: a request line without a version (HTTP/0.9) is 400 (AH02401);
- `RegisteredMethods`: a method Apache does not register is 501 as soon as the request line is
  read, before Host or any header is looked at (AH02423);
- `Unsafe` relaxes exactly what Apache relaxes: runs of spaces between the request-line words and
  after the version (not tabs, not before the method); the protocol name in any case
  (`http/1.1`); a method that is not a token but has no control character (it reaches the
  handler, which answers 501); field names with any byte but whitespace, colon and NUL; field
  values with control characters other than NUL and a bare CR. Still refused in Unsafe, as by
  Apache: control characters in the target or the method, a version that is not `N.N`, a leading
  space, whitespace before the colon. Obsolete line folding stays refused (a pyhttpd choice;
  Apache folds).

Body framing lives in `body.py`; Host, Content-Length and Transfer-Encoding semantics in
`framing.py`. Knows no socket and no configuration beyond the Limits it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyhttpd.errors import HttpError
from pyhttpd.http.messages import Headers, RequestHead
from pyhttpd.memo import remember

_END_OF_HEAD = re.compile(rb"\r?\n\r?\n")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(r"^HTTP/([0-9])\.([0-9])$")
_BAD_TARGET = re.compile(r"[\x00-\x20\x7f]")
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_VERSION_UNSAFE = re.compile(r"^HTTP/([0-9])\.([0-9])$", re.IGNORECASE)
_SPACES = re.compile(r" +")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BAD_NAME_UNSAFE = re.compile(r"[\x00 \t]")
_BAD_VALUE_UNSAFE = re.compile(r"[\x00\r]")
# A header block every line of which is a valid field under Strict: a token, a colon, then
# tabs and visible or obs-text characters, each line ending in an optional CR.
_TCHAR = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]"
_VALID_BLOCK = re.compile(
    rf"(?:{_TCHAR}+:[\t\x20-\x7e\x80-\xff]*\r?\n)*{_TCHAR}+:[\t\x20-\x7e\x80-\xff]*\r?"
)
# Name and value (without surrounding spaces and tabs) of each line of a valid block.
_FIELD = re.compile(r"^([^:]+):[ \t]*(.*?)[ \t]*\r?$", re.MULTILINE)

# The methods Apache registers (http_protocol.c); `RegisteredMethods` answers 501 to the rest.
REGISTERED_METHODS = frozenset(
    "GET HEAD PUT POST DELETE CONNECT OPTIONS TRACE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE "
    "LOCK UNLOCK VERSION-CONTROL CHECKOUT UNCHECKOUT CHECKIN UPDATE LABEL REPORT MKWORKSPACE "
    "MKACTIVITY BASELINE-CONTROL MERGE".split()
)
_REGISTERED_BYTES = frozenset(method.encode() for method in REGISTERED_METHODS)
# The usual request line under Strict: token, one space, a target of visible characters (no
# control, space or DEL), one space, HTTP/1.0 or HTTP/1.1.
_USUAL_REQUEST_LINE = re.compile(
    rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e\x80-\xff]+) HTTP/1\.([01])"
)


@dataclass(frozen=True)
class Limits:
    """LimitRequestLine / FieldSize / Fields and the HttpProtocolOptions that shape parsing."""

    request_line: int = 8190
    field_size: int = 8190
    fields: int = 100
    allow_09: bool = True  # Allow0.9 (default) / Require1.0
    registered_methods: bool = False  # RegisteredMethods / LenientMethods (default)
    unsafe: bool = False  # Unsafe / Strict (default)


# Heads parsed before, by their exact bytes, with the limits they were parsed under: keep-alive
# clients send the same head request after request, and so do their neighbours. A hit costs a
# copy of the fields (a hook may edit its request's) instead of the checks, the split and the
# decoding. Only whole, valid heads that end at their first CRLF CRLF are kept (memo.remember),
# and only heads of KEPT_HEAD_MAX bytes or less: a client's 100 fields of 8 KiB must not make a
# process keep megabytes of them.
_PARSED: dict[bytes, tuple[Limits, RequestHead]] = {}
PARSED_HEADS = 256
KEPT_HEAD_MAX = 4096


def parse_head(buffer: bytes | bytearray, limits: Limits) -> tuple[RequestHead, int] | None:
    """Parse the request head at the start of `buffer`; None means "need more bytes"."""
    if not buffer:  # (the engine looks before each keep-alive wait)
        return None
    end = buffer.find(b"\r\n\r\n") + 4
    raw = bytes(buffer[:end]) if 4 < end <= KEPT_HEAD_MAX else b""
    kept = _PARSED.get(raw) if raw else None
    if kept is not None and (kept[0] is limits or kept[0] == limits):
        return kept[1], end  # shared, not copied: see RequestHead.raw
    parsed = _parse_head(buffer, limits)
    if raw and parsed is not None and parsed[1] == end and parsed[0].version != (0, 9):
        head = parsed[0]
        head = RequestHead(
            head.method, head.target, head.version, head.headers, head.request_line, raw
        )
        remember(_PARSED, raw, (limits, head), PARSED_HEADS)
        return head, end
    return parsed


def _parse_head(buffer: bytes | bytearray, limits: Limits) -> tuple[RequestHead, int] | None:
    start = _skip_blank_lines(buffer)
    line_end = buffer.find(b"\n", start)
    if line_end < 0:
        # A trailing CR may be the first half of the CRLF: it does not count against the limit.
        if len(buffer) - start - buffer.endswith(b"\r") > limits.request_line:
            raise HttpError(414, "request line exceeds LimitRequestLine", "AH00565")
        return None
    request_line = bytes(buffer[start:line_end]).rstrip(b"\r")
    if len(request_line) > limits.request_line:
        raise HttpError(414, "request line exceeds LimitRequestLine", "AH00565")
    usual = None if limits.unsafe else _USUAL_REQUEST_LINE.fullmatch(request_line)
    if usual is not None and (not limits.registered_methods or usual[1] in _REGISTERED_BYTES):
        # A token, a target without controls or spaces and HTTP/1.0 or 1.1 under Strict: what
        # _request_line would accept, in one match instead of ~10 calls.
        method, target = usual[1].decode("latin-1"), usual[2].decode("latin-1")
        version = (1, int(usual[3]))
    else:
        method, target, version = _request_line(request_line, limits)
    if version == (0, 9):
        return RequestHead(method, target, version, Headers(), request_line.decode("latin-1")), (
            line_end + 1
        )
    match = _END_OF_HEAD.search(buffer, line_end - 1 if line_end else 0)
    if match is None:
        _check_partial_fields(buffer, line_end + 1, limits)
        return None
    block = bytes(buffer[line_end + 1 : match.start()])
    headers = _header_fields(block, limits)
    head = RequestHead(method, target, version, headers, request_line.decode("latin-1"))
    return head, match.end()


MAX_BLANK_LINES = 10  # Apache's AP_MAX_BLANK_LINES


def _skip_blank_lines(buffer: bytes | bytearray) -> int:
    """Skip the empty lines Apache ignores before a request line, at most ten (then 400)."""
    position = 0
    skipped = 0
    while buffer[position : position + 2] == b"\r\n" or buffer[position : position + 1] == b"\n":
        position += 2 if buffer[position : position + 1] == b"\r" else 1
        skipped += 1
        if skipped > MAX_BLANK_LINES:
            raise HttpError(400, "too many blank lines before the request line", "AH00566")
    return position


def _request_line(line: bytes, limits: Limits) -> tuple[str, str, tuple[int, int]]:
    text = line.decode("latin-1")
    if "\x00" in text:
        raise HttpError(400, "request line contains a NUL byte", "AH02429")
    if limits.unsafe and not text.startswith(" "):
        parts = _SPACES.split(text.rstrip(" "))
    else:
        parts = text.split(" ")
    if len(parts) == 2 and parts[0] and parts[1]:
        if not limits.allow_09:
            raise HttpError(400, "HTTP Request Line; Rejected HTTP/0.9 request", "AH02401")
        if parts[0] != "GET":
            raise HttpError(400, f"Invalid request line: '{text[:80]}'", "AH10388")
        method, target, version_text = parts[0], parts[1], ""
    elif len(parts) == 3 and all(parts):
        method, target, version_text = parts
    else:
        raise HttpError(400, f"Invalid request line: '{text[:80]}'", "AH10388")
    if not _TOKEN.match(method) and (not limits.unsafe or _CONTROL.search(method)):
        raise HttpError(400, "Invalid method token", "AH02430")
    if limits.registered_methods and method not in REGISTERED_METHODS:
        raise HttpError(
            501,
            f"HTTP Request Line; Unrecognized HTTP method: '{method}' "
            "(disallowed by RegisteredMethods)",
            "AH02423",
        )
    if _BAD_TARGET.search(target):
        raise HttpError(400, "Request line contains invalid characters", "AH02418")
    if not version_text:
        return method, target, (0, 9)
    match = (_VERSION_UNSAFE if limits.unsafe else _VERSION).match(version_text)
    if match is None:
        raise HttpError(400, f"Invalid protocol '{version_text[:20]}'", "AH02418")
    version = (int(match.group(1)), int(match.group(2)))
    if version < (1, 0):
        raise HttpError(400, f"Invalid protocol '{version_text}'", "AH02418")
    if version >= (2, 0):
        raise HttpError(505, f"Unsupported protocol '{version_text}'", "AH10390")
    return method, target, version


def _header_fields(block: bytes, limits: Limits) -> Headers:
    if not block:
        return Headers()
    if limits.fields and block.count(b"\n") >= limits.fields:
        raise HttpError(400, "Number of request header fields exceeds server limit", "AH00563")
    text = block.decode("latin-1")
    if not limits.unsafe and len(block) <= limits.field_size and _VALID_BLOCK.fullmatch(text):
        # The usual head, checked whole by one regex and split by another: the same fields as
        # the loop below gives, in ~30 fewer calls (request_bench).
        return Headers(_FIELD.findall(text))
    headers = Headers()
    for raw in block.split(b"\n"):
        line = raw[:-1] if raw.endswith(b"\r") else raw
        if len(line) > limits.field_size:
            raise HttpError(400, "Size of a request header field exceeds server limit", "AH00561")
        text = line.decode("latin-1")
        if text[:1] in (" ", "\t"):
            raise HttpError(400, "Line folding encountered", "AH02404")
        name, colon, value = text.partition(":")
        if limits.unsafe:
            bad_name = not name or _BAD_NAME_UNSAFE.search(name) is not None
        else:
            bad_name = not _TOKEN.match(name)
        if not colon or bad_name:
            raise HttpError(400, "Request header field name is malformed", "AH02426")
        value = value.strip(" \t")
        if (_BAD_VALUE_UNSAFE if limits.unsafe else _BAD_VALUE).search(value):
            raise HttpError(400, "Request header value is malformed", "AH02430")
        headers.add(name, value)
    return headers


def _check_partial_fields(buffer: bytes | bytearray, start: int, limits: Limits) -> None:
    """Reject an unfinished head early when what has arrived already breaks a limit."""
    partial = bytes(buffer[start:])
    lines = partial.split(b"\n")
    if limits.fields and len(lines) - 1 > limits.fields:
        raise HttpError(400, "Number of request header fields exceeds server limit", "AH00563")
    if any(len(line.rstrip(b"\r")) > limits.field_size for line in lines):
        raise HttpError(400, "Size of a request header field exceeds server limit", "AH00561")
