"""Sender: writes one connection's responses to its socket — bytes, files, streamed bodies.

The connection engine decides what to send (status, headers, keep-alive); this file owns how the
bytes reach the socket: the head and a small body in one send (a very small file's bytes kept
from an earlier request while its stat is unchanged), files by read-and-write (the head
in the first chunk's send; always so over TLS) or by sendfile under EnableSendfile (the head
held with MSG_MORE until the file's first bytes push it out, as Apache's TCP_CORK does), a
StreamBody chunk by chunk (exactly Content-Length bytes, or chunked, or close-delimited). The
socket is left non-blocking; each write waits in poll at most Timeout for progress, as Apache's
do. Runs in the thread serving the connection.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import time
from collections.abc import Callable

from pyhttpd.http.messages import Headers
from pyhttpd.http.request import Body, FileBody, Request, StreamAborted, StreamBody
from pyhttpd.http.tls_errors import is_tls, want_read, want_write
from pyhttpd.memo import remember

SMALL_BODY = 64 * 1024  # a file this small goes out in the head's send
# Files this small are kept in memory once read (per process, KEPT_FILES at most): a request
# for one whose stat shows the same file unchanged costs no open, pread and close.
KEPT_FILE_MAX = 16 * 1024
KEPT_FILES = 128
# A file changed within this many seconds may change again without its times moving (they
# tick coarsely): it is not kept until it has been still this long.
SETTLED = 2.0
FILE_CHUNK = 256 * 1024  # read-and-write step when EnableSendfile is Off
SENDFILE_MAX = 16 * 1024 * 1024  # one sendfile call's most (Apache's AP_MAX_SENDFILE)
# sendfile's errors for a file it cannot send (a file system without splice): read and write
NO_SENDFILE = frozenset({errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP})


class Sender:
    """The writing side of one connection."""

    def __init__(
        self,
        sock: socket.socket,
        timeout: float,
        log_exception: Callable[[str, BaseException], None],
    ) -> None:
        self.sock = sock
        self.timeout = timeout
        self.log_exception = log_exception
        # event's listener serving a request itself never waits: with `defer`, what a send
        # cannot take now is kept in `pending` (later writes queue behind it) for a worker
        # thread to `flush` — Apache's event finishes such writes after the request is logged
        # too (write completion)
        self.defer = False
        self.pending = b""

    def write_body(
        self, wire: bytes, body: Body, headers: Headers, request: Request
    ) -> tuple[int, bool]:
        """Write the head and body; return the body bytes sent and whether the body was whole."""
        if isinstance(body, bytes):
            self.send_bytes(wire + body)
            return len(body), True
        if isinstance(body, StreamBody):
            return self._write_stream(wire, body, headers, request)
        self.write_file(wire, body)
        return body.length, True

    def _write_stream(
        self, wire: bytes, body: StreamBody, headers: Headers, request: Request
    ) -> tuple[int, bool]:
        """Each chunk as it comes: Content-Length bytes exactly, else chunked or close-delimited."""
        declared = headers.get("Content-Length")
        length = int(declared) if declared and declared.isdigit() else None
        chunked = (headers.get("Transfer-Encoding") or "").lower() == "chunked"
        sent = 0
        try:
            for chunk in body.chunks:
                if length is not None:
                    chunk = chunk[: length - sent]
                if not chunk:
                    continue
                framed = b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk
                self.send_bytes(wire + framed)
                wire = b""
                sent += len(chunk)
                if length is not None and sent >= length:
                    break
        except OSError:
            raise
        except StreamAborted:
            return sent, False
        except Exception as error:  # noqa: BLE001 - the head is out: all we can do is close
            self.log_exception(f"the response body of {request.head.request_line!r}", error)
            return sent, False
        finally:
            body.finish()
        self.send_bytes(wire + (b"0\r\n\r\n" if chunked else b""))
        return sent, length is None or sent == length

    def write_file(self, wire: bytes, body: FileBody) -> None:
        """Write the head and a file's bytes (or a part of it)."""
        identity = body.identity
        if identity is not None and body.length <= KEPT_FILE_MAX:
            self.send_bytes(wire + _kept_file(body.path, identity))
            return
        fd = os.open(body.path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            if body.length <= SMALL_BODY:  # one pread, in the head's send
                self.send_bytes(wire + os.pread(fd, body.length, body.offset))
            elif body.sendfile and not is_tls(self.sock):
                self._sendfile(wire, fd, body.offset, body.length)
            else:  # EnableSendfile Off (Apache's default), or TLS: read and write
                self._copy(wire, fd, body.offset, body.length)
        finally:
            os.close(fd)

    def _sendfile(self, wire: bytes, fd: int, offset: int, length: int) -> None:
        """The head with MSG_MORE, then sendfile on the non-blocking socket, as APR's sendfile
        with TCP_CORK: the head leaves in the file's first packet. poll only when a call would
        block, each wait bounded by Timeout (socket.sendfile polls before every call and
        switches the socket's mode: four syscalls more a response)."""
        sock = self.sock
        self.send_bytes(wire, socket.MSG_MORE)
        out, start, end = sock.fileno(), offset, offset + length
        while offset < end:
            try:
                sent = os.sendfile(out, fd, offset, min(end - offset, SENDFILE_MAX))
            except BlockingIOError:
                wait_ready(sock, select.POLLOUT, self.timeout)
                continue
            except OSError as error:
                if error.errno not in NO_SENDFILE or offset != start:
                    raise
                self._copy(b"", fd, offset, end - offset)  # a file system without sendfile
                return
            if not sent:
                raise ConnectionError("the file shrank while it was being sent")
            offset += sent

    def _copy(self, wire: bytes, fd: int, offset: int, length: int) -> None:
        """Read FILE_CHUNK at a time and write it; the head goes with the first chunk."""
        end = offset + length
        while offset < end:
            chunk = os.pread(fd, min(end - offset, FILE_CHUNK), offset)
            if not chunk:
                raise ConnectionError("the file shrank while it was being sent")
            self.send_bytes(wire + chunk if wire else chunk)
            wire = b""
            offset += len(chunk)

    def send_bytes(self, data: bytes, flags: int = 0) -> None:
        """Write everything, dropping the client when one write makes no progress for Timeout.

        (sendall's timeout would bound the whole transfer; Apache's Timeout bounds each wait.)
        The socket is left non-blocking (as event's listener leaves it) and a send that would
        block waits in poll: a socket with a timeout polls before every send, and switching
        modes is an ioctl — three syscalls a response, each a GIL hand-off in a busy child.
        """
        sock = self.sock
        if sock.gettimeout() != 0.0:
            sock.setblocking(False)
        if self.pending and self.defer:
            self.pending += data
            return
        view: bytes | memoryview = data  # a view only once a send was partial (rare)
        while view:
            try:
                sent = sock.send(view, flags)
            except (BlockingIOError, want_write()):
                if self.defer:
                    self.pending = bytes(view)
                    return
                wait_ready(sock, select.POLLOUT, self.timeout)
                continue
            except want_read():  # TLS: the peer's records must be read first
                wait_ready(sock, select.POLLIN, self.timeout)
                continue
            view = memoryview(view)[sent:] if sent < len(view) else b""

    def flush(self) -> None:
        """Write what `defer` kept, waiting as any write does (a worker thread's job)."""
        pending, self.pending = self.pending, b""
        if pending:
            self.send_bytes(pending)


_KEPT: dict[tuple[str, tuple[int, int, int, int, int]], bytes] = {}


def _kept_file(path: str, identity: tuple[int, int, int, int, int]) -> bytes:
    """A whole small file's bytes: kept from an earlier read while the file's device, inode,
    size, mtime and ctime are those the request's stat saw (any write or rename changes
    one), else read now — and kept if the file has been still for SETTLED seconds."""
    key = (path, identity)
    data = _KEPT.get(key)
    if data is not None:
        return data
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        data = os.pread(fd, identity[2], 0)
    finally:
        os.close(fd)
    if len(data) != identity[2]:
        raise ConnectionError("the file changed while it was being sent")
    if time.time_ns() - max(identity[3], identity[4]) >= SETTLED * 1e9:
        remember(_KEPT, key, data, KEPT_FILES)
    return data


def wait_ready(sock: socket.socket, events: int, timeout: float) -> None:
    """Wait until the socket is ready for `events`; TimeoutError after `timeout` seconds (the
    engine's reads wait through this too)."""
    poller = select.poll()
    poller.register(sock, events)
    if not poller.poll(timeout * 1000):
        raise TimeoutError("timed out")
