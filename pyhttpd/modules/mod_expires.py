"""expires_module (mod_expires.c): ExpiresActive, ExpiresByType and ExpiresDefault.

Directive table on top; the fixups hook and the output filter that set Expires and
Cache-Control: max-age arrive with the HTTP layer. Codes are parsed here into Apache's
internal form: a base ('A' access, 'M' modification) and a number of seconds.
Runs only while a configuration is processed.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhttpd.config.directives import (
    OR_ALL,
    ArgShape,
    Command,
    DirectiveSpec,
    Merge,
    atoi,
)
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

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


def on_off(cmd: Command, on: bool) -> bool:
    """FLAG handler: the processor passes On/Off as a bool (directives.take_flag expects text)."""
    return on


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
        on_off,
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

MODULE = Module(
    name="expires_module",
    source="mod_expires.c",
    directives=DIRECTIVES,
    description="Expires and Cache-Control: max-age from access or modification time",
)
