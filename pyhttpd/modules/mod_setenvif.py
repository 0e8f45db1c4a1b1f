"""setenvif_module (mod_setenvif.c): SetEnvIf, SetEnvIfNoCase, SetEnvIfExpr, BrowserMatch and
BrowserMatchNoCase.

Directive table on top; the post_read_request (server-wide rules) and header_parser (per-directory
rules) hooks arrive with the HTTP layer. All five directives feed one ordered list under the
`SetEnvIf` key, as Apache keeps one conditionals array. Runs only while a configuration is
processed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyhttpd.config.directives import OR_ALL, ArgShape, Command, DirectiveSpec, Handler, Merge
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

# Attributes that name a request property rather than a header (matched case-insensitively).
SPECIAL_ATTRIBUTES = frozenset(
    {
        "remote_addr",
        "remote_host",
        "request_uri",
        "request_method",
        "request_protocol",
        "server_addr",
    }
)
_PLAIN_HEADER = re.compile(r"^[-A-Za-z0-9_]*$")
_REGEX_CHARS = frozenset("^.$|()[]*+?{}")


@dataclass(frozen=True)
class EnvVariable:
    """`var=value`, `var` (value "1") or `!var` (unset: `value` None)."""

    name: str
    value: str | None


@dataclass(frozen=True)
class SetEnvIfRule:
    """One rule: an attribute (header, special name, or header-name regex) and a pattern, or an
    ap_expr (`expression`), and the variables to set when it matches."""

    attribute: str
    pattern: str
    variables: tuple[EnvVariable, ...]
    nocase: bool = False
    regex: re.Pattern[str] | None = None  # None when `pattern` is a plain substring
    attribute_regex: re.Pattern[str] | None = None  # when `attribute` is itself a regex
    expression: str = ""


def _is_plain(pattern: str) -> bool:
    """mod_setenvif's non_regex_pattern: no unescaped metacharacter, no escaped letter."""
    escaped = False
    for char in pattern:
        if char == "\\":
            escaped = not escaped
            continue
        if char in _REGEX_CHARS and not escaped:
            return False
        if escaped and char not in _REGEX_CHARS:
            return False
        escaped = False
    return True


def _unescape(pattern: str) -> str:
    return re.sub(r"\\(.)", r"\1", pattern)


def _variables(cmd: Command, words: tuple[str, ...]) -> tuple[EnvVariable, ...]:
    found: list[EnvVariable] = []
    for word in words:
        name, equals, value = word.partition("=")
        if equals and value:
            found.append(EnvVariable(name, value))
        elif name.startswith("!"):
            found.append(EnvVariable(name[1:], None))
        else:
            found.append(EnvVariable(name, "1"))
    if not found:
        raise DirectiveError(f"Missing envariable expression for {cmd.name}")
    return tuple(found)


def _rule(cmd: Command, attribute: str, words: tuple[str, ...], nocase: bool) -> SetEnvIfRule:
    if not words or not words[0]:
        raise DirectiveError(f"Missing regular expression for {cmd.name}")
    pattern, flags = words[0], re.IGNORECASE if nocase else 0
    regex = None
    if _is_plain(pattern):
        pattern = _unescape(pattern)
    else:
        try:
            regex = re.compile(pattern, flags)
        except re.error:
            raise DirectiveError(f"{cmd.name} regex could not be compiled.") from None
    attribute_regex = None
    if attribute.lower() not in SPECIAL_ATTRIBUTES and not _PLAIN_HEADER.match(attribute):
        try:
            attribute_regex = re.compile(attribute, flags)
        except re.error:
            # Apache's text, missing space included.
            raise DirectiveError(f"{cmd.name}Header name regex could not be compiled.") from None
    variables = _variables(cmd, words[1:])
    return SetEnvIfRule(attribute, pattern, variables, nocase, regex, attribute_regex)


def _set_env_if(cmd: Command, raw: str, nocase: bool) -> SetEnvIfRule:
    words = split_words(raw)
    if not words or not words[0]:
        raise DirectiveError(f"Missing header-field name for {cmd.name}")
    return _rule(cmd, words[0], words[1:], nocase)


def set_env_if(cmd: Command, raw: str) -> SetEnvIfRule:
    return _set_env_if(cmd, raw, nocase=False)


def set_env_if_no_case(cmd: Command, raw: str) -> SetEnvIfRule:
    return _set_env_if(cmd, raw, nocase=True)


def set_env_if_expr(cmd: Command, raw: str) -> SetEnvIfRule:
    words = split_words(raw)
    if not words or not words[0]:
        raise DirectiveError(f"Missing expression for {cmd.name}")
    return SetEnvIfRule("", "", _variables(cmd, words[1:]), expression=words[0])


def browser_match(cmd: Command, raw: str) -> SetEnvIfRule:
    return _rule(cmd, "User-Agent", split_words(raw), nocase=False)


def browser_match_no_case(cmd: Command, raw: str) -> SetEnvIfRule:
    return _rule(cmd, "User-Agent", split_words(raw), nocase=True)


def _row(name: str, handler: Handler, help: str) -> DirectiveSpec:
    return DirectiveSpec(
        name,
        ArgShape.RAW_ARGS,
        OR_ALL,
        handler,
        help,
        key="SetEnvIf",
        merge=Merge.APPEND,
        override="FileInfo",
    )


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    _row("SetEnvIf", set_env_if, "A header-name, regex and a list of variables."),
    _row("SetEnvIfNoCase", set_env_if_no_case, "a header-name, regex and a list of variables."),
    _row("SetEnvIfExpr", set_env_if_expr, "an expression and a list of variables."),
    _row("BrowserMatch", browser_match, "A browser regex and a list of variables."),
    _row("BrowserMatchNoCase", browser_match_no_case, "A browser regex and a list of variables."),
)

MODULE = Module(
    name="setenvif_module",
    source="mod_setenvif.c",
    directives=DIRECTIVES,
    description="set environment variables from request attributes matched by regex or ap_expr",
)
