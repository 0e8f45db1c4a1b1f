"""expires_module (mod_expires.c): ExpiresActive, ExpiresByType and ExpiresDefault.

Directive table on top: codes are parsed into Apache's internal form, a base ('A' access,
'M' modification) and a number of seconds. The output_headers hook at the bottom is Apache's
MOD_EXPIRES filter: for a response that is not an error (no ap_die, status below 400) and has no
Expires yet, the code for its type (ExpiresByType, then `type/*`, then ExpiresDefault) sets
Expires and merges `max-age=N` into Cache-Control. It runs first among output_headers hooks, so
mod_headers sees (and may override) its result, as in Apache. The table code runs while a
configuration is processed, the hook in the thread serving the request.
"""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyhttpd.config.directives import (
    OR_ALL,
    ArgShape,
    Command,
    DirectiveSpec,
    Merge,
    atoi,
    take_flag,
)
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable

if TYPE_CHECKING:
    from pyhttpd.http.messages import Headers
    from pyhttpd.http.request import Request

# (prefix length Apache compares, unit, seconds), in mod_expires' order of tests.
_UNITS = (
    (1, "years", 60 * 60 * 24 * 365),
    (2, "months", 60 * 60 * 24 * 30),
    (1, "weeks", 60 * 60 * 24 * 7),
    (1, "days", 60 * 60 * 24),
    (1, "hours", 60 * 60),
    (2, "minutes", 60),
    (1, "seconds", 1),
)


@dataclass(frozen=True)
class ExpiresCode:
    """`access plus 1 month` -> base "A", 2592000 seconds (Apache's "A2592000")."""

    base: str
    seconds: int

    def __str__(self) -> str:
        return f"{self.base}{self.seconds}"


@dataclass(frozen=True)
class ExpiresByType:
    mime_type: str
    code: ExpiresCode


def _prefix(word: str, keyword: str, length: int) -> bool:
    """C's strncasecmp(word, keyword, length) == 0."""
    return word[:length].lower() == keyword[:length]


def check_code(code: str) -> ExpiresCode:
    """Port of check_code: `<base> [plus] {<num> <type>}*`, or the old `A3600` / `M3600` form."""
    if code[:1] in ("A", "M"):  # 0.0.4 compatibility: taken as is, as Apache does
        return ExpiresCode(code[0], atoi(code[1:]))
    words = list(split_words(code))
    word = words.pop(0) if words else ""
    if _prefix(word, "now", 1) or _prefix(word, "access", 1):
        base = "A"
    elif _prefix(word, "modification", 1):
        base = "M"
    else:
        raise DirectiveError(f"bad expires code, unrecognised <base> '{word}'")
    word = words.pop(0) if words else ""
    if _prefix(word, "plus", 1):
        word = words.pop(0) if words else ""
    total = 0
    while word:
        if not word[0].isdigit():
            raise DirectiveError(f"bad expires code, numeric value expected <num> '{word}'")
        number = atoi(word)
        unit = words.pop(0) if words else ""
        if not unit:
            raise DirectiveError("bad expires code, missing <type>")
        for length, name, seconds in _UNITS:
            if _prefix(unit, name, length):
                total += number * seconds
                break
        else:
            raise DirectiveError(f"bad expires code, unrecognised <type>'{unit}'")
        word = words.pop(0) if words else ""
    return ExpiresCode(base, total)


def expires_by_type(cmd: Command, mime_type: str, code: str) -> ExpiresByType:
    if "/" not in mime_type:
        raise DirectiveError("Invalid mimetype: should contain a slash")
    try:
        return ExpiresByType(mime_type, check_code(code))
    except DirectiveError as error:
        raise DirectiveError(f"'ExpiresByType {mime_type} {code}': {error}") from None


def expires_default(cmd: Command, code: str) -> ExpiresCode:
    try:
        return check_code(code)
    except DirectiveError as error:
        raise DirectiveError(f"'ExpiresDefault {code}': {error}") from None


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "ExpiresActive",
        ArgShape.FLAG,
        OR_ALL,
        take_flag,
        "Limited to 'on' or 'off'",
        override="Indexes",
        default=False,
    ),
    DirectiveSpec(
        "ExpiresByType",
        ArgShape.TAKE2,
        OR_ALL,
        expires_by_type,
        "a MIME type followed by an expiry date code",
        merge=Merge.APPEND,
        override="Indexes",
    ),
    DirectiveSpec(
        "ExpiresDefault",
        ArgShape.TAKE1,
        OR_ALL,
        expires_default,
        "an expiry date code",
        override="Indexes",
    ),
)

# --- hook ----------------------------------------------------------------------------------------


def code_for(request: Request) -> ExpiresCode | None:
    """ExpiresByType for the bare type (the last one written wins), `major/*`, ExpiresDefault."""
    by_type = tuple(request.per_dir.get("ExpiresByType") or ())
    content_type = request.content_type or request.headers_out.get("Content-Type") or ""
    if content_type:
        bare = content_type.split(";")[0].rstrip().lower()
        for entry in reversed(by_type):
            if entry.mime_type.lower() == bare:
                return entry.code
        if "/" in content_type and any(e.mime_type.endswith("/*") for e in by_type):
            wildcard = content_type.split("/")[0].lower() + "/*"
            for entry in reversed(by_type):
                if entry.mime_type.lower() == wildcard:
                    return entry.code
    default = request.per_dir.get("ExpiresDefault")
    return default if isinstance(default, ExpiresCode) else None


def _merge(headers: Headers, name: str, value: str) -> None:
    """apr_table_merge: `, value` appended to the first field of that name, or a new field."""
    values = headers.get_all(name)
    if not values:
        headers.add(name, value)
        return
    fields = list(headers)
    index = next(i for i, (key, _) in enumerate(fields) if key.lower() == name.lower())
    fields[index] = (fields[index][0], f"{fields[index][1]}, {value}")
    for key in {key.lower() for key, _ in fields}:
        headers.remove(key)
    for key, field_value in fields:
        headers.add(key, field_value)


def expires_filter(request: Request) -> int:
    """set_expiration_fields, in microseconds as Apache counts: max-age is truncated seconds."""
    if request.notes.get("error_response") or request.status >= 400:
        return DECLINED
    if not request.per_dir.get("ExpiresActive") or "Expires" in request.headers_out:
        return DECLINED
    code = code_for(request)
    if code is None:
        return DECLINED
    request.replayable = False  # Expires and max-age count from now
    now = int(request.start_time * 1_000_000)
    if code.base == "M":
        if request.stat is None:
            return DECLINED  # no file: nothing to base it on (and no error, as Apache)
        base = request.stat.st_mtime_ns // 1000
    else:
        base = now
    expires = max(base + code.seconds * 1_000_000, now)
    _merge(request.headers_out, "Cache-Control", f"max-age={(expires - now) // 1_000_000}")
    date = email.utils.formatdate(expires // 1_000_000, usegmt=True)
    request.headers_out.set("Expires", date)
    return OK


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.OUTPUT_HEADERS, replayable(expires_filter), Order.FIRST)


MODULE = Module(
    name="expires_module",
    source="mod_expires.c",
    directives=DIRECTIVES,
    description="Expires and Cache-Control: max-age from access or modification time",
    register_hooks=register,
)
