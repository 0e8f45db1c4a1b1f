"""Listen addresses -> bound, listening sockets (IPv4 and IPv6), with Apache's bind errors.

Also systemd's socket activation (sd_listen_fds): when $LISTEN_PID names this process, the
$LISTEN_FDS sockets from fd 3 on are adopted for the Listen addresses they match (same family,
port and address, a wildcard matching a wildcard) instead of being bound, so a `.socket` unit can
hold the listening sockets across a full restart; a Listen no inherited socket matches is bound
as usual, and an inherited socket no Listen names is closed. Runs in the process that starts the
server, before any child exists; the sockets are inherited by the children. Each listener gets
TCP_NODELAY, as Apache's make_sock sets it: on Linux the sockets it accepts inherit it.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterable, Sequence

from pyhttpd.errors import StartupError
from pyhttpd.modules.core_values import ListenAddress

LISTEN_FDS_START = 3  # SD_LISTEN_FDS_START


def inherited_sockets() -> list[socket.socket]:
    """The sockets systemd passed (LISTEN_PID / LISTEN_FDS / LISTEN_FDNAMES), taken out of the
    environment so children and CGI scripts do not see them; [] when they are not for us."""
    pid = os.environ.pop("LISTEN_PID", "")
    count = os.environ.pop("LISTEN_FDS", "")
    os.environ.pop("LISTEN_FDNAMES", None)
    if not (pid.isdigit() and count.isdigit()) or int(pid) != os.getpid():
        return []
    found = []
    for fd in range(LISTEN_FDS_START, LISTEN_FDS_START + int(count)):
        os.set_inheritable(fd, False)  # children are forked, never exec'd: they keep it anyway
        found.append(socket.socket(fileno=fd))
    return found


def bind_listeners(
    addresses: Iterable[ListenAddress], backlog: int, inherited: Sequence[socket.socket] = ()
) -> list[socket.socket]:
    """Adopt or bind every Listen address once; a failure is Apache's AH00072 and no socket
    stays open (inherited ones included)."""
    streams = [sock for sock in inherited if sock.type == socket.SOCK_STREAM]
    try:
        sockets, _ = rebind_listeners(addresses, backlog, streams)
    except StartupError:
        for sock in inherited:
            sock.close()
        raise
    for sock in inherited:
        if sock not in sockets:
            sock.close()
    return sockets


def rebind_listeners(
    addresses: Iterable[ListenAddress], backlog: int, current: Sequence[socket.socket]
) -> tuple[list[socket.socket], list[socket.socket]]:
    """(the listeners in Listen order, the `current` ones no Listen line names). A socket of
    `current` bound where a line would bind is kept (on a restart, children keep accepting on
    it without a gap); any other line is bound. A bind failure (AH00072) closes only what was
    bound here and raises, so a running generation keeps its sockets."""
    sockets: list[socket.socket] = []
    spare = list(current)
    try:
        for address in addresses:
            kept = _adopt(address, spare)
            if kept is not None:
                spare.remove(kept)
                kept.listen(backlog)
                sockets.append(kept)
            else:
                sockets.extend(_bind(address, backlog))
            _set_nodelay(sockets[-1])
    except StartupError:
        for sock in sockets:
            if sock not in current:
                sock.close()
        raise
    if not sockets:
        raise StartupError("no listening sockets available, shutting down")
    return sockets, spare


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


def _set_nodelay(sock: socket.socket) -> None:
    """TCP_NODELAY on a listener, for the sockets it accepts (an error leaves it to each one)."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:
        pass


def _adopt(address: ListenAddress, candidates: Sequence[socket.socket]) -> socket.socket | None:
    """The inherited socket bound where this Listen address would bind, if any."""
    host = address.host or None
    infos = socket.getaddrinfo(host, address.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, sockaddr = infos[0][0], infos[0][4]
    for sock in candidates:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            continue
        bound = sock.getsockname()
        if bound[1] != sockaddr[1]:
            continue
        wanted, have = ipaddress.ip_address(sockaddr[0]), ipaddress.ip_address(bound[0])
        if (wanted.is_unspecified and have.is_unspecified) or (
            sock.family == family and wanted == have
        ):
            return sock
    return None
