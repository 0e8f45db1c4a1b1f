"""One scoreboard snapshot -> one StatusReport: what every server-status view shows.

Apache's mod_status arithmetic (status_handler): the totals count workers that served something
or are busy (access count > 0, or neither READY nor DEAD); a process's CPU times are the largest
its workers recorded (each record holds the whole process's times at its last request's end), and
the totals sum them over processes; kB are the sum of bytes >> 10; uptime runs from the restart
time. The per-worker rows skip slots that never served and are READY or DEAD. Pure: the caller
passes the clock, the load average and who is asking; runs in the process rendering the page
(a server child, `pyhttpd -X`, or `pyhttpdctl`).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhttpd.scoreboard import (
    ConnectionTotals,
    ProcessTotals,
    ScoreboardSnapshot,
    WorkerCounts,
    WorkerRecord,
    WorkerState,
)

MPM_NATURE: dict[str, tuple[str, str]] = {  # as `pyhttpd -V` prints them
    "prefork": ("no", "yes (variable process count)"),
    "worker": ("yes (fixed thread count)", "yes (variable process count)"),
    "event": ("yes (fixed thread count)", "yes (variable process count)"),
}
ASYNC_MPMS = frozenset({"event"})  # AP_MPMQ_IS_ASYNC: the per-process connections table


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """Who answers: the name the client asked for (ap_get_server_name), the local address, the
    version strings."""

    host: str
    local_ip: str
    version: str
    built: str


@dataclass(frozen=True, slots=True)
class Totals:
    """The ExtendedStatus counters (CPU times in seconds)."""

    accesses: int
    kbytes: int
    duration_ms: int
    cpu_user: float
    cpu_system: float
    cpu_children_user: float
    cpu_children_system: float

    @property
    def cpu(self) -> float:
        return self.cpu_user + self.cpu_system + self.cpu_children_user + self.cpu_children_system


@dataclass(frozen=True, slots=True)
class WorkerRow:
    """One line of the per-worker table (Srv, PID, Acc, M, CPU, SS, Req, Dur, Conn, Child, Slot,
    Client, Protocol, VHost, Request)."""

    slot: int
    thread: int
    generation: int
    pid: int  # 0: the slot's process is gone ("-")
    state: WorkerState
    conn_count: int
    my_access_count: int
    access_count: int
    cpu_user: float
    cpu_system: float
    seconds_since: int
    request_ms: int
    duration_ms: int
    conn_bytes: int
    my_bytes: int
    bytes_served: int
    client: str
    protocol: str
    vhost: str
    request: str

    @property
    def cpu(self) -> float:
        return self.cpu_user + self.cpu_system


@dataclass(frozen=True, slots=True)
class StatusReport:
    server: ServerInfo
    mpm: str
    now: float
    restart_time: float
    config_generation: int
    mpm_generation: int
    load: tuple[float, float, float]
    extended: bool
    totals: Totals
    counts: WorkerCounts
    processes: tuple[ProcessTotals, ...]
    connections: ConnectionTotals
    scoreboard: str
    pid_key: tuple[tuple[int, str], ...]  # (pid, state code) of every non-dead slot
    workers: tuple[WorkerRow, ...]

    @property
    def uptime(self) -> int:
        return max(0, int(self.now - self.restart_time))

    @property
    def is_async(self) -> bool:
        return self.mpm in ASYNC_MPMS

    @property
    def nature(self) -> tuple[str, str]:
        """(threaded, forked) as `pyhttpd -V` says them."""
        return MPM_NATURE.get(self.mpm, ("", ""))

    def requests_per_second(self) -> float:
        return self.totals.accesses / self.uptime if self.uptime else 0.0

    def bytes_per_second(self) -> float:
        return KBYTE_F * self.totals.kbytes / self.uptime if self.uptime else 0.0

    def bytes_per_request(self) -> float:
        accesses = self.totals.accesses
        return KBYTE_F * self.totals.kbytes / accesses if accesses else 0.0

    def ms_per_request(self) -> float:
        accesses = self.totals.accesses
        return self.totals.duration_ms / accesses if accesses else 0.0

    def cpu_load(self) -> float:
        """Percent of one CPU used since the restart (0 when nothing was measured)."""
        return self.totals.cpu / self.uptime * 100.0 if self.uptime else 0.0


KBYTE_F = 1024.0


def _counted(worker: WorkerRecord) -> bool:
    return worker.access_count != 0 or worker.state not in (WorkerState.READY, WorkerState.DEAD)


def totals_of(snapshot: ScoreboardSnapshot) -> Totals:
    accesses = total_bytes = duration_us = 0
    user = system = 0.0
    for row in snapshot.workers:
        process_user = process_system = 0.0
        for worker in row:
            if not _counted(worker):
                continue
            if worker.cpu_user > process_user or worker.cpu_system > process_system:
                process_user, process_system = worker.cpu_user, worker.cpu_system
            accesses += worker.access_count
            total_bytes += worker.bytes_served
            duration_us += worker.duration_us
        user += process_user
        system += process_system
    return Totals(accesses, total_bytes >> 10, duration_us // 1000, user, system, 0.0, 0.0)


def worker_rows(snapshot: ScoreboardSnapshot, now: float) -> tuple[WorkerRow, ...]:
    rows = []
    for process, row in zip(snapshot.processes, snapshot.workers, strict=True):
        for worker in row:
            if worker.access_count == 0 and worker.state in (WorkerState.READY, WorkerState.DEAD):
                continue
            request_ms = 0
            if worker.start_time and worker.stop_time >= worker.start_time:
                request_ms = int((worker.stop_time - worker.start_time) * 1000)
            last = max(worker.last_used, worker.start_time)
            rows.append(
                WorkerRow(
                    worker.slot,
                    worker.thread,
                    process.generation,
                    process.pid,
                    worker.state,
                    worker.conn_count,
                    worker.my_access_count,
                    worker.access_count,
                    worker.cpu_user,
                    worker.cpu_system,
                    max(0, int(now - last)) if last else 0,
                    request_ms,
                    worker.duration_us // 1000,
                    worker.conn_bytes,
                    worker.my_bytes_served,
                    worker.bytes_served,
                    worker.client,
                    worker.protocol.lower(),
                    worker.vhost,
                    worker.request,
                )  # fmt: skip
            )
    return tuple(rows)


def pid_key(snapshot: ScoreboardSnapshot) -> tuple[tuple[int, str], ...]:
    return tuple(
        (process.pid, worker.state.code)
        for process, row in zip(snapshot.processes, snapshot.workers, strict=True)
        for worker in row
        if worker.state is not WorkerState.DEAD
    )


def build_report(
    snapshot: ScoreboardSnapshot,
    server: ServerInfo,
    *,
    extended: bool,
    now: float,
    load: tuple[float, float, float],
) -> StatusReport:
    return StatusReport(
        server=server,
        mpm=snapshot.mpm,
        now=now,
        restart_time=snapshot.restart_time,
        config_generation=snapshot.config_generation,
        mpm_generation=snapshot.running_generation,
        load=load,
        extended=extended,
        totals=totals_of(snapshot),
        counts=snapshot.worker_counts(),
        processes=snapshot.process_totals(),
        connections=snapshot.connection_totals(),
        scoreboard=snapshot.scoreboard_string(),
        pid_key=pid_key(snapshot),
        workers=worker_rows(snapshot, now) if extended else (),
    )
