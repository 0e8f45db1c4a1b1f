"""proxy_http_module (mod_proxy_http.c): the http:// scheme handler of mod_proxy.

Takes the requests mod_proxy's translate_name gave the `proxy-server` handler with an http:// URL
(pyhttpd.http.proxy notes). The backend request is Apache's: Host first (the backend's, or the
client's under ProxyPreserveHost), the client's fields without the hop-by-hop ones, then
X-Forwarded-For / -Host / -Server added or completed (ProxyAddHeaders), the body streamed from
body_input (a chunked body that fits SPOOL bytes goes with a Content-Length, as Apache spools
it; a longer one is sent chunked), and `Connection: Keep-Alive`. The answer streams back as a
StreamBody without its hop-by-hop fields, Location-like fields rewritten by ProxyPassReverse.
Backend connections are kept per thread (one idle http.client connection per backend) and reused;
a kept connection the backend closed meanwhile is replaced once. Refused connections are 503
(AH00957, AH01114); a backend that closes, breaks or stays silent past ProxyTimeout is Apache's
502 Proxy Error (AH01102, AH00898) — except that a broken backend on a client connection that
already carried a request closes it without an answer, as Apache does so that clients retry.
Runs in the thread serving the request.
"""

from __future__ import annotations

import contextlib
import http.client
import select
import threading
from collections.abc import Iterator
from urllib.parse import urlsplit

from pyhttpd.config.module import Module
from pyhttpd.errors import HttpError
from pyhttpd.http.messages import Headers
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase
from pyhttpd.http.proxy import (
    PROXY_HANDLER,
    PROXY_REVERSE_NOTE,
    PROXY_ROUTE_NOTE,
    PROXY_URL_NOTE,
    REVERSE_MAPPED,
    hop_by_hop,
    proxy_error_page,
    reverse_map,
)
from pyhttpd.http.request import Request, StreamBody
from pyhttpd.http.responses import error_document

STEP = 65536
SPOOL = 16384  # a chunked request body up to this size is sent with a Content-Length
_TIMED_OUT = "(70007)The timeout specified has expired"
_BROKEN = "(20014)Internal error (specific information not available)"
_FORWARDED = ("X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Server")


class BackendPool(threading.local):
    """Idle backend connections of this thread, one per (host, port)."""

    def __init__(self) -> None:
        self.idle: dict[tuple[str, int], http.client.HTTPConnection] = {}

    def take(self, host: str, port: int, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
        """A kept connection still open (reused=True), else a new unconnected one."""
        kept = self.idle.pop((host, port), None)
        if kept is not None and kept.sock is not None:
            readable, _, _ = select.select([kept.sock], [], [], 0)
            if not readable:  # an idle socket that reads is closed (or talking out of turn)
                kept.timeout = timeout
                kept.sock.settimeout(timeout)
                return kept, True
            kept.close()
        return http.client.HTTPConnection(host, port, timeout=timeout), False

    def give_back(self, host: str, port: int, connection: http.client.HTTPConnection) -> None:
        old = self.idle.pop((host, port), None)
        if old is not None:
            old.close()
        self.idle[(host, port)] = connection


def _timeout(request: Request) -> float:
    route = request.notes.get(PROXY_ROUTE_NOTE)
    if route is not None and route.timeout:
        return float(route.timeout)
    configured = request.server.get("ProxyTimeout")
    return float(configured if configured else request.server.get("Timeout"))


def backend_headers(request: Request, authority: str) -> Headers:
    """The request fields for the backend, in Apache's order (the body's come later)."""
    incoming = request.head.headers
    skipped = hop_by_hop(incoming.get("Connection")) | {"host", "content-length", "expect"}
    preserve = bool(request.per_dir.get("ProxyPreserveHost"))
    out = Headers([("Host", (incoming.get("Host") or authority) if preserve else authority)])
    out_fields = [(n, v) for n, v in incoming if n.lower() not in skipped]
    if request.per_dir.get("ProxyAddHeaders") is not False:
        server_name = str(request.server.get("ServerName") or "").rsplit(":", 1)[0]
        added = {
            "x-forwarded-for": request.client[0],
            "x-forwarded-host": incoming.get("Host"),
            "x-forwarded-server": server_name,
        }
        merged = []
        for name, value in out_fields:
            extra = added.pop(name.lower(), None)
            merged.append((name, f"{value}, {extra}" if extra else value))
        out_fields = merged + [(n, v) for n in _FORWARDED if (v := added.get(n.lower()))]
    for name, value in out_fields:
        out.add(name, value)
    return out


def _send_body(request: Request, connection: http.client.HTTPConnection, fields: Headers) -> None:
    """Headers and body: Content-Length when known (or spooled), else chunked."""
    body = request.body_input
    declared = request.head.headers.get("Content-Length")
    spooled = b""
    if body.length is None:  # chunked from the client
        while len(spooled) <= SPOOL and (piece := body.read1(STEP)):
            spooled += piece
        chunked = not body.done or len(spooled) > SPOOL
        if chunked:
            fields.add("Transfer-Encoding", "chunked")
        else:
            fields.add("Content-Length", str(len(spooled)))
    else:
        chunked = False
        if declared is not None:
            fields.add("Content-Length", str(body.length))
    fields.add("Connection", "Keep-Alive")
    for name, value in fields:
        connection.putheader(name, value)
    connection.endheaders()
    frame = (lambda data: b"%x\r\n%b\r\n" % (len(data), data)) if chunked else (lambda data: data)
    if spooled:
        connection.send(frame(spooled))
    while piece := body.read1(STEP):
        connection.send(frame(piece))
    if chunked:
        connection.send(b"0\r\n\r\n")


def _response_headers(request: Request, response: http.client.HTTPResponse) -> None:
    skipped = hop_by_hop(response.getheader("Connection")) | {"date", "server"}
    reverse = tuple(request.notes.get(PROXY_REVERSE_NOTE) or ())
    mapped = {name.lower() for name in REVERSE_MAPPED}
    request.status = response.status
    if response.version < 11:  # an HTTP/1.0 backend: Apache closes the client's connection too
        request.notes["close"] = True
    if response.getheader("Transfer-Encoding"):  # never both, to mitigate response splitting
        skipped |= {"content-length"}
    for name, value in response.getheaders():
        lowered = name.lower()
        if lowered in skipped:
            continue
        if lowered == "content-type":
            request.content_type = value
            continue
        if lowered in mapped:
            value = reverse_map(request, reverse, value)
        request.headers_out.add(name, value)


def _proxy_error(request: Request, status: int, reason: str) -> int:
    """ap_proxyerror: AH00898, then Apache's Proxy Error page (or the ErrorDocument)."""
    request.log_error("error", "proxy", f"{reason} returned by {request.uri}", "AH00898")
    if error_document(request.per_dir, status) is not None:
        raise HttpError(status, close=False)
    request.status = status
    request.headers_out = Headers()
    request.content_type = "text/html; charset=iso-8859-1"
    request.body = proxy_error_page(status, reason)
    return OK


def make_handler(pool: BackendPool):  # noqa: ANN201 - a hook
    def proxy_http_handler(request: Request) -> int:
        url = request.notes.get(PROXY_URL_NOTE)
        if request.handler != PROXY_HANDLER or not str(url or "").startswith("http://"):
            return DECLINED
        parts = urlsplit(str(url))
        host, port = parts.hostname or "", parts.port or 80
        authority = host if port == 80 else f"{host}:{port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        timeout = _timeout(request)
        for attempt in (0, 1):
            connection, reused = pool.take(host, port, timeout)
            if not reused:
                try:
                    connection.connect()
                except OSError as error:
                    return _refused(request, host, port, error)
            try:
                connection.putrequest(
                    request.method, target, skip_host=True, skip_accept_encoding=True
                )
                _send_body(request, connection, backend_headers(request, authority))
                response = connection.getresponse()
                break
            except HttpError:
                connection.close()
                raise
            except (TimeoutError, http.client.HTTPException, OSError) as error:
                connection.close()
                fresh_body = request.body_input.bytes_read == 0
                if reused and attempt == 0 and fresh_body and not isinstance(error, TimeoutError):
                    continue  # the kept connection had been closed by the backend: once more
                timed_out = isinstance(error, TimeoutError)
                why = _TIMED_OUT if timed_out else _BROKEN
                request.log_error(
                    "error",
                    "proxy_http",
                    f"{why}: AH01102: error reading status line from remote server {host}:{port}",
                )
                if request.notes.get("keepalives") and not timed_out:
                    # Apache closes a kept client connection without an answer, so that the
                    # client may retry (AH01104); the first request on one gets the 502
                    request.body = StreamBody((), raw=True)
                    return OK
                return _proxy_error(request, 502, "Error reading from remote server")
        _response_headers(request, response)
        stream = BackendStream(pool, host, port, connection, response)
        request.body = StreamBody(stream.chunks(), stream.close)
        return OK

    return proxy_http_handler


def _refused(request: Request, host: str, port: int, error: OSError) -> int:
    text = f"({error.errno}){error.strerror}" if error.errno else _TIMED_OUT
    if request.error_log is not None:
        request.error_log.log(
            "error",
            "proxy",
            f"{text}: AH00957: http: attempt to connect to {host}:{port} ({host}:{port}) failed",
        )
    request.log_error(
        "error", "proxy_http", f"HTTP: failed to make connection to backend: {host}", "AH01114"
    )
    raise HttpError(503, close=False)


class BackendStream:
    """The backend's body as it comes; the connection goes back to the pool when whole."""

    def __init__(
        self,
        pool: BackendPool,
        host: str,
        port: int,
        connection: http.client.HTTPConnection,
        response: http.client.HTTPResponse,
    ) -> None:
        self.pool, self.host, self.port = pool, host, port
        self.connection, self.response = connection, response

    def chunks(self) -> Iterator[bytes]:
        while piece := self.response.read1(STEP):
            yield piece

    def close(self) -> None:
        response = self.response
        with contextlib.suppress(Exception):
            if response.length == 0:
                response.read()  # a body-less answer (HEAD, 204, 304) is already whole
        if response.isclosed() and not response.will_close:
            self.pool.give_back(self.host, self.port, self.connection)
        else:
            self.connection.close()


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.HANDLER, make_handler(BackendPool()), Order.FIRST)


MODULE = Module(
    name="proxy_http_module",
    source="mod_proxy_http.c",
    description="the http:// scheme of mod_proxy: backend requests with kept connections",
    register_hooks=register,
)
