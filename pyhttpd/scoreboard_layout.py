"""The scoreboard's bytes: worker states, record formats, offsets, header checks, slot writers.

Leaf module: imports nothing of pyhttpd; `scoreboard.py` (the map itself, snapshots and counting)
builds on it. `WorkerSlot` and `ProcessSlot` are the hot-path writers: each runs in the one process
and thread that owns its record (a child's worker thread; the child or, for pid and generation, the
master), writes with struct.pack_into at precomputed offsets, and takes no lock.
`WorkerRecord` and `ProcessRecord` are the decoded, frozen form of one record each.
The map is, in order (little-endian, fixed sizes, no implicit padding):

    header   64 bytes    magic, layout version, ServerLimit, ThreadLimit, record sizes, total size
    global   64 bytes    generations, master pid, the MPM's limits, restart and start times
    process  ServerLimit records (pid, generation, quiescing, not_accepting, event's counters)
    worker   ServerLimit x ThreadLimit records, slot-major (worker (s, t) is s * ThreadLimit + t)

The state codes and their numeric order are Apache's (scoreboard.h): DEAD=0, STARTING=1, READY=2,
then the busy states; a state <= READY counts as idle for upkeep.
"""

from __future__ import annotations

import enum
import mmap
import os
import struct
import time
from dataclasses import dataclass

MAGIC = b"PYHTTPSB"
LAYOUT_VERSION = 1


class ScoreboardError(Exception):
    """A scoreboard that cannot be created, opened or written (bad file, wrong layout, read-only)."""


class WorkerState(enum.IntEnum):
    """A worker slot's status, in Apache's numeric order (SERVER_DEAD .. SERVER_IDLE_KILL)."""

    DEAD = 0
    STARTING = 1
    READY = 2
    BUSY_READ = 3
    BUSY_WRITE = 4
    BUSY_KEEPALIVE = 5
    BUSY_LOG = 6
    BUSY_DNS = 7
    CLOSING = 8
    GRACEFUL = 9
    IDLE_KILL = 10

    @property
    def code(self) -> str:
        """mod_status's character for this state: one of `.S_RWKLDCGI`."""
        return STATE_CODES[self.value]

    @property
    def legend(self) -> str:
        """mod_status's "Scoreboard Key" text for this state."""
        return STATE_LEGENDS[self.value]

    @classmethod
    def from_code(cls, code: str) -> WorkerState:
        index = STATE_CODES.find(code)
        if len(code) != 1 or index < 0:
            raise ValueError(f"no scoreboard state has the code {code!r}")
        return cls(index)


STATE_CODES = ".S_RWKLDCGI"  # indexed by WorkerState value
STATE_LEGENDS = (
    "Open slot with no current process", "Starting up", "Waiting for Connection",
    "Reading Request", "Sending Reply", "Keepalive (read)", "Logging", "DNS Lookup",
    "Closing connection", "Gracefully finishing", "Idle cleanup of worker",
)  # fmt: skip

# Field widths as in Apache's worker_score (the strings keep room for a terminating NUL).
REQUEST_WIDTH, CLIENT_WIDTH, VHOST_WIDTH, PROTOCOL_WIDTH = 64, 32, 32, 16

HEADER = struct.Struct("<8sIIIIIIQ")  # magic, version, server_limit, thread_limit, header size,
HEADER_SIZE = 64  # .. global size, process size, total size
# running generation, config generation, master pid, max daemons, threads per child,
# restart time, start time, MPM name
GLOBAL = struct.Struct("<IIiIIdd16s")
GLOBAL_SIZE = 64
GLOBAL_GENERATIONS = struct.Struct("<II")  # at +0
GLOBAL_LIMITS = struct.Struct("<II")  # at +12 (max daemons, threads per child)
GLOBAL_LIMITS_AT, GLOBAL_MPM_AT = 12, 36
GLOBAL_RESTART = struct.Struct("<d")  # at +20
GLOBAL_RESTART_AT = 20
GLOBAL_REQUEST_TAIL_AT = 52  # one byte after the packed record: SeeRequestTail (0 = Off)
GLOBAL_BASIC_STATUS_AT = 53  # the next byte: ExtendedStatus Off (0 = On, a new board's value)

# pid, generation, quiescing, not_accepting, (2 pad), connections, write_completion, keep_alive,
# lingering_close, suspended, wait_io
PROCESS = struct.Struct("<iIBBxx6I")
PROCESS_FLAGS_AT = 8  # quiescing at +8, not_accepting at +9
PROCESS_COUNTERS = struct.Struct("<6I")
PROCESS_COUNTERS_AT = 12
PROCESS_PID = struct.Struct("<i")  # at +0

# status, (7 pad), access_count, bytes_served, my_access_count, my_bytes_served, conn_count,
# conn_bytes, last_used, start_time, stop_time, duration (microseconds), cpu user, cpu system,
# request, client, vhost, protocol
WORKER = struct.Struct(
    f"<B7x6Qddd Qdd {REQUEST_WIDTH}s{CLIENT_WIDTH}s{VHOST_WIDTH}s{PROTOCOL_WIDTH}s"
)
WORKER_COUNTERS = struct.Struct("<6Q")  # at +8
WORKER_COUNTERS_AT = 8
WORKER_FINISH_READ = struct.Struct("<6QdddQ")  # at +8: counters, last_used, start, stop, duration
WORKER_STOP = struct.Struct("<dQdd")  # at +72: stop_time, duration, cpu user, cpu system
WORKER_STOP_AT = 72
WORKER_READY_RESET = struct.Struct("<QQd")  # at +40: conn_count, conn_bytes, last_used
WORKER_READY_RESET_AT = 40
WORKER_DEAD_RESET = struct.Struct("<QQQQd")  # at +24: my_access, my_bytes, conn_*, last_used
WORKER_DEAD_RESET_AT = 24
WORKER_CPU = struct.Struct("<dd")  # at +88
WORKER_CPU_AT = 88
WORKER_START = struct.Struct("<d")  # at +64
WORKER_START_AT = 64
WORKER_TEXT = struct.Struct(f"<{REQUEST_WIDTH}s{CLIENT_WIDTH}s{VHOST_WIDTH}s{PROTOCOL_WIDTH}s")
WORKER_TEXT_AT = 104


@dataclass(frozen=True, slots=True)
class Layout:
    """Offsets of every record for one ServerLimit x ThreadLimit sizing."""

    server_limit: int
    thread_limit: int

    def __post_init__(self) -> None:
        if self.server_limit < 1 or self.thread_limit < 1:
            raise ScoreboardError(
                f"scoreboard needs ServerLimit and ThreadLimit >= 1 "
                f"(got {self.server_limit} and {self.thread_limit})"
            )

    @property
    def global_offset(self) -> int:
        return HEADER_SIZE

    @property
    def processes_offset(self) -> int:
        return HEADER_SIZE + GLOBAL_SIZE

    @property
    def workers_offset(self) -> int:
        return self.processes_offset + self.server_limit * PROCESS.size

    @property
    def size(self) -> int:
        return self.workers_offset + self.server_limit * self.thread_limit * WORKER.size

    def process_offset(self, slot: int) -> int:
        if not 0 <= slot < self.server_limit:
            raise IndexError(f"process slot {slot} outside ServerLimit {self.server_limit}")
        return self.processes_offset + slot * PROCESS.size

    def worker_offset(self, slot: int, thread: int) -> int:
        if not 0 <= slot < self.server_limit or not 0 <= thread < self.thread_limit:
            raise IndexError(
                f"worker ({slot}, {thread}) outside ServerLimit {self.server_limit} "
                f"x ThreadLimit {self.thread_limit}"
            )
        return self.workers_offset + (slot * self.thread_limit + thread) * WORKER.size

    def header(self) -> bytes:
        return HEADER.pack(
            MAGIC, LAYOUT_VERSION, self.server_limit, self.thread_limit,
            HEADER_SIZE, GLOBAL_SIZE, PROCESS.size, self.size,
        )  # fmt: skip

    @classmethod
    def from_header(cls, data: bytes, where: str, available: int) -> Layout:
        """Validate a header read from `where` (a file holding `available` bytes)."""
        if available < HEADER.size:
            raise ScoreboardError(f"{where}: not a pyhttpd scoreboard (only {available} bytes)")
        magic, version, servers, threads, header_size, global_size, process_size, size = (
            HEADER.unpack_from(data)
        )
        if magic != MAGIC:
            raise ScoreboardError(
                f"{where}: not a pyhttpd scoreboard (bad magic {magic!r}, expected {MAGIC!r})"
            )
        if version != LAYOUT_VERSION:
            raise ScoreboardError(
                f"{where}: scoreboard layout version {version}, this pyhttpd reads "
                f"version {LAYOUT_VERSION}"
            )
        layout = cls(servers, threads)
        expected = (HEADER_SIZE, GLOBAL_SIZE, PROCESS.size, layout.size)
        if (header_size, global_size, process_size, size) != expected or available < size:
            raise ScoreboardError(
                f"{where}: scoreboard sizes do not match its header "
                f"(ServerLimit {servers}, ThreadLimit {threads}, {available} bytes on disk)"
            )
        return layout


def encode_text(text: str | bytes, width: int, tail: bool = False) -> bytes:
    """At most width-1 bytes (Apache keeps a NUL): the head, or the tail (SeeRequestTail On)."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8", "replace")
    if len(raw) < width:
        return raw
    return raw[-(width - 1) :] if tail else raw[: width - 1]


def decode_text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class WorkerRecord:
    slot: int
    thread: int
    state: WorkerState
    access_count: int  # this slot, across children
    bytes_served: int
    my_access_count: int  # this child
    my_bytes_served: int
    conn_count: int  # this connection
    conn_bytes: int
    last_used: float  # time of the last READY / DEAD
    start_time: float  # of the last request
    stop_time: float
    duration_us: int  # total request time of this slot, microseconds
    cpu_user: float  # the process's CPU times at the last request's end
    cpu_system: float
    request: str
    client: str
    vhost: str
    protocol: str


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    slot: int
    pid: int  # 0: no process in this slot
    generation: int
    quiescing: bool
    not_accepting: bool
    connections: int
    write_completion: int
    keep_alive: int
    lingering_close: int
    suspended: int
    wait_io: int


# times() is read at most this often per worker: the process's CPU times move in 10 ms ticks,
# and one more syscall per request is one more GIL hand-off in a busy child.
CPU_SAMPLE_SECONDS = 0.05


class WorkerSlot:
    """Writer for one worker record; used only by the thread (or prefork child) that owns it.

    It is the connection engine's RequestObserver itself (request_started, request_finished):
    no forwarding object between them, two calls fewer per request."""

    __slots__ = ("_buffer", "_base", "slot", "thread", "_cpu", "_cpu_at", "_texts", "_line")

    def __init__(self, buffer: mmap.mmap, base: int, slot: int, thread: int) -> None:
        self._buffer = buffer
        self._base = base
        self.slot = slot
        self.thread = thread
        self._cpu: tuple[float, float] = (0.0, 0.0)  # the process's (user, system) last read
        self._cpu_at = 0.0
        # the last (client, vhost, protocol) and their encodings: a connection's stay the same
        self._texts: tuple[object, tuple[bytes, bytes, bytes]] = (None, (b"", b"", b""))
        # the last request line (and tail flag) and its encoding: keep-alive repeats it
        self._line: tuple[object, bytes] = (None, b"")

    def set_state(self, state: WorkerState) -> None:
        """Apache's update_child_status: READY ends a connection (its counters reset); DEAD also
        resets this child's counters and CPU times. The slot's own totals always stay. With
        ExtendedStatus Off (the global record's flag), the state alone, as Apache."""
        buffer, base = self._buffer, self._base
        buffer[base] = state
        if buffer[HEADER_SIZE + GLOBAL_BASIC_STATUS_AT]:
            return
        if state is WorkerState.READY:
            WORKER_READY_RESET.pack_into(buffer, base + WORKER_READY_RESET_AT, 0, 0, time.time())
        elif state is WorkerState.DEAD:
            WORKER_DEAD_RESET.pack_into(
                buffer, base + WORKER_DEAD_RESET_AT, 0, 0, 0, 0, time.time()
            )
            WORKER_CPU.pack_into(buffer, base + WORKER_CPU_AT, 0.0, 0.0)

    def request_started(
        self,
        line: str | bytes,
        client: str = "",
        vhost: str = "",
        protocol: str = "",
        *,
        tail: bool = False,
    ) -> None:
        """A request was read: state W, its start time, and what mod_status shows (the first 63
        bytes of the request line, or the last 63 with SeeRequestTail On: `tail`, or the flag
        the master keeps in the global record)."""
        buffer, base = self._buffer, self._base
        buffer[base] = WorkerState.BUSY_WRITE
        if buffer[HEADER_SIZE + GLOBAL_BASIC_STATUS_AT]:
            return  # ExtendedStatus Off: the state alone
        tail = tail or buffer[HEADER_SIZE + GLOBAL_REQUEST_TAIL_AT] != 0
        WORKER_START.pack_into(buffer, base + WORKER_START_AT, time.time())
        key = (client, vhost, protocol)
        if self._texts[0] != key:
            encoded = (
                encode_text(client, CLIENT_WIDTH),
                encode_text(vhost, VHOST_WIDTH),
                encode_text(protocol, PROTOCOL_WIDTH),
            )
            self._texts = (key, encoded)
        if self._line[0] != (line, tail):
            self._line = ((line, tail), encode_text(line, REQUEST_WIDTH, tail))
        WORKER_TEXT.pack_into(buffer, base + WORKER_TEXT_AT, self._line[1], *self._texts[1])

    def request_finished(self, bytes_sent: int) -> None:
        """Apache's ap_increment_counts plus the stop half of ap_time_process_request (stop time,
        duration, the process's CPU times), both of which Apache's children call only under
        ap_extended_status: with ExtendedStatus Off, nothing. The state stays: the caller moves
        on to L, K, _, G."""
        buffer, base = self._buffer, self._base
        if buffer[HEADER_SIZE + GLOBAL_BASIC_STATUS_AT]:
            return
        access, sent, my_access, my_sent, conn, conn_sent, _, start, _, duration = (
            WORKER_FINISH_READ.unpack_from(buffer, base + WORKER_COUNTERS_AT)
        )
        WORKER_COUNTERS.pack_into(
            buffer, base + WORKER_COUNTERS_AT, access + 1, sent + bytes_sent, my_access + 1,
            my_sent + bytes_sent, conn + 1, conn_sent + bytes_sent,
        )  # fmt: skip
        now = time.time()
        elapsed = max(0, int((now - start) * 1_000_000)) if start else 0
        if not 0 <= now - self._cpu_at < CPU_SAMPLE_SECONDS:
            cpu = os.times()
            self._cpu, self._cpu_at = (cpu.user, cpu.system), now
        WORKER_STOP.pack_into(buffer, base + WORKER_STOP_AT, now, duration + elapsed, *self._cpu)


class ProcessSlot:
    """Writer for one process record: the master writes pid and generation, the child the rest."""

    __slots__ = ("_buffer", "_base", "_layout", "slot")

    def __init__(self, buffer: mmap.mmap, layout: Layout, slot: int) -> None:
        self._buffer = buffer
        self._layout = layout
        self._base = layout.process_offset(slot)
        self.slot = slot

    def started(self, pid: int, generation: int) -> None:
        """Master, right after fork: a fresh record (accepting, not quiescing, no connections)."""
        PROCESS.pack_into(self._buffer, self._base, pid, generation, 0, 0, 0, 0, 0, 0, 0, 0)

    def cleared(self) -> None:
        """Master, after reaping: pid 0, flags and counters zeroed; the generation stays."""
        PROCESS_PID.pack_into(self._buffer, self._base, 0)
        self.set_quiescing(False)
        self.set_not_accepting(False)
        self.set_counters()

    def set_quiescing(self, quiescing: bool = True) -> None:
        self._buffer[self._base + PROCESS_FLAGS_AT] = 1 if quiescing else 0

    def set_not_accepting(self, not_accepting: bool = True) -> None:
        self._buffer[self._base + PROCESS_FLAGS_AT + 1] = 1 if not_accepting else 0

    def set_counters(
        self,
        *,
        connections: int = 0,
        write_completion: int = 0,
        keep_alive: int = 0,
        lingering_close: int = 0,
        suspended: int = 0,
        wait_io: int = 0,
    ) -> None:
        """event's listener: the child's current connection counts, all written together."""
        PROCESS_COUNTERS.pack_into(
            self._buffer, self._base + PROCESS_COUNTERS_AT, connections, write_completion,
            keep_alive, lingering_close, suspended, wait_io,
        )  # fmt: skip

    def worker(self, thread: int) -> WorkerSlot:
        base = self._layout.worker_offset(self.slot, thread)
        return WorkerSlot(self._buffer, base, self.slot, thread)
