"""The request target -> a decoded, normalised URL path, with Apache's refusals.

Origin form (`/path?query`), absolute form (`http://host/path`) and `*` (OPTIONS only). Bad
percent-encoding is 400; an encoded slash is 404 under AllowEncodedSlashes Off; an encoded NUL is
404; a path that climbs above `/` is 400. Pure functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyhttpd.errors import HttpError

_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_SLASHES = re.compile(r"/{2,}")


@dataclass(frozen=True)
class Target:
    path: str  # decoded and normalised
    raw_path: str
    query: str
    host: str | None  # from an absolute-form target


def parse_target(
    target: str, *, encoded_slashes: str = "off", merge_slashes: bool = True
) -> Target:
    host = None
    if target == "*":
        return Target("*", "*", "", None)
    lowered = target[:8].lower()
    if lowered.startswith(("http://", "https://")):
        rest = target.split("://", 1)[1]
        host, slash, after = rest.partition("/")
        target = "/" + after if slash else "/"
    if not target.startswith("/"):
        raise HttpError(400, f"invalid request-URI {target[:64]}", "AH10244")
    raw_path, _, query = target.partition("?")
    raw_path = raw_path.split("#", 1)[0]
    if "%" not in raw_path and raw_path.isascii():  # nothing to decode (most requests)
        return Target(normalise(raw_path, merge_slashes=merge_slashes), raw_path, query, host)
    if _PERCENT.search(raw_path):
        raise HttpError(400, "bad percent-encoding in request-URI", "AH10244")
    if re.search(r"%2[fF]", raw_path):
        if encoded_slashes == "off":
            raise HttpError(404, "found %2f (encoded '/') in URI path, returning 404", "AH00026")
    if re.search(r"%00", raw_path):
        raise HttpError(404, "encoded NUL in URI path", "AH00026")
    decoded = _unquote(raw_path)
    path = normalise(decoded, merge_slashes=merge_slashes)
    return Target(path, raw_path, query, host)


def _unquote(text: str) -> str:
    data = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text).encode("latin-1")
    return data.decode("utf-8", "surrogateescape")


def normalise(path: str, *, merge_slashes: bool = True) -> str:
    """Resolve `.` and `..` segments; climbing above the root is a 400, as in Apache."""
    if merge_slashes and "//" in path:
        path = _SLASHES.sub("/", path)
    if "/." not in path:  # no dot segment: already normal
        return path
    segments: list[str] = []
    parts = path.split("/")
    for index, part in enumerate(parts[1:], start=1):
        last = index == len(parts) - 1
        if part == ".":
            if last:
                segments.append("")
            continue
        if part == "..":
            if not segments or segments == [""]:
                raise HttpError(400, f"invalid URI path ({path[:64]})", "AH10244")
            segments.pop()
            if last:
                segments.append("")
            continue
        segments.append(part)
    return "/" + "/".join(segments)
