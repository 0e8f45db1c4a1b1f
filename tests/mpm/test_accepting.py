"""Acceptor: what accept and the listener tell about a connection matches what the socket says."""

from __future__ import annotations

import socket

from pyhttpd.mpm.accepting import NODELAY_INHERITED, Acceptor


def test_accepted_addresses_and_nodelay_are_the_sockets_own() -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        acceptor = Acceptor(listener)
        with socket.create_connection(listener.getsockname(), timeout=5) as client:
            accepted = acceptor.accept()
            with accepted.sock:
                assert accepted.client == accepted.sock.getpeername() == client.getsockname()
                assert accepted.local == accepted.sock.getsockname() == listener.getsockname()
                assert accepted.sock.getblocking()
                nodelay = accepted.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                assert accepted.nodelay is NODELAY_INHERITED and bool(nodelay)


def test_a_wildcard_listener_leaves_the_local_address_to_the_socket() -> None:
    with socket.create_server(("0.0.0.0", 0)) as listener:
        acceptor = Acceptor(listener)
        assert acceptor.local is None and not acceptor.nodelay  # no TCP_NODELAY to inherit
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            accepted = acceptor.accept()
            with accepted.sock:
                assert accepted.local is None and accepted.client[0] == "127.0.0.1"
