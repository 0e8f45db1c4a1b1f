"""systemd's notify protocol, in a few lines over the NOTIFY_SOCKET (no libsystemd).

A `Type=notify` unit gives the service a unix datagram socket in $NOTIFY_SOCKET (a path, or an
abstract name written with a leading '@'); the service sends newline-separated `KEY=VALUE`
datagrams: READY=1 once it serves, RELOADING=1 (with MONOTONIC_USEC) when a reload starts and
READY=1 when it is done, STOPPING=1 when it begins to stop, STATUS=… as free text for
`systemctl status`. `Notifier.from_environment()` takes the address out of the environment, as
sd_notify(unset_environment=1) does, so the children and CGI scripts do not inherit it (systemd
would reject their messages under NotifyAccess=main anyway). Without $NOTIFY_SOCKET every call is
a no-op. Runs in the master process only; a failed send is reported to the caller, never raised.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass

ENVIRONMENT = "NOTIFY_SOCKET"


@dataclass(frozen=True)
class Notifier:
    """Where the notifications go; `address` is None outside systemd."""

    address: str | None = None

    @classmethod
    def from_environment(cls) -> Notifier:
        return cls(os.environ.pop(ENVIRONMENT, None) or None)

    def send(self, *fields: str) -> bool:
        """One datagram of `KEY=VALUE` lines; True when it was sent."""
        if not self.address:
            return False
        target = self.address
        if target.startswith("@"):  # the abstract namespace
            target = "\0" + target[1:]
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.connect(target)
                sock.sendall("\n".join(fields).encode())
        except OSError:
            return False
        return True

    def ready(self, status: str) -> bool:
        return self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def reloading(self, status: str) -> bool:
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        return self.send("RELOADING=1", f"MONOTONIC_USEC={usec}", f"STATUS={status}")

    def stopping(self, status: str) -> bool:
        return self.send("STOPPING=1", f"STATUS={status}")
