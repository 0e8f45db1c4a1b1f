"""access_compat_module (mod_access_compat.c): Apache 2.2's host-based access control kept for
old configurations: order, allow, deny and Satisfy.

Directive table on top; the access_checker hook arrives with the HTTP layer. The rows are named
in lower case ("order", "allow", "deny") because Apache's command table spells them so, and its
messages quote those names; the settings keys are Order, Allow, Deny. Runs only while a
configuration is processed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pyhttpd.config.directives import AUTH_CONF, ArgShape, Command, DirectiveSpec, Merge
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

BAD_IP = "The specified IP address is invalid."  # APR_EBADIP
BAD_MASK = "The specified network mask is invalid."  # APR_EBADMASK
_NOT_IP = "not an IP"  # APR_EINVAL: the text did not look like an address at all


@dataclass(frozen=True)
class HostRule:
    """One `allow from X` / `deny from X` entry.

    kind: "env" (variable set), "nenv" (variable not set), "all", "ip" (`network`), or "host"
    (a domain suffix matched against the double-reverse client name).
    """

    kind: str
    value: str
    network: Network | None = None


def _looks_like_ip(text: str) -> bool:
    """APR's looks_like_ip: anything with ':' (IPv6), or only digits and dots."""
    if not text:
        return False
    return ":" in text or all(char == "." or char.isdigit() for char in text)


def _partial_ipv4(text: str) -> Network:
    """The legacy network form: `10.1` or `10.1.` means 10.1.0.0/16 (APR's parse_network)."""
    parts = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if len(text) > 15 or not 1 <= len(parts) <= 4:
        raise ValueError(BAD_IP)
    octets = []
    for part in parts:
        if not part.isdigit() or int(part) > 255:
            raise ValueError(BAD_IP)
        octets.append(int(part))
    address = ".".join(str(octet) for octet in octets + [0] * (4 - len(octets)))
    return ipaddress.ip_network(f"{address}/{8 * len(octets)}")


def _is_dotted_quad(text: str) -> bool:
    parts = text.split(".")
    return len(parts) == 4 and all(part.isdigit() and int(part) <= 255 for part in parts)


def subnet(address: str, mask: str | None) -> Network:
    """APR's apr_ipsubnet_create; raises ValueError with APR's error text."""
    if not _looks_like_ip(address):
        raise ValueError(_NOT_IP)
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        if mask is None and ":" not in address:
            return _partial_ipv4(address)
        raise ValueError(BAD_IP) from None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        raise ValueError(BAD_IP)
    if mask is None:
        return ipaddress.ip_network(parsed)
    bits = mask.isdigit() and 0 < int(mask) <= parsed.max_prefixlen
    dotted = isinstance(parsed, ipaddress.IPv4Address) and _is_dotted_quad(mask)
    if not (bits or dotted):
        raise ValueError(BAD_MASK)
    try:
        return ipaddress.ip_network(f"{parsed}/{mask}", strict=False)
    except ValueError:
        raise ValueError(BAD_MASK) from None


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
        if str(error) != _NOT_IP:
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

MODULE = Module(
    name="access_compat_module",
    source="mod_access_compat.c",
    directives=DIRECTIVES,
    description="Apache 2.2 host-based access control: order, allow, deny, Satisfy",
)
