"""reqtimeout_module (mod_reqtimeout.c): RequestReadTimeout, time limits for the TLS handshake,
the request header and the request body, optionally raised while data keeps arriving.

Directive table only: the connection engine applies the limits (pyhttpd/http/deadlines.py)
when this module is loaded, since reading a request is the engine's job. Each line sets only the stages it names; later lines in the same scope merge over earlier
ones, and a stage never set is None (the HTTP layer then uses the enclosing server's, then the
default). Runs only while a configuration is processed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from pyhttpd.config.directives import RSRC_CONF, ArgShape, Command, DirectiveSpec
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError


@dataclass(frozen=True)
class Stage:
    """`20-40,MinRate=500`: 20 s at first, raised by 1 s per 500 bytes received, up to 40 s.

    timeout 0 disables the stage; max_timeout 0 means no upper limit; min_rate 0 means fixed.
    """

    timeout: int
    max_timeout: int = 0
    min_rate: int = 0


@dataclass(frozen=True)
class RequestReadTimeout:
    handshake: Stage | None = None
    header: Stage | None = None
    body: Stage | None = None


DEFAULT = RequestReadTimeout(handshake=Stage(0), header=Stage(20, 40, 500), body=Stage(20, 0, 500))
_STAGES = ("handshake", "header", "body")
_STRTOL = re.compile(r"\s*[+-]?\d+")


def _parse_int(text: str) -> int:
    """strtol with mod_reqtimeout's three errors."""
    match = _STRTOL.match(text)
    if not match:
        raise DirectiveError(f"Value '{text}' not numerical")
    rest = text[match.end() :]
    if rest:
        raise DirectiveError(f"Cannot parse '{rest}'")
    value = int(match.group(0))
    if value < 0:
        raise DirectiveError("Value must be non-negative")
    return value


def parse_stage(value: str) -> Stage:
    """One `key=value` value: `N`, or `N[-M],MinRate=R` (MinRate case-insensitive)."""
    lowered = value.lower()
    marker = lowered.find(",minrate=")
    if marker < 0:
        if "-" in value:
            raise DirectiveError("Must set MinRate option if using timeout range")
        return Stage(_parse_int(value))
    initial, rate_text = value[:marker], value[marker + len(",minrate=") :]
    rate = _parse_int(rate_text)
    if rate == 0:
        raise DirectiveError("Minimum data rate must be larger than 0")
    maximum = 0
    if "-" in initial:
        initial, max_text = initial.split("-", 1)
        maximum = _parse_int(max_text)
    timeout = _parse_int(initial)
    if maximum and timeout >= maximum:
        raise DirectiveError("Maximum timeout must be larger than initial timeout")
    return Stage(timeout, maximum, rate)


def request_read_timeout(cmd: Command, raw: str) -> RequestReadTimeout:
    result: RequestReadTimeout = cmd.scope.get("RequestReadTimeout") or RequestReadTimeout()
    for word in split_words(raw):
        key, equals, value = word.partition("=")
        if not equals:
            raise DirectiveError(
                "Invalid RequestReadTimeout parameter. Parameter must be in the form 'key=value'"
            )
        try:
            if key.lower() not in _STAGES:
                raise DirectiveError("Unknown RequestReadTimeout parameter")
            stage = parse_stage(value)
        except DirectiveError as error:
            raise DirectiveError(f"RequestReadTimeout: {key}={value}: {error}") from None
        result = replace(result, **{key.lower(): stage})
    return result


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "RequestReadTimeout",
        ArgShape.RAW_ARGS,
        RSRC_CONF,
        request_read_timeout,
        "Set various timeout parameters for TLS handshake and/or reading request headers and body",
        default=DEFAULT,
    ),
)

MODULE = Module(
    name="reqtimeout_module",
    source="mod_reqtimeout.c",
    directives=DIRECTIVES,
    description="time limits for the TLS handshake, request header and body, with minimum rates",
)
