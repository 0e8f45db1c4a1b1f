"""The connection engine: the only code that reads a client socket and decides what it gets.

`serve_connection` reads one request at a time from a connection that owns its buffer, runs it
through the hook phases, has the response written (`sending.Sender`: head and small body in one
send, sendfile for files, streamed bodies) and decides keep-alive as Apache does. It returns
CLOSE when the connection is finished; the MPM that called it owns the socket's fate. Runs in
whatever process or thread the MPM chose; keeps no state between connections.

For event (and worker's keep-alive waits), `Connection.serve(until_idle=True)` serves the requests
whose bytes are there and returns IDLE instead of waiting for the next keep-alive request when the
buffer is empty; the Connection (buffer, served count) can be served again once the socket is
readable. The KeepAliveTimeout of a parked connection is then the MPM's to keep. event's listener
also reads the next request itself through `Connection.feed` (listener_feed.py), and
`expire_head` gives the engine's answer to one that missed its deadline; `serve_inline` lets the
listener serve a request itself when nothing in it can wait, handing the rest to a worker thread
(the request stops at ThreadNeeded and `serve` resumes it). An MPM learns when
requests start and finish through `Connection.observer` (a RequestObserver; the engine never
imports the scoreboard), and `Connection.may_keep_alive` lets it refuse keep-alive while the
child is stopping.

A static response that depended on nothing but the request's head, the configuration and its file
is kept (replay.py) and sent again for the same request while the file and the walk's access
files are unchanged, without walking the hooks.

Time limits, as Apache: the first request's head must arrive within RequestReadTimeout's header
stage when mod_reqtimeout is loaded (each recv within Timeout otherwise); later requests first
wait KeepAliveTimeout for a byte. A header timeout answers 408 once the request line is complete
and closes silently before that; a body slower than the body stage gets 408 and a close; a client
that stops reading is dropped when a write makes no progress for Timeout. The deadline arithmetic
is `deadlines.py`. A hook that raises anything but HttpError becomes a 500 with its traceback in
the error log; nothing but the end of the connection leaves `serve`. A connection closed with
input still coming lingers as Apache's does.
"""

from __future__ import annotations

import functools
import itertools
import re
import select
import socket
import stat as stat_module
import time
import traceback
from collections.abc import Callable
from enum import Enum
from typing import NoReturn, Protocol

from pyhttpd.config.lookup import select_vhost, server_settings
from pyhttpd.config.model import Settings
from pyhttpd.errors import HttpError, ThreadNeeded
from pyhttpd.http.body import ChunkedDecoder, LengthDecoder
from pyhttpd.http.body_input import BodyInput
from pyhttpd.http.deadlines import Deadline, socket_wait, start
from pyhttpd.http.framing import BodyKind, body_framing, check_host
from pyhttpd.http.generation import MIN_TIMEOUT, Generation
from pyhttpd.http.listener_feed import ListenerFeed
from pyhttpd.http.messages import Headers, RequestHead
from pyhttpd.http.parser import parse_head
from pyhttpd.http.phases import Phase, process_request, run_handler, run_lookup
from pyhttpd.http.replay import REPLAYS, Replay, ReplayKey, lookup_of, replay_of
from pyhttpd.http.request import FileBody, Request, StreamAborted, StreamBody
from pyhttpd.http.responses import error_document, error_page
from pyhttpd.http.sending import Sender, wait_ready
from pyhttpd.http.tls_errors import want_read, want_write
from pyhttpd.http.uri import parse_target
from pyhttpd.http.writer import head_fields, http_date_bytes, response_head
from pyhttpd.memo import remember

RECV_SIZE = 65536
# serve_inline: the largest file event's listener sends itself (one pread, one send; what the
# socket cannot take at once is the most a connection then keeps for a worker to write)
INLINE_FILE_MAX = 8192
LINGER = 2.0  # seconds a closing connection reads what its client still sends


class Outcome(Enum):
    CLOSE = "close"
    IDLE = "idle"
    THREAD = "thread"  # serve_inline: a worker thread must go on (serve(until_idle=True))
    # closing with input still coming, our FIN sent: the MPM reads and drops what the client
    # still sends, LINGER seconds at most, then closes (only with `linger_elsewhere`)
    LINGER = "linger"


class RequestObserver(Protocol):
    """What an MPM learns of each request (it writes the scoreboard); called by the engine's thread."""

    def request_started(
        self, request_line: str, client: str, vhost: str, protocol: str
    ) -> None: ...

    def request_finished(self, bytes_sent: int) -> None: ...


class Connection:
    """One client connection: its socket, its buffer and its keep-alive count."""

    def __init__(
        self,
        sock: socket.socket,
        generation: Generation,
        client: tuple[str, int] | None = None,
        local: tuple[str, int] | None = None,
        nodelay: bool = False,
    ) -> None:
        """`client` and `local` as accept and the listener already told them (else the socket
        is asked); `nodelay` when the socket inherited TCP_NODELAY from its listener."""
        self.sock = sock
        self.generation = generation
        self.config = generation.config
        self.buffer = bytearray()
        self.served = 0
        self.client = client or _address(sock.getpeername())
        self.local = local or _address(sock.getsockname())
        settings = generation.connection_settings  # computed once per generation
        self.server_header = settings.server_header
        self.limits = settings.limits
        self.read_timeouts = settings.read_timeouts
        self.timeout = settings.timeout
        # The main server's keep-alive settings (as Apache's, per connection).
        self.keep_alive = settings.keep_alive
        self.keep_alive_timeout = settings.keep_alive_timeout
        self.max_keep_alive_requests = settings.max_keep_alive_requests
        self.head_guard = settings.head_guard
        self.observer: RequestObserver | None = None
        self._vhost_label: tuple[object, str] = (None, "")  # (server settings, "name:port")
        # The MPM's say on keep-alive (False once the child is stopping: Connection: close).
        self.may_keep_alive: Callable[[], bool] | None = None
        self.unread_input = False  # a body left unread, or a rejected head: linger at close
        # event's listener does the lingering close (Outcome.LINGER), so no thread waits in it
        self.linger_elsewhere = False
        # serve_inline's hand-over to a worker thread: the request to go on with, and whether
        # the last response was the connection's last (close once it is out)
        self._resume: tuple[RequestHead, ThreadNeeded] | None = None
        self._closing = False
        self.inline = False  # event's listener is serving a request itself
        # whether the last request was one serve_inline serves whole (event's workers then
        # give the connection back rather than wait for its next request)
        self.last_fits_inline = False
        self.sender = Sender(sock, self.timeout, self._log_exception)
        # event's listener reads the next request itself (see listener_feed.py)
        self.feed = ListenerFeed(
            sock, self.buffer, self.limits, self.read_timeouts, self.timeout, self.head_guard
        )
        if not nodelay:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def serve(self, until_idle: bool = False) -> Outcome:
        """Serve requests until the connection should close; only the socket's errors end it.

        With `until_idle`, return IDLE when the keep-alive wait would begin with an empty buffer;
        a later call (once the socket is readable) reads the next request at once. After
        serve_inline's THREAD, this goes on where that stopped.
        """
        if self.sender.pending or self._closing:  # what serve_inline left to finish
            try:
                self.sender.flush()
            except OSError:
                return Outcome.CLOSE
            if self._closing:
                self._closing = False
                return self._close()
            if until_idle and _blank(self.buffer):
                return Outcome.IDLE
        try:
            outcome = self._serve(until_idle)
        except OSError:
            return Outcome.CLOSE
        except Exception as error:  # noqa: BLE001 - a bug must cost one connection, not a process
            self._log_exception("the connection engine", error)
            return Outcome.CLOSE
        return self._close() if outcome is Outcome.CLOSE else outcome

    def serve_inline(self) -> Outcome:
        """event's listener: serve the request whose head it has read, in its own thread, when
        nothing in it can wait: a GET or HEAD without a body, no other request behind it, and
        (decided before the handler runs, see `_inline_handler`) a small file; a write the
        socket cannot take at once is left to a worker (Sender.defer). IDLE or CLOSE when done;
        THREAD when a worker thread must go on: `serve(until_idle=True)` then resumes the
        request at its handler or error response, runs it again from its head (a DNS lookup),
        finishes the write, or serves what follows in the buffer. LINGER: a close with input
        still coming, for the listener to drain. No thread hand-off, no lock and no GIL
        contention for the usual keep-alive request."""
        head = self._inline_head()
        if head is None:
            return Outcome.THREAD  # the head stays in the buffer: a worker serves it as usual
        self.inline = self.sender.defer = True
        try:
            keep_alive = self._handle(head)
        except ThreadNeeded as needed:
            self._resume = (head, needed)
            return Outcome.THREAD
        except OSError:
            return Outcome.CLOSE
        except Exception as error:  # noqa: BLE001 - a bug must cost one connection, not a process
            self._log_exception("the connection engine", error)
            return Outcome.CLOSE
        finally:
            self.inline = self.sender.defer = False
        self.served += 1
        if not self.sender.pending:
            if keep_alive and _blank(self.buffer):
                return Outcome.IDLE
            if not keep_alive and (self.linger_elsewhere or not (self.unread_input or self.buffer)):
                return self._close()
        self._closing = not keep_alive
        return Outcome.THREAD  # a write to finish, pipelined requests, a lingering close

    def _inline_head(self) -> RequestHead | None:
        """The listener's parsed head, taken from the buffer, if serve_inline may serve it."""
        parsed = self.feed.peek_parsed()
        if parsed is None:
            return None
        head, consumed = parsed
        if consumed != len(self.buffer) or not _bodiless_read(head):
            return None
        self.feed.take_parsed()
        del self.buffer[:consumed]
        return head

    def _inline_handler(self, request: Request) -> bool:
        """Whether event's listener may run this request's handler: no module's handler (the
        default handler) and a regular file small enough that its response goes out in one send
        (well under the socket's send buffer) with nothing to wait for."""
        found = request.stat
        return (
            not request.handler
            and found is not None
            and stat_module.S_ISREG(found.st_mode)
            and found.st_size <= INLINE_FILE_MAX
        )

    def read_ahead(self) -> bool:
        """Read a new connection's first bytes without waiting, as event's listener does: the
        request is usually there by the time a thread or child takes the connection, and the
        blocking read's timeout mode costs an ioctl and a poll more (the socket then stays
        non-blocking, as the Sender wants it). False when the client already left: close
        silently, as `serve` would. What is not there yet, `serve` waits for as usual."""
        state = self.feed.read()
        self.feed.handed_over()  # the engine keeps its own deadlines from here
        return state != "closed"

    def _close(self) -> Outcome:
        """How the connection ends: CLOSE at once, or after a lingering close when input is
        still coming — done here, or (`linger_elsewhere`) left to the MPM as LINGER once our
        FIN is out."""
        if not (self.unread_input or self.buffer):
            return Outcome.CLOSE
        if not self.linger_elsewhere:
            self._lingering_close()
            return Outcome.CLOSE
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return Outcome.CLOSE
        return Outcome.LINGER

    def _lingering_close(self) -> None:
        """Apache's ap_lingering_close, for a connection closed with input still coming: send
        our FIN, then read and drop what the client still sends (up to LINGER seconds), so the
        kernel does not answer it with a reset that can destroy the response in the client's
        buffer (a 413 to an upload, an error to a pipelined batch)."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
            deadline = time.monotonic() + LINGER
            while (left := deadline - time.monotonic()) > 0:
                self.sock.settimeout(left)
                if not self.sock.recv(RECV_SIZE):
                    return
        except OSError:
            return

    def expire_head(self) -> Outcome:
        """Worker thread: what the listener was reading missed its deadline; answer as the
        blocking reads do (408 once the request line is in, else a silent close) and close."""
        stage, in_body = self.feed.handed_over()
        try:
            try:
                if in_body:
                    self._body_timeout(stage)
                self._header_timeout(stage)
            except HttpError as error:
                self._reject(error)
        except OSError:
            pass
        except Exception as error:  # noqa: BLE001 - a bug must cost one connection, not a process
            self._log_exception("the connection engine", error)
        return Outcome.CLOSE

    def _serve(self, until_idle: bool) -> Outcome:
        resumed = True
        resume, self._resume = self._resume, None  # what serve_inline handed over
        while True:
            if until_idle and not resumed and (not self.buffer or _blank(self.buffer)):
                return Outcome.IDLE
            resumed = False
            if resume is not None:
                head, needed = resume
                resume = None
                keep_alive = self._handle(head, needed)
                self.served += 1
                if not keep_alive:
                    return Outcome.CLOSE
                continue
            try:
                head = self._read_head()
            except HttpError as error:
                self._reject(error)
                return Outcome.CLOSE
            if head is None:
                return Outcome.CLOSE
            keep_alive = self._handle(head)
            self.served += 1
            if not keep_alive:
                return Outcome.CLOSE

    # --- reading ------------------------------------------------------------------------------

    def _read_head(self) -> RequestHead | None:
        """The next request head; None when the client left or idled out (close silently).

        An empty buffer (a worker or prefork child's usual case, after its keep-alive poll) is
        neither looked at for blank lines nor parsed: two calls a request."""
        buffer = self.buffer  # (the same bytearray throughout: the feed shares it)
        keep_alive_wait = self.served > 0 and (not buffer or _blank(buffer))
        deadline: Deadline | None = None
        parsed = self.feed.take_parsed()  # what event's listener already parsed
        while True:
            parsed = parsed or (parse_head(buffer, self.limits) if buffer else None)
            if parsed is not None:
                head, consumed = parsed
                del self.buffer[:consumed]
                return head
            if len(self.buffer) > self.head_guard:
                raise HttpError(400, "request head exceeds the server's limits", "AH00563")
            now = time.monotonic()
            if keep_alive_wait:
                wait = max(self.keep_alive_timeout, MIN_TIMEOUT)
            else:
                if deadline is None and self.read_timeouts is not None:
                    deadline = start(self.read_timeouts.header, now)
                if deadline is not None and deadline.expired(now):
                    return self._header_timeout(deadline)
                wait = socket_wait(deadline, now, self.timeout)
            try:
                data = _receive(self.sock, wait)
            except TimeoutError:
                if keep_alive_wait:
                    return None
                return self._header_timeout(deadline)
            if not data:
                return None
            self.buffer += data
            if deadline is not None:
                deadline.received(len(data))
            keep_alive_wait = False

    def _header_timeout(self, deadline: Deadline | None) -> None:
        """Apache's answer to a slow head: 408 once the request line is in, else a silent close.

        mod_reqtimeout logs AH01382 either way; a silent close of a connection's first request
        still reaches the access log (Apache's `"-" 408 -`).
        """
        if deadline is not None:
            self._log("info", "reqtimeout", "Request header read timeout", "AH01382")
        if b"\n" in self.buffer.lstrip(b"\r\n"):
            raise HttpError(408)
        if self.served == 0:
            request = self._new_request(RequestHead("GET", "/", (1, 1), Headers(), ""))
            request.status = 408
            request.notes["close"] = True
            self._run_all(Phase.LOG_TRANSACTION, request)
        return None

    def _body_input(self, request: Request, framed: bool) -> BodyInput:
        """The request's body, read on demand under its location's LimitRequestBody. Without
        `framed` (no Content-Length or Transfer-Encoding came, RequestHead.has_body_fields:
        the usual GET), the empty one the request was made with."""
        if not framed:
            return request.body_input
        head = request.head
        framing = body_framing(head)
        if framing.kind is BodyKind.NONE:
            return BodyInput.empty()

        def decoder() -> LengthDecoder | ChunkedDecoder:
            limit = int(request.per_dir.get("LimitRequestBody"))
            if framing.kind is BodyKind.LENGTH:
                return LengthDecoder(framing.length, limit)
            return ChunkedDecoder(limit)

        deadline: Deadline | None = None

        def fill() -> None:
            """Block for more body bytes, within the body stage or Timeout."""
            nonlocal deadline
            now = time.monotonic()
            if deadline is None and self.read_timeouts is not None:
                deadline = start(self.read_timeouts.body, now)
            if deadline is not None and deadline.expired(now):
                self._body_timeout(deadline)
            try:
                data = _receive(self.sock, socket_wait(deadline, now, self.timeout))
            except TimeoutError:
                self._body_timeout(deadline)
            if not data:
                raise HttpError(400, "client closed the connection during the body")
            self.buffer += data
            if deadline is not None:
                deadline.received(len(data))

        expects = (head.headers.get("Expect") or "").lower() == "100-continue"
        return BodyInput(
            decoder,
            framing.length if framing.kind is BodyKind.LENGTH else None,
            self.buffer,
            fill,
            expects_continue=expects and head.version >= (1, 1),
            send_continue=lambda: self.sender.send_bytes(b"HTTP/1.1 100 Continue\r\n\r\n"),
        )

    def _body_timeout(self, deadline: Deadline | None) -> NoReturn:
        if deadline is not None:
            self._log("info", "reqtimeout", "Request body read timeout", "AH01382")
        raise HttpError(408)

    # --- one request --------------------------------------------------------------------------

    def _handle(self, head: RequestHead, resumed: ThreadNeeded | None = None) -> bool:
        """Process one request, send its response, log it; return whether to keep the connection.

        `resumed`: serve_inline's hand-over, a request to go on with from its handler or its
        error response (or, without a request, to run again from its head).
        """
        # replays and lookups are kept for bodiless requests only (the key holds no body), by
        # the head's bytes when the parser keeps it (RequestHead.raw)
        key: ReplayKey | None = None
        bodiless = _bodiless_read(head)
        if head.raw and resumed is None and bodiless:
            key = (self.local, head.raw)
        if key is not None and (replay := self.generation.replays.get(key)) is not None:
            keep_alive = self._replay(key, replay, head)
            if keep_alive is not None:
                return keep_alive
        request = resumed.request if resumed is not None else None
        if isinstance(request, Request):
            self._started(head, request.server)
            request.may_block = True
            try:
                if resumed is not None and resumed.error is not None:
                    raise resumed.error
                self._guarded(self._run_handler, request)
            except HttpError as error:
                self._error_response(request, error)
        else:
            request = self._new_request(head)
            request.may_block = not self.inline
            looked_up = key is not None and self._looked_up(key, request)
            try:
                try:
                    if not looked_up:
                        self._guarded(self._prepare, request)
                finally:
                    self._started(head, request.server)
                request.body_input = self._body_input(request, head.has_body_fields)
                self._guarded(self._process, request, key, looked_up)
            except HttpError as error:
                self._error_response(request, error)
        self._discard_body(request)
        self._prime_stream(request)
        self._entity_headers(request)
        self._run_all(Phase.OUTPUT_HEADERS, request)
        head = request.head  # the request's own copy (RequestHead.private), as its hooks left it
        keep_alive = self._send(request, head)
        self.last_fits_inline = bodiless and self._inline_handler(request)
        if key is not None and request.replayable and isinstance(request.body, FileBody):
            self._keep_replay(key, request)
        self._run_all(Phase.LOG_TRANSACTION, request)
        self._finished(request.bytes_sent)
        return keep_alive

    def _keep_replay(self, key: ReplayKey, request: Request) -> None:
        """Keep a replayable file response that may be sent again as it is (replay.py)."""
        head = request.head
        allowed = not request.notes.get("close") and _message_keeps_alive(
            head, request.headers_out, request.status
        )
        replay = replay_of(request, allowed, self.last_fits_inline, self.server_header)
        if replay is not None:
            remember(self.generation.replays, key, replay, REPLAYS)

    def _replay(self, key: ReplayKey, replay: Replay, head: RequestHead) -> bool | None:
        """Send a kept response again, with this request's Date and keep-alive fields, and log
        it; None (nothing sent) when its file or the walk's access files changed, or when
        event's listener must hand it to a worker."""
        started = time.time()  # the log's request time (%t, %D), as a walked request's
        info = replay.still_valid()
        if info is None:
            self.generation.replays.pop(key, None)
            return None
        if self.inline and not replay.fits_inline:
            return None
        keep_alive = replay.keep_alive and self._connection_keeps_alive()
        self._started(head, replay.server)
        wire = b"%b%b%b%b" % (
            replay.start,
            http_date_bytes(),
            replay.fields,
            _connection_lines(*self._keep_alive_terms(keep_alive)),
        )
        sent = 0
        if replay.header_only:
            self.sender.send_bytes(wire)
        else:
            self.sender.write_file(wire, replay.body)
            sent = replay.body.length
        if self.generation.hooks.has(Phase.LOG_TRANSACTION):
            request = self._new_request(head)
            vars(request).update(replay.request_state())
            request.stat, request.bytes_sent, request.start_time = info, sent, started
            request.notes["keepalives"] = self.served
            for name, value in self._connection_fields(keep_alive):
                request.headers_out.add(name, value)
            self._run_all(Phase.LOG_TRANSACTION, request)
        self._finished(sent)
        self.unread_input = False
        self.last_fits_inline = replay.fits_inline
        return keep_alive

    def _discard_body(self, request: Request) -> None:
        """Apache's ap_discard_request_body: read what the handler left, so the connection can
        carry the next request; an error reading it (413, 408, 400) replaces the response."""
        body_input = request.body_input
        if body_input.make_decoder is None:  # (no body came: nothing to read, nothing failed)
            self.unread_input = False
            return
        try:
            if body_input.failed or not body_input.discard(request.status):
                request.notes["close"] = True
        except HttpError as error:
            self._error_response(request, error)
        self.unread_input = not body_input.done

    def _prime_stream(self, request: Request) -> None:
        """Pull a streamed body's first chunk before the head is written: a handler's iterable
        that fails at once still gets a clean 500 (a later failure can only close)."""
        body = request.body
        if not isinstance(body, StreamBody) or request.header_only:
            return
        chunks = iter(body.chunks)
        try:
            first = next((chunk for chunk in chunks if chunk), b"")
        except StreamAborted:  # its module logged why
            self._error_response(request, HttpError(500, close=False))
            return
        except Exception as error:  # noqa: BLE001 - a failing body is the handler's 500
            self._log_exception(f"the response body of {request.head.request_line!r}", error)
            self._error_response(request, HttpError(500, close=False))
            return
        body.chunks = itertools.chain((first,), chunks)

    def _started(self, head: RequestHead, server: Settings) -> None:
        if self.observer is not None:
            if self._vhost_label[0] is not server:  # the same server, request after request
                name = str(server.get("ServerName") or "")
                name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name  # host:port
                self._vhost_label = (server, f"{name}:{self.local[1]}")
            self.observer.request_started(
                head.request_line, self.client[0], self._vhost_label[1], head.protocol
            )

    def _finished(self, bytes_sent: int) -> None:
        if self.observer is not None:
            self.observer.request_finished(bytes_sent)

    def _process(self, request: Request, key: ReplayKey | None, looked_up: bool) -> None:
        """The lookup phases (unless `looked_up` restored their outcome), then the handler; a
        lookup that may be gone on from is kept under `key`."""
        if request.head.method == "TRACE":
            self._trace(request)
            return
        hooks = self.generation.hooks
        if not looked_up:
            if run_lookup(request, hooks):
                return
            if key is not None and (lookup := lookup_of(request)) is not None:
                remember(self.generation.lookups, key, lookup, REPLAYS)
        if self.inline and not self._inline_handler(request):
            raise ThreadNeeded(request)
        run_handler(request, hooks)

    def _looked_up(self, key: ReplayKey, request: Request) -> bool:
        """Restore what the lookup phases made of this same request before (replay.py's
        Lookup), when its walk still holds: the handler then goes on from there."""
        lookup = self.generation.lookups.get(key)
        if lookup is None:
            return False
        info = lookup.still_valid()
        if info is None:
            self.generation.lookups.pop(key, None)
            return False
        vars(request).update(lookup.request_state())
        request.stat = info
        request.notes["keepalives"] = self.served
        return True

    def _run_handler(self, request: Request) -> None:
        run_handler(request, self.generation.hooks)

    def _guarded(self, step: Callable[..., None], request: Request, *more: object) -> None:
        """Run hooks (or config lookups) for a request: any error but HttpError is a 500."""
        try:
            step(request, *more)
        except (HttpError, ThreadNeeded):
            raise
        except Exception as error:  # noqa: BLE001 - a buggy hook answers 500, as in Apache
            self._log_exception(f"request {request.head.request_line!r}", error)
            raise HttpError(500) from None

    def _run_all(self, phase: Phase, request: Request) -> None:
        """A phase whose hooks cannot change the response; their failures go to the error log."""
        self.generation.hooks.run_all(phase, request)
        for failure in request.notes.pop("hook_errors", ()):
            request.replayable = False  # what the failed hook would have done is unknown
            self._log("error", "core", f"hook failed: {failure}")

    def _new_request(self, head: RequestHead) -> Request:
        server = self.config.main
        request = Request(
            head=head.private(),
            config=self.config,
            hooks=self.generation.hooks,
            vhost=None,
            server=server,
            client=self.client,
            local=self.local,
            uri=head.target,
            query="",
            per_dir=server,
            error_log=self.generation.error_log,
        )
        request.notes["keepalives"] = self.served
        return request

    def _prepare(self, request: Request) -> None:
        """Host, target and virtual host: the part of a request that can fail before any hook."""
        head = request.head
        host = check_host(head)
        try:
            target = parse_target(
                head.target,
                encoded_slashes=str(self.config.get("AllowEncodedSlashes")),
                merge_slashes=bool(self.config.get("MergeSlashes")),
            )
        except HttpError as error:  # the head was read whole: keep-alive rules decide, as Apache
            raise HttpError(error.status, error.reason, error.tag, close=False) from None
        expect = head.headers.get("Expect")
        if expect and expect.lower() != "100-continue":
            raise HttpError(
                417,
                f"client sent an unrecognized expectation value of Expect: {expect}",
                "AH00570",
                close=False,
            )
        if target.path == "*" and head.method != "OPTIONS":
            raise HttpError(400, "'*' is only valid with OPTIONS", "AH10244")
        request.vhost = select_vhost(self.config, target.host or host, *self.local)
        request.server = request.per_dir = server_settings(self.config, request.vhost)
        request.uri, request.query = target.path, target.query

    def _error_response(self, request: Request, error: HttpError) -> None:
        """Apache's ap_die: the status, ErrorDocument or the canned page, and whether to close."""
        if self.inline and (error_document(request.per_dir, error.status) or "").startswith("/"):
            raise ThreadNeeded(request, error)  # an internal redirect may reach any handler
        if error.reason:
            level = "error" if error.status >= 500 else "info"
            request.log_error(level, "core", error.reason, tag=error.tag)
        if error.close:
            request.notes["close"] = True
        request.status = error.status
        if isinstance(request.body, StreamBody):
            request.body.finish()
        request.notes["error_response"] = True  # ap_die: only "Header always" applies to it
        kept = Headers(
            (n, v)
            for n, v in request.headers_out
            if n.lower() in ("allow", "content-range", "location", "www-authenticate")
        )
        request.headers_out = kept
        request.content_type = "text/html; charset=iso-8859-1"
        location = request.headers_out.get("Location") or ""
        request.body = error_page(error.status, request.method, location=location)
        document = error_document(request.per_dir, error.status)
        if document is None:
            return
        if document.startswith(("http://", "https://")):
            request.status = 302
            request.headers_out.set("Location", document)
            request.body = error_page(302, request.method, location=document)
        elif document.startswith("/"):
            self._internal_error_redirect(request, document)
        else:
            request.content_type = "text/html; charset=iso-8859-1"
            request.body = document.strip('"').encode("latin-1", "replace")

    def _internal_error_redirect(self, request: Request, path: str) -> None:
        """ErrorDocument /local/path: serve that URL with GET, keeping the error status."""
        status = request.status
        inner = self._new_request(
            RequestHead(
                "GET", path, request.head.version, request.head.headers, request.head.request_line
            )
        )
        try:
            self._guarded(self._prepare, inner)
            self._guarded(lambda r: process_request(r, self.generation.hooks), inner)
        except HttpError:
            return  # Apache appends "Additionally, a ... error was encountered"; keep the canned page
        request.body, request.content_type = inner.body, inner.content_type
        request.headers_out = inner.headers_out
        request.headers_out.remove("Content-Length")
        if isinstance(request.body, FileBody):
            request.headers_out.set("Content-Length", str(request.body.length))
        request.status = status
        request.notes.pop("error_response", None)  # served by a normal request, as in Apache

    def _trace(self, request: Request) -> None:
        if request.server.get("TraceEnable") == "off":
            request.headers_out.set("Allow", "HEAD,GET,POST,OPTIONS")
            raise HttpError(405, "TRACE denied by server configuration", "AH00669", close=False)
        echo = (request.head.request_line + "\r\n").encode("latin-1")
        echo += b"".join(f"{n}: {v}\r\n".encode("latin-1") for n, v in request.head.headers)
        request.content_type = "message/http"
        request.body = echo + b"\r\n"

    def _keep_alive(self, head: RequestHead, headers: Headers, status: int) -> bool:
        return self._connection_keeps_alive() and _message_keeps_alive(head, headers, status)

    def _connection_keeps_alive(self) -> bool:
        """The connection's say on keep-alive: KeepAlive, the MPM's, MaxKeepAliveRequests."""
        if not self.keep_alive:
            return False
        if self.may_keep_alive is not None and not self.may_keep_alive():
            return False
        limit = self.max_keep_alive_requests
        return not (limit and self.served + 1 >= limit)

    def _reject(self, error: HttpError) -> None:
        """Answer a request whose head could not be parsed, then the connection closes.

        The access log gets the request line as it arrived, when a whole one did (as Apache's).
        """
        self.unread_input = True
        pending = bytes(self.buffer.lstrip(b"\r\n"))
        line = pending.split(b"\n", 1)[0] if b"\n" in pending else b""
        request_line = line.rstrip(b"\r")[: self.limits.request_line].decode("latin-1")
        # RegisteredMethods' 501 page names the method ("FOO not supported for current URL.")
        method = request_line.split(" ", 1)[0] if error.status == 501 else "GET"
        head = RequestHead(method or "GET", "/", (1, 1), Headers(), request_line)
        request = self._new_request(head)
        self._started(head, request.server)
        self._error_response(request, error)
        request.notes["close"] = True
        self._entity_headers(request)
        self._send(request, head)
        self._run_all(Phase.LOG_TRANSACTION, request)
        self._finished(request.bytes_sent)

    # --- writing ------------------------------------------------------------------------------

    def _entity_headers(self, request: Request) -> None:
        """Content-Type and Content-Length from the handler's result, before output filters."""
        headers = request.headers_out
        if request.content_type and request.status != 304:
            headers.setdefault("Content-Type", request.content_type)
        if isinstance(request.body, bytes) and request.status not in (204, 304):
            headers.setdefault("Content-Length", str(len(request.body)))
        if isinstance(request.body, StreamBody):
            headers.remove("Transfer-Encoding")  # the engine frames the stream itself

    def _send(self, request: Request, head: RequestHead) -> bool:
        headers = request.headers_out
        body = request.body
        no_body = request.header_only or request.status in (204, 304)
        if isinstance(body, StreamBody) and body.raw:  # nph-: the handler's bytes, as they are
            request.bytes_sent = self.sender.write_body(b"", body, Headers(), request)[0]
            return False
        if isinstance(body, StreamBody) and "Content-Length" not in headers:
            if head.version >= (1, 1) and not no_body:
                headers.set("Transfer-Encoding", "chunked")
            elif not no_body:
                request.notes["close"] = True  # HTTP/1.0: the close ends the body
        keep_alive = not request.notes.get("close") and self._keep_alive(
            head, headers, request.status
        )
        self._connection_headers(headers, head, keep_alive)
        wire = (
            b""
            if head.version == (0, 9)
            else response_head(request.status, headers, server=self.server_header)
        )
        if no_body and head.version != (0, 9):
            if isinstance(body, StreamBody):
                body.finish()
            self.sender.send_bytes(wire)
            return keep_alive
        sent, complete = self.sender.write_body(wire, body, headers, request)
        request.bytes_sent = sent
        return keep_alive and complete and head.version != (0, 9)

    def _connection_headers(self, headers: Headers, head: RequestHead, keep_alive: bool) -> None:
        for name, value in self._connection_fields(keep_alive):
            headers.set(name, value)

    def _connection_fields(self, keep_alive: bool) -> tuple[tuple[str, str], ...]:
        """The fields that tell the client whether this connection stays open, and how long."""
        return _connection_field_list(*self._keep_alive_terms(keep_alive))

    def _keep_alive_terms(self, keep_alive: bool) -> tuple[bool, int, int]:
        """What those fields say: keep-alive, KeepAliveTimeout, and the requests left when
        MaxKeepAliveRequests counts them (0 when it does not)."""
        limit = self.max_keep_alive_requests
        left = limit - self.served - 1 if keep_alive and limit else 0
        return keep_alive, int(self.keep_alive_timeout), left

    # --- the error log --------------------------------------------------------------------------

    def _log(self, level: str, module: str, message: str, tag: str = "") -> None:
        client = f"{self.client[0]}:{self.client[1]}"
        self.generation.error_log.log(level, module, message, tag=tag, client=client)

    def _log_exception(self, where: str, error: BaseException) -> None:
        """A programming error: its traceback at error level (one line, as the error log writes)."""
        trace = "".join(traceback.format_exception(error)).rstrip()
        self._log("error", "core", f"unexpected error in {where}: {trace}")


@functools.lru_cache(maxsize=256)
def _connection_field_list(
    keep_alive: bool, timeout: int, left: int
) -> tuple[tuple[str, str], ...]:
    """Connection: close, or Keep-Alive's timeout (and the requests `left`, when
    MaxKeepAliveRequests counts them) with Connection: Keep-Alive; made once per terms, as a
    keep-alive connection repeats them request after request."""
    if not keep_alive:
        return (("Connection", "close"),)
    limit = f", max={left}" if left else ""
    return (("Keep-Alive", f"timeout={timeout}{limit}"), ("Connection", "Keep-Alive"))


@functools.lru_cache(maxsize=256)
def _connection_lines(keep_alive: bool, timeout: int, left: int) -> bytes:
    """The same fields as a replayed head's last lines and its blank line, encoded once: a
    keep-alive connection repeats them request after request."""
    fields = _connection_field_list(keep_alive, timeout, left)
    return (head_fields(fields) + "\r\n\r\n").encode("latin-1")


_NO_TOKENS: frozenset[str] = frozenset()


def _message_keeps_alive(head: RequestHead, headers: Headers, status: int) -> bool:
    """The request's and the response's say on keep-alive (Apache's ap_set_keepalive)."""
    if head.version == (0, 9):
        return False
    connection = head.headers.get("Connection")
    tokens = {t.strip().lower() for t in connection.split(",")} if connection else _NO_TOKENS
    if "close" in tokens or status in (400, 408, 411, 413, 414, 500, 501, 503):
        return False
    if head.version < (1, 1) and "keep-alive" not in tokens:
        return False
    # A response without a body needs no length to keep the connection (ap_set_keepalive).
    if "Content-Length" in headers or status in (204, 304) or head.method == "HEAD":
        return True
    return (headers.get("Transfer-Encoding") or "").lower() == "chunked"


_INLINE_METHODS = frozenset({"GET", "HEAD"})


def _bodiless_read(head: RequestHead) -> bool:
    """A GET or HEAD without a body: what serve_inline considers at all."""
    return head.method in _INLINE_METHODS and not head.has_body_fields


_NOT_BLANK = re.compile(rb"[^\r\n]")


def _blank(buffer: bytearray) -> bool:
    """Whether the buffer holds nothing but CRs and LFs (no copy of a pipelined buffer)."""
    return not buffer or _NOT_BLANK.search(buffer) is None


def _receive(sock: socket.socket, wait: float) -> bytes:
    """The next bytes from the socket, left non-blocking: at once when some are there (as after
    the MPM's or the listener's poll), else once poll says so, `wait` seconds at most
    (TimeoutError).

    settimeout + recv cost an ioctl and a poll before every recv, and the sender's switch back
    to non-blocking another ioctl: four syscalls where one usually does, each a GIL hand-off
    in a busy child.
    """
    if sock.gettimeout() != 0.0:
        sock.setblocking(False)
    deadline: float | None = None
    while True:
        try:
            return sock.recv(RECV_SIZE)
        except (BlockingIOError, want_read()):
            events = select.POLLIN
        except want_write():  # TLS: a record of ours must go out first
            events = select.POLLOUT
        now = time.monotonic()
        deadline = now + wait if deadline is None else deadline
        if now >= deadline:
            raise TimeoutError("timed out")
        wait_ready(sock, events, deadline - now)


def _address(address: object) -> tuple[str, int]:
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return ("", 0)


def serve_connection(sock: socket.socket, generation: Generation) -> Outcome:
    """Serve one accepted connection to its end (the MPM closes the socket)."""
    try:
        connection = Connection(sock, generation)
    except OSError:  # the client reset before we could look at it
        return Outcome.CLOSE
    return connection.serve()
