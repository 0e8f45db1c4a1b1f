"""wsgi_module's response side: start_response, write(), wsgi.file_wrapper and the body they make.

PEP 3333's rules: start_response takes a status string and a list of (name, value) str pairs (no
hop-by-hop fields, no control characters; each distinct status line and pair is checked once per
process); a second call needs exc_info, and exc_info is re-raised once the headers are out. The
headers count as sent at the first non-empty body chunk, so `respond` pulls that chunk in the
handler, where the status and headers can still change, and hands the rest to the engine as a
StreamBody that streams as the application yields. A list or tuple (the "hello" case) becomes one
bytes body (a list of one bytes: that bytes object), cut to its Content-Length or streamed when
shorter (the connection then closes); a FileWrapper around a regular file becomes a FileBody, which
the engine sends with sendfile when EnableSendfile is On. The iterable's close() is always called
once. Helper of mod_wsgi.py (not a module); runs in the thread serving the request (and the
engine's, for the streamed rest).
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from wsgiref.util import is_hop_by_hop

from pyhttpd.http.request import FileBody, Request, StreamAborted, StreamBody
from pyhttpd.memo import remember

_FORBIDDEN_CHARACTERS = ("\r", "\n", "\0")
ErrorReport = Callable[[BaseException], None]
CLOSE_NOTE = "mod_wsgi.close"  # a file_wrapper's close(), called when the request is logged


class FileWrapper:
    """wsgi.file_wrapper: iterates a file-like object in blocks; recognised by `respond`."""

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return bytes(data)
        raise StopIteration


_LIMIT = 256  # entries of each table of checked values below; a full table starts again
_STATUS_CODES: dict[str, int] = {}  # status lines that passed the checks -> their code
_CHECKED_HEADERS: dict[tuple[str, str], bool] = {}  # (name, value) pairs that passed them


def _check_status(status: object) -> int:
    if type(status) is str and (code := _STATUS_CODES.get(status)) is not None:
        return code
    if not isinstance(status, str):
        raise TypeError(f"expected unicode object, value of type {type(status).__name__} found")
    if len(status) < 4 or not status[:3].isdigit() or status[3] != " ":
        raise ValueError(f"status must be a 3 digit code, a space and a reason, not {status!r}")
    if any(c in status for c in _FORBIDDEN_CHARACTERS):
        raise ValueError("embedded newline in response status")
    code = int(status[:3])
    if type(status) is str:
        remember(_STATUS_CODES, status, code, _LIMIT)
    return code


def _check_headers(headers: object) -> list[tuple[str, str]]:
    """A copy of the list once every pair passed PEP 3333's checks (each distinct pair is
    checked once per process: an application sends the same few again and again)."""
    if not isinstance(headers, list):
        raise TypeError(f"response headers must be a list, not {type(headers).__name__}")
    checked = _CHECKED_HEADERS
    for pair in headers:
        try:
            if pair in checked:
                continue
        except TypeError:  # unhashable: not a pair of strings, which the checks below say
            pass
        _check_header(pair)
        if type(pair) is tuple and type(pair[0]) is str and type(pair[1]) is str:
            remember(checked, pair, True, _LIMIT)
    return list(headers)


def _check_header(pair: object) -> None:
    if not isinstance(pair, tuple) or len(pair) != 2:
        raise TypeError(f"response header must be a (name, value) tuple, not {pair!r}")
    name, value = pair
    for item in pair:
        if not isinstance(item, str):
            raise TypeError(f"expected unicode object, value of type {type(item).__name__} found")
    if any(c in name + value for c in _FORBIDDEN_CHARACTERS) or ":" in name:
        raise ValueError(
            f"embedded newline in response header with name '{name}' and value '{value}'"
        )
    if is_hop_by_hop(name):
        raise ValueError(f"hop-by-hop header '{name}' not permitted in a WSGI response")
    value.encode("latin-1")  # UnicodeEncodeError: not a native string


@dataclass
class Response:
    """One request's start_response state and the bytes write() has queued."""

    status: str | None = None
    code: int = 0
    headers: list[tuple[str, str]] = field(default_factory=list)
    sent: bool = False
    pending: list[bytes] = field(default_factory=list)

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Callable[[bytes], None]:
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise RuntimeError("start_response() called a second time without exc_info")
        code = _check_status(status)
        self.headers = _check_headers(headers)
        self.status, self.code = status, code
        return self.write

    def write(self, data: bytes) -> None:
        if self.status is None:
            raise RuntimeError("write() called before start_response()")
        if not isinstance(data, bytes):
            raise TypeError(f"expected bytes object for write(), not {type(data).__name__}")
        if data:
            self.sent = True
            self.pending.append(data)

    def take_pending(self) -> list[bytes]:
        taken, self.pending = self.pending, []
        return taken


def _chunk(data: object) -> bytes:
    if not isinstance(data, bytes):
        raise TypeError(
            f"sequence of byte string values expected, value of type {type(data).__name__} found"
        )
    return data


def _first_chunk(response: Response, iterator: Iterator[Any]) -> bytes | None:
    """Pull until there is body data (pending write()s first); None when the iterable ended."""
    while not response.pending:
        try:
            data = _chunk(next(iterator))
        except StopIteration:
            return None
        if data:
            response.pending.append(data)  # after what write() queued while it was made
    response.sent = True
    return b"".join(response.take_pending())


def _rest(
    response: Response, first: bytes, iterator: Iterator[Any], on_error: ErrorReport
) -> Iterator[bytes]:
    try:
        yield first
        for data in iterator:
            yield from response.take_pending()
            if _chunk(data):
                yield data
        yield from response.take_pending()
    except (Exception, SystemExit) as error:  # the application's: reported as mod_wsgi does
        on_error(error)
        raise StreamAborted("the WSGI application failed in mid-response") from None


def _real_file(wrapper: FileWrapper) -> tuple[str, int, int] | None:
    """(path, offset, size) when the wrapped object is a regular file still at its path."""
    filelike = wrapper.filelike
    try:
        descriptor, path = filelike.fileno(), filelike.name
        opened, named = os.fstat(descriptor), os.stat(path)
        offset = filelike.tell()
    except (AttributeError, OSError, TypeError, ValueError):
        return None
    if not isinstance(path, str) or not stat_module.S_ISREG(opened.st_mode):
        return None
    if (opened.st_dev, opened.st_ino) != (named.st_dev, named.st_ino):
        return None
    return os.path.abspath(path), offset, opened.st_size


def _declared_length(request: Request) -> int | None:
    return _length(request.headers_out.get("Content-Length"))


def _length(value: str | None) -> int | None:
    return int(value) if value is not None and value.strip().isdigit() else None


def respond(
    request: Request, response: Response, result: Iterable[Any], on_error: ErrorReport
) -> None:
    """Turn the application's return value into the request's status, headers and body.

    Raises what the application raised (or RuntimeError when it never called start_response)
    while the headers are not final; the caller answers 500 and closes `result` then.
    """
    close = getattr(result, "close", None)
    if isinstance(result, FileWrapper) and response.status is not None and not response.pending:
        found = _real_file(result)
        if found is not None:
            _apply_head(request, response)
            _file_body(request, *found)
            if close is not None:  # once the file is sent: a temporary file may vanish on close
                request.notes[CLOSE_NOTE] = close
            return
    rest: Iterator[bytes] | None = None
    single = False
    if isinstance(result, (list, tuple)):  # a list of one bytes is the body as it is
        for data in result:
            if not isinstance(data, bytes):
                _chunk(data)
        single = len(result) == 1 and not response.pending
        chunks = [] if single else response.take_pending() + list(result)
    else:
        iterator = iter(result)
        first = _first_chunk(response, iterator)
        chunks = response.take_pending() if first is None else []
        rest = None if first is None else _rest(response, first, iterator, on_error)
    if response.status is None:
        raise RuntimeError("response has not been started")
    declared = _apply_head(request, response)
    body = result[0] if single else b"".join(chunks)
    if rest is not None or (declared is not None and len(body) < declared):
        # streamed as it comes; a body shorter than its Content-Length closes the connection
        request.body = StreamBody(rest if rest is not None else [body], close)
        return
    request.body = body[:declared] if declared is not None else body
    if close is not None:
        close()


def _file_body(request: Request, path: str, offset: int, size: int) -> None:
    declared = _declared_length(request)
    length = max(size - offset, 0)
    length = length if declared is None else min(declared, length)
    request.headers_out.set("Content-Length", str(length))
    sendfile = bool(request.per_dir.get("EnableSendfile"))
    request.body = FileBody(path, offset, length, sendfile=sendfile)


def _apply_head(request: Request, response: Response) -> int | None:
    """The application's status and headers onto the request; returns the Content-Length the
    response now declares (the first one among its headers), if any."""
    request.status = response.code
    request.content_type = None
    headers = request.headers_out
    earlier = bool(headers)  # fields set before the handler ran come first
    declared = None
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == "content-type":
            request.content_type = value
            continue
        if lowered == "content-length" and declared is None:
            declared = value
        headers.add(name, value)
    return _declared_length(request) if earlier else _length(declared)
