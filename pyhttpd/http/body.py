"""Sans-I/O request body decoders: Content-Length and chunked (with trailers).

A decoder takes the connection's buffer, consumes what it can, and returns the body bytes it
decoded; `done` tells when the body is complete. Bad chunk syntax is Apache's 400; a body over
LimitRequestBody is 413. Knows no socket.
"""

from __future__ import annotations

import re

from pyhttpd.errors import HttpError

_CHUNK_SIZE = re.compile(rb"^([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?$")
MAX_TRAILER_BYTES = 8190
# Apache bounds the chunk-size line (extensions included) by LimitRequestFieldSize.
MAX_CHUNK_LINE = 8190


class LengthDecoder:
    """Reads exactly `length` bytes."""

    def __init__(self, length: int, limit: int = 0) -> None:
        if limit and length > limit:
            raise HttpError(
                413,
                f"Requested content-length of {length} is larger than the configured limit of {limit}",
                "AH00561",
                close=True,
            )
        self.remaining = length

    @property
    def done(self) -> bool:
        return self.remaining == 0

    def feed(self, buffer: bytearray) -> bytes:
        """Take up to the remaining length from the front of `buffer`."""
        taken = bytes(buffer[: self.remaining])
        del buffer[: len(taken)]
        self.remaining -= len(taken)
        return taken


class ChunkedDecoder:
    """Reads `size CRLF data CRLF` chunks, the last-chunk and its trailer section."""

    def __init__(self, limit: int = 0) -> None:
        self.limit = limit
        self.total = 0
        self.chunk_left = 0
        self.state = "size"  # size -> data -> data_end -> size ... -> trailer -> done
        self.trailers: list[tuple[str, str]] = []

    @property
    def done(self) -> bool:
        return self.state == "done"

    def feed(self, buffer: bytearray) -> bytes:
        out = bytearray()
        while not self.done:
            if self.state == "size":
                if not self._read_size(buffer):
                    break
            elif self.state == "data":
                if not buffer:
                    break
                taken = buffer[: self.chunk_left]
                out += taken
                del buffer[: len(taken)]
                self.chunk_left -= len(taken)
                if self.chunk_left == 0:
                    self.state = "data_end"
            elif self.state == "data_end":
                if buffer[:2] == b"\r\n" or buffer[:1] == b"\n":
                    del buffer[: 2 if buffer[:1] == b"\r" else 1]
                    self.state = "size"
                elif not buffer or buffer == b"\r":
                    break
                else:
                    raise HttpError(400, "chunk data not followed by CRLF", "AH01590")
            elif self.state == "trailer" and not self._read_trailer(buffer):
                break
        return bytes(out)

    def _read_size(self, buffer: bytearray) -> bool:
        end = buffer.find(b"\n")
        if end < 0:
            if len(buffer) - buffer.endswith(b"\r") > MAX_CHUNK_LINE:
                raise HttpError(400, "chunk size line too long", "AH01589")
            return False
        line = bytes(buffer[:end]).rstrip(b"\r")
        if len(line) > MAX_CHUNK_LINE:
            raise HttpError(400, "chunk size line too long", "AH01589")
        match = _CHUNK_SIZE.match(line)
        if match is None:
            raise HttpError(400, "Invalid chunk size", "AH01589")
        del buffer[: end + 1]
        size = int(match.group(1), 16)
        self.total += size
        if self.limit and self.total > self.limit:
            raise HttpError(413, "chunked request body is larger than LimitRequestBody", "AH01591")
        if size == 0:
            self.state = "trailer"
        else:
            self.chunk_left = size
            self.state = "data"
        return True

    def _read_trailer(self, buffer: bytearray) -> bool:
        while True:
            end = buffer.find(b"\n")
            if end < 0:
                if len(buffer) - buffer.endswith(b"\r") > MAX_TRAILER_BYTES:
                    raise HttpError(400, "trailer section too large", "AH02656")
                return False
            line = bytes(buffer[:end]).rstrip(b"\r").decode("latin-1")
            if len(line) > MAX_TRAILER_BYTES:
                raise HttpError(400, "trailer section too large", "AH02656")
            del buffer[: end + 1]
            if not line:
                self.state = "done"
                return True
            name, colon, value = line.partition(":")
            if not colon or not name or name != name.strip():
                raise HttpError(400, "malformed trailer field", "AH02656")
            self.trailers.append((name, value.strip()))
