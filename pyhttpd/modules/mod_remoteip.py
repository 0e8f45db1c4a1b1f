"""remoteip_module (mod_remoteip.c): the client address taken from a proxy's header.

Directive table on top: proxies are kept as networks; a host name is kept as a name and resolved
when the generation is built (Apache resolves it while reading the configuration).

The post_read_request hook at the bottom (first, as Apache's) is remoteip_modify_request: it walks
RemoteIPHeader from right to left while the address presenting it is a listed proxy (any peer when
none is listed), refuses private addresses from a trusted (external) proxy, makes the last
accepted address the request's client (the peer is kept in notes["remoteip_peer"]), leaves the
unconsumed part in the header (or removes it) and records the trusted proxies in the
"remoteip-proxy-ip-list" note and RemoteIPProxiesHeader. Logs (%a, %h), SetEnvIf Remote_Addr and
Require ip then see the real client. Runs in the thread serving the request.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from pyhttpd.http.expr import ip_in, request_header
from pyhttpd.http.netmatch import Network, looks_like_ip, subnet
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable

if TYPE_CHECKING:
    from pyhttpd.http.request import Request


@dataclass(frozen=True)
class Proxy:
    """A RemoteIPTrustedProxy / RemoteIPInternalProxy entry: a network or a host name."""

    text: str
    internal: bool
    network: Network | None = None
    host: str | None = None


def _proxy(cmd: Command, text: str, internal: bool) -> Proxy:
    address, slash, mask = text.partition("/")
    if looks_like_ip(address):
        try:
            return Proxy(text, internal, network=subnet(address, mask if slash else None))
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

# --- hook ----------------------------------------------------------------------------------------

PEER_NOTE = "remoteip_peer"
PROXY_LIST_NOTE = "remoteip-proxy-ip-list"
Matcher = tuple[Network, bool]  # (network, internal)


def _resolve(proxy: Proxy) -> list[Matcher]:
    if proxy.network is not None:
        return [(proxy.network, proxy.internal)]
    infos = socket.getaddrinfo(proxy.host, None, proto=socket.IPPROTO_TCP)
    addresses = dict.fromkeys(str(info[4][0]) for info in infos)
    return [(ipaddress.ip_network(address), proxy.internal) for address in addresses]


def _private_or_odd(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """What an external (trusted) proxy may not present: RFC 3330 local ranges, non-2000::/3."""
    if isinstance(address, ipaddress.IPv4Address):
        first, second = address.packed[0], address.packed[1]
        return (
            first in (10, 127)
            or (first, second) in ((169, 254), (192, 168))
            or (first == 172 and second & 0xF0 == 16)
        )
    return address.packed[0] & 0xE0 != 0x20


def _restore(remote: str | None, part: str) -> str:
    """Apache puts back the comma it cut (and the part, right-trimmed) when it stops early."""
    return part.strip(" ") if remote is None else f"{remote},{part.rstrip(' ')}"


def modify_request(request: Request, matchers: list[Matcher]) -> int:
    """remoteip_modify_request, step for step."""
    header_name = request.server.get("RemoteIPHeader")
    if not header_name:
        return DECLINED
    internal = bool(matchers)  # with proxies listed, start as internal; else all are external
    remote = request_header(request, header_name)
    if remote is None:
        return OK
    request.replayable = False  # the client's address is now the header's
    useragent, proxies, consumed = request.client[0], [], False
    while remote is not None:
        if matchers:
            matched = next((m for m in matchers if ip_in(useragent, m[0])), None)
            if matched is None:
                break
            internal = internal and matched[1]
        comma = remote.rfind(",")
        part, remote = (remote, None) if comma < 0 else (remote[comma + 1 :], remote[:comma])
        try:
            address = ipaddress.ip_address(part.strip(" "))
        except ValueError:  # Apache would also try DNS here (AH01568 when that fails)
            remote = _restore(remote, part)
            break
        if not internal and _private_or_odd(address):  # AH01569
            remote = _restore(remote, part)
            break
        if not internal:
            proxies.append(useragent)
        useragent, consumed = str(address), True
    if not consumed:
        return OK
    headers = request.head.headers
    if remote is not None:
        headers.set(header_name, remote)
    else:
        headers.remove(header_name)
    if proxies:
        request.notes[PROXY_LIST_NOTE] = ", ".join(proxies)
        proxies_header = request.server.get("RemoteIPProxiesHeader")
        if proxies_header:
            headers.set(proxies_header, ", ".join(proxies))
    request.notes[PEER_NOTE] = request.client[0]
    request.client = (useragent, 0)  # the port is not known, so Apache sets it to zero
    return OK


def register(hooks: Hooks, context: HookContext) -> None:
    """Resolve every scope's proxy list once; a vhost's own list replaces the main one."""
    config = context.config
    resolved: dict[Proxy, list[Matcher]] = {}
    scopes = [config.main.values] + [vhost.settings.values for vhost in config.vhosts]
    for proxy in {p for values in scopes for p in values.get("RemoteIPProxy", ())}:
        try:
            resolved[proxy] = _resolve(proxy)
        except OSError as error:
            context.error_log.log(
                "error", "remoteip", f"RemoteIP: Error resolving host {proxy.text}: {error}"
            )
    main = tuple(config.main.values.get("RemoteIPProxy", ()))

    def post_read_request(request: Request) -> int:
        own = request.vhost.settings.values.get("RemoteIPProxy") if request.vhost else None
        matchers = [m for proxy in own or main for m in resolved.get(proxy, ())]
        return modify_request(request, matchers)

    hooks.add(Phase.POST_READ_REQUEST, replayable(post_read_request), Order.FIRST)


MODULE = Module(
    name="remoteip_module",
    source="mod_remoteip.c",
    directives=DIRECTIVES,
    description="the client address from X-Forwarded-For (or another header) of trusted proxies",
    register_hooks=register,
)
