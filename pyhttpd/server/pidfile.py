"""PidFile: write, read, check and remove, with Apache's messages.

Runs in the master (write, remove) and in `pyhttpd -k` / `pyhttpdctl` (read, check). Written as
Apache writes it: a temporary file renamed into place, mode 0644, content `PID\\n`.
"""

from __future__ import annotations

import os

from pyhttpd.errors import StartupError


def write(path: str, pid: int) -> str | None:
    """Write `pid`; return Apache's AH00098 warning when a different live pid's file was there."""
    warning = None
    previous = read_quietly(path)
    if previous is not None and previous != pid:
        warning = (
            f"AH00098: pid file {path} overwritten -- Unclean shutdown of previous Apache run?"
        )
    directory = os.path.dirname(path)
    if directory:
        os.makedirs(directory, exist_ok=True)
    temporary = f"{path}.{pid}.tmp"
    with open(temporary, "w", encoding="ascii") as handle:
        handle.write(f"{pid}\n")
    os.chmod(temporary, 0o644)
    os.replace(temporary, path)
    return warning


def read(path: str) -> int | None:
    """The pid in the file; None when there is no file; StartupError for a garbled one."""
    try:
        with open(path, encoding="ascii", errors="replace") as handle:
            text = handle.read().strip()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StartupError(
            f"AH00058: Error retrieving pid file {path}\n"
            f"AH00059: Remove it before continuing if it is corrupted. ({error.strerror})"
        ) from None
    if not text.isdigit() or int(text) <= 0:
        raise StartupError(
            f"AH00058: Error retrieving pid file {path}\n"
            "AH00059: Remove it before continuing if it is corrupted."
        )
    return int(text)


def read_quietly(path: str) -> int | None:
    try:
        return read(path)
    except StartupError:
        return None


def alive(pid: int) -> bool:
    """Whether a process with this pid exists (signal 0 probes without signalling)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove(path: str, pid: int) -> bool:
    """Remove the file if it still names `pid` (a newer server may have replaced it)."""
    if read_quietly(path) != pid:
        return False
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True
