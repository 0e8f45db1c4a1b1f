"""Accepting a connection on a listening socket, keeping what the kernel already told us.

An `Acceptor` wraps one listening socket for the MPMs' accept loops (and `pyhttpd -X`): the
client's address comes with accept(), the local one is the listener's own unless it listens on
a wildcard address, and on Linux an accepted socket inherits TCP_NODELAY from its listener (the
master sets it, as Apache's make_sock does). So the engine's Connection needs no getpeername,
getsockname or setsockopt per connection: three system calls, each a GIL hand-off in a busy
threaded child. The accepted socket is blocking (accept does not pass O_NONBLOCK on), as the
engine and the pre_connection hooks expect. Runs in whichever thread or child accepts.

`ListenerSelector` registers listening sockets with EPOLLEXCLUSIVE: of the children sleeping in
epoll_wait on one listener, the kernel wakes one per connection instead of all of them, each
of the others finding EAGAIN (Apache avoids the same herd with one blocking accept, or its
accept mutex when there are several listeners).
"""

from __future__ import annotations

import ipaddress
import select
import selectors
import socket
import sys
from dataclasses import dataclass

from pyhttpd.http.connection import Connection
from pyhttpd.http.generation import Generation

# Linux copies the listener's TCP_NODELAY to each accepted socket (Apache's
# APR_TCP_NODELAY_INHERITED); elsewhere the engine sets it per connection.
NODELAY_INHERITED = sys.platform.startswith("linux")


@dataclass(frozen=True)
class Accepted:
    """One accepted connection: its socket and what accept and the listener said of it."""

    sock: socket.socket
    client: tuple[str, int]
    local: tuple[str, int] | None  # None: a wildcard listener, ask the socket
    nodelay: bool

    def connection(self, sock: socket.socket, generation: Generation) -> Connection:
        """The engine's Connection for `sock` (this socket, or what pre_connection made of it)."""
        return Connection(sock, generation, self.client, self.local, self.nodelay)


class Acceptor:
    """One listening socket's accept (listener thread, or a prefork child)."""

    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self._kind = (int(listener.family), int(listener.type), listener.proto)
        self.local = _specific_address(listener)
        self.nodelay = NODELAY_INHERITED and _nodelay(listener)

    def accept(self) -> Accepted:
        """The next connection; raises what socket.accept raises (BlockingIOError when another
        child or thread was faster)."""
        fd, peer = self.listener._accept()  # socket.accept without its enum conversions
        sock = socket.socket(*self._kind, fileno=fd)
        client = (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) else ("", 0)
        return Accepted(sock, client, self.local, self.nodelay)


def _specific_address(listener: socket.socket) -> tuple[str, int] | None:
    """The listener's address when every connection it accepts has it as its local address."""
    try:
        address = listener.getsockname()
        if ipaddress.ip_address(address[0].split("%", 1)[0]).is_unspecified:
            return None
        return str(address[0]), int(address[1])
    except (OSError, ValueError, IndexError, TypeError):
        return None


def _nodelay(listener: socket.socket) -> bool:
    try:
        return bool(listener.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
    except OSError:
        return False


class ListenerSelector(selectors.DefaultSelector):  # type: ignore[misc,valid-type]
    """The default selector, plus `register_listener`: EPOLLEXCLUSIVE where epoll has it."""

    def register_listener(self, sock: socket.socket, data: object) -> selectors.SelectorKey:
        if not EXCLUSIVE:
            return self.register(sock, selectors.EVENT_READ, data)
        # The key as every registration keeps it, then the epoll entry with the flag (epoll
        # refuses to add it by a later modify).
        key = selectors._BaseSelectorImpl.register(self, sock, selectors.EVENT_READ, data)
        try:
            self._selector.register(key.fd, select.EPOLLIN | select.EPOLLEXCLUSIVE)
        except OSError:
            selectors._BaseSelectorImpl.unregister(self, sock)
            raise
        return key


EXCLUSIVE = selectors.DefaultSelector is getattr(selectors, "EpollSelector", None) and hasattr(
    select, "EPOLLEXCLUSIVE"
)
