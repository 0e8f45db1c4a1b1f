"""Drive the sans-I/O request reader the way the connection engine does, from a list of chunks.

Every chunk is appended to one persistent bytearray; after each append the reader runs as far as
the bytes allow: `parse_head` until it returns a head, then `check_host` and `body_framing`, then
the body decoder until it is done, then the next pipelined request from what is left.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pyhttpd.http.body import ChunkedDecoder, LengthDecoder
from pyhttpd.http.framing import BodyKind, body_framing, check_host
from pyhttpd.http.messages import RequestHead
from pyhttpd.http.parser import Limits, parse_head


@dataclass
class Parsed:
    """One request as the reader delivered it."""

    head: RequestHead
    host: str | None
    body: bytes
    trailers: list[tuple[str, str]]


@dataclass
class Replay:
    """Every complete request, and the bytes still waiting in the buffer."""

    requests: list[Parsed]
    leftover: bytes


def whole(data: bytes) -> list[bytes]:
    return [data]


def lines(data: bytes) -> list[bytes]:
    """Split after every LF, keeping the line ends (a trailing partial line is its own chunk)."""
    return [piece for piece in re.split(rb"(?<=\n)", data) if piece]


def single_bytes(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


DEFAULT_LIMITS = Limits()

FEEDERS = {"whole": whole, "lines": lines, "bytes": single_bytes}


def replay(chunks: Iterable[bytes], limits: Limits = DEFAULT_LIMITS, body_limit: int = 0) -> Replay:
    """Feed `chunks` one at a time; HttpError propagates from wherever the reader raises it."""
    buffer = bytearray()
    done: list[Parsed] = []
    steps = _reader(buffer, limits, body_limit, done)
    next(steps)
    for chunk in chunks:
        buffer += chunk
        next(steps)
    return Replay(done, bytes(buffer))


def _reader(
    buffer: bytearray, limits: Limits, body_limit: int, done: list[Parsed]
) -> Iterator[None]:
    """A generator that runs the reader over `buffer` and yields whenever it needs more bytes."""
    while True:
        parsed = parse_head(buffer, limits)
        while parsed is None:
            yield
            parsed = parse_head(buffer, limits)
        head, consumed = parsed
        del buffer[:consumed]
        host = check_host(head)
        framing = body_framing(head)
        decoder: LengthDecoder | ChunkedDecoder
        if framing.kind is BodyKind.CHUNKED:
            decoder = ChunkedDecoder(body_limit)
        else:
            length = framing.length if framing.kind is BodyKind.LENGTH else 0
            decoder = LengthDecoder(length, body_limit)
        body = bytearray(decoder.feed(buffer))
        while not decoder.done:
            yield
            body += decoder.feed(buffer)
        trailers = list(getattr(decoder, "trailers", []))
        done.append(Parsed(head, host, bytes(body), trailers))
