"""access_compat_module (mod_access_compat.c): Apache 2.2's host-based access control kept for
old configurations: order, allow, deny and Satisfy.

Directive table on top; hooks at the bottom. The rows are named in lower case ("order", "allow",
"deny") because Apache's command table spells them so, and its messages quote those names; the
settings keys are Order, Allow, Deny. Like Apache's module it has no merge function: the last
section (or .htaccess) holding any of its directives decides alone. The access_checker hook
answers 403 with AH01797; under `Satisfy Any` it only records its verdict, and Require (in
mod_authz_core's auth_checker) is skipped when the host check passed, consulted when it failed.
Directive handlers run while a configuration is processed; hooks in the thread serving a request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from pyhttpd.config.directives import AUTH_CONF, ArgShape, Command, DirectiveSpec, Merge
from pyhttpd.config.model import Section
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.http.authz import (
    LAYERS_NOTE,
    SATISFY_ANY_NOTE,
    MethodLimit,
    double_reverse_host,
)
from pyhttpd.http.netmatch import (
    NOT_AN_IP,
    Network,
    in_domain,
    in_network,
    subnet,
)
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable
from pyhttpd.http.request import Request


@dataclass(frozen=True)
class HostRule:
    """One `allow from X` / `deny from X` entry.

    kind: "env" (variable set), "nenv" (variable not set), "all", "ip" (`network`), or "host"
    (a domain suffix matched against the double-reverse client name).
    """

    kind: str
    value: str
    network: Network | None = None


def allow_deny(cmd: Command, from_word: str, where: str) -> HostRule:
    """`allow from ...` / `deny from ...` (ITERATE2: called once per host)."""
    if from_word.lower() != "from":
        raise DirectiveError("allow and deny must be followed by 'from'")
    lowered = where.lower()
    if lowered.startswith("env=!"):
        return HostRule("nenv", where[5:])
    if lowered.startswith("env="):
        return HostRule("env", where[4:])
    if lowered == "all":
        return HostRule("all", where)
    address, slash, mask = where.partition("/")
    try:
        return HostRule("ip", where, subnet(address, mask if slash else None))
    except ValueError as error:
        if str(error) != NOT_AN_IP:
            raise DirectiveError(str(error)) from None
        if slash:
            raise DirectiveError("An IP address was expected") from None
    return HostRule("host", where)


def order(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("allow,deny", "deny,allow", "mutual-failure"):
        raise DirectiveError("unknown order")
    return lowered


def satisfy(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("all", "any"):
        raise DirectiveError("Satisfy either 'any' or 'all'.")
    return lowered


_FROM_HELP = "'from' followed by hostnames or IP-address wildcards"

DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "order",
        ArgShape.TAKE1,
        AUTH_CONF,
        order,
        "'allow,deny', 'deny,allow', or 'mutual-failure'",
        key="Order",
        override="Limit",
        default="deny,allow",
    ),
    DirectiveSpec(
        "allow",
        ArgShape.ITERATE2,
        AUTH_CONF,
        allow_deny,
        _FROM_HELP,
        key="Allow",
        merge=Merge.APPEND,
        override="Limit",
    ),
    DirectiveSpec(
        "deny",
        ArgShape.ITERATE2,
        AUTH_CONF,
        allow_deny,
        _FROM_HELP,
        key="Deny",
        merge=Merge.APPEND,
        override="Limit",
    ),
    DirectiveSpec(
        "Satisfy",
        ArgShape.TAKE1,
        AUTH_CONF,
        satisfy,
        "access policy if both allow and require used ('all' or 'any')",
        override="AuthConfig",
    ),
)

# --- hooks -------------------------------------------------------------------------------------

_KEYS = ("Order", "Allow", "Deny", "Satisfy")
_LIMITS = {"limit": False, "limitexcept": True}
Scoped = tuple[MethodLimit | None, Section]


def _scopes(section: Section) -> list[Scoped]:
    """The section itself, then its <Limit>/<LimitExcept> bodies with their methods."""
    found: list[Scoped] = [(None, section)]
    for child in section.sections:
        kind = child.kind.lower()
        if kind in _LIMITS:
            found.append((MethodLimit(frozenset(child.value), _LIMITS[kind]), child))
    return found


def _uses_module(section: Section) -> bool:
    return any(key in scope.settings.values for _, scope in _scopes(section) for key in _KEYS)


def request_section(request: Request) -> Section | None:
    """The last merged section holding an access_compat directive (Apache: no merge function)."""
    found = None
    for layer in request.notes.get(LAYERS_NOTE, ()):
        if _uses_module(layer):
            found = layer
    return found


def _setting(section: Section, key: str, method: str, default: str) -> str:
    """A per-method value: a <Limit> covering the method wins over the section's own line."""
    value = default
    for limit, scope in _scopes(section):
        if key in scope.settings.values and (limit is None or limit.covers(method)):
            value = str(scope.settings.values[key])
    return value


def _rules(section: Section, key: str, method: str) -> Iterable[HostRule]:
    for limit, scope in _scopes(section):
        if limit is None or limit.covers(method):
            yield from scope.settings.values.get(key, ())


def find_allow_deny(request: Request, rules: Iterable[HostRule]) -> bool:
    """find_allowdeny: does any rule match this client?"""
    for rule in rules:
        if rule.kind == "all":
            return True
        if rule.kind == "env" and rule.value in request.environment:
            return True
        if rule.kind == "nenv" and rule.value not in request.environment:
            return True
        if rule.kind in ("ip", "host"):
            request.replayable = False  # the answer depends on the client
        if rule.kind == "ip" and rule.network and in_network(request.client[0], rule.network):
            return True
        if rule.kind == "host":
            name = double_reverse_host(request)
            if name is not None and in_domain(rule.value, name):
                return True
    return False


def host_access_allowed(request: Request, section: Section) -> bool:
    """check_dir_access: Order decides which list is read first and what the default is."""
    method = request.method
    order_value = _setting(section, "Order", method, "deny,allow")
    allowed = find_allow_deny(request, _rules(section, "Allow", method))
    denied = find_allow_deny(request, _rules(section, "Deny", method))
    if order_value == "allow,deny":
        return allowed and not denied
    if order_value == "deny,allow":
        return allowed or not denied
    return allowed and not denied  # mutual-failure


def check_access(request: Request) -> int:
    section = request_section(request)
    if section is None:
        return DECLINED
    granted = host_access_allowed(request, section)
    if not granted:
        target = request.filename if request.filename else f"uri {request.uri}"
        request.log_error(
            "error", "access_compat", f"client denied by server configuration: {target}", "AH01797"
        )
    if _setting(section, "Satisfy", request.method, "all") == "any":
        request.notes[SATISFY_ANY_NOTE] = "granted" if granted else "denied"
        return OK
    return OK if granted else 403


def satisfy_any_without_authz(request: Request) -> int:
    """Under Satisfy Any with no mod_authz_core loaded, nothing else can let the client in."""
    if request.notes.get(SATISFY_ANY_NOTE) != "denied":
        return DECLINED
    if request.config.module_loaded("authz_core_module"):
        return DECLINED
    return 403


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.ACCESS_CHECKER, replayable(check_access))
    hooks.add(Phase.AUTH_CHECKER, replayable(satisfy_any_without_authz), Order.LAST)


MODULE = Module(
    name="access_compat_module",
    source="mod_access_compat.c",
    directives=DIRECTIVES,
    description="Apache 2.2 host-based access control: order, allow, deny, Satisfy",
    register_hooks=register,
)
