"""Apache's pre_connection step: the modules' connection hooks (mod_ssl's TLS handshake) run on
an accepted socket before the engine reads from it.

Called by each MPM (and `pyhttpd -X`) in the thread or child that serves the connection, right
after accept; the socket it returns is the one to serve and to close. A client that fails the
handshake costs only its connection.
"""

from __future__ import annotations

import socket

from pyhttpd.http.phases import Hooks


def run_pre_connection(sock: socket.socket, hooks: Hooks) -> socket.socket | None:
    """The socket to serve, or None (the connection is closed) when a hook failed on it."""
    try:
        for hook in hooks.pre_connection:
            sock = hook(sock)
    except (OSError, ValueError):
        sock.close()
        return None
    return sock
