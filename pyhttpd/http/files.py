"""Static file responses: ETag and Last-Modified, conditional requests, byte ranges.

Apache's rules: FileETag picks the tag's parts (default `MTime Size`: `"<size hex>-<mtime µs hex>"`);
If-Match / If-Unmodified-Since fail with 412, If-None-Match / If-Modified-Since give 304 for GET
and HEAD; one Range gives 206 with Content-Range, several give multipart/byteranges, none
satisfiable gives 416. Pure functions of a Request and a stat result; the connection sends the
bytes (with sendfile for whole files and single ranges).
"""

from __future__ import annotations

import os
from email.utils import parsedate_to_datetime

from pyhttpd.config.model import Settings
from pyhttpd.errors import HttpError
from pyhttpd.http.request import FileBody, Request, file_identity
from pyhttpd.http.writer import http_date_of

DEFAULT_ETAG = frozenset({"mtime", "size"})  # FileETag's default: MTime Size
DEFAULT_MAX_RANGES = 200  # MaxRanges' default; 0 ignores Range, -1 is unlimited


def etag_for(stat: os.stat_result, components: frozenset[str] = DEFAULT_ETAG) -> str | None:
    """Apache's ap_make_etag: the chosen parts in hex, in the order inode, size, mtime (µs)."""
    parts = []
    if "inode" in components:
        parts.append(f"{stat.st_ino:x}")
    if "size" in components:
        parts.append(f"{stat.st_size:x}")
    if "mtime" in components:
        parts.append(f"{stat.st_mtime_ns // 1000:x}")
    return f'"{"-".join(parts)}"' if parts else None


def etag_components(lines: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    """FileETag lines, outermost first, merged as Apache does: a line with an unsigned keyword
    starts afresh, +/- keywords adjust what is inherited."""
    current = set(DEFAULT_ETAG)
    for words in lines:
        if any(word[:1] not in ("+", "-") for word in words):
            current = set()
        for word in words:
            name = word.lstrip("+-").lower()
            expanded = {"inode", "mtime", "size"} if name == "all" else set()
            expanded = expanded or (set() if name == "none" else {name})
            if word.startswith("-"):
                current -= expanded
            else:
                current |= expanded
    return frozenset(current - {"digest"})


def _etag_components_of(per_dir: Settings) -> frozenset[str]:
    return etag_components(per_dir.get("FileETag") or ())


def serve_file(request: Request, path: str, stat: os.stat_result) -> None:
    """Fill the response for a regular file: validators, preconditions, then the body or a range."""
    etag = etag_for(stat, request.per_dir.derived(_etag_components_of))
    modified = int(stat.st_mtime)
    headers = request.headers_out
    headers.set("Last-Modified", http_date_of(modified))
    if etag is not None:
        headers.set("ETag", etag)
    headers.set("Accept-Ranges", "bytes")
    use_sendfile = bool(request.per_dir.get("EnableSendfile"))
    status = _preconditions(request, etag, modified)
    if status == 304:
        request.status = 304
        request.body = b""
        return
    size = stat.st_size
    ranges = _ranges(request, size, etag, modified)
    if ranges is None:
        request.status = 200
        headers.set("Content-Length", str(size))
        identity = file_identity(stat)
        request.body = FileBody(path, 0, size, sendfile=use_sendfile, identity=identity)
        return
    request.status = 206
    if len(ranges) == 1:
        start, end = ranges[0]
        headers.set("Content-Range", f"bytes {start}-{end}/{size}")
        headers.set("Content-Length", str(end - start + 1))
        request.body = FileBody(path, start, end - start + 1, sendfile=use_sendfile)
        return
    request.body = _multipart(request, path, size, ranges)
    headers.set("Content-Length", str(len(request.body)))


def _preconditions(request: Request, etag: str | None, modified: int) -> int:
    """RFC 9110 §13.2.2 order; returns 304 or 200, raises 412."""
    incoming = request.head.headers
    if_match = incoming.get("If-Match")
    if if_match is not None:
        if not _tag_listed(if_match, etag, weak=False):
            raise HttpError(412, close=False)
    else:
        since = _date(incoming.get("If-Unmodified-Since"))
        if since is not None and modified > since:
            raise HttpError(412, close=False)
    if_none = incoming.get("If-None-Match")
    if if_none is not None:
        if _tag_listed(if_none, etag, weak=True):
            if request.method in ("GET", "HEAD"):
                return 304
            raise HttpError(412, close=False)
    elif request.method in ("GET", "HEAD"):
        since = _date(incoming.get("If-Modified-Since"))
        if since is not None and modified <= since:
            return 304
    return 200


def _tag_listed(header: str, etag: str | None, weak: bool) -> bool:
    if header.strip() == "*":
        return True
    for candidate in header.split(","):
        tag = candidate.strip()
        if weak:
            tag = tag.removeprefix("W/")
        if tag == etag:
            return True
    return False


def _date(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return int(parsedate_to_datetime(text).timestamp())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _ranges(
    request: Request, size: int, etag: str | None, modified: int
) -> list[tuple[int, int]] | None:
    header = request.head.headers.get("Range")
    if header is None or request.method != "GET":
        return None
    if_range = request.head.headers.get("If-Range")
    if if_range is not None:
        if if_range.startswith(('"', "W/")):
            if if_range != etag:
                return None
        elif _date(if_range) != modified:
            return None
    unit, _, specs = header.partition("=")
    if unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    for spec in specs.split(","):
        first, dash, last = spec.strip().partition("-")
        if not dash or not (first.isdigit() or first == "") or not (last.isdigit() or last == ""):
            return None  # a malformed Range is ignored, as Apache does
        if first == "":
            if last == "" or int(last) == 0:
                continue
            start, end = max(size - int(last), 0), size - 1
        else:
            start = int(first)
            end = min(int(last), size - 1) if last else size - 1
            if last and int(last) < start:
                return None
        if start < size:
            ranges.append((start, end))
    limit = request.per_dir.get("MaxRanges", DEFAULT_MAX_RANGES)
    if limit >= 0 and len(ranges) > limit:
        return None
    if not ranges:
        request.headers_out.set("Content-Range", f"bytes */{size}")
        raise HttpError(416, close=False)
    return ranges


def _multipart(request: Request, path: str, size: int, ranges: list[tuple[int, int]]) -> bytes:
    boundary = os.urandom(12).hex()  # (secrets would load hashlib: see digests.py)
    content_type = request.content_type or "application/octet-stream"
    parts: list[bytes] = []
    with open(path, "rb") as handle:
        for start, end in ranges:
            handle.seek(start)
            data = handle.read(end - start + 1)
            parts.append(
                (
                    f"\r\n--{boundary}\r\nContent-Type: {content_type}\r\n"
                    f"Content-Range: bytes {start}-{end}/{size}\r\n\r\n"
                ).encode("latin-1")
                + data
            )
    request.content_type = f"multipart/byteranges; boundary={boundary}"
    return b"".join(parts) + f"\r\n--{boundary}--\r\n".encode("latin-1")
