"""Value parsers for the core's directives: Listen, Options, AllowOverride, LogLevel, ErrorDocument.

Each returns a frozen value that the processor stores and the HTTP layer or the master reads later.
Error texts are Apache's (core.c, listen.c, log.c). Runs only while a configuration is processed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyhttpd.config.directives import Command, atoi
from pyhttpd.errors import DirectiveError

if TYPE_CHECKING:
    from pyhttpd.config.model import ServerConfig

LOG_LEVELS = (
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
    "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
)  # fmt: skip
OPTIONS = (
    "None", "All", "ExecCGI", "FollowSymLinks", "Includes", "IncludesNOEXEC", "Indexes",
    "MultiViews", "SymLinksIfOwnerMatch",
)  # fmt: skip
OVERRIDES = ("AuthConfig", "FileInfo", "Indexes", "Limit", "Options", "Nonfatal")


@dataclass(frozen=True)
class ListenAddress:
    """One Listen line: host ('' for every address), port, and optional protocol."""

    host: str
    port: int
    protocol: str = ""

    def __str__(self) -> str:
        if not self.host:
            return f"*:{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


_LISTEN = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]]+)):(?P<port>.*)$")


def listen(cmd: Command, *words: str) -> ListenAddress:
    if not words or len(words) > 2:
        raise DirectiveError("Listen requires 1 or 2 arguments.")
    text = words[0]
    match = _LISTEN.match(text)
    host, port_text = ("", text)
    if match:
        host = match.group("v6") or match.group("host") or ""
        port_text = match.group("port")
    if host == "*":
        host = ""
    if not port_text:
        raise DirectiveError("Port must be specified")
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise DirectiveError("Invalid address or port")
    return ListenAddress(host, int(port_text), words[1].lower() if len(words) == 2 else "")


@dataclass(frozen=True)
class OptionsLine:
    """One Options line: absolute (replace) or relative (+/- on the inherited set)."""

    add: frozenset[str]
    remove: frozenset[str]
    relative: bool


_CANONICAL_OPTIONS = {name.lower(): name for name in OPTIONS}
# Apache's OPT_ALL: everything but MultiViews and SymLinksIfOwnerMatch.
_ALL_OPTIONS = frozenset({"ExecCGI", "FollowSymLinks", "Includes", "Indexes"})


def options(cmd: Command, raw: str) -> OptionsLine:
    """Apache's set_options: all words signed or none; All and None only unsigned."""
    from pyhttpd.config.grammar import split_words

    add: set[str] = set()
    remove: set[str] = set()
    signed: bool | None = None
    for word in split_words(raw):
        sign = word[0] if word[:1] in ("+", "-") else ""
        name = _CANONICAL_OPTIONS.get(word.lstrip("+-").lower())
        if name is None:
            raise DirectiveError(f"Illegal option {word.lstrip('+-')}")
        if signed is not None and signed != bool(sign):
            raise DirectiveError("Either all Options must start with + or -, or no Option may.")
        signed = bool(sign)
        if name in ("None", "All") and sign:
            raise DirectiveError(f"Illegal option {word}")
        expanded = _ALL_OPTIONS if name == "All" else frozenset() if name == "None" else {name}
        (remove if sign == "-" else add).update(expanded)
    return OptionsLine(frozenset(add), frozenset(remove), bool(signed))


def allow_override(cmd: Command, raw: str) -> frozenset[str]:
    from pyhttpd.config.grammar import split_words

    granted: set[str] = set()
    canonical = {name.lower(): name for name in OVERRIDES}
    for word in split_words(raw):
        name, _, _ = word.partition("=")
        lowered = name.lower()
        if lowered == "none":
            continue
        if lowered == "all":
            granted.update(o for o in OVERRIDES if o != "Nonfatal")
        elif lowered == "nonfatal":
            kind = word.partition("=")[2].lower()
            if kind not in ("override", "unknown", "all"):
                raise DirectiveError("=Override, =Unknown or =All expected after Nonfatal")
            granted.add(canonical[lowered])
        elif lowered in canonical:
            granted.add(canonical[lowered])
        else:
            raise DirectiveError(f"Illegal override option {word}")
    return frozenset(granted)


def log_level(cmd: Command, *words: str) -> tuple[tuple[str, str], ...]:
    """`LogLevel [module:]level ...` -> ((module or '', level), ...)."""
    if not words:
        raise DirectiveError("LogLevel requires at least one argument")
    result: list[tuple[str, str]] = []
    for word in words:
        module, _, level = word.rpartition(":")
        if level.lower() not in LOG_LEVELS:
            raise DirectiveError(
                "LogLevel requires level keyword: one of emerg/alert/crit/error/warn/notice/info/"
                "debug/trace1/trace2/trace3/trace4/trace5/trace6/trace7/trace8"
            )
        result.append((module, level.lower()))
    return tuple(result)


@dataclass(frozen=True)
class ErrorDocument:
    """ErrorDocument code -> local URL path, external URL, or literal text."""

    status: int
    target: str


def error_document(cmd: Command, code: str, target: str) -> ErrorDocument:
    status = atoi(code)
    if not (400 <= status <= 599) or not code.isdigit():
        raise DirectiveError(f"Unsupported HTTP response code {code}")
    return ErrorDocument(status, target)


def nonnegative(cmd: Command, value: str) -> int:
    """LimitRequest* limits: Apache's atoi, then a refusal of negatives."""
    number = atoi(value)
    if number < 0:
        raise DirectiveError(f'{cmd.name} "{value}" must be a non-negative integer')
    return number


def request_body_limit(cmd: Command, value: str) -> int:
    if not value.isdigit():
        raise DirectiveError("LimitRequestBody argument is not parsable.")
    number = int(value)
    if number > 2**63 - 1:
        raise DirectiveError("LimitRequestBody argument is out of range.")
    return number


_TIMEOUT = re.compile(r"^(\d+)(ms|s|mi|h)?$", re.IGNORECASE)
_TIMEOUT_SCALE = {"ms": 0.001, "s": 1.0, "mi": 60.0, "h": 3600.0}


def seconds(cmd: Command, value: str) -> float:
    """ap_timeout_parameter_parse: an integer with an optional ms / s / mi / h unit."""
    match = _TIMEOUT.match(value.strip())
    if not match:
        raise DirectiveError(f"{cmd.name} has wrong format")
    return int(match.group(1)) * _TIMEOUT_SCALE[(match.group(2) or "s").lower()]


def timeout_atoi(cmd: Command, value: str) -> float:
    """Timeout itself goes through atoi in Apache: junk is 0 seconds."""
    return float(atoi(value))


def default_charset(cmd: Command, value: str) -> str | bool:
    lowered = value.lower()
    if lowered == "off":
        return False
    if lowered == "on":
        return "iso-8859-1"
    return value


def hostname_lookups(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("on", "off", "double"):
        raise DirectiveError('parameter must be "on", "off", or "double"')
    return lowered


def server_tokens(cmd: Command, *words: str) -> str:
    """Min(imal), Major, Minor, Prod(uctOnly), OS, Full; Apache accepts prefixes of the long forms."""
    word = words[0].lower()
    for name, accepted in (
        ("Minimal", ("min", "minimal")),
        ("Major", ("major",)),
        ("Minor", ("minor",)),
        ("Prod", ("prod", "productonly")),
        ("OS", ("os",)),
        ("Full", ("full",)),
    ):
        if word in accepted:
            return name
    return "Full"


def server_signature(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("on", "off", "email"):
        raise DirectiveError('ServerSignature: use "On", "Off" or "EMail"')
    return lowered


def trace_enable(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("on", "off", "extended"):
        raise DirectiveError("TraceEnable must be one of 'on', 'off', or 'extended'")
    return lowered


def extended_status(config: ServerConfig) -> bool:
    """ExtendedStatus as Apache 2.4's core reads it: the directive when it is set, else On exactly
    when mod_status is loaded (the module turns the default On). Off, the children keep only each
    worker's state and counts in the scoreboard, not the request line, client, vhost, times and
    CPU of each request: work that Apache's documentation warns "can slow down the server"."""
    value = config.get("ExtendedStatus")
    return config.module_loaded("status_module") if value is None else bool(value)
