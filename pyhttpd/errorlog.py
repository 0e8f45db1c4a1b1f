"""The error log in Apache's line format, with per-module LogLevel.

    [Mon Nov 23 08:12:38.755096 2026] [core:error] [pid 1234:tid 1234] [client 127.0.0.1:5678] AH00128: …

Leaf module: imports nothing of pyhttpd. One ErrorLog per generation, opened by the process that
builds the generation and inherited by children; writes are single `os.write` calls on an
O_APPEND descriptor, so lines from several processes never interleave.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Iterable

LEVELS = (
    "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug",
    "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
)  # fmt: skip
_RANK = {name: rank for rank, name in enumerate(LEVELS)}


def apache_time(now: float | None = None) -> str:
    """`Mon Nov 23 08:12:38.755096 2026`, Apache's error-log timestamp (local time)."""
    moment = time.time() if now is None else now
    micro = int((moment % 1) * 1_000_000)
    text = time.strftime("%a %b %d %H:%M:%S", time.localtime(moment))
    return f"{text}.{micro:06d} {time.strftime('%Y', time.localtime(moment))}"


class ErrorLog:
    """Writes Apache-format lines to a file (or stderr when `path` is None)."""

    def __init__(
        self, path: str | None, levels: Iterable[tuple[str, str]] = (("", "warn"),)
    ) -> None:
        self.path = path
        self.level = _RANK["warn"]
        self.module_levels: dict[str, int] = {}
        for module, level in levels:
            if module:
                self.module_levels[module] = _RANK[level]
            else:
                self.level = _RANK[level]
        self.fd = self._open()

    def _open(self) -> int:
        if self.path is None:
            return sys.stderr.fileno()
        directory = os.path.dirname(self.path)
        if directory:
            os.makedirs(directory, exist_ok=True)
        return os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def enabled(self, level: str, module: str = "core") -> bool:
        return _RANK[level] <= self.module_levels.get(module, self.level)

    def log(
        self, level: str, module: str, message: str, *, tag: str = "", client: str = ""
    ) -> None:
        """Write one line if `level` passes the module's LogLevel. `notice` always passes."""
        if level != "notice" and not self.enabled(level, module):
            return
        parts = [
            f"[{apache_time()}]",
            f"[{module}:{level}]",
            f"[pid {os.getpid()}:tid {threading.get_native_id()}]",
        ]
        if client:
            parts.append(f"[client {client}]")
        text = f"{tag}: {message}" if tag else message
        line = " ".join(parts) + " " + text.replace("\n", "\\n") + "\n"
        try:
            os.write(self.fd, line.encode("utf-8", "replace"))
        except OSError:
            pass  # a full disk must not take a request down with it

    def close(self) -> None:
        if self.path is not None:
            os.close(self.fd)
