"""IP addresses and networks as Apache's APR parses and tests them.

apr_ipsubnet_create's forms (an address, CIDR bits, a dotted netmask, the legacy partial
`10.1`), its error texts, and the subnet and domain tests that Require ip/host, Allow/Deny and
mod_remoteip share. Pure functions; used at config time and per request.
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

BAD_IP = "The specified IP address is invalid."  # APR_EBADIP
BAD_MASK = "The specified network mask is invalid."  # APR_EBADMASK
NOT_AN_IP = "not an IP"  # APR_EINVAL: the text did not look like an address at all


def looks_like_ip(text: str) -> bool:
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
    """APR's apr_ipsubnet_create; raises ValueError with APR's error text (or NOT_AN_IP)."""
    if not looks_like_ip(address):
        raise ValueError(NOT_AN_IP)
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


def address_of(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A socket address as an ip_address, IPv4-mapped IPv6 unwrapped (as apr_ipsubnet_test)."""
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def in_network(address: str, network: Network) -> bool:
    found = address_of(address)
    return found is not None and found.version == network.version and found in network


def in_domain(domain: str, host: str) -> bool:
    """mod_authz_host's in_domain: a case-insensitive suffix match on a whole label."""
    if len(host) < len(domain) or host[len(host) - len(domain) :].lower() != domain.lower():
        return False
    return len(host) == len(domain) or domain.startswith(".") or host[-len(domain) - 1] == "."
