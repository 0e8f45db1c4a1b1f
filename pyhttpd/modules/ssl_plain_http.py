"""mod_ssl's answer to plain HTTP spoken to an HTTPS port: Apache's 400 page with its reason.

Apache's mod_ssl notices the failed handshake (OpenSSL's "http request" error), logs AH01996 and
sends the 400 page with "You're speaking plain HTTP to an SSL-enabled server port"; so does
this, before the connection reaches the engine (it is not in the access log). The request head
is read first (bounded in size, and by Timeout) and the close is gentle, so that the client gets
the page rather than a reset. Runs in the thread serving the connection.
"""

from __future__ import annotations

import socket
import time

from pyhttpd.http.messages import Headers
from pyhttpd.http.responses import error_page
from pyhttpd.http.writer import response_head

TLS_HANDSHAKE = b"\x16"  # the first byte of a TLS record carrying a ClientHello
REASON = (
    b"Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n"
    b" Instead use the HTTPS scheme to access this URL, please.<br />\n"
)
HEAD_LIMIT = 8192
DRAIN_SECONDS = 2.0


def speaks_plain_http(sock: socket.socket) -> bool:
    """Peek at the first byte: a letter (a method name) where a TLS record should start."""
    first = sock.recv(1, socket.MSG_PEEK)
    return bool(first) and first != TLS_HANDSHAKE and first.isalpha()


def plain_http_page() -> bytes:
    page = error_page(400)
    return page.replace(b"<br />\n</p>", b"<br />\n" + REASON + b"</p>", 1)


def answer_plain_http(sock: socket.socket, server: str) -> None:
    """Read the head, send the 400 page with Connection: close, and close gently."""
    data = b""
    while b"\r\n\r\n" not in data and b"\n\n" not in data and len(data) < HEAD_LIMIT:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    body = plain_http_page()
    headers = Headers(
        [
            ("Content-Length", str(len(body))),
            ("Connection", "close"),
            ("Content-Type", "text/html; charset=iso-8859-1"),
        ]
    )
    sock.sendall(response_head(400, headers, server=server) + body)
    sock.shutdown(socket.SHUT_WR)
    deadline = time.monotonic() + DRAIN_SECONDS
    sock.settimeout(DRAIN_SECONDS)
    while time.monotonic() < deadline and sock.recv(65536):
        pass
