"""BodyInput: a request body read on demand, as Apache's handlers read theirs (ap_get_brigade).

The engine makes one for every request once its virtual host is known; nothing of the body is
read until a handler asks (CGI's stdin, WSGI's wsgi.input, a proxied upload), so a body streams
through in RECV_SIZE steps instead of being held whole. What a handler leaves unread the engine
discards after it (Apache's ap_discard_request_body), which keeps keep-alive working.

Reading blocks the thread serving the request; the socket work is the connection's (`fill`), the
decoding is the sans-I/O decoders' (http/body.py). Errors are HttpErrors with Apache's status:
413 past LimitRequestBody, 408 when the body stage or Timeout runs out, 400 when the client leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from pyhttpd.errors import HttpError
from pyhttpd.http.body import ChunkedDecoder, LengthDecoder

Decoder = LengthDecoder | ChunkedDecoder


class BodyInput:
    """The decoded body of one request: read(), readline(), readlines() and line iteration."""

    def __init__(
        self,
        make_decoder: Callable[[], Decoder] | None,
        length: int | None,
        buffer: bytearray,
        fill: Callable[[], None],
        expects_continue: bool = False,
        send_continue: Callable[[], None] | None = None,
    ) -> None:
        self.make_decoder = make_decoder  # None: no body; called at the first read (413 there)
        self.decoder: Decoder | None = None
        self.length = length  # Content-Length; 0 without a body; None when chunked
        self.buffer = buffer  # the connection's buffer: pipelined requests may follow the body
        self.fill = fill  # blocks until more bytes are in `buffer`, or raises HttpError
        self.expects_continue = expects_continue
        self.send_continue = send_continue
        self.pending = bytearray()  # decoded, not yet handed out
        self.started = False  # a read was asked for (and 100 Continue sent if due)
        self.bytes_read = 0
        self.failed = False  # reading raised: what is left of the body is unknown

    @classmethod
    def empty(cls) -> BodyInput:
        """A request without a body (and the placeholder before the engine sets the real one)."""
        return cls(None, 0, bytearray(), _no_more)

    @property
    def done(self) -> bool:
        """The whole body has been decoded (it may still sit in `pending`)."""
        if self.make_decoder is None:
            return True
        return self.decoder is not None and self.decoder.done

    @property
    def trailers(self) -> list[tuple[str, str]]:
        return self.decoder.trailers if isinstance(self.decoder, ChunkedDecoder) else []

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative); b"" at the end of the body."""
        while not self.done and (size < 0 or len(self.pending) < size):
            self._decode_more()
        return self._take(len(self.pending) if size < 0 else min(size, len(self.pending)))

    def read1(self, size: int = -1) -> bytes:
        """What is at hand, waiting only when nothing is: a streaming copy's step."""
        if not self.pending and not self.done:
            self._decode_more()
        return self._take(len(self.pending) if size < 0 else min(size, len(self.pending)))

    def readline(self, size: int = -1) -> bytes:
        """One line with its b"\\n" (or the rest of the body, or `size` bytes)."""
        while True:
            end = self.pending.find(b"\n")
            if end >= 0:
                count = end + 1
                break
            if self.done or (0 <= size <= len(self.pending)):
                count = len(self.pending)
                break
            self._decode_more()
        return self._take(count if size < 0 else min(size, count))

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while line := self.readline():
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                break
        return lines

    def __iter__(self) -> Iterator[bytes]:
        while line := self.readline():
            yield line

    def discard(self, status: int) -> bool:
        """After the handler: read and drop what is left. Returns False when the body was not
        read because the client still waits for 100 Continue and the response is not a success
        (Apache sends no 100 then); the connection must close, as the body may yet arrive."""
        if self.done:
            self.pending.clear()
            return True
        if self._withheld_continue(status):
            return False
        while not self.done:
            self._decode_more()
            self.pending.clear()
        return True

    def _withheld_continue(self, status: int) -> bool:
        return (
            self.expects_continue
            and not self.started
            and not self.buffer
            and not 200 <= status < 300
        )

    def _decode_more(self) -> None:
        """Decode at least one more byte (or the body's end), reading the socket as needed."""
        assert self.make_decoder is not None
        try:
            if self.decoder is None:
                # LimitRequestBody of the request's own location, known only once the hooks
                # mapped it: a Content-Length over it is 413 before any 100 Continue.
                self.decoder = self.make_decoder()
            if not self.started:
                self.started = True
                if self.expects_continue and not self.buffer and self.send_continue is not None:
                    self.send_continue()
            while True:
                before = len(self.pending)
                self.pending += self.decoder.feed(self.buffer)
                if len(self.pending) > before or self.decoder.done:
                    return
                self.fill()
        except HttpError:
            self.failed = True
            raise

    def _take(self, count: int) -> bytes:
        data = bytes(self.pending[:count])
        del self.pending[:count]
        self.bytes_read += len(data)
        return data


def _no_more() -> None:
    raise AssertionError("a request without a body was asked for more")
