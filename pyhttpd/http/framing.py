"""Message framing rules for a parsed head: Host, Content-Length, Transfer-Encoding.

Decides how the body is delimited, and refuses every ambiguous combination so that no request is
ever read two ways (request smuggling): Content-Length with Transfer-Encoding, repeated or
conflicting lengths, transfer codings other than a final `chunked`, a missing or repeated Host on
HTTP/1.1. Statuses are Apache 2.4.71's: 400 for all of them, an unknown transfer coding included.
Sans-I/O; knows no configuration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from pyhttpd.errors import HttpError
from pyhttpd.http.messages import RequestHead

_HOST = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?$")


class BodyKind(Enum):
    NONE = "none"
    LENGTH = "length"
    CHUNKED = "chunked"


@dataclass(frozen=True)
class Framing:
    """How the request body is delimited; `length` is meaningful for BodyKind.LENGTH."""

    kind: BodyKind
    length: int = 0


NO_BODY = Framing(BodyKind.NONE)  # frozen: one for every request without a body


def check_host(head: RequestHead) -> str | None:
    """The Host value (or None for HTTP/1.0 without one); 400 when missing on 1.1 or repeated."""
    hosts = head.headers.get_all("Host")
    if len(hosts) > 1:
        raise HttpError(400, "Too many Host header fields", "AH10391")
    if not hosts:
        if head.version >= (1, 1):
            raise HttpError(400, "client sent HTTP/1.1 request without hostname", "AH00569")
        return None
    if not _HOST.match(hosts[0]):
        raise HttpError(400, f"Client sent malformed Host header: {hosts[0][:64]}", "AH00550")
    return hosts[0]


def body_framing(head: RequestHead) -> Framing:
    """RFC 9112 §6.3, as strict as Apache: refuse what could be read two ways."""
    codings = head.headers.get_all("Transfer-Encoding")
    lengths = head.headers.get_all("Content-Length")
    if codings:
        if head.version < (1, 1):
            raise HttpError(400, "Transfer-Encoding in an HTTP/1.0 request", "AH02555")
        if lengths:
            raise HttpError(400, "Request has both Transfer-Encoding and Content-Length", "AH02555")
        names = [c.strip().lower() for value in codings for c in value.split(",")]
        if names[-1:] != ["chunked"] or names.count("chunked") != 1:
            raise HttpError(400, f"Unknown Transfer-Encoding: {', '.join(codings)}", "AH01591")
        if len(names) != 1:
            raise HttpError(400, f"Unsupported Transfer-Encoding: {', '.join(codings)}", "AH01591")
        return Framing(BodyKind.CHUNKED)
    if not lengths:
        return NO_BODY
    values = {part.strip() for value in lengths for part in value.split(",")}
    if len(values) != 1:
        raise HttpError(400, "Conflicting Content-Length values", "AH01587")
    text = values.pop()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:  # not '²' (latin-1 0xb2)
        raise HttpError(400, f"Invalid Content-Length '{text[:20]}'", "AH01587")
    length = int(text)
    return Framing(BodyKind.LENGTH, length) if length else NO_BODY
