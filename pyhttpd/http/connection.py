"""The connection engine: the only code that touches a client socket.

`serve_connection` reads one request at a time from a connection that owns its buffer, runs it
through the hook phases, writes the response (head and small body in one send; sendfile for files)
and decides keep-alive as Apache does. It returns CLOSE when the connection is finished; the MPM
that called it owns the socket's fate. Runs in whatever process or thread the MPM chose; keeps no
state between connections.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass
from enum import Enum

from pyhttpd.config.lookup import select_vhost, server_settings
from pyhttpd.config.model import ServerConfig
from pyhttpd.errorlog import ErrorLog
from pyhttpd.errors import HttpError
from pyhttpd.http.body import ChunkedDecoder, LengthDecoder
from pyhttpd.http.framing import BodyKind, body_framing, check_host
from pyhttpd.http.messages import Headers, RequestHead
from pyhttpd.http.parser import Limits, parse_head
from pyhttpd.http.phases import Hooks, Phase, process_request
from pyhttpd.http.request import FileBody, Request
from pyhttpd.http.responses import error_document, error_page
from pyhttpd.http.uri import parse_target
from pyhttpd.http.writer import response_head
from pyhttpd.version import APACHE_COMPAT, __version__

RECV_SIZE = 65536
HEADER_TIMEOUT = 20.0  # mod_reqtimeout's default header=20-40,MinRate=500 (first stage)
SMALL_BODY = 64 * 1024


class Outcome(Enum):
    CLOSE = "close"
    IDLE = "idle"


@dataclass(frozen=True)
class Generation:
    """What the engine needs of one generation: its frozen config and hook table."""

    config: ServerConfig
    hooks: Hooks
    error_log: ErrorLog

    @property
    def limits(self) -> Limits:
        get = self.config.get
        options = get("HttpProtocolOptions") or frozenset()
        return Limits(
            request_line=int(get("LimitRequestLine")),
            field_size=int(get("LimitRequestFieldSize")),
            fields=int(get("LimitRequestFields")),
            allow_09="require1.0" not in options,
        )


def server_token(tokens: str) -> str:
    """The Server header for ServerTokens (Apache's Prod/Major/Minor/Min/OS/Full ladder)."""
    major, minor = __version__.split(".")[:2]
    return {
        "Prod": "pyhttpd",
        "Major": f"pyhttpd/{major}",
        "Minor": f"pyhttpd/{major}.{minor}",
        "Minimal": f"pyhttpd/{__version__}",
        "OS": f"pyhttpd/{__version__} (Unix)",
    }.get(tokens, f"pyhttpd/{__version__} Apache/{APACHE_COMPAT} (Unix)")


class Connection:
    """One client connection: its socket, its buffer and its keep-alive count."""

    def __init__(self, sock: socket.socket, generation: Generation) -> None:
        self.sock = sock
        self.generation = generation
        self.config = generation.config
        self.buffer = bytearray()
        self.served = 0
        self.client = _address(sock.getpeername())
        self.local = _address(sock.getsockname())
        self.server_header = server_token(str(self.config.get("ServerTokens")))
        self.limits = generation.limits
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def serve(self) -> Outcome:
        """Serve requests until the connection should close."""
        while True:
            try:
                head = self._read_head()
            except HttpError as error:
                self._reject(error)
                return Outcome.CLOSE
            except (TimeoutError, ConnectionError, OSError):
                return Outcome.CLOSE
            if head is None:
                return Outcome.CLOSE
            try:
                keep_alive = self._handle(head)
            except (TimeoutError, ConnectionError, BrokenPipeError, OSError):
                return Outcome.CLOSE
            self.served += 1
            if not keep_alive:
                return Outcome.CLOSE

    # --- reading ------------------------------------------------------------------------------

    def _read_head(self) -> RequestHead | None:
        waiting_for_first_byte = not self.buffer
        deadline = None
        while True:
            parsed = parse_head(self.buffer, self.limits)
            if parsed is not None:
                head, consumed = parsed
                del self.buffer[:consumed]
                return head
            if waiting_for_first_byte:
                idle = float(self.config.get("KeepAliveTimeout")) if self.served else HEADER_TIMEOUT
                self.sock.settimeout(idle)
            else:
                deadline = deadline or time.monotonic() + HEADER_TIMEOUT
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise HttpError(408, "request header read timeout", "AH01382")
                self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(RECV_SIZE)
            except TimeoutError:
                if self.buffer.strip(b"\r\n"):
                    raise HttpError(408, "request header read timeout", "AH01382") from None
                return None
            if not data:
                return None
            self.buffer += data
            waiting_for_first_byte = False

    def _read_body(self, head: RequestHead, limit: int) -> bytes:
        framing = body_framing(head)
        if framing.kind is BodyKind.NONE:
            return b""
        if head.version >= (1, 1) and (head.headers.get("Expect") or "").lower() == "100-continue":
            if not self.buffer:
                self.sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        decoder: LengthDecoder | ChunkedDecoder
        if framing.kind is BodyKind.LENGTH:
            decoder = LengthDecoder(framing.length, limit)
        else:
            decoder = ChunkedDecoder(limit)
        body = bytearray(decoder.feed(self.buffer))
        self.sock.settimeout(float(self.config.get("Timeout")))
        while not decoder.done:
            data = self.sock.recv(RECV_SIZE)
            if not data:
                raise HttpError(400, "client closed the connection during the body", "AH01382")
            self.buffer += data
            body += decoder.feed(self.buffer)
        return bytes(body)

    # --- one request --------------------------------------------------------------------------

    def _handle(self, head: RequestHead) -> bool:
        """Process one request, send its response, log it; return whether to keep the connection."""
        request = self._new_request(head)
        try:
            self._prepare(request)
            request.request_body = self._read_body(
                head, int(request.per_dir.get("LimitRequestBody"))
            )
            if head.method == "TRACE":
                self._trace(request)
            else:
                process_request(request, self.generation.hooks)
        except HttpError as error:
            self._error_response(request, error)
        self._entity_headers(request)
        self.generation.hooks.run_all(Phase.OUTPUT_HEADERS, request)
        keep_alive = self._send(request, head)
        self.generation.hooks.run_all(Phase.LOG_TRANSACTION, request)
        return keep_alive

    def _new_request(self, head: RequestHead) -> Request:
        server = self.config.main
        return Request(
            head=head,
            config=self.config,
            hooks=self.generation.hooks,
            vhost=None,
            server=server,
            client=self.client,
            local=self.local,
            uri=head.target,
            query="",
            per_dir=server,
        )

    def _prepare(self, request: Request) -> None:
        """Host, target and virtual host: the part of a request that can fail before any hook."""
        head = request.head
        host = check_host(head)
        target = parse_target(
            head.target,
            encoded_slashes=str(self.config.get("AllowEncodedSlashes")),
            merge_slashes=bool(self.config.get("MergeSlashes")),
        )
        if target.path == "*" and head.method != "OPTIONS":
            raise HttpError(400, "'*' is only valid with OPTIONS", "AH10244")
        request.vhost = select_vhost(self.config, target.host or host, *self.local)
        request.server = request.per_dir = server_settings(self.config, request.vhost)
        request.uri, request.query = target.path, target.query

    def _error_response(self, request: Request, error: HttpError) -> None:
        """Apache's ap_die: the status, ErrorDocument or the canned page, and whether to close."""
        if error.reason:
            level = "error" if error.status >= 500 else "info"
            client = f"{self.client[0]}:{self.client[1]}"
            self.generation.error_log.log(level, "core", error.reason, tag=error.tag, client=client)
        if error.close:
            request.notes["close"] = True
        request.status = error.status
        kept = Headers(
            (n, v)
            for n, v in request.headers_out
            if n.lower() in ("allow", "content-range", "location", "www-authenticate")
        )
        request.headers_out = kept
        request.content_type = "text/html; charset=iso-8859-1"
        request.body = error_page(error.status, request.method)
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
            self._prepare(inner)
            process_request(inner, self.generation.hooks)
        except HttpError:
            return  # Apache appends "Additionally, a ... error was encountered"; keep the canned page
        request.body, request.content_type = inner.body, inner.content_type
        request.headers_out = inner.headers_out
        request.headers_out.remove("Content-Length")
        if isinstance(request.body, FileBody):
            request.headers_out.set("Content-Length", str(request.body.length))
        request.status = status

    def _trace(self, request: Request) -> None:
        if request.server.get("TraceEnable") == "off":
            request.headers_out.set("Allow", "HEAD,GET,POST,OPTIONS")
            raise HttpError(405, "TRACE denied by server configuration", "AH00669", close=False)
        echo = (request.head.request_line + "\r\n").encode("latin-1")
        echo += b"".join(f"{n}: {v}\r\n".encode("latin-1") for n, v in request.head.headers)
        request.content_type = "message/http"
        request.body = echo + b"\r\n"

    def _keep_alive(self, head: RequestHead, headers: Headers, status: int) -> bool:
        config = self.config
        if not config.get("KeepAlive") or head.version == (0, 9):
            return False
        limit = int(config.get("MaxKeepAliveRequests"))
        if limit and self.served + 1 >= limit:
            return False
        tokens = {t.strip().lower() for t in (head.headers.get("Connection") or "").split(",")}
        if "close" in tokens or status in (400, 408, 411, 413, 414, 500, 501, 503):
            return False
        if head.version < (1, 1) and "keep-alive" not in tokens:
            return False
        return "Content-Length" in headers

    def _reject(self, error: HttpError) -> None:
        """Answer a request whose head could not be parsed, then the connection closes."""
        head = RequestHead("GET", "/", (1, 1), Headers(), "")
        request = self._new_request(head)
        self._error_response(request, error)
        request.notes["close"] = True
        self._entity_headers(request)
        self._send(request, head)
        self.generation.hooks.run_all(Phase.LOG_TRANSACTION, request)

    # --- writing ------------------------------------------------------------------------------

    def _entity_headers(self, request: Request) -> None:
        """Content-Type and Content-Length from the handler's result, before output filters."""
        headers = request.headers_out
        if request.content_type and request.status != 304:
            headers.setdefault("Content-Type", request.content_type)
        if isinstance(request.body, bytes) and request.status not in (204, 304):
            headers.setdefault("Content-Length", str(len(request.body)))

    def _send(self, request: Request, head: RequestHead) -> bool:
        headers = request.headers_out
        body = request.body
        keep_alive = not request.notes.get("close") and self._keep_alive(
            head, headers, request.status
        )
        self._connection_headers(headers, head, keep_alive)
        if head.version == (0, 9):
            self._write_body(b"" if isinstance(body, FileBody) else body, body)
            return False
        wire = response_head(request.status, headers, server=self.server_header)
        if request.header_only or request.status in (204, 304):
            self.sock.sendall(wire)
        else:
            self._write_body(wire, body)
            request.bytes_sent = body.length if isinstance(body, FileBody) else len(body)
        return keep_alive

    def _write_body(self, wire: bytes, body: bytes | FileBody) -> None:
        self.sock.settimeout(float(self.config.get("Timeout")))
        if isinstance(body, bytes):
            self.sock.sendall(wire + body)
            return
        with open(body.path, "rb") as handle:
            if body.length <= SMALL_BODY:
                handle.seek(body.offset)
                self.sock.sendall(wire + handle.read(body.length))
                return
            self.sock.sendall(wire)
            offset, remaining = body.offset, body.length
            while remaining > 0:
                sent = os.sendfile(self.sock.fileno(), handle.fileno(), offset, remaining)
                if sent == 0:
                    raise ConnectionError("client closed the connection during sendfile")
                offset += sent
                remaining -= sent

    def _connection_headers(self, headers: Headers, head: RequestHead, keep_alive: bool) -> None:
        if keep_alive:
            timeout = int(float(self.config.get("KeepAliveTimeout")))
            limit = int(self.config.get("MaxKeepAliveRequests"))
            left = f", max={limit - self.served - 1}" if limit else ""
            headers.set("Keep-Alive", f"timeout={timeout}{left}")
            headers.set("Connection", "Keep-Alive")
        else:
            headers.set("Connection", "close")


def _address(address: object) -> tuple[str, int]:
    if isinstance(address, tuple) and len(address) >= 2:
        return str(address[0]), int(address[1])
    return ("", 0)


def serve_connection(sock: socket.socket, generation: Generation) -> Outcome:
    """Serve one accepted connection to its end (the MPM closes the socket)."""
    return Connection(sock, generation).serve()
