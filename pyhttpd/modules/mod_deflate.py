"""deflate_module (mod_deflate.c): the DEFLATE output filter, gzip content encoding on the fly.

Directive table on top; the filter at the bottom, in the output_headers phase, for responses
whose chain holds DEFLATE (AddOutputFilterByType or SetOutputFilter, see pyhttpd.http.filters).
As Apache 2.4.71 does (checked side by side): no compression for 204/304, error pages, bodies of
68 bytes or less, a response already carrying a Content-Encoding, or under the `no-gzip` env
variable (`gzip-only-text/html`: only text/html); otherwise `Vary: Accept-Encoding` is added, and
unless the client accepts gzip with q > 0 (or `force-gzip` is set) the body stays as it is.
Compressed: `Content-Encoding: gzip`, the ETag gets `-gzip` inside its quotes, and the gzip
stream is Apache's byte for byte (its fixed header, raw deflate, CRC32 and length trailer).
A body of known size up to IN_MEMORY bytes is compressed at once and gets a new Content-Length;
a larger file or a streamed body is compressed chunk by chunk (chunked on the wire), each chunk
of a StreamBody flushed so that nothing the producer handed over is held back.
Known difference: a Range request gets the identity range (Apache ranges the gzip stream).
Numbers go through C's atoi, as Apache reads them. Directive handlers run while a configuration
is processed; the filter in the thread serving a request.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Iterator

from pyhttpd.config.directives import RSRC_CONF, ArgShape, Command, DirectiveSpec, Merge, atoi
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.http.filters import media_type, output_filter_wanted
from pyhttpd.http.messages import Headers
from pyhttpd.http.phases import HookContext, Hooks, Order, Phase, replayable
from pyhttpd.http.request import FileBody, Request, StreamBody

FILTER = "DEFLATE"
NOTE_KINDS = ("ratio", "input", "output")


def _between(value: str, low: int, high: int, message: str) -> int:
    number = atoi(value)
    if not low <= number <= high:
        raise DirectiveError(message)
    return number


def compression_level(cmd: Command, value: str) -> int:
    return _between(value, 1, 9, "Compression Level must be between 1 and 9")


def window_size(cmd: Command, value: str) -> int:
    return _between(value, 1, 15, "DeflateWindowSize must be between 1 and 15")


def memory_level(cmd: Command, value: str) -> int:
    return _between(value, 1, 9, "DeflateMemLevel must be between 1 and 9")


def buffer_size(cmd: Command, value: str) -> int:
    size = atoi(value)
    if size <= 0:
        raise DirectiveError("DeflateBufferSize should be positive")
    return size


def filter_note(cmd: Command, kind: str, name: str | None = None) -> tuple[str, str]:
    """`DeflateFilterNote [ratio|input|output] name`: (kind, note name)."""
    if name is None:
        return "ratio", kind
    if kind.lower() not in NOTE_KINDS:
        raise DirectiveError(f"Unknown note type {kind}")
    return kind.lower(), name


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "DeflateFilterNote",
        ArgShape.TAKE12,
        RSRC_CONF,
        filter_note,
        "Set a note to report on compression ratio",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "DeflateWindowSize",
        ArgShape.TAKE1,
        RSRC_CONF,
        window_size,
        "Set the Deflate window size (1-15)",
        default=15,
    ),
    DirectiveSpec(
        "DeflateBufferSize",
        ArgShape.TAKE1,
        RSRC_CONF,
        buffer_size,
        "Set the Deflate Buffer Size",
        default=8096,
    ),
    DirectiveSpec(
        "DeflateMemLevel",
        ArgShape.TAKE1,
        RSRC_CONF,
        memory_level,
        "Set the Deflate Memory Level (1-9)",
        default=9,
    ),
    DirectiveSpec(
        "DeflateCompressionLevel",
        ArgShape.TAKE1,
        RSRC_CONF,
        compression_level,
        "Set the Deflate Compression Level (1-9)",
        default=-1,  # zlib's Z_DEFAULT_COMPRESSION (level 6)
    ),
)

# --- the DEFLATE filter ------------------------------------------------------------------------

GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"  # Apache's: no mtime, OS Unix
SMALLEST = 69  # shorter bodies are not worth the gzip overhead (Apache leaves 68 bytes alone)
IN_MEMORY = 1 << 20  # compress bodies up to this size at once, and give them a Content-Length
FILE_CHUNK = 64 * 1024


def accepts_gzip(header: str | None) -> bool:
    """Accept-Encoding lists `gzip` (any case) with no q=0; `*` and x-gzip do not count."""
    for item in (header or "").split(","):
        name, *parameters = item.split(";")
        if name.strip().lower() != "gzip":
            continue
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    return float(value.strip()) > 0
                except ValueError:
                    return True
        return True
    return False


def _known_length(request: Request) -> int | None:
    body = request.body
    if isinstance(body, bytes):
        return len(body)
    if isinstance(body, FileBody):
        return body.length
    declared = request.headers_out.get("Content-Length")
    return int(declared) if declared and declared.isdigit() else None


def _file_chunks(body: FileBody) -> Iterator[bytes]:
    with open(body.path, "rb") as handle:
        handle.seek(body.offset)
        remaining = body.length
        while remaining > 0:
            chunk = handle.read(min(remaining, FILE_CHUNK))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk


def gzip_chunks(
    chunks: Iterable[bytes], request: Request, *, flush_each: bool = False
) -> Iterator[bytes]:
    """Apache's gzip stream over `chunks`; records DeflateFilterNote values when done."""
    per_dir = request.per_dir
    compressor = zlib.compressobj(
        int(per_dir.get("DeflateCompressionLevel", -1)),
        zlib.DEFLATED,
        -int(per_dir.get("DeflateWindowSize", 15)),
        int(per_dir.get("DeflateMemLevel", 9)),
    )
    crc = size = out = 0
    yield GZIP_HEADER
    for chunk in chunks:
        crc, size = zlib.crc32(chunk, crc), size + len(chunk)
        data = compressor.compress(chunk)
        if flush_each and chunk:
            data += compressor.flush(zlib.Z_SYNC_FLUSH)
        out += len(data)
        if data:
            yield data
    data = compressor.flush()
    out += len(data)
    _note(request, size, out)
    yield data + struct.pack("<II", crc, size & 0xFFFFFFFF)


def _note(request: Request, size: int, out: int) -> None:
    values = {
        "input": str(size) if size else "-",
        "output": str(out) if out else "-",
        "ratio": str(out * 100 // size) if size else "-",
    }
    for kind, name in request.per_dir.get("DeflateFilterNote") or ():
        request.notes[name] = values[kind]


def _gzip_etag(etag: str) -> str:
    """deflate_check_etag: "tag" becomes "tag-gzip" (W/ kept)."""
    return etag[:-1] + '-gzip"' if len(etag) > 2 and etag.endswith('"') else etag + "-gzip"


def _replace(request: Request, name: str, value: str) -> None:
    """apr_table_set / mergen: change a field where it stands (append it when absent)."""
    headers = request.headers_out
    if name not in headers:
        headers.set(name, value)
        return
    lowered = name.lower()
    request.headers_out = Headers((n, value if n.lower() == lowered else v) for n, v in headers)


def _move_to_end(request: Request, *names: str) -> None:
    """Keep Apache's order: Vary and Content-Encoding come before Content-Length and -Type."""
    headers = request.headers_out
    for name in names:
        value = headers.get(name)
        if value is not None:
            headers.remove(name)
            headers.set(name, value)


def deflate_out_filter(request: Request) -> int:
    if not output_filter_wanted(request, FILTER) or request.status in (204, 206, 304):
        return 0
    length = _known_length(request)
    if length is not None and length < SMALLEST:
        return 0
    headers, env = request.headers_out, request.environment
    encoding = headers.get("Content-Encoding")
    if encoding and encoding.lower() != "identity":
        return 0
    if "no-gzip" in env:
        return 0
    if "gzip-only-text/html" in env and media_type(request) != "text/html":
        return 0
    vary = headers.get("Vary")
    _replace(request, "Vary", f"{vary}, Accept-Encoding" if vary else "Accept-Encoding")
    if "force-gzip" not in env and not accepts_gzip(request.head.headers.get("Accept-Encoding")):
        _move_to_end(request, "Content-Type")
        return 0
    _compress(request, length)
    return 0


def _compress(request: Request, length: int | None) -> None:
    """The new body first (reading a file may fail: then nothing has changed), then headers."""
    body = request.body
    compressed: bytes | StreamBody
    if isinstance(body, StreamBody):
        compressed = StreamBody(gzip_chunks(body.chunks, request, flush_each=True), body.close)
    elif isinstance(body, FileBody) and (length is None or length > IN_MEMORY):
        compressed = StreamBody(gzip_chunks(_file_chunks(body), request))
    else:
        source = [body] if isinstance(body, bytes) else _file_chunks(body)
        compressed = b"".join(gzip_chunks(source, request))
    request.body = compressed
    headers = request.headers_out
    for name in ("Content-Length", "Content-MD5", "Content-Encoding"):
        headers.remove(name)
    headers.set("Content-Encoding", "gzip")
    etag = headers.get("ETag")
    if etag is not None:
        _replace(request, "ETag", _gzip_etag(etag))
    if isinstance(compressed, bytes):
        request.headers_out.set("Content-Length", str(len(compressed)))
    _move_to_end(request, "Content-Length", "Content-Type")


def register(hooks: Hooks, context: HookContext) -> None:
    # a compressed body is not a file: never replayed
    hooks.add(Phase.OUTPUT_HEADERS, replayable(deflate_out_filter), Order.LAST)


MODULE = Module(
    name="deflate_module",
    source="mod_deflate.c",
    directives=DIRECTIVES,
    description="gzip content encoding on the fly: the DEFLATE output filter",
    register_hooks=register,
)
