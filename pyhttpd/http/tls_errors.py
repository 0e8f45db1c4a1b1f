"""The ssl module's want-read / want-write errors and socket type, without importing ssl.

Only mod_ssl imports ssl (and so OpenSSL): a server without it never holds a TLS socket, so no
socket of it can raise these. Importing ssl anyway costs ~1.8 MiB of the master's heap that every
child maps, and the heap is what the children's PSS is made of. Each function is called inside an
`except` clause, so only when a socket operation has already raised. Runs in any thread.
"""

from __future__ import annotations

import sys


class _NoTls(OSError):
    """Stands for ssl's errors while ssl is not imported: nothing raises it."""


def want_read() -> type[OSError]:
    """ssl.SSLWantReadError once mod_ssl has imported ssl."""
    ssl = sys.modules.get("ssl")
    return _NoTls if ssl is None else ssl.SSLWantReadError  # type: ignore[no-any-return]


def want_write() -> type[OSError]:
    """ssl.SSLWantWriteError once mod_ssl has imported ssl."""
    ssl = sys.modules.get("ssl")
    return _NoTls if ssl is None else ssl.SSLWantWriteError  # type: ignore[no-any-return]


def is_tls(sock: object) -> bool:
    """Whether `sock` is an ssl.SSLSocket (none can exist before mod_ssl imported ssl)."""
    ssl = sys.modules.get("ssl")
    return ssl is not None and isinstance(sock, ssl.SSLSocket)
