"""ListenerFeed: the event MPM's listener reading a request before any worker thread takes it.

`read` takes what the socket has without waiting and says whether a whole head is buffered —
with its body too when the body is small (PREREAD_BODY) — "ready", or more is needed
("waiting"), or the client left ("closed"). The bytes stay in the connection's buffer. `deadline` is when the head (or the small body) must be in: the
RequestReadTimeout stage running since the first byte, or Timeout since the last read without
mod_reqtimeout. The head the listener parsed is kept (`take_parsed`) so that the worker does not
parse the same bytes again. So slow heads and slow bodies (slowloris, R-U-Dead-Yet) hold no worker thread.
Runs in the event child's listener thread; knows nothing of the MPM.
"""

from __future__ import annotations

import socket
import time

from pyhttpd.errors import HttpError
from pyhttpd.http.body import ChunkedDecoder
from pyhttpd.http.deadlines import Deadline, ReadTimeouts, start
from pyhttpd.http.framing import BodyKind, body_framing
from pyhttpd.http.messages import RequestHead
from pyhttpd.http.parser import Limits, parse_head
from pyhttpd.http.tls_errors import is_tls, want_read

RECV_SIZE = 65536
PREREAD_BODY = 64 * 1024  # body bytes the listener reads before a worker takes over


class ListenerFeed:
    """The listener's reading state for one connection's next request."""

    def __init__(
        self,
        sock: socket.socket,
        buffer: bytearray,
        limits: Limits,
        read_timeouts: ReadTimeouts | None,
        timeout: float,
        head_guard: int,
    ) -> None:
        self.sock = sock
        self.buffer = buffer  # the connection's own buffer
        self.limits = limits
        self.read_timeouts = read_timeouts
        self.timeout = timeout
        self.head_guard = head_guard
        # TLS returns one record per recv and keeps decrypted bytes the selector cannot see:
        # read it until it would block; a plain socket is drained by a short read.
        self.plain = not is_tls(sock)
        self.stage: Deadline | None = None  # header stage, then body stage
        self.started = False
        self.feeding_body = False  # the head is whole; its small body is being read
        self.last_read = 0.0
        # the head parsed by the last "ready" read, and the buffer's length then
        self._parsed: tuple[tuple[RequestHead, int], int] | None = None

    def read(self) -> str:
        """ "ready", "waiting" or "closed" (see the file's docstring)."""
        now = time.monotonic()
        if not self.started:
            self.started = True
            self.last_read = now
            if self.read_timeouts is not None:
                self.stage = start(self.read_timeouts.header, now)
        ended = False  # the client half-closed: what it sent is all there will be
        self._parsed = None
        try:
            if self.sock.gettimeout() != 0.0:  # an ioctl; the engine leaves it non-blocking
                self.sock.setblocking(False)
            while True:
                try:
                    data = self.sock.recv(RECV_SIZE)
                except (BlockingIOError, InterruptedError, want_read()):
                    break  # all there is for now (a TLS record may still be incomplete)
                if not data:
                    ended = True
                    break
                self.buffer += data
                self.last_read = now
                if self.stage is not None:
                    self.stage.received(len(data))
                if len(self.buffer) > self.head_guard or (len(data) < RECV_SIZE and self.plain):
                    break  # a short read took all there was: no recv to learn it (EAGAIN)
        except OSError:
            return "closed"
        if len(self.buffer) > self.head_guard:
            return "ready"
        try:
            parsed = parse_head(self.buffer, self.limits)
            if parsed is None:
                return "closed" if ended else "waiting"
            head, consumed = parsed
            if not ended and head.has_body_fields and self._body_incomplete(head, consumed, now):
                return "waiting"
            self._parsed = (parsed, len(self.buffer))
        except HttpError:
            pass  # the worker answers it
        return "ready"  # a whole request before a half-close is answered, as Apache does

    def peek_parsed(self) -> tuple[RequestHead, int] | None:
        """What take_parsed would return, left in place."""
        kept = self._parsed
        if kept is None or kept[1] != len(self.buffer):
            return None
        return kept[0]

    def take_parsed(self) -> tuple[RequestHead, int] | None:
        """The head (and its length) the last "ready" read parsed, once, if the buffer has not
        changed since: parse_head is ~10% of a small request's CPU."""
        kept, self._parsed = self._parsed, None
        if kept is None or kept[1] != len(self.buffer):
            return None
        return kept[0]

    def deadline(self) -> float:
        """When what is being read must be complete (a time.monotonic() value)."""
        if self.stage is not None:
            return self.stage.timeout_at
        return self.last_read + self.timeout

    def handed_over(self) -> tuple[Deadline | None, bool]:
        """The request goes to a worker: (the stage it ran under, whether it was in the body);
        the next request starts its own deadline."""
        taken = (self.stage, self.feeding_body)
        self.started, self.stage, self.feeding_body = False, None, False
        return taken

    def _body_incomplete(self, head: RequestHead, consumed: int, now: float) -> bool:
        """Whether to wait for more of this head's body (`read` asks only a head with body
        fields): a body still arriving and smaller than PREREAD_BODY so far, unless the client
        waits for 100 Continue. The wait runs under the body stage's deadline."""
        framing = body_framing(head)
        arrived = len(self.buffer) - consumed
        if framing.kind is BodyKind.NONE or arrived >= PREREAD_BODY:
            return False
        if (head.headers.get("Expect") or "").lower() == "100-continue":
            return False
        if framing.kind is BodyKind.LENGTH:
            incomplete = arrived < framing.length
        else:
            decoder = ChunkedDecoder()
            decoder.feed(bytearray(self.buffer[consumed:]))
            incomplete = not decoder.done
        if incomplete and not self.feeding_body:
            self.feeding_body = True
            self.last_read = now
            if self.read_timeouts is not None:
                self.stage = start(self.read_timeouts.body, now)
        return incomplete
