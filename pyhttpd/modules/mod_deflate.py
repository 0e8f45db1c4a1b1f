"""deflate_module (mod_deflate.c): the DEFLATE output filter's zlib settings.

Directive table on top; the DEFLATE (and INFLATE) filters arrive with the HTTP layer, where
AddOutputFilterByType or SetOutputFilter put them in a response's chain. Numbers go through C's
atoi, as Apache reads them. Runs only while a configuration is processed.
"""

from __future__ import annotations

from pyhttpd.config.directives import RSRC_CONF, ArgShape, Command, DirectiveSpec, Merge, atoi
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

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

MODULE = Module(
    name="deflate_module",
    source="mod_deflate.c",
    directives=DIRECTIVES,
    description="gzip content encoding on the fly: the DEFLATE filter's settings",
)
