"""setenvif_module (mod_setenvif.c): SetEnvIf, SetEnvIfNoCase, SetEnvIfExpr, BrowserMatch and
BrowserMatchNoCase.

Directive table on top. All five directives feed one ordered list under the `SetEnvIf` key, as
Apache keeps one conditionals array; SetEnvIfExpr's expression is parsed here, so a bad one fails
at start-up. Hooks at the bottom, as Apache's match_headers: post_read_request applies the rules
written at server or virtual-host level, header_parser those from <Directory>, <Location>, <Files>,
<If> and .htaccess (the per-directory list minus the server's prefix). The table code runs while a
configuration is processed, the hooks in the thread serving the request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyhttpd.config.directives import OR_ALL, ArgShape, Command, DirectiveSpec, Handler, Merge
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.http.expr import Expression, evaluate_match, parse, regsub, request_header
from pyhttpd.http.phases import DECLINED, HookContext, Hooks, Phase, replayable

if TYPE_CHECKING:
    from pyhttpd.http.request import Request

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
    compiled: Expression | None = None  # `expression`, parsed
    # `attribute` lower-cased, once: match_headers compares it for every rule of every request
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", self.attribute.lower())


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
    compiled = parse(words[0], f'Could not parse expression "{words[0]}"')
    variables = _variables(cmd, words[1:])
    return SetEnvIfRule("", "", variables, expression=words[0], compiled=compiled)


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

# --- hooks ---------------------------------------------------------------------------------------


def _attribute(rule: SetEnvIfRule, request: Request) -> str | None:
    """The text a rule tests: a special attribute, a header (or env var), or a header-name regex."""
    special = rule.attribute.lower()
    if special in ("remote_addr", "remote_host"):  # no HostnameLookups: the address
        request.replayable = False  # the response now depends on the client
        return request.client[0]
    if special == "server_addr":
        return request.local[0]
    if special == "request_uri":
        return request.uri
    if special == "request_method":
        return request.method
    if special == "request_protocol":
        return request.head.protocol
    if rule.attribute_regex is not None:
        value = None
        for name in dict.fromkeys(name for name, _ in request.head.headers):
            if rule.attribute_regex.search(name):
                value = request_header(request, name)  # the last matching header wins
        return value
    value = request_header(request, rule.attribute)
    return request.environment.get(rule.attribute) if value is None else value


def match_headers(request: Request, rules: tuple[SetEnvIfRule, ...]) -> None:
    """Apache's match_headers: consecutive rules on one attribute share its value, read once."""
    environment = request.environment
    last: str | None = None
    value = ""
    for rule in rules:
        match: re.Match[str] | None = None
        if rule.compiled is not None:
            matched, match = evaluate_match(rule.compiled, request)
        else:
            if rule.key != last:
                last = rule.key
                value = _attribute(rule, request) or ""
            if rule.regex is None:
                found = value.lower() if rule.nocase else value
                matched = (rule.pattern.lower() if rule.nocase else rule.pattern) in found
            else:
                match = rule.regex.search(value)
                matched = match is not None
        if not matched:
            continue
        for variable in rule.variables:
            if variable.value is None:
                environment.pop(variable.name, None)
            elif rule.regex is None and rule.compiled is None:
                environment[variable.name] = variable.value
            else:
                environment[variable.name] = regsub(variable.value, match)


def _server_rules(request: Request) -> tuple[SetEnvIfRule, ...]:
    return tuple(request.server.get("SetEnvIf") or ())


def post_read_request(request: Request) -> int:
    match_headers(request, _server_rules(request))
    return DECLINED


def header_parser(request: Request) -> int:
    """Only the rules written in per-directory sections: the server's run at post_read_request."""
    rules = tuple(request.per_dir.get("SetEnvIf") or ())
    server = _server_rules(request)
    if rules[: len(server)] == server:
        rules = rules[len(server) :]
    match_headers(request, rules)
    return DECLINED


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.POST_READ_REQUEST, replayable(post_read_request))
    hooks.add(Phase.HEADER_PARSER, replayable(header_parser))


MODULE = Module(
    name="setenvif_module",
    source="mod_setenvif.c",
    directives=DIRECTIVES,
    description="set environment variables from request attributes matched by regex or ap_expr",
    register_hooks=register,
)
