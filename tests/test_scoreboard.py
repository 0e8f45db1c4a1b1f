"""The scoreboard: byte layout round trips, mod_status's counting rules, the scoreboard string's
length rules, and the map shared with a forked child and with a separate attaching process.

Pure tests on anonymous maps, plus real processes (os.fork, a `python -c` subprocess) on
file-backed ones. Cross-process reads poll with a deadline; nothing sleeps and hopes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pyhttpd.scoreboard import (
    DEFAULT_PATH,
    Scoreboard,
    ScoreboardError,
    ScoreboardSnapshot,
    WorkerCounts,
    WorkerState,
)
from pyhttpd.scoreboard_layout import HEADER_SIZE, LAYOUT_VERSION, MAGIC, Layout
from tests.harness.server import wait_until

ROOT = Path(__file__).resolve().parents[1]
S = WorkerState


def board_with(processes: list[tuple[int, int, bool, str]], running: int = 2) -> Scoreboard:
    """An anonymous board: one (pid, generation, quiescing, state codes) per slot."""
    width = max(len(codes) for _, _, _, codes in processes)
    board = Scoreboard.create(None, len(processes), width)
    board.set_generation(running, running)
    for slot, (pid, generation, quiescing, codes) in enumerate(processes):
        process = board.process(slot)
        process.started(pid, generation)
        process.set_quiescing(quiescing)
        for thread, code in enumerate(codes):
            process.worker(thread).set_state(S.from_code(code))
    return board


# --- states -------------------------------------------------------------------------------------


def test_states_keep_apaches_numeric_order_and_codes() -> None:
    assert [state.value for state in S] == list(range(11))
    assert (S.DEAD, S.STARTING, S.READY) == (0, 1, 2)
    assert "".join(state.code for state in S) == ".S_RWKLDCGI"
    assert [state for state in S if state <= S.READY] == [S.DEAD, S.STARTING, S.READY]
    assert all(S.from_code(state.code) is state for state in S)
    assert S.READY.legend == "Waiting for Connection"
    assert S.DEAD.legend == "Open slot with no current process"
    with pytest.raises(ValueError, match="no scoreboard state"):
        S.from_code("X")


# --- layout round trips -------------------------------------------------------------------------


def test_a_new_board_is_all_dead_and_records_its_sizing() -> None:
    with Scoreboard.create(None, 3, 4) as board:
        snap = board.snapshot()
        assert (snap.server_limit, snap.thread_limit) == (3, 4)
        assert snap.master_pid == os.getpid()
        assert snap.restart_time == snap.start_time > 0
        assert all(process.pid == 0 for process in snap.processes)
        assert [len(row) for row in snap.workers] == [4, 4, 4]
        assert {worker.state for row in snap.workers for worker in row} == {S.DEAD}
        assert snap.scoreboard_string() == "." * 12
        assert board.layout.size == Layout(3, 4).size


def test_global_record_round_trip() -> None:
    with Scoreboard.create(None, 2, 2) as board:
        board.set_generation(7, 9)
        board.set_limits("event", 1, 2)
        board.set_restart_time(1234.5)
        snap = board.snapshot()
        assert (snap.running_generation, snap.config_generation) == (7, 9)
        assert (snap.mpm, snap.max_daemons, snap.threads_per_child) == ("event", 1, 2)
        assert snap.restart_time == 1234.5


def test_process_record_round_trip() -> None:
    with Scoreboard.create(None, 4, 1) as board:
        process = board.process(2)
        process.started(4242, 3)
        process.set_quiescing()
        process.set_not_accepting()
        process.set_counters(
            connections=9, write_completion=1, keep_alive=5, lingering_close=2, suspended=1,
            wait_io=3,
        )  # fmt: skip
        record = board.snapshot().processes[2]
        assert (record.slot, record.pid, record.generation) == (2, 4242, 3)
        assert record.quiescing and record.not_accepting
        assert (record.connections, record.write_completion, record.keep_alive) == (9, 1, 5)
        assert (record.lingering_close, record.suspended, record.wait_io) == (2, 1, 3)
        process.set_quiescing(False)
        process.set_not_accepting(False)
        record = board.snapshot().processes[2]
        assert not record.quiescing and not record.not_accepting
        assert board.find_process(4242) == 2
        assert board.find_process(1) is None and board.find_process(0) is None


def test_worker_record_round_trip_and_counters() -> None:
    with Scoreboard.create(None, 2, 3) as board:
        worker = board.worker(1, 2)
        worker.set_state(S.READY)
        worker.request_started("GET /a HTTP/1.1", "192.0.2.7", "www.example.com:80", "http/1.1")
        record = board.snapshot().workers[1][2]
        assert (record.slot, record.thread, record.state) == (1, 2, S.BUSY_WRITE)
        assert record.request == "GET /a HTTP/1.1"
        assert (record.client, record.vhost, record.protocol) == (
            "192.0.2.7", "www.example.com:80", "http/1.1",
        )  # fmt: skip
        assert record.start_time > 0 and record.access_count == 0
        worker.request_finished(100)
        worker.request_started("GET /b HTTP/1.1")
        worker.request_finished(50)
        record = board.snapshot().workers[1][2]
        assert record.state is S.BUSY_WRITE  # request_finished leaves the state to the caller
        assert (record.access_count, record.my_access_count, record.conn_count) == (2, 2, 2)
        assert (record.bytes_served, record.my_bytes_served, record.conn_bytes) == (150, 150, 150)
        assert record.stop_time >= record.start_time and record.duration_us >= 0
        assert record.cpu_user + record.cpu_system > 0
        assert record.request == "GET /b HTTP/1.1" and record.client == ""

        worker.set_state(S.READY)  # the connection ended: its counters reset, the rest stay
        record = board.snapshot().workers[1][2]
        assert (record.conn_count, record.conn_bytes, record.my_access_count) == (0, 0, 2)
        assert record.last_used > 0

        worker.set_state(S.DEAD)  # the child ended: its counters reset, the slot's stay
        record = board.snapshot().workers[1][2]
        assert (record.my_access_count, record.my_bytes_served) == (0, 0)
        assert (record.access_count, record.bytes_served) == (2, 150)
        assert board.snapshot().total_accesses() == 2
        assert board.snapshot().total_bytes() == 150


def test_extended_status_off_keeps_states_only() -> None:
    """Apache's children without ap_extended_status: no counts (ap_increment_counts is called
    only with it), no request line, client, vhost, times or CPU (the master's flag, set per
    generation, is read at every write)."""
    with Scoreboard.create(None, 1, 1) as board:
        board.set_extended_status(False)
        worker = board.worker(0, 0)
        worker.set_state(S.READY)
        worker.request_started("GET /a HTTP/1.1", "192.0.2.7", "www.example.com:80", "http/1.1")
        worker.request_finished(100)
        record = board.snapshot().workers[0][0]
        assert record.state is S.BUSY_WRITE and (record.access_count, record.bytes_served) == (0, 0)
        assert (record.request, record.client, record.vhost, record.protocol) == ("",) * 4
        assert (record.start_time, record.stop_time, record.last_used) == (0.0, 0.0, 0.0)
        assert record.cpu_user + record.cpu_system == 0
        board.set_extended_status(True)
        worker.request_started("GET /b HTTP/1.1")
        worker.request_finished(50)
        record = board.snapshot().workers[0][0]
        assert record.request == "GET /b HTTP/1.1" and record.stop_time >= record.start_time > 0
        assert (record.access_count, record.bytes_served) == (1, 50)


def test_request_line_keeps_63_bytes_head_or_tail() -> None:
    line = "GET /" + "a" * 40 + "b" * 40 + " HTTP/1.1"
    with Scoreboard.create(None, 1, 1) as board:
        worker = board.worker(0, 0)
        worker.request_started(line, "c" * 50, "v" * 40, "p" * 20)
        record = board.snapshot().workers[0][0]
        assert record.request == line[:63]
        assert (record.client, record.vhost, record.protocol) == ("c" * 31, "v" * 31, "p" * 15)
        worker.request_started(line.encode(), tail=True)
        assert board.snapshot().workers[0][0].request == line[-63:]


def test_clear_process_and_reset() -> None:
    with Scoreboard.create(None, 2, 2) as board:
        process = board.process(1)
        process.started(555, 4)
        process.set_quiescing()
        process.set_counters(connections=3)
        for thread in range(2):
            process.worker(thread).request_started("GET / HTTP/1.1")
            process.worker(thread).request_finished(10)
        board.clear_process(1)
        snap = board.snapshot()
        record = snap.processes[1]
        assert (record.pid, record.quiescing, record.connections) == (0, False, 0)
        assert [worker.state for worker in snap.workers[1]] == [S.DEAD, S.DEAD]
        assert snap.total_accesses() == 2  # slot totals survive the child, as in Apache
        restart = snap.restart_time
        board.reset()
        snap = board.snapshot()
        assert snap.total_accesses() == 0 and snap.restart_time >= restart


# --- counting rules -----------------------------------------------------------------------------

# (pid, generation, quiescing, states) per slot; the running generation is 2.
COUNTING_CASES = [
    pytest.param([(10, 2, False, "__W")], WorkerCounts(1, 2, 0), id="live-current"),
    pytest.param([(0, 2, False, "_WK")], WorkerCounts(0, 0, 0), id="dead-process"),
    pytest.param([(10, 2, True, "_WG")], WorkerCounts(0, 0, 0), id="quiescing"),
    pytest.param([(10, 1, False, "__W")], WorkerCounts(1, 0, 0), id="old-generation"),
    pytest.param([(10, 2, False, "GG_")], WorkerCounts(0, 1, 2), id="graceful"),
    pytest.param([(10, 1, False, "GW_")], WorkerCounts(1, 0, 1), id="old-generation-graceful"),
    pytest.param([(10, 2, False, "SI.")], WorkerCounts(0, 0, 0), id="not-counted"),
    pytest.param([(10, 2, False, "RWKLDC")], WorkerCounts(6, 0, 0), id="busy-states"),
    pytest.param(
        [(10, 2, False, "_W_"), (11, 1, True, "GGW"), (0, 1, False, "WWW"), (12, 1, False, "_K_")],
        WorkerCounts(2, 2, 0),
        id="mixed",
    ),
]


@pytest.mark.parametrize(("processes", "expected"), COUNTING_CASES)
def test_counting_rules(
    processes: list[tuple[int, int, bool, str]], expected: WorkerCounts
) -> None:
    with board_with(processes) as board:
        snap = board.snapshot()
        assert snap.worker_counts() == expected
        assert (snap.busy_workers(), snap.idle_workers(), snap.graceful_workers()) == (
            expected.busy, expected.idle, expected.graceful,
        )  # fmt: skip


def test_event_process_table_and_connection_totals() -> None:
    board = board_with(
        [(10, 2, False, "_WG"), (11, 1, True, "WW_"), (0, 2, False, "..."), (12, 1, False, "__R")]
    )
    with board:
        board.process(0).set_counters(connections=4, keep_alive=2, write_completion=1)
        board.process(0).set_not_accepting()
        board.process(1).set_counters(connections=2, lingering_close=1, wait_io=1)
        board.process(3).set_counters(connections=1, suspended=1)
        snap = board.snapshot()
        rows = snap.process_totals()
        assert [(row.slot, row.pid) for row in rows] == [(0, 10), (1, 11), (3, 12)]
        first, stopping, old = rows
        assert (first.accepting, first.connections, first.keep_alive) == (False, 4, 2)
        assert (first.busy, first.graceful, first.idle, first.old_generation) == (1, 1, 1, False)
        assert (stopping.stopping, stopping.old_generation) == (True, True)
        assert (stopping.busy, stopping.graceful, stopping.idle) == (0, 0, 0)
        assert (old.busy, old.idle, old.stopping) == (1, 2, False)  # table idle ignores generation
        totals = snap.connection_totals()
        assert (totals.processes, totals.stopping, totals.connections) == (3, 1, 7)
        assert (totals.keep_alive, totals.write_completion, totals.lingering_close) == (2, 1, 1)
        assert (totals.wait_io, totals.suspended) == (1, 1)
        assert snap.idle_workers() == 1  # slot 0 only: live, not quiescing, current generation


# --- the scoreboard string ----------------------------------------------------------------------


def test_prefork_string_covers_max_request_workers() -> None:
    with Scoreboard.create(None, 256, 1) as board:
        board.set_limits("prefork", 30, 1)
        for slot, code in ((0, "_"), (1, "W"), (2, "K")):
            board.process(slot).started(100 + slot, 0)
            board.worker(slot, 0).set_state(S.from_code(code))
        snap = board.snapshot()
        assert snap.scoreboard_string() == "_WK" + "." * 27
        assert len(snap.scoreboard_string(30, 1)) == 30
        board.process(40).started(140, 0)  # a live slot beyond the limit is shown
        board.worker(40, 0).set_state(S.GRACEFUL)
        assert board.snapshot().scoreboard_string() == "_WK" + "." * 27 + "G"


def test_event_string_is_daemons_times_threads_per_child() -> None:
    # ServerLimit 8, ThreadLimit 64 (its default), ThreadsPerChild 10, MaxRequestWorkers 40.
    with Scoreboard.create(None, 8, 64) as board:
        board.set_limits("event", 40 // 10, 10)
        assert board.snapshot().scoreboard_string() == "." * 40
        for slot in (0, 1):
            board.process(slot).started(200 + slot, 1)
            for thread in range(10):
                board.worker(slot, thread).set_state(S.READY)
        text = board.snapshot().scoreboard_string()
        assert len(text) == 40 and text == "_" * 20 + "." * 20
        # After a graceful restart old children finish in slots 4-5, beyond the active limit.
        board.process(5).started(205, 0)
        board.process(5).set_quiescing()
        board.worker(5, 0).set_state(S.GRACEFUL)
        board.worker(5, 1).set_state(S.BUSY_WRITE)
        text = board.snapshot().scoreboard_string()
        assert text == "_" * 20 + "." * 20 + "GW"
        assert board.snapshot().scoreboard_string(4, 10) == text


# --- across processes ---------------------------------------------------------------------------


def test_a_forked_child_writes_what_the_parent_reads(tmp_path: Path) -> None:
    path = tmp_path / DEFAULT_PATH
    board = Scoreboard.create(path, 4, 2)
    board.set_generation(1, 1)
    release_read, release_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its own process record counters and its own workers
        status = 1
        try:
            os.close(release_write)
            process = board.process(3)
            process.set_counters(connections=2, keep_alive=1)
            busy = process.worker(0)
            busy.set_state(S.READY)
            busy.request_started("GET /child HTTP/1.1", "127.0.0.1", "localhost:80", "http/1.1")
            busy.request_finished(321)
            busy.set_state(S.BUSY_KEEPALIVE)
            process.worker(1).set_state(S.READY)
            os.read(release_read, 1)  # stay alive until the parent has looked
            status = 0
        finally:
            os._exit(status)
    os.close(release_read)
    try:
        board.process(3).started(pid, 1)  # the master's part, right after fork

        def child_wrote() -> bool:
            return board.snapshot().workers[3][1].state is S.READY

        assert wait_until(child_wrote, timeout=10.0)
        snap = board.snapshot()
        assert snap.processes[3].pid == pid and snap.processes[3].keep_alive == 1
        assert snap.scoreboard_string() == "......K_"
        assert snap.worker_counts() == WorkerCounts(busy=1, idle=1, graceful=0)
        worker = snap.workers[3][0]
        assert (worker.request, worker.access_count, worker.bytes_served) == (
            "GET /child HTTP/1.1", 1, 321,
        )  # fmt: skip
        assert board.find_process(pid) == 3
    finally:
        os.close(release_write)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    board.clear_process(3)
    assert board.snapshot().scoreboard_string() == "." * 8
    board.close()
    board.unlink()
    assert not path.exists()


ATTACH_SCRIPT = """
import sys
from pyhttpd.scoreboard import Scoreboard, ScoreboardError
board = Scoreboard.attach(sys.argv[1])
snap = board.snapshot()
print(snap.scoreboard_string(), snap.idle_workers(), snap.busy_workers(), snap.mpm)
try:
    board.worker(0, 0)
except ScoreboardError as error:
    print("refused:", error)
"""


def test_a_separate_process_attaches_read_only(tmp_path: Path) -> None:
    path = tmp_path / "apache_runtime_status"
    with Scoreboard.create(path, 3, 2) as board:
        board.set_limits("worker", 2, 2)
        board.process(0).started(os.getpid(), 0)
        board.worker(0, 0).set_state(S.READY)
        board.worker(0, 1).request_started("GET / HTTP/1.1")
        result = subprocess.run(
            [sys.executable, "-c", ATTACH_SCRIPT, str(path)],
            cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        first, second = result.stdout.splitlines()
        assert first == "_W.. 1 1 worker"
        assert second == f"refused: {path}: scoreboard is attached read-only"


def test_attach_sees_later_writes_and_survives_unlink_and_recreate(tmp_path: Path) -> None:
    path = tmp_path / "status"
    board = Scoreboard.create(path, 2, 1)
    reader = Scoreboard.attach(path)
    assert not reader.writable
    board.process(1).started(77, 0)
    board.worker(1, 0).set_state(S.BUSY_READ)
    assert reader.snapshot().scoreboard_string() == ".R"
    replacement = Scoreboard.create(path, 5, 1)  # a new master: renamed into place
    assert reader.snapshot().scoreboard_string() == ".R"  # the old map is untouched
    assert Scoreboard.attach(path).snapshot().scoreboard_string() == "....."
    replacement.unlink()
    assert reader.snapshot().processes[1].pid == 77
    for each in (board, reader, replacement):
        each.close()
    assert not list(tmp_path.glob("*.tmp"))


def test_attach_refuses_a_file_with_a_bad_magic(tmp_path: Path) -> None:
    path = tmp_path / "not_a_scoreboard"
    path.write_bytes(b"NOTMAGIC" + bytes(4096))
    with pytest.raises(ScoreboardError, match=r"not a pyhttpd scoreboard \(bad magic"):
        Scoreboard.attach(path)


def test_attach_refuses_short_missing_and_mismatched_files(tmp_path: Path) -> None:
    short = tmp_path / "short"
    short.write_bytes(MAGIC)
    with pytest.raises(ScoreboardError, match="only 8 bytes"):
        Scoreboard.attach(short)
    with pytest.raises(ScoreboardError, match="cannot open scoreboard"):
        Scoreboard.attach(tmp_path / "missing")
    good = tmp_path / "good"
    Scoreboard.create(good, 2, 2).close()
    data = bytearray(good.read_bytes())
    data[8:12] = (LAYOUT_VERSION + 1).to_bytes(4, "little")
    (tmp_path / "version").write_bytes(bytes(data))
    with pytest.raises(ScoreboardError, match="layout version 2"):
        Scoreboard.attach(tmp_path / "version")
    (tmp_path / "truncated").write_bytes(good.read_bytes()[: HEADER_SIZE + 10])
    with pytest.raises(ScoreboardError, match="sizes do not match"):
        Scoreboard.attach(tmp_path / "truncated")


def test_bad_sizing_and_slots_are_refused() -> None:
    with pytest.raises(ScoreboardError, match="ServerLimit and ThreadLimit >= 1"):
        Scoreboard.create(None, 0, 1)
    with Scoreboard.create(None, 2, 2) as board:
        with pytest.raises(IndexError):
            board.process(2)
        with pytest.raises(IndexError):
            board.worker(0, 2)
        assert isinstance(board.snapshot(), ScoreboardSnapshot)
