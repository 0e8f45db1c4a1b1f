"""authz_core_module (mod_authz_core.c): Require, the <RequireAll|Any|None> containers,
AuthMerging and AuthzSendForbiddenOnFailure.

Directive table on top. The authz hook and the provider registry (all, env, method, expr here;
ip, host, local, forward-dns from mod_authz_host; user, valid-user from mod_authz_user) arrive
with the HTTP layer, which also resolves provider names: the table cannot see which modules are
loaded, so an unknown provider is not refused here as Apache would. Runs only while a
configuration is processed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyhttpd.config.directives import AUTH_CONF, ArgShape, Command, DirectiveSpec, Merge
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.config.nodes import Node
from pyhttpd.errors import DirectiveError


@dataclass(frozen=True)
class Requirement:
    """One `Require [not] provider args...` line; `args` is the unsplit rest (provider-parsed)."""

    provider: str
    args: str
    negate: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return split_words(self.args)


@dataclass(frozen=True)
class AuthzSection:
    """What <RequireAll>, <RequireAny> or <RequireNone> combine: logic "and"/"or", and negation."""

    logic: str
    negate: bool = False


_SECTIONS = {
    "<requireall": ("<RequireAll>", AuthzSection("and")),
    "<requireany": ("<RequireAny>", AuthzSection("or")),
    "<requirenone": ("<RequireNone>", AuthzSection("or", negate=True)),
}
_DEFAULT = ("<RequireAny>", AuthzSection("or"))  # the implicit section of a <Directory> etc.
_FIRST_WORD = re.compile(r"\s*(\"(?:\\.|[^\"])*\"?|'(?:\\.|[^'])*'?|\S+)\s*")


def on_off(cmd: Command, on: bool) -> bool:
    """FLAG handler: the processor passes On/Off as a bool (directives.take_flag expects text)."""
    return on


def _take_word(text: str) -> tuple[str, str]:
    """Apache's ap_getword_conf: the first (possibly quoted) word and the rest of the text."""
    match = _FIRST_WORD.match(text)
    if not match:
        return "", ""
    words = split_words(match.group(1))
    return (words[0] if words else ""), text[match.end() :]


def _enclosing(cmd: Command) -> tuple[str, AuthzSection]:
    """The innermost authorization container around this line, or the implicit <RequireAny>."""
    for name in reversed(cmd.section_path):
        found = _SECTIONS.get(name.lower())
        if found:
            return found
    return _DEFAULT


def require(cmd: Command, raw: str) -> Requirement:
    provider, rest = _take_word(raw)
    negate = provider.lower() == "not"
    if negate:
        provider, rest = _take_word(rest)
    if not provider:
        raise DirectiveError(f"Unknown Authz provider: {provider}")
    if negate:
        shown, section = _enclosing(cmd)
        if section.logic == "or":
            raise DirectiveError(
                f"negative {cmd.name} directive has no effect in {shown} directive"
            )
    return Requirement(provider, rest.strip(), negate)


def _has_authorization(children: tuple[Node, ...]) -> bool:
    """Whether a container's body holds a Require or a nested container (through <Limit>)."""
    for child in children:
        key = child.key
        if key == "require" or key in _SECTIONS:
            return True
        if key in ("<limit", "<limitexcept") and _has_authorization(child.children):
            return True
    return False


def require_section(cmd: Command, raw: str) -> AuthzSection:
    shown, section = _SECTIONS[cmd.node.key]
    if raw.strip():
        raise DirectiveError(f"{shown} directive doesn't take additional arguments")
    if not _has_authorization(cmd.node.children):
        raise DirectiveError(f"{shown} directive contains no authorization directives")
    parent_shown, parent = _enclosing(cmd)
    if section.negate and parent.logic == "or":
        raise DirectiveError(f"{shown} directive has no effect in {parent_shown} directive")
    return section


def auth_merging(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("off", "and", "or"):
        raise DirectiveError(f"{cmd.name} must be one of: Off | And | Or")
    return lowered


def _section(name: str, help: str) -> DirectiveSpec:
    return DirectiveSpec(
        name,
        ArgShape.RAW_ARGS,
        AUTH_CONF,
        require_section,
        help,
        section=True,
        override="AuthConfig",
    )


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "Require",
        ArgShape.RAW_ARGS,
        AUTH_CONF,
        require,
        "specifies authorization directives which one must pass (or not) for a request to suceeed",
        merge=Merge.APPEND,
        override="AuthConfig",
    ),
    _section(
        "<RequireAll",
        "container for grouping authorization directives of which none must fail and at least "
        "one must pass for a request to succeed",
    ),
    _section(
        "<RequireAny",
        "container for grouping authorization directives of which one must pass for a request "
        "to succeed",
    ),
    _section(
        "<RequireNone",
        "container for grouping authorization directives of which none must pass for a request "
        "to succeed",
    ),
    DirectiveSpec(
        "AuthMerging",
        ArgShape.TAKE1,
        AUTH_CONF,
        auth_merging,
        "controls how a <Directory>, <Location>, or similar directive's authorization "
        "directives are combined with those of its predecessor",
        override="AuthConfig",
        default="off",
    ),
    DirectiveSpec(
        "AuthzSendForbiddenOnFailure",
        ArgShape.FLAG,
        AUTH_CONF,
        on_off,
        "Controls if an authorization failure should result in a '403 FORBIDDEN' response "
        "instead of the HTTP-conforming '401 UNAUTHORIZED'",
        override="AuthConfig",
        default=False,
    ),
)

MODULE = Module(
    name="authz_core_module",
    source="mod_authz_core.c",
    directives=DIRECTIVES,
    description="Require and its containers: authorization logic over pluggable providers",
)
