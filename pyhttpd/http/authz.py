"""Authorization, the part shared by mod_authz_core, mod_authz_host and mod_access_compat.

Modules never import each other: what they share lives here.
- The provider record (Apache's authz_provider): a module declares its `Require` providers in
  its Module's `providers`; the configuration hands those of the loaded modules to the Require
  handler, which finds the provider and parses the line when the configuration (or a .htaccess
  file) is read, so an unknown provider or a bad argument is a configuration error, as in Apache.
- The authorization tree (Apache's authz_section_conf): Require lines as `AuthzRule` leaves,
  <RequireAll|Any|None> and the implicit <RequireAny> of a section as `AuthzBlock`s, the
  AuthMerging merge of two sections, and the evaluation (apply_authz_sections) as pure functions.
- Client address helpers: APR's subnet parsing, the host-name domain test and the double-reverse
  lookup used by `Require host` and `allow from example.org`.
Runs in the thread serving a request; providers are declared statically by their modules.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from pyhttpd.errors import DirectiveError, ThreadNeeded
from pyhttpd.http.netmatch import address_of

if TYPE_CHECKING:
    from pyhttpd.http.request import Request


# Apache's registered methods (http_protocol.c): the core answers any other with 501, and
# `Require method` refuses any other name.
KNOWN_METHODS = frozenset(
    "GET HEAD PUT POST DELETE CONNECT OPTIONS TRACE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE "
    "LOCK UNLOCK VERSION-CONTROL CHECKOUT UNCHECKOUT CHECKIN UPDATE LABEL REPORT MKWORKSPACE "
    "MKACTIVITY BASELINE-CONTROL MERGE".split()
)

# request.notes keys shared by the core's directory walk and the access modules.
LAYERS_NOTE = "per_dir_layers"  # the configuration sections merged for the request, in order
SATISFY_ANY_NOTE = "access_compat_satisfy_any"  # "granted" / "denied" under `Satisfy Any`


class AuthzStatus(Enum):
    DENIED = "denied"
    GRANTED = "granted"
    NEUTRAL = "neutral"
    GENERAL_ERROR = "error"
    DENIED_NO_USER = "denied (no authenticated user yet)"


class ProviderError(DirectiveError):
    """A Require line its provider cannot parse; the text is Apache's configuration message."""


# --- the providers ----------------------------------------------------------------------------

AUTHZ_GROUP = "authz"  # AUTHZ_PROVIDER_GROUP
Check = Callable[["Request", str, Any], AuthzStatus]
Parse = Callable[[str], Any]


def _no_parse(args: str) -> Any:
    return None


@dataclass(frozen=True)
class AuthzProvider:
    """One `Require <name> ...` provider, declared in its module's `providers`: `parse` the rest
    of the line when the configuration is read (raising ProviderError), `check` a request."""

    name: str
    check: Check
    parse: Parse = _no_parse
    # whether `check` reads only the request's head and environment (a replay needs no check)
    replayable: bool = False

    @property
    def group(self) -> str:
        return AUTHZ_GROUP


# --- the authorization tree -------------------------------------------------------------------


@dataclass(frozen=True)
class MethodLimit:
    """The methods a <Limit> (or, inverted, <LimitExcept>) applies to; HEAD counts as GET."""

    names: frozenset[str]
    inverted: bool = False

    def covers(self, method: str) -> bool:
        name = "GET" if method == "HEAD" else method
        return (name in self.names) != self.inverted


NO_METHODS = MethodLimit(frozenset())


@dataclass(frozen=True)
class AuthzRule:
    """One `Require [not] provider args` line with its provider and the provider's parse of
    `args` (both found when the line was read); `limit` None means every method."""

    provider: AuthzProvider
    args: str
    negate: bool = False
    limit: MethodLimit | None = None
    parsed: Any = None


@dataclass(frozen=True)
class AuthzBlock:
    """<RequireAll> ("and"), <RequireAny> ("or"), <RequireNone> ("or", negated), or the implicit
    <RequireAny> of a section. `limit` is the <Limit> the block opened in (None: every method);
    a block also applies to every method one of its children applies to."""

    logic: str
    children: tuple[AuthzRule | AuthzBlock, ...]
    negate: bool = False
    limit: MethodLimit | None = NO_METHODS


@dataclass(frozen=True)
class AuthzConfig:
    """One section's authorization: its tree, and AuthMerging ("unset", "off", "and", "or")."""

    block: AuthzBlock | None = None
    merging: str = "unset"


def applies(node: AuthzRule | AuthzBlock, method: str) -> bool:
    """Apache's `limited` bit test: does this node say anything about the method?"""
    if node.limit is None or node.limit.covers(method):
        return True
    return isinstance(node, AuthzBlock) and any(applies(child, method) for child in node.children)


def merge_authz(base: AuthzConfig, new: AuthzConfig) -> AuthzConfig:
    """merge_authz_core_dir_config: AuthMerging Off (the default) lets a section's Require
    replace its parent's; And / Or combine the parent's tree with the section's."""
    if new.merging == "unset" and new.block is None and base.block is not None:
        return base
    if new.merging in ("off", "unset") or not (
        base.block is not None or base.merging in ("and", "or")
    ):
        return new
    if base.block is not None and new.block is not None:
        block: AuthzBlock | None = AuthzBlock(new.merging, (base.block, new.block))
    else:
        block = base.block if base.block is not None else new.block
    return AuthzConfig(block, new.merging)


def evaluate(
    node: AuthzRule | AuthzBlock,
    method: str,
    check: Callable[[AuthzRule], AuthzStatus],
    parent_logic: str = "and",
) -> AuthzStatus:
    """apply_authz_sections: combine the children's results by the block's logic, then negate."""
    if not applies(node, method):
        return AuthzStatus.GRANTED if parent_logic == "and" else AuthzStatus.NEUTRAL
    if isinstance(node, AuthzRule):
        result = check(node)
    else:
        result = AuthzStatus.NEUTRAL
        for child in node.children:
            found = evaluate(child, method, check, node.logic)
            if found is AuthzStatus.GENERAL_ERROR:
                return found
            if found is AuthzStatus.NEUTRAL:
                continue
            if node.logic == "and":
                if found is AuthzStatus.DENIED:
                    result = found
                    break
                if result is AuthzStatus.NEUTRAL or (
                    found is AuthzStatus.DENIED_NO_USER and result is not AuthzStatus.DENIED
                ):
                    result = found
            else:
                if found is AuthzStatus.GRANTED:
                    result = found
                    break
                if result is AuthzStatus.NEUTRAL or (
                    found is AuthzStatus.DENIED_NO_USER and result is AuthzStatus.DENIED
                ):
                    result = found
    if node.negate:
        if result is AuthzStatus.GRANTED:
            return AuthzStatus.DENIED
        if result in (AuthzStatus.DENIED, AuthzStatus.DENIED_NO_USER):
            return AuthzStatus.NEUTRAL
    return result


_DOUBLE_REVERSE_NOTE = "double_reverse_host"


def double_reverse_host(request: Request) -> str | None:
    """ap_get_useragent_host(REMOTE_DOUBLE_REV): the client's reverse-DNS name, if that name
    resolves back to the client's address; None otherwise. Looked up once per request."""
    if _DOUBLE_REVERSE_NOTE in request.notes:
        return request.notes[_DOUBLE_REVERSE_NOTE]  # type: ignore[no-any-return]
    if not request.may_block:
        raise ThreadNeeded()  # a lookup can take seconds: not in event's listener
    client = request.client[0]
    found: str | None = None
    try:
        name = socket.gethostbyaddr(client)[0]
        addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
        wanted = address_of(client)
        if any(address_of(address) == wanted for address in addresses):
            found = name
    except (OSError, UnicodeError):
        found = None
    request.notes[_DOUBLE_REVERSE_NOTE] = found
    return found
