"""Print a loopback port for `make run`: the preferred one (default 8080) if free, else any free one.

Developer helper: nothing imports it.
"""

from __future__ import annotations

import socket
import sys


def free_port(preferred: int) -> int:
    for port in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise SystemExit("no free loopback port")


if __name__ == "__main__":
    print(free_port(int(sys.argv[1]) if len(sys.argv) > 1 else 8080))
