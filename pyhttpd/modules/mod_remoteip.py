"""remoteip_module (mod_remoteip.c): the client address taken from a proxy's header.

Directive table on top; the post_read_request hook that rewrites the request's useragent address
from RemoteIPHeader, walking back through trusted proxies, arrives with the HTTP layer. Proxies are
kept as networks; a host name is kept as a name, to be resolved when the generation is built
(Apache resolves it while reading the configuration). Runs only while a configuration is processed.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from pyhttpd.config.directives import (
    RSRC_CONF,
    ArgShape,
    Command,
    DirectiveSpec,
    Merge,
    take_string,
)
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

BAD_IP = "The specified IP address is invalid."  # APR_EBADIP
BAD_MASK = "The specified network mask is invalid."  # APR_EBADMASK


@dataclass(frozen=True)
class Proxy:
    """A RemoteIPTrustedProxy / RemoteIPInternalProxy entry: a network or a host name."""

    text: str
    internal: bool
    network: Network | None = None
    host: str | None = None


def _looks_like_ip(text: str) -> bool:
    """mod_remoteip's looks_like_ip: IPv6 if it has ':', else only digits and dots."""
    return ":" in text or all(char == "." or char.isdigit() for char in text)


def _partial_ipv4(text: str) -> Network:
    """APR's legacy network form without a mask: `10.1` is 10.1.0.0/16."""
    parts = text[:-1].split(".") if text.endswith(".") else text.split(".")
    if len(text) > 15 or not 1 <= len(parts) <= 4:
        raise ValueError(BAD_IP)
    if not all(part.isdigit() and int(part) <= 255 for part in parts):
        raise ValueError(BAD_IP)
    octets = [*parts, *["0"] * (4 - len(parts))]
    return ipaddress.ip_network(f"{'.'.join(str(int(o)) for o in octets)}/{8 * len(parts)}")


def _network(address: str, mask: str | None) -> Network:
    """apr_ipsubnet_create for text that looks like an address: ValueError carries APR's text."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        if mask is None and ":" not in address and address:
            return _partial_ipv4(address)
        raise ValueError(BAD_IP) from None
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        raise ValueError(BAD_IP)
    if mask is None:
        return ipaddress.ip_network(parsed)
    if not (mask.isdigit() and 0 < int(mask) <= parsed.max_prefixlen):
        parts = mask.split(".")
        dotted = len(parts) == 4 and all(p.isdigit() and int(p) <= 255 for p in parts)
        if not (dotted and isinstance(parsed, ipaddress.IPv4Address)):
            raise ValueError(BAD_MASK)
    try:
        return ipaddress.ip_network(f"{parsed}/{mask}", strict=False)
    except ValueError:
        raise ValueError(BAD_MASK) from None


def _proxy(cmd: Command, text: str, internal: bool) -> Proxy:
    address, slash, mask = text.partition("/")
    if _looks_like_ip(address):
        try:
            return Proxy(text, internal, network=_network(address, mask if slash else None))
        except ValueError as error:
            raise DirectiveError(
                f"RemoteIP: Error parsing IP {text} ({error} error) for {cmd.name}"
            ) from None
    if slash:
        raise DirectiveError(
            f"RemoteIP: Error parsing IP {text} the subnet /{mask} is invalid for {cmd.name}"
        )
    return Proxy(text, internal, host=address)


def trusted_proxy(cmd: Command, text: str) -> Proxy:
    return _proxy(cmd, text, internal=False)


def internal_proxy(cmd: Command, text: str) -> Proxy:
    return _proxy(cmd, text, internal=True)


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "RemoteIPHeader",
        ArgShape.TAKE1,
        RSRC_CONF,
        take_string,
        "Specifies a request header to trust as the client IP, e.g. X-Forwarded-For",
    ),
    DirectiveSpec(
        "RemoteIPProxiesHeader",
        ArgShape.TAKE1,
        RSRC_CONF,
        take_string,
        "Specifies a request header to record proxy IP's, e.g. X-Forwarded-By; if not given "
        "then do not record",
    ),
    DirectiveSpec(
        "RemoteIPTrustedProxy",
        ArgShape.ITERATE,
        RSRC_CONF,
        trusted_proxy,
        "Specifies one or more proxies which are trusted to present IP headers",
        key="RemoteIPProxy",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "RemoteIPInternalProxy",
        ArgShape.ITERATE,
        RSRC_CONF,
        internal_proxy,
        "Specifies one or more internal (transparent) proxies which are trusted to present IP "
        "headers",
        key="RemoteIPProxy",
        merge=Merge.APPEND,
    ),
)

MODULE = Module(
    name="remoteip_module",
    source="mod_remoteip.c",
    directives=DIRECTIVES,
    description="the client address from X-Forwarded-For (or another header) of trusted proxies",
)
