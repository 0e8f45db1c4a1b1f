"""The core's containers: <VirtualHost>, <Directory>, <Files>, <Location>, their Match forms, <If>.

Their handlers validate the opening tag's arguments and return a `SectionMatch` (or the vhost's
addresses); the processor files the body as a scope of its own. Read-phase conditionals
(<IfModule>, <IfDefine>…) have rows here only so that `-L` and <IfSection> know them: the reader
consumes them before processing. Runs only while a configuration is processed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyhttpd.config.directives import (
    CONF_ANYWHERE,
    OR_ALL,
    RSRC_CONF,
    ArgShape,
    Command,
    Context,
    DirectiveSpec,
)
from pyhttpd.errors import DirectiveError
from pyhttpd.http.expr import parse


@dataclass(frozen=True)
class SectionMatch:
    """What a section applies to: a literal path or wildcard, or a compiled regular expression."""

    pattern: str
    regex: re.Pattern[str] | None = None


def _pattern(
    cmd: Command, words: tuple[str, ...], *, force_regex: bool, path: bool
) -> SectionMatch:
    shown = f"<{cmd.node.name}>"
    if not words or words[0] == "":
        raise DirectiveError(f"{shown} directive requires additional arguments")
    regex = force_regex
    if words[0] == "~":
        if len(words) != 2:
            raise DirectiveError(f"{shown} directive requires additional arguments")
        regex, words = True, words[1:]
    elif len(words) != 1:
        raise DirectiveError(f"{shown} directive takes exactly one argument")
    if regex:
        try:
            return SectionMatch(words[0], re.compile(words[0]))
        except re.error:
            raise DirectiveError("Regex could not be compiled") from None
    pattern = words[0]
    if path and pattern != "/":
        pattern = cmd.server_path(pattern).rstrip("/") + "/"
    return SectionMatch(pattern)


def directory(cmd: Command, *words: str) -> SectionMatch:
    return _pattern(cmd, words, force_regex=False, path=True)


def directory_match(cmd: Command, *words: str) -> SectionMatch:
    return _pattern(cmd, words, force_regex=True, path=True)


def location(cmd: Command, *words: str) -> SectionMatch:
    return _pattern(cmd, words, force_regex=False, path=False)


def location_match(cmd: Command, *words: str) -> SectionMatch:
    return _pattern(cmd, words, force_regex=True, path=False)


def files(cmd: Command, *words: str) -> SectionMatch:
    return _pattern(cmd, words, force_regex=False, path=False)


def files_match(cmd: Command, *words: str) -> SectionMatch:
    return _pattern(cmd, words, force_regex=True, path=False)


def virtual_host(cmd: Command, *addresses: str) -> tuple[str, ...]:
    if not addresses:
        raise DirectiveError("<VirtualHost> directive requires additional arguments")
    for address in addresses:
        host, _, port = address.rpartition(":") if not address.endswith("]") else (address, "", "")
        if port and port != "*" and not port.isdigit():
            raise DirectiveError(f"Invalid address or port in <VirtualHost {address}>")
        if not (host or port):
            raise DirectiveError("<VirtualHost> directive requires additional arguments")
    return addresses


def expression(cmd: Command, raw: str) -> str:
    """<If "expr"> / <ElseIf "expr">: checked now, as Apache refuses to start on a bad one; kept
    as text, which the HTTP layer evaluates per request."""
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]
    if not text:
        raise DirectiveError(f"<{cmd.node.name}> needs an expression")
    parse(text)
    return text


def no_expression(cmd: Command, raw: str) -> str:
    if raw.strip():
        raise DirectiveError("<Else> does not take an argument")
    return ""


def methods(cmd: Command, *words: str) -> frozenset[str]:
    if not words:
        raise DirectiveError(f"<{cmd.node.name}> requires at least one argument")
    return frozenset(words)


def read_phase_only(cmd: Command, *words: str) -> None:
    """Rows for sections the reader consumes; reaching here would be a reader bug."""
    raise DirectiveError(f"{cmd.node.display_name} was not handled while reading")


def _section(
    name: str, contexts: Context, handler: object, help: str, *, raw: bool = False, **kw: object
) -> DirectiveSpec:
    shape = ArgShape.RAW_ARGS if raw else ArgShape.TAKE_ARGV
    return DirectiveSpec(name, shape, contexts, handler, help, section=True, **kw)  # type: ignore[arg-type]


_DIR_HELP = "Container for directives affecting resources located in the specified directories"
_LOC_HELP = "Container for directives affecting resources accessed through the specified URL paths"
_FILES_HELP = "Container for directives affecting files matching specified patterns"

SECTIONS: tuple[DirectiveSpec, ...] = (
    _section(
        "<VirtualHost",
        RSRC_CONF,
        virtual_host,
        "Container to map directives to a particular virtual host, takes one or more host "
        "addresses",
        server_only=True,
    ),
    _section("<Directory", RSRC_CONF, directory, _DIR_HELP),
    _section("<DirectoryMatch", RSRC_CONF, directory_match, _DIR_HELP),
    _section("<Location", RSRC_CONF, location, _LOC_HELP),
    _section("<LocationMatch", RSRC_CONF, location_match, _LOC_HELP),
    _section("<Files", OR_ALL, files, _FILES_HELP),
    _section("<FilesMatch", OR_ALL, files_match, _FILES_HELP),
    _section(
        "<If", OR_ALL, expression, "Container for directives to be conditionally applied", raw=True
    ),
    _section(
        "<ElseIf",
        OR_ALL,
        expression,
        "Container for directives to be conditionally applied",
        raw=True,
    ),
    _section(
        "<Else",
        OR_ALL,
        no_expression,
        "Container for directives to be conditionally applied",
        raw=True,
    ),
    _section(
        "<Limit",
        OR_ALL,
        methods,
        "Container for authentication directives when accessed using specified HTTP methods",
    ),
    _section(
        "<LimitExcept",
        OR_ALL,
        methods,
        "Container for authentication directives to be applied when any HTTP method other than "
        "those specified is used to access the resource",
    ),
    _section(
        "<IfModule",
        OR_ALL,
        read_phase_only,
        "Container for directives based on existence of specified modules",
    ),
    _section(
        "<IfDefine",
        OR_ALL,
        read_phase_only,
        "Container for directives based on existence of command line defines",
    ),
    _section(
        "<IfFile",
        OR_ALL,
        read_phase_only,
        "Container for directives based on existence of files on disk",
    ),
    _section(
        "<IfDirective",
        OR_ALL,
        read_phase_only,
        "Container for directives based on existence of named directive",
    ),
    _section(
        "<IfSection",
        OR_ALL,
        read_phase_only,
        "Container for directives based on existence of named section",
    ),
)

__all__ = ["SECTIONS", "SectionMatch", "CONF_ANYWHERE"]
