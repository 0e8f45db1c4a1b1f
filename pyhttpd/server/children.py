"""Forking, identifying and reaping the master's children.

Owns the MPM registry (config.mpm -> the MPM's `child_main`, resolved lazily so that an MPM whose
child loop does not exist yet fails start-up with a clear message), the fork itself (signals
blocked around it and, in the child, until its MPM has installed its own handlers; process
titles; User/Group switch when started as root), the per-generation pipe of death, and Apache's
wording for child exits (AH00052). The code before `os.fork()` runs in the master; `_run_child`
runs in the new child and never returns.
"""

from __future__ import annotations

import gc
import grp
import importlib
import linecache
import os
import pwd
import signal
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from setproctitle import setproctitle

from pyhttpd.config import ServerConfig
from pyhttpd.errors import StartupError
from pyhttpd.mpm.contract import CHILD_FATAL, CHILD_SICK, ChildContext, ChildMain
from pyhttpd.server.signals import HANDLED, reset_in_child

CHILD_MAINS: dict[str, str] = {
    "prefork": "pyhttpd.mpm.prefork:child_main",
    "worker": "pyhttpd.mpm.worker:child_main",
    "event": "pyhttpd.mpm.event:child_main",
}
MASTER_TITLE = "pyhttpd: master"
STOP_RESEND = (3.0, 5.0)  # SIGTERM again (AH00045); bounded below Apache's 3/5/7 s
STOP_KILL = 6.0  # SIGKILL (AH00046)
STOP_GIVE_UP = 7.0  # AH00047
# Children killed by these are reaped without comment, as in Apache.
QUIET_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGKILL, signal.SIGWINCH)


def resolve_child_main(mpm: str) -> ChildMain:
    """The MPM's child loop; StartupError (start-up fails, or a restart keeps the old generation)
    when it cannot be found."""
    target = CHILD_MAINS.get(mpm)
    if target is None:
        raise StartupError(f"AH00534: pyhttpd: Configuration error: unknown MPM {mpm!r}.")
    module_name, _, name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise StartupError(f"pyhttpd: the {mpm} MPM cannot be loaded: {error}") from None
    child_main = getattr(module, name, None)
    if not callable(child_main):
        raise StartupError(
            f"pyhttpd: the {mpm} MPM has no child process loop ({target}) in this release; "
            "load another MPM (mpm_prefork) or use -X."
        )
    return child_main  # type: ignore[no-any-return]


@dataclass
class DeathPipe:
    """One generation's pipe of death: children read, the master writes."""

    read: int
    write: int

    @classmethod
    def open(cls) -> DeathPipe:
        read, write = os.pipe()
        os.set_blocking(read, False)
        os.set_blocking(write, False)
        return cls(read, write)

    def send(self, data: bytes, count: int = 1) -> None:
        try:
            os.write(self.write, data * count)
        except (BlockingIOError, BrokenPipeError):
            pass

    def close(self) -> None:
        for fd in (self.read, self.write):
            try:
                os.close(fd)
            except OSError:
                pass


def ids_for(config: ServerConfig) -> tuple[int, int] | None:
    """(uid, gid) to switch to, only when started as root and User or Group is set explicitly:
    without them a root-started test server keeps its rights (Apache would take #-1)."""
    if os.geteuid() != 0 or not (config.main.is_set("User") or config.main.is_set("Group")):
        return None
    user, group = str(config.get("User")), str(config.get("Group"))
    try:
        uid = int(user[1:]) if user.startswith("#") else pwd.getpwnam(user).pw_uid
        gid = int(group[1:]) if group.startswith("#") else grp.getgrnam(group).gr_gid
    except (KeyError, ValueError):
        raise StartupError(f"AH00544: pyhttpd: bad user name {user} or group {group}") from None
    return (uid % 2**32, gid % 2**32)


def freeze_heap() -> None:
    """Master, once per generation before its children are forked: collect, then move every
    object left to the collector's permanent generation (gc.freeze), so that the children's
    collections never walk -- and so never copy -- the pages they share with the master. Without
    it each child's first full collection turns most of its inherited heap private (~9 MiB).
    The previous generation's objects are unfrozen first, so that a restart can free them.
    linecache's lines go first: pyparsing reads its whole core.py into it (~0.6 MiB) when a
    grammar is built, to name a line in a message no server prints."""
    linecache.clearcache()
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def fork_child(
    child_main: ChildMain,
    context: ChildContext,
    close_fds: Sequence[int],
    ids: tuple[int, int] | None,
) -> int:
    """Fork one child running `child_main(context)`; return its pid (in the master)."""
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HANDLED)
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child, which never returns
            _run_child(child_main, context, close_fds, ids)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    return pid


def _run_child(
    child_main: ChildMain,
    context: ChildContext,
    close_fds: Sequence[int],
    ids: tuple[int, int] | None,
) -> None:
    status = CHILD_SICK
    try:
        # The master's handlers are reset while HANDLED stays blocked (the mask inherited from
        # fork_child): a signal arriving now stays pending instead of killing the child by its
        # default action. The MPM's child_main unblocks once its own handlers are installed
        # (see pyhttpd.mpm.contract).
        reset_in_child()
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        setproctitle(f"pyhttpd: child (generation {context.generation_number})")
        for fd in close_fds:
            try:
                os.close(fd)
            except OSError:
                pass
        if ids is not None:
            os.setgroups([])
            os.setgid(ids[1])
            os.setuid(ids[0])
        status = child_main(context)
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else CHILD_SICK
    except BaseException as error:  # noqa: BLE001 - a child must end with a status, not a trace
        text = "".join(traceback.format_exception_only(type(error), error)).strip()
        context.generation.error_log.log("crit", "mpm", f"child process failed: {text}")
        status = CHILD_SICK
    finally:
        os._exit(status if 0 <= status <= 255 else CHILD_FATAL)


def exit_message(pid: int, status: int) -> str | None:
    """Apache's AH00052 for a child killed by an unexpected signal; None for an ordinary exit."""
    if not os.WIFSIGNALED(status):
        return None
    number = os.WTERMSIG(status)
    if number in QUIET_SIGNALS:
        return None
    try:
        name = signal.strsignal(number) or f"signal {number}"
    except ValueError:
        name = f"signal {number}"
    core = ", possible coredump in /tmp" if os.WCOREDUMP(status) else ""
    return f"child pid {pid} exit signal {name} ({number}){core}"


def exit_code(status: int) -> int | None:
    return os.WEXITSTATUS(status) if os.WIFEXITED(status) else None


@dataclass
class Child:
    """The master's record of one forked child."""

    pid: int
    slot: int
    generation: int


def signal_all(kids: Sequence[Child], signum: int) -> None:
    for child in kids:
        try:
            os.kill(child.pid, signum)
        except ProcessLookupError:
            pass


def reap_ready(kids: dict[int, Child]) -> Iterator[tuple[int, int]]:
    """(pid, status) of every child that has exited, by waitpid(WNOHANG), until none is left;
    when the master has no child at all, its records are stale and dropped."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            kids.clear()
            return
        if pid == 0:
            return
        yield pid, status


Log = Callable[[str, str, str, str], None]


def reclaim(kids: dict[int, Child], reaped: Callable[[Child, int], None], log: Log) -> None:
    """Apache's reclaim_child_processes: TERM every child, reap at growing intervals, TERM again,
    then KILL, then give up (bounded to a few seconds)."""
    signal_all(list(kids.values()), signal.SIGTERM)
    started, interval, resent = time.monotonic(), 0.016, 0
    while kids:
        for pid, status in reap_ready(kids):
            child = kids.pop(pid, None)
            if child is not None:
                reaped(child, status)
        if not kids:
            break
        elapsed = time.monotonic() - started
        if resent < len(STOP_RESEND) and elapsed >= STOP_RESEND[resent]:
            resent += 1
            for child in kids.values():
                text = f"child process {child.pid} still did not exit, sending a SIGTERM"
                log("warn", text, "AH00045", "core")
            signal_all(list(kids.values()), signal.SIGTERM)
        elif elapsed >= STOP_GIVE_UP:
            for child in kids.values():
                text = (
                    f"could not make child process {child.pid} exit, attempting to continue anyway"
                )
                log("error", text, "AH00047", "core")
            kids.clear()
        elif elapsed >= STOP_KILL and resent == len(STOP_RESEND):
            resent += 1
            for child in kids.values():
                text = f"child process {child.pid} still did not exit, sending a SIGKILL"
                log("error", text, "AH00046", "core")
            signal_all(list(kids.values()), signal.SIGKILL)
        time.sleep(interval)
        interval = min(interval * 2, 0.25)
