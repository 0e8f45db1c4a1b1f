"""Listen addresses -> bound, listening sockets (IPv4 and IPv6), with Apache's bind errors.

Runs in the process that starts the server, before any child exists; the sockets are inherited.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

from pyhttpd.errors import StartupError
from pyhttpd.modules.core_values import ListenAddress


def bind_listeners(addresses: Iterable[ListenAddress], backlog: int) -> list[socket.socket]:
    """Bind every Listen address once; a failure is Apache's AH00072 and no socket stays open."""
    sockets: list[socket.socket] = []
    try:
        for address in addresses:
            sockets.extend(_bind(address, backlog))
    except StartupError:
        for sock in sockets:
            sock.close()
        raise
    if not sockets:
        raise StartupError("no listening sockets available, shutting down")
    return sockets


def _bind(address: ListenAddress, backlog: int) -> list[socket.socket]:
    host = address.host or None
    infos = socket.getaddrinfo(host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host is None:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(sockaddr)
        sock.listen(backlog)
    except OSError as error:
        sock.close()
        raise StartupError(
            f"({error.errno}){error.strerror}: AH00072: make_sock: could not bind to address "
            f"{address}\nno listening sockets available, shutting down"
        ) from None
    return [sock]
