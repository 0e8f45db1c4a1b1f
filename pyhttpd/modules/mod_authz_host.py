"""authz_host_module (mod_authz_host.c): the `ip`, `host`, `local` and `forward-dns` providers
for Require.

It has no directives or hooks of its own: it declares these providers, and `Require ip 10.0.0.0/8`
is stored by mod_authz_core, which finds the provider and runs its parse (`parse_ip`) when the
configuration is read.
- ip: full addresses, CIDR or netmask networks, partial IPv4 (`10.1`), IPv6; matched against the
  client address (an IPv4-mapped IPv6 client counts as its IPv4 address).
- host: the client's double-reverse DNS name (reverse lookup, then forward lookup back to the
  client's address) must equal or end in one of the names, on a label boundary.
- local: 127.0.0.0/8, ::1, or the client connecting from the server's own address.
- forward-dns: one of the names resolves to the client's address.
Runs while a configuration is read (the parse) and in the thread serving a request (the checks).
"""

from __future__ import annotations

import ipaddress
import socket

from pyhttpd.config.directives import DirectiveSpec
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.http.authz import (
    AuthzProvider,
    AuthzStatus,
    ProviderError,
    double_reverse_host,
)
from pyhttpd.http.netmatch import (
    NOT_AN_IP,
    Network,
    address_of,
    in_domain,
    in_network,
    subnet,
)
from pyhttpd.http.request import Request

MODULE_NAME = "authz_host_module"
LOCALHOST = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))

DIRECTIVES: tuple[DirectiveSpec, ...] = ()


def _granted(found: bool) -> AuthzStatus:
    return AuthzStatus.GRANTED if found else AuthzStatus.DENIED


def _words(args: str) -> list[str]:
    """host's words up to a `#` comment, as mod_authz_host's host check reads them."""
    words: list[str] = []
    for word in split_words(args):
        if "#" in word:
            head = word.split("#", 1)[0]
            if head:
                words.append(head)
            break
        words.append(word)
    return words


def parse_ip(args: str) -> tuple[Network, ...]:
    """ip_parse_config: every word must be an address or network, in Apache's messages."""
    words = split_words(args)  # no comments here: `# x` is a word Apache refuses, unlike host's
    if not words:
        raise ProviderError("'require ip' requires an argument")
    networks: list[Network] = []
    for word in words:
        address, slash, mask = word.partition("/")
        try:
            networks.append(subnet(address, mask if slash else None))
        except ValueError as error:
            if str(error) == NOT_AN_IP:
                raise ProviderError(f"ip address '{word}' appears to be invalid") from None
            raise ProviderError(f"ip address '{word}' appears to be invalid: {error}") from None
    return tuple(networks)


def check_ip(request: Request, args: str, networks: tuple[Network, ...]) -> AuthzStatus:
    return _granted(any(in_network(request.client[0], network) for network in networks))


def check_local(request: Request, args: str, parsed: object) -> AuthzStatus:
    client = address_of(request.client[0])
    if client is None:
        return AuthzStatus.DENIED
    if client == address_of(request.local[0]):
        return AuthzStatus.GRANTED
    return _granted(any(client.version == net.version and client in net for net in LOCALHOST))


def check_host(request: Request, args: str, parsed: object) -> AuthzStatus:
    name = double_reverse_host(request)
    if name is None:
        return AuthzStatus.DENIED
    return _granted(any(in_domain(word, name) for word in _words(args)))


def check_forward_dns(request: Request, args: str, parsed: object) -> AuthzStatus:
    client = address_of(request.client[0])
    for word in _words(args):
        try:
            infos = socket.getaddrinfo(word, None)
        except (OSError, UnicodeError):
            continue
        if any(address_of(str(info[4][0])) == client for info in infos):
            return AuthzStatus.GRANTED
    return AuthzStatus.DENIED


PROVIDERS = (
    AuthzProvider("ip", check_ip, parse_ip),
    AuthzProvider("host", check_host),
    AuthzProvider("local", check_local),
    AuthzProvider("forward-dns", check_forward_dns),
)


MODULE = Module(
    name=MODULE_NAME,
    source="mod_authz_host.c",
    directives=DIRECTIVES,
    description="Require providers by client address and host name: ip, host, local, forward-dns",
    providers=PROVIDERS,
)
