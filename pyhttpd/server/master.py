"""The master process: generations, signals, fork / reap / respawn, PidFile and scoreboard.

Shaped like gunicorn's Arbiter.run with Apache's semantics (reference §2, §3): the caller has read
the config and bound the listeners (a restart keeps those still listed, binds new Listen lines
and closes removed ones); `Master.run()` creates the
scoreboard, writes the PidFile, forks StartServers children and loops: wait up to the next 1-second
tick for a signal (handlers only enqueue), reap with waitpid(WNOHANG), and on a tick that reaped
nothing run the MPM's upkeep from `pyhttpd.mpm.upkeep`. A restart or graceful restart re-reads the
config *before* touching any child: a config that fails keeps the old generation serving.
Runs in the master process only; children are forked through `children.py`.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable
from dataclasses import replace

from setproctitle import setproctitle

from pyhttpd.config import ServerConfig
from pyhttpd.errors import ConfigError, StartupError
from pyhttpd.http.generation import Generation
from pyhttpd.modules.core_values import extended_status
from pyhttpd.mpm import upkeep
from pyhttpd.mpm.contract import CHILD_FATAL, CHILD_SICK, GRACEFUL, ChildContext, ChildMain
from pyhttpd.mpm.prefork import ACCEPT_LOCK_SUFFIX
from pyhttpd.scoreboard import Scoreboard, WorkerState
from pyhttpd.scoreboard import file_path as scoreboard_file
from pyhttpd.server import children, pidfile
from pyhttpd.server.children import Child
from pyhttpd.server.generation import Closer, open_generation
from pyhttpd.server.listeners import rebind_listeners
from pyhttpd.server.sd_notify import Notifier
from pyhttpd.server.signals import Action, SignalQueue
from pyhttpd.version import SERVER_BUILT, SERVER_VERSION

# configured / TERM / WINCH / USR1 / HUP, per MPM (reference §3.1)
MESSAGES = {
    "prefork": ("AH00163", "AH00169", "AH00170", "AH00171", "AH00173"),
    "worker": ("AH00292", "AH00295", "AH00296", "AH00297", "AH00298"),
    "event": ("AH00489", "AH00491", "AH00492", "AH00493", "AH00494"),
}
GRACEFUL_TEXT = {
    "prefork": "Graceful restart requested, doing restart",
    "worker": "SIGUSR1 received.  Doing graceful restart",
    "event": "SIGUSR1 received.  Doing graceful restart",
}


# what a restart loads: the config, its MPM's child loop, the generation and its files' closer
Loaded = tuple[ServerConfig, ChildMain, Generation, Closer, list[socket.socket]]


def scoreboard_path(config: ServerConfig) -> str:
    return scoreboard_file(config.server_root, config.get("ScoreBoardFile"))


def pid_path(config: ServerConfig) -> str:
    target = str(config.get("PidFile"))
    return target if os.path.isabs(target) else os.path.join(config.server_root, target)


def board_size(config: ServerConfig) -> tuple[int, int]:
    """(ServerLimit, ThreadLimit) as the scoreboard is sized; prefork has one worker per child."""
    thread_limit = 1 if config.mpm == "prefork" else int(config.get("ThreadLimit") or 1)
    return int(config.get("ServerLimit") or 1), thread_limit


class Master:
    """One server run: `run()` returns the process exit status."""

    def __init__(
        self,
        config: ServerConfig,
        listeners: list[socket.socket],
        loader: Callable[[], ServerConfig],
        command_line: str = "",
    ) -> None:
        self.config = config
        self.listeners = listeners
        self._dropped: list[socket.socket] = []  # listeners the next generation no longer has
        self.loader = loader
        self.command_line = command_line
        self.child_main: ChildMain = children.resolve_child_main(config.mpm)
        self.ids = children.ids_for(config)
        self.generation: Generation
        self.generation, self._close_generation = open_generation(config)
        self.running_generation = 0
        self.config_generation = 1
        self.children: dict[int, Child] = {}
        self.pipes: dict[int, children.DeathPipe] = {}
        self.state = upkeep.UpkeepState()
        self.sick = False
        self.healthy = False
        self.signals = SignalQueue()
        self.notifier = Notifier.from_environment()  # systemd's Type=notify, when set
        self._reaped_this_pass = False
        self.pid_file = pid_path(config)
        self.board_path = scoreboard_path(config)
        self.accept_lock = f"{self.board_path}{ACCEPT_LOCK_SUFFIX}"
        self.board: Scoreboard

    # --- logging ---------------------------------------------------------------------------------

    def log(self, level: str, text: str, tag: str = "", module: str = "") -> None:
        self.generation.error_log.log(level, module or f"mpm_{self.config.mpm}", text, tag=tag)

    def _configured(self) -> None:
        tag = MESSAGES[self.config.mpm][0]
        self.log("notice", f"{SERVER_VERSION} configured -- resuming normal operations", tag)
        self.log("info", f"Server built: {SERVER_BUILT}", f"AH{int(tag[2:]) + 1:05d}")
        self.log("notice", f"Command line: '{self.command_line}'", "AH00094", "core")

    # --- start-up ----------------------------------------------------------------------------------

    def run(self) -> int:
        setproctitle(children.MASTER_TITLE)
        self.board = Scoreboard.create(self.board_path, *board_size(self.config))
        self.signals.install()
        warning = pidfile.write(self.pid_file, os.getpid())
        if warning:
            self.log("warn", warning, module="core")
        self._prepare_generation()
        self._configured()
        self._spawn(upkeep.startup_slots(self._limits(), mpm=self.config.mpm))
        self._notify_ready()
        try:
            status = self._loop()
        finally:
            self._cleanup()
        # The last generation's log files; only on an orderly end, as the caller still logs a
        # failure to the error log.
        self._close_generation()
        return status

    def _prepare_generation(self) -> None:
        limits = self._limits()
        board = self.board
        board.set_generation(self.running_generation, self.config_generation)
        threads = 1 if self.config.mpm == "prefork" else limits.threads_per_child
        board.set_limits(self.config.mpm, limits.process_limit, threads)
        board.set_request_tail(bool(self.config.get("SeeRequestTail")))
        board.set_extended_status(extended_status(self.config))
        pipe = children.DeathPipe.open()
        self.pipes[self.running_generation] = pipe
        fd = os.open(self.accept_lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        if self.ids is not None:  # children open it themselves after switching User / Group
            os.fchown(fd, *self.ids)
        os.close(fd)
        children.freeze_heap()

    def _notify_ready(self, status: str = "") -> None:
        text = status or f"serving (generation {self.running_generation}, {self._mpm} MPM)"
        self.notifier.ready(text)

    def _limits(self) -> upkeep.UpkeepLimits:
        limits = upkeep.UpkeepLimits.from_settings(self.config.main)
        bound = min(limits.server_limit, self.board.server_limit)
        return replace(limits, server_limit=bound, process_limit=min(limits.process_limit, bound),
                       max_request_workers=min(limits.max_request_workers,
                                               bound * limits.threads_per_child))  # fmt: skip

    # --- the loop ----------------------------------------------------------------------------------

    def _loop(self) -> int:
        next_tick = time.monotonic() + 1.0
        while True:
            actions = self.signals.wait(max(0.0, next_tick - time.monotonic()))
            for action in dict.fromkeys(actions):  # a repeated pending signal counts once
                if action is Action.STOP:
                    self.log("notice", "caught SIGTERM, shutting down", MESSAGES[self._mpm][1])
                    self.notifier.stopping("stopping")
                    self._stop_children()
                    return 0
                if action is Action.GRACEFUL_STOP:
                    return self._graceful_stop()
                if action is Action.RESTART:
                    self._restart()
                elif action is Action.GRACEFUL:
                    self._graceful()
            reaped = self._reap()
            if reaped is not None:
                return reaped
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + 1.0
                if self._reaped_this_pass:
                    continue
                status = self._maintain()
                if status is not None:
                    return status

    @property
    def _mpm(self) -> str:
        return self.config.mpm

    def _views(self) -> list[upkeep.ProcessView]:
        snapshot = self.board.snapshot()
        views = []
        for process, row in zip(snapshot.processes, snapshot.workers, strict=True):
            states = tuple(int(worker.state) for worker in row)
            views.append(
                upkeep.ProcessView(process.slot, process.pid, process.generation,
                    process.quiescing, process.not_accepting, states)
            )  # fmt: skip
            if process.pid and process.generation == self.running_generation:
                if any(WorkerState.READY <= state < WorkerState.GRACEFUL for state in states):
                    self.healthy = True
        return views

    def _maintain(self) -> int | None:
        """One upkeep pass (a 1-second tick that reaped no child)."""
        views, limits = self._views(), self._limits()
        if self._mpm == "prefork":
            if self.sick and not self.healthy:
                return self._give_up("AH02325")
            self.sick = False
            decision = upkeep.prefork_upkeep(views, self.running_generation, limits, self.state)
        else:
            decision = upkeep.threaded_upkeep(
                views, self.running_generation, limits, self.state, event=self._mpm == "event"
            )
        self.state = decision.state
        for message in decision.messages:
            self.log(message.level, message.text, message.tag)
        if decision.give_up:
            return self._give_up("")
        if decision.kill:
            self.pipes[self.running_generation].send(GRACEFUL, decision.kill)
        self._spawn(decision.spawn)
        return None

    def _give_up(self, tag: str) -> int:
        if tag:
            self.log("alert", upkeep.SICK, tag)
        self._stop_children()
        return 1

    # --- fork and reap -----------------------------------------------------------------------------

    def _spawn(self, slots: tuple[int, ...] | list[int]) -> None:
        """Fork one child of the running generation into each slot (prefork: STARTING first)."""
        pipe = self.pipes[self.running_generation]
        close = [p.write for p in self.pipes.values()] + [self.signals._read, self.signals._write]
        close += [p.read for n, p in self.pipes.items() if n != self.running_generation]
        for slot in slots:
            if self._mpm == "prefork":
                self.board.worker(slot, 0).set_state(WorkerState.STARTING)
            context = ChildContext(
                slot=slot,
                generation_number=self.running_generation,
                generation=self.generation,
                listeners=tuple(self.listeners),
                scoreboard=self.board,
                death_pipe=pipe.read,
            )
            pid = children.fork_child(self.child_main, context, close, self.ids)
            self.board.process(slot).started(pid, self.running_generation)
            self.children[pid] = Child(pid, slot, self.running_generation)

    def _reap(self) -> int | None:
        """waitpid(WNOHANG) until nothing is left to reap; a non-None result ends the server."""
        self._reaped_this_pass = False
        for pid, status in children.reap_ready(self.children):
            self._reaped_this_pass = True
            child = self.children.pop(pid, None)
            if child is None:
                continue
            self._forget(child)
            message = children.exit_message(pid, status)
            if message:
                self.log("notice", message, "AH00052")
            code = children.exit_code(status)
            if code == CHILD_SICK and child.generation == self.running_generation:
                self.state = self.state.child_sick()
                self.sick = True
            elif code == CHILD_FATAL:
                if child.generation == self.running_generation:
                    text = f"Child {pid} returned a Fatal error... Apache is exiting!"
                    self.log("alert", text, "AH00050")
                    self._stop_children()
                    return 1
                text = f"Ignoring fatal error in child of previous generation (pid {pid})."
                self.log("warn", text, {"prefork": "AH00166", "worker": "AH00290"}.get(
                    self._mpm, "AH00487"))  # fmt: skip

    def _forget(self, child: Child) -> None:
        if (
            child.slot < self.board.server_limit
            and self.board.find_process(child.pid) == child.slot
        ):
            self.board.clear_process(child.slot)
        old = [n for n in self.pipes if n != self.running_generation]
        for number in old:
            if not any(c.generation == number for c in self.children.values()):
                self.pipes.pop(number).close()

    def _signal_children(self, signum: int, generation: int | None = None) -> None:
        kids = self.children.values()
        children.signal_all([c for c in kids if generation is None or c.generation <= generation],
                            signum)  # fmt: skip

    def _stop_children(self) -> None:
        children.reclaim(self.children, self._reaped_quietly, self.log)

    def _reap_quietly(self) -> None:
        for pid, status in children.reap_ready(self.children):
            child = self.children.pop(pid, None)
            if child is not None:
                self._reaped_quietly(child, status)

    def _reaped_quietly(self, child: Child, status: int) -> None:
        self._forget(child)
        message = children.exit_message(child.pid, status)
        if message:
            self.log("notice", message, "AH00052")

    # --- restarts ----------------------------------------------------------------------------------

    def _reload(self) -> Loaded | None:
        """Read and build the next generation; on failure log it and keep the running one.

        Listen lines are re-read as Apache does on a restart: sockets still listed are kept
        (no gap for clients), new ones bound; a bind failure fails the restart."""
        listeners: list[socket.socket] = []
        try:
            config = self.loader()
            child_main = children.resolve_child_main(config.mpm)
            children.ids_for(config)
            listeners, dropped = rebind_listeners(
                config.get("Listen") or (), int(config.get("ListenBacklog")), self.listeners
            )
            generation, close = open_generation(config)
        except (ConfigError, StartupError, OSError) as error:
            for sock in listeners:
                if sock not in self.listeners:
                    sock.close()
            for line in str(error).splitlines():
                self.log("error", line, module="core")
            self.log("error", "restart failed: the running generation keeps serving", "",
                     "core")  # fmt: skip
            return None
        self._dropped = dropped
        return config, child_main, generation, close, listeners

    def _adopt(self, loaded: Loaded) -> None:
        """Make the loaded generation the running one and close the old generation's log files
        in the master at once, as Apache clears pconf before it forks the new children: the new
        children must not inherit them, and the old children keep their own copies until they
        leave, so after a rotation nothing but a finishing old child holds the renamed file."""
        close_old = self._close_generation
        self.config, self.child_main, self.generation, self._close_generation, listeners = loaded
        self.listeners = listeners
        for dropped in self._dropped:  # a Listen line removed: old children keep their copies
            dropped.close()
        self._dropped = []
        self.ids = children.ids_for(self.config)
        self.running_generation += 1
        self.config_generation += 1
        close_old()

    def _restart(self) -> None:
        self.log("notice", "SIGHUP received.  Attempting to restart", MESSAGES[self._mpm][4])
        self.notifier.reloading("restarting")
        loaded = self._reload()
        if loaded is not None:
            self._hard_switch(loaded)
        self._notify_ready("" if loaded else "restart failed: the running generation serves")

    def _hard_switch(self, loaded: Loaded) -> None:
        """Restart: every child stopped, a fresh scoreboard (counters reset), new children."""
        self._stop_children()
        for pipe in self.pipes.values():
            pipe.close()
        self.pipes.clear()
        self._adopt(loaded)
        if board_size(self.config) != (self.board.server_limit, self.board.thread_limit):
            self.board.close()
            self.board = Scoreboard.create(self.board.path, *board_size(self.config))
        else:
            self.board.reset()
        self.state, self.sick, self.healthy = upkeep.UpkeepState(), False, False
        self._prepare_generation()
        self._configured()
        self._spawn(upkeep.startup_slots(self._limits(), mpm=self._mpm))

    def _graceful(self) -> None:
        """Graceful restart: old children finish and leave, new ones start at once. A changed
        scoreboard size (ServerLimit, ThreadLimit, MPM) gets a new scoreboard file; the old
        children finish on the old map, outside what upkeep and status see."""
        self.log("notice", GRACEFUL_TEXT[self._mpm], MESSAGES[self._mpm][3])
        self.notifier.reloading("graceful restart")
        loaded = self._reload()
        if loaded is None:
            self._notify_ready("graceful restart failed: the running generation serves")
            return
        self._tell_old_children(self.running_generation, self._mpm, signal.SIGUSR1)
        self._adopt(loaded)
        if board_size(self.config) != (self.board.server_limit, self.board.thread_limit):
            # The old children keep their (now unlinked-by-rename) map until they leave.
            self.board = Scoreboard.create(self.board.path, *board_size(self.config))
        self.state, self.sick, self.healthy = self.state.after_graceful(), False, False
        self._prepare_generation()
        self._configured()
        self._spawn(upkeep.startup_slots(self._limits(), self._views(), mpm=self._mpm))
        self._notify_ready()

    def _tell_old_children(self, generation: int, mpm: str, signum: int) -> None:
        """prefork: signal each old child and mark its slot G; worker/event: one GRACEFUL byte
        per child down its generation's pipe of death."""
        if mpm == "prefork":
            for child in self.children.values():
                if child.generation <= generation:
                    if self.board.find_process(child.pid) == child.slot:
                        self.board.worker(child.slot, 0).set_state(WorkerState.GRACEFUL)
            self._signal_children(signum, generation)
            return
        for number, pipe in self.pipes.items():
            count = sum(1 for c in self.children.values() if c.generation == number)
            pipe.send(GRACEFUL, count)

    def _graceful_stop(self) -> int:
        self.log("notice", "caught SIGWINCH, shutting down gracefully", MESSAGES[self._mpm][2])
        self.notifier.stopping("stopping gracefully")
        for listener in self.listeners:
            listener.close()
        self._remove_pid_file()
        self._tell_old_children(self.running_generation, self._mpm, signal.SIGWINCH)
        timeout = int(self.config.get("GracefulShutdownTimeout") or 0)
        deadline = time.monotonic() + timeout if timeout > 0 else None
        while self.children:
            actions = self.signals.wait(0.2)
            if Action.STOP in actions:
                break
            self._reap_quietly()
            if deadline is not None and time.monotonic() >= deadline:
                break
        self._stop_children()
        return 0

    # --- shutdown ----------------------------------------------------------------------------------

    def _remove_pid_file(self) -> None:
        if pidfile.remove(self.pid_file, os.getpid()):
            self.log("info", f"removed PID file {self.pid_file} (pid={os.getpid()})", "AH00096",
                     "core")  # fmt: skip

    def _cleanup(self) -> None:
        self._remove_pid_file()
        for pipe in self.pipes.values():
            pipe.close()
        self.board.unlink()
        self.board.close()
        for path in (self.accept_lock,):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        for listener in self.listeners:
            listener.close()
