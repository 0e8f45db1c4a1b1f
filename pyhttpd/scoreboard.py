"""The scoreboard: the one shared-memory truth about children and workers.

Leaf module: imports nothing of pyhttpd but its own byte layout and slot writers
(`scoreboard_layout.py`).

What it owns: one MAP_SHARED memory map, sized once from ServerLimit x ThreadLimit, backed by a file
(Apache's ScoreBoardFile, `logs/apache_runtime_status` under ServerRoot by default; the caller
passes the path) or anonymous (path None, for tests and single-process runs). The master creates
it before the first fork; children inherit the map. Upkeep, mod_status and `pyhttpdctl status`
read it through `snapshot()`: frozen records plus Apache's counting rules (mod_status.c).

Who writes what (no locks: each field has one writer, as in Apache):
- the master (server process): the global record (`set_generation`, `set_limits`, `reset`), each
  process record's pid and generation when it forks (`ProcessSlot.started`) and after reaping
  (`clear_process`); for prefork also STARTING in the slot it is about to fork into.
- a child (MPM process): its own process record's flags and event counters, and its own workers'
  records (`WorkerSlot`, each called only by the thread that owns the slot).
- `pyhttpdctl status` (a separate process): nothing; `attach()` maps the file read-only.

Worker records keep access_count and bytes_served ("this slot") across children and graceful
restarts, as Apache's do; Total Accesses is their sum. Only a hard restart (`reset`) clears them.
"""

from __future__ import annotations

import mmap
import os
import time
from dataclasses import dataclass

from pyhttpd.scoreboard_layout import (
    GLOBAL,
    GLOBAL_BASIC_STATUS_AT,
    GLOBAL_GENERATIONS,
    GLOBAL_LIMITS,
    GLOBAL_LIMITS_AT,
    GLOBAL_MPM_AT,
    GLOBAL_REQUEST_TAIL_AT,
    GLOBAL_RESTART,
    GLOBAL_RESTART_AT,
    HEADER_SIZE,
    PROCESS,
    WORKER,
    Layout,
    ProcessRecord,
    ProcessSlot,
    ScoreboardError,
    WorkerRecord,
    WorkerSlot,
    WorkerState,
    decode_text,
)

__all__ = [
    "DEFAULT_PATH",
    "ConnectionTotals",
    "ProcessRecord",
    "ProcessSlot",
    "ProcessTotals",
    "Scoreboard",
    "ScoreboardError",
    "ScoreboardSnapshot",
    "WorkerCounts",
    "WorkerRecord",
    "WorkerSlot",
    "WorkerState",
    "file_path",
]

DEFAULT_PATH = "logs/apache_runtime_status"  # ScoreBoardFile's default, relative to ServerRoot
_STATES = tuple(WorkerState)


def file_path(server_root: str, setting: object = None) -> str:
    """Where the scoreboard file is: ScoreBoardFile (or the default) under ServerRoot. The
    master creates it there; children, mod_status and pyhttpdctl find it there."""
    target = str(setting or DEFAULT_PATH)
    return target if os.path.isabs(target) else os.path.join(server_root, target)


_NOT_COUNTED = (WorkerState.DEAD, WorkerState.STARTING, WorkerState.IDLE_KILL)


@dataclass(frozen=True, slots=True)
class WorkerCounts:
    """mod_status's BusyWorkers, IdleWorkers and GracefulWorkers."""

    busy: int
    idle: int
    graceful: int


@dataclass(frozen=True, slots=True)
class ProcessTotals:
    """One row of event's per-process table in mod_status (live processes only)."""

    slot: int
    pid: int
    stopping: bool  # quiescing
    old_generation: bool
    connections: int
    accepting: bool
    busy: int
    graceful: int
    idle: int  # READY threads, whatever the generation (as mod_status's table counts them)
    wait_io: int
    write_completion: int
    keep_alive: int
    lingering_close: int


@dataclass(frozen=True, slots=True)
class ConnectionTotals:
    """event's ?auto block: Processes, Stopping, ConnsTotal, ConnsAsync*."""

    processes: int
    stopping: int
    connections: int
    wait_io: int
    write_completion: int
    keep_alive: int
    lingering_close: int
    suspended: int


@dataclass(frozen=True, slots=True)
class ScoreboardSnapshot:
    server_limit: int
    thread_limit: int
    running_generation: int  # ParentServerMPMGeneration
    config_generation: int  # ParentServerConfigGeneration
    master_pid: int
    mpm: str
    max_daemons: int  # 0 until the master calls set_limits
    threads_per_child: int
    restart_time: float
    start_time: float
    processes: tuple[ProcessRecord, ...]
    workers: tuple[tuple[WorkerRecord, ...], ...]  # [slot][thread]

    def worker_counts(self) -> WorkerCounts:
        """Idle: READY in live, non-quiescing, current-generation processes. Busy: any other
        state but DEAD, STARTING, IDLE_KILL and GRACEFUL in live, non-quiescing processes.
        Graceful: G there. Workers of quiescing processes count in none."""
        busy = idle = graceful = 0
        for process, row in zip(self.processes, self.workers, strict=True):
            if process.pid != 0 and not process.quiescing:
                row_busy, row_ready, row_graceful = _tally(row)
                busy += row_busy
                idle += row_ready if process.generation == self.running_generation else 0
                graceful += row_graceful
        return WorkerCounts(busy, idle, graceful)

    def busy_workers(self) -> int:
        return self.worker_counts().busy

    def idle_workers(self) -> int:
        return self.worker_counts().idle

    def graceful_workers(self) -> int:
        return self.worker_counts().graceful

    def scoreboard_string(
        self, max_daemons: int | None = None, threads_per_child: int | None = None
    ) -> str:
        """One character per slot within the configured limit (prefork: MaxRequestWorkers x 1;
        worker/event: MaxRequestWorkers // ThreadsPerChild x ThreadsPerChild; by default the
        limits the master recorded). Dead slots beyond it are omitted, live ones shown."""
        daemons = max_daemons if max_daemons is not None else self.max_daemons or self.server_limit
        threads = threads_per_child if threads_per_child is not None else self.threads_per_child
        threads = threads or self.thread_limit
        return "".join(
            worker.state.code
            for slot, row in enumerate(self.workers)
            for worker in row
            if worker.state is not WorkerState.DEAD or (slot < daemons and worker.thread < threads)
        )

    def process_totals(self) -> tuple[ProcessTotals, ...]:
        rows = []
        for process, row in zip(self.processes, self.workers, strict=True):
            if process.pid != 0:
                busy, idle, graceful = (0, 0, 0) if process.quiescing else _tally(row)
                old = process.generation != self.running_generation
                accepting = not process.not_accepting
                rows.append(
                    ProcessTotals(process.slot, process.pid, process.quiescing, old,
                        process.connections, accepting, busy, graceful, idle, process.wait_io,
                        process.write_completion, process.keep_alive, process.lingering_close)
                )  # fmt: skip
        return tuple(rows)

    def connection_totals(self) -> ConnectionTotals:
        live = [process for process in self.processes if process.pid != 0]
        fields = ("connections", "wait_io", "write_completion", "keep_alive", "lingering_close")
        sums = [sum(getattr(process, name) for process in live) for name in (*fields, "suspended")]
        return ConnectionTotals(len(live), sum(process.quiescing for process in live), *sums)

    def _all_workers(self) -> list[WorkerRecord]:
        return [worker for row in self.workers for worker in row]

    def total_accesses(self) -> int:
        return sum(worker.access_count for worker in self._all_workers())

    def total_bytes(self) -> int:
        return sum(worker.bytes_served for worker in self._all_workers())

    def total_duration_us(self) -> int:
        return sum(worker.duration_us for worker in self._all_workers())


def _tally(row: tuple[WorkerRecord, ...]) -> tuple[int, int, int]:
    """(busy, ready, graceful) threads of one process, as mod_status counts them."""
    busy = ready = graceful = 0
    for worker in row:
        state = worker.state
        if state is WorkerState.READY:
            ready += 1
        elif state is WorkerState.GRACEFUL:
            graceful += 1
        elif state not in _NOT_COUNTED:
            busy += 1
    return busy, ready, graceful


def read_snapshot(data: bytes, layout: Layout) -> ScoreboardSnapshot:
    """Decode a copy of the whole map."""
    running, config, master, daemons, threads, restart, start, mpm = GLOBAL.unpack_from(
        data, layout.global_offset
    )
    processes = tuple(
        ProcessRecord(slot, pid, gen, bool(quiescing), bool(not_accepting), *counters)
        for slot, (pid, gen, quiescing, not_accepting, *counters) in enumerate(
            PROCESS.iter_unpack(data[layout.processes_offset : layout.workers_offset])
        )
    )
    flat = WORKER.iter_unpack(data[layout.workers_offset : layout.size])
    workers = []
    for slot in range(layout.server_limit):
        row = []
        for thread in range(layout.thread_limit):
            status, *numbers, request, client, vhost, protocol = next(flat)
            state = _STATES[status] if status < len(_STATES) else WorkerState.DEAD
            texts = (decode_text(request), decode_text(client), decode_text(vhost))
            row.append(WorkerRecord(slot, thread, state, *numbers, *texts, decode_text(protocol)))
        workers.append(tuple(row))
    return ScoreboardSnapshot(
        layout.server_limit, layout.thread_limit, running, config, master, decode_text(mpm),
        daemons, threads, restart, start, processes, tuple(workers),
    )  # fmt: skip


class Scoreboard:
    """One scoreboard map: `create` in the master (inherited across fork), `attach` to read."""

    def __init__(self, buffer: mmap.mmap, layout: Layout, path: str | None, writable: bool) -> None:
        self._buffer = buffer
        self.layout = layout
        self.path = path
        self.writable = writable

    @classmethod
    def create(
        cls, path: str | os.PathLike[str] | None, server_limit: int, thread_limit: int
    ) -> Scoreboard:
        """A zeroed scoreboard (every slot DEAD). The file is built under a temporary name and
        renamed into place: a reader never maps a half-written header, and one still mapping an
        older file never has it truncated under it."""
        layout = Layout(server_limit, thread_limit)
        target = None if path is None else os.fspath(path)
        if target is None:
            buffer = mmap.mmap(-1, layout.size, flags=mmap.MAP_SHARED)
            buffer[:HEADER_SIZE] = layout.header().ljust(HEADER_SIZE, b"\0")
        else:
            directory = os.path.dirname(target)
            if directory:
                os.makedirs(directory, exist_ok=True)
            temporary = f"{target}.{os.getpid()}.tmp"
            fd = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            try:
                os.ftruncate(fd, layout.size)
                os.pwrite(fd, layout.header(), 0)
                buffer = mmap.mmap(fd, layout.size, flags=mmap.MAP_SHARED)
                os.replace(temporary, target)
            except BaseException:
                os.unlink(temporary)
                raise
            finally:
                os.close(fd)
        now = time.time()
        GLOBAL.pack_into(buffer, layout.global_offset, 0, 0, os.getpid(), 0, 0, now, now, b"")
        return cls(buffer, layout, target, True)

    @classmethod
    def attach(cls, path: str | os.PathLike[str]) -> Scoreboard:
        """Map an existing scoreboard file read-only (`pyhttpdctl status`), header validated."""
        target = os.fspath(path)
        try:
            fd = os.open(target, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as error:
            raise ScoreboardError(f"{target}: cannot open scoreboard: {error.strerror}") from error
        try:
            available = os.fstat(fd).st_size
            layout = Layout.from_header(os.pread(fd, HEADER_SIZE, 0), target, available)
            buffer = mmap.mmap(fd, layout.size, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        finally:
            os.close(fd)
        return cls(buffer, layout, target, False)

    @property
    def server_limit(self) -> int:
        return self.layout.server_limit

    @property
    def thread_limit(self) -> int:
        return self.layout.thread_limit

    def _writable_buffer(self) -> mmap.mmap:
        if not self.writable:
            raise ScoreboardError(f"{self.path}: scoreboard is attached read-only")
        return self._buffer

    def process(self, slot: int) -> ProcessSlot:
        return ProcessSlot(self._writable_buffer(), self.layout, slot)

    def worker(self, slot: int, thread: int) -> WorkerSlot:
        base = self.layout.worker_offset(slot, thread)
        return WorkerSlot(self._writable_buffer(), base, slot, thread)

    def set_generation(self, running_generation: int, config_generation: int) -> None:
        """Master: ParentServerMPMGeneration and ParentServerConfigGeneration."""
        GLOBAL_GENERATIONS.pack_into(
            self._writable_buffer(),
            self.layout.global_offset,
            running_generation,
            config_generation,
        )

    def set_limits(self, mpm: str, max_daemons: int, threads_per_child: int) -> None:
        """Master, per generation: the MPM's name and what the scoreboard string covers
        (prefork: MaxRequestWorkers, 1; worker/event: MRW // ThreadsPerChild, ThreadsPerChild)."""
        buffer, offset = self._writable_buffer(), self.layout.global_offset
        GLOBAL_LIMITS.pack_into(buffer, offset + GLOBAL_LIMITS_AT, max_daemons, threads_per_child)
        name = mpm.encode("ascii", "replace")[:15].ljust(16, b"\0")
        buffer[offset + GLOBAL_MPM_AT : offset + GLOBAL_MPM_AT + 16] = name

    def set_request_tail(self, tail: bool) -> None:
        """Master, per generation: SeeRequestTail, read by every WorkerSlot as it records a
        request line (Apache's ap_extended_status globals, shared here through the map)."""
        self._writable_buffer()[self.layout.global_offset + GLOBAL_REQUEST_TAIL_AT] = int(tail)

    def set_extended_status(self, on: bool) -> None:
        """Master, per generation: ExtendedStatus (core_values.extended_status). Off, every
        WorkerSlot records only states, as Apache's children without
        ap_extended_status: no counts, request line, client, vhost, times or CPU per request."""
        self._writable_buffer()[self.layout.global_offset + GLOBAL_BASIC_STATUS_AT] = int(not on)

    def set_restart_time(self, when: float | None = None) -> None:
        moment = time.time() if when is None else when
        offset = self.layout.global_offset + GLOBAL_RESTART_AT
        GLOBAL_RESTART.pack_into(self._writable_buffer(), offset, moment)

    def reset(self) -> None:
        """Master, hard restart: every process and worker record zeroed (slot totals too) and a
        new restart time; generations and limits stay for the caller to set."""
        buffer, start = self._writable_buffer(), self.layout.processes_offset
        buffer[start : self.layout.size] = bytes(self.layout.size - start)
        self.set_restart_time()

    def clear_process(self, slot: int) -> None:
        """Master, after reaping the child in `slot`: its workers DEAD, pid 0, flags and counters
        zeroed. Worker slot totals stay, as in Apache."""
        for thread in range(self.thread_limit):
            self.worker(slot, thread).set_state(WorkerState.DEAD)
        self.process(slot).cleared()

    def find_process(self, pid: int) -> int | None:
        """The slot whose process record holds `pid` (Apache's find_child_by_pid), or None."""
        if pid > 0:
            for slot in range(self.server_limit):
                if PROCESS.unpack_from(self._buffer, self.layout.process_offset(slot))[0] == pid:
                    return slot
        return None

    def snapshot(self) -> ScoreboardSnapshot:
        """A copy of the whole map, taken in one go, decoded into frozen records."""
        return read_snapshot(self._buffer[:], self.layout)

    def close(self) -> None:
        if not self._buffer.closed:
            self._buffer.close()

    def unlink(self) -> None:
        """Master, at shutdown: remove the file (a reader still mapping it keeps its view)."""
        if self.path is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self) -> Scoreboard:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
