"""The status views from a scoreboard filled by hand: Apache's formats, ?auto keys in Apache's
order with values of the right type, the HTML page's parts and the terminal text. Pure: an
anonymous scoreboard, a fixed clock and load."""

from __future__ import annotations

import re

import pytest

from pyhttpd.modules.mod_status import refresh_seconds
from pyhttpd.scoreboard import Scoreboard, WorkerState
from pyhttpd.status.auto import auto_pairs, render_auto
from pyhttpd.status.formats import apr_g, byte_size, kbyte_size, uptime_words
from pyhttpd.status.html import render_html
from pyhttpd.status.model import ServerInfo, StatusReport, build_report
from pyhttpd.status.text import render_text

# The keys Debian's apache2 2.4.71 (event, ExtendedStatus On, after traffic) printed, in order.
APACHE_EVENT_KEYS = [
    "ServerVersion", "ServerMPM", "Server Built", "CurrentTime", "RestartTime",
    "ParentServerConfigGeneration", "ParentServerMPMGeneration", "ServerUptimeSeconds",
    "ServerUptime", "Load1", "Load5", "Load15", "Total Accesses", "Total kBytes",
    "Total Duration", "CPUUser", "CPUSystem", "CPUChildrenUser", "CPUChildrenSystem", "CPULoad",
    "Uptime", "ReqPerSec", "BytesPerSec", "BytesPerReq", "DurationPerReq", "BusyWorkers",
    "GracefulWorkers", "IdleWorkers", "Processes", "Stopping", "ConnsTotal", "ConnsAsyncWaitIO",
    "ConnsAsyncWriting", "ConnsAsyncKeepAlive", "ConnsAsyncClosing", "Scoreboard",
]  # fmt: skip
INTEGER_KEYS = {
    "ParentServerConfigGeneration", "ParentServerMPMGeneration", "ServerUptimeSeconds",
    "Total Accesses", "Total kBytes", "Total Duration", "Uptime", "BusyWorkers",
    "GracefulWorkers", "IdleWorkers", "Processes", "Stopping", "ConnsTotal", "ConnsAsyncWaitIO",
    "ConnsAsyncWriting", "ConnsAsyncKeepAlive", "ConnsAsyncClosing",
}  # fmt: skip
FLOAT_KEYS = {
    "Load1", "Load5", "Load15", "CPUUser", "CPUSystem", "CPUChildrenUser", "CPUChildrenSystem",
    "CPULoad", "ReqPerSec", "BytesPerSec", "BytesPerReq", "DurationPerReq",
}  # fmt: skip
SERVER = ServerInfo("localhost", "127.0.0.1", "pyhttpd/0.1.0 Apache/2.4.71 (Unix)", "2026")
NOW = 1_800_000_000.0


def report(mpm: str = "event", extended: bool = True, uptime: float = 17.0) -> StatusReport:
    """Two children of 3 threads (MRW 6): slot 0 served 3 requests and is writing a fourth,
    slot 1 is ready; event's counters say 2 connections, 1 kept alive."""
    threads = 1 if mpm == "prefork" else 3
    board = Scoreboard.create(None, 2, threads)
    board.set_generation(0, 1)
    board.set_limits(mpm, 2, threads)
    board.set_restart_time(NOW - uptime)
    for slot, pid in ((0, 4242), (1, 4343)):
        board.process(slot).started(pid, 0)
        for thread in range(threads):
            board.worker(slot, thread).set_state(WorkerState.READY)
    board.process(0).set_counters(connections=2, keep_alive=1)
    served = board.worker(0, 0)
    for _ in range(3):
        served.request_started("GET /index.html HTTP/1.1", "127.0.0.1", "localhost:80", "HTTP/1.1")
        served.request_finished(2048)
    served.set_state(WorkerState.READY)
    busy = board.worker(1, 0)
    busy.request_started("GET /<script> HTTP/1.1", "127.0.0.1", "localhost:80", "HTTP/1.1")
    snapshot = board.snapshot()
    board.close()
    return build_report(snapshot, SERVER, extended=extended, now=NOW, load=(0.5, 0.25, 0.125))


def test_apache_number_and_time_formats() -> None:
    assert apr_g(0.148904) == ".148904" and apr_g(2.41176) == "2.41176" and apr_g(0) == "0"
    assert apr_g(5.1234, 3) == "5.12" and apr_g(0.05, 3) == ".05"
    assert byte_size(4550) == "4550 B" and byte_size(81305) == "79.4 kB"
    assert byte_size(3 * 1048576) == "3.0 MB"
    assert kbyte_size(635) == "635 kB" and kbyte_size(2048) == "2.0 MB"
    assert uptime_words(0) == "" and uptime_words(1) == " 1 second"
    assert uptime_words(93784) == " 1 day 2 hours 3 minutes 4 seconds"


def test_auto_keys_are_apaches_in_apaches_order_with_typed_values() -> None:
    text = render_auto(report())
    lines = text.splitlines()
    assert lines[0] == "localhost"
    values = dict(line.split(": ", 1) for line in lines[1:])
    optional = {"CPULoad"} - values.keys()  # Apache prints it only when CPU time was recorded
    assert list(values) == [key for key in APACHE_EVENT_KEYS if key not in optional]
    for key in INTEGER_KEYS:
        assert re.fullmatch(r"\d+", values[key]), (key, values[key])
    for key in FLOAT_KEYS & values.keys():
        float(values[key])
    assert values["Total Accesses"] == "3" and values["Total kBytes"] == "6"
    assert values["ReqPerSec"] == ".176471" and values["BytesPerReq"] == "2048"
    assert values["BusyWorkers"] == "1" and values["IdleWorkers"] == "5"
    assert values["ConnsTotal"] == "2" and values["ConnsAsyncKeepAlive"] == "1"
    assert values["Scoreboard"] == "___W__" and values["ServerUptime"] == "17 seconds"


def test_auto_without_extended_status_or_event() -> None:
    keys = [key for key, _ in auto_pairs(report("prefork", extended=False))]
    assert "Total Accesses" not in keys and "ConnsTotal" not in keys and "Processes" not in keys
    assert keys[-4:] == ["BusyWorkers", "GracefulWorkers", "IdleWorkers", "Scoreboard"]
    assert dict(auto_pairs(report("prefork")))["Scoreboard"] == "_W"


def test_html_page_has_apaches_parts() -> None:
    page = render_html(report())
    assert page.startswith('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"')
    assert "<h1>Apache Server Status for localhost (via 127.0.0.1)</h1>" in page
    assert "<dt>Server uptime:  17 seconds</dt>" in page
    assert "<dt>Total accesses: 3 - Total Traffic: 6 kB - Total Duration: 0</dt>" in page
    assert "<dt>1 requests currently being processed, 0 workers gracefully restarting, " in page
    assert "<tr><td>0</td><td>4242</td><td>no</td><td>2</td><td>yes</td>" in page
    assert "<tr><td>Sum</td><td>2</td><td>0</td><td>2</td><td>&nbsp;</td>" in page
    assert "<pre>___W__</pre>" in page and '"<b><code>.</code></b>" Open slot' in page
    assert "<tr><td><b>0-0</b></td><td>4242</td><td>0/3/3</td><td>_\n</td>" in page
    assert "<td><b>W</b>\n</td>" in page and "GET /&lt;script&gt; HTTP/1.1" in page
    assert page.endswith("</table>\n</body></html>\n")


def test_html_notable_and_extended_off() -> None:
    notable = render_html(report(), notable=True)
    assert "<h2>Server Details</h2>" in notable and "<table border" not in notable
    assert "<b>Server 0-0</b> (4242): 0|3|3 [Ready]" in notable
    plain = render_html(report("prefork", extended=False))
    assert "PID Key: <br />\n<pre>\n   4242 in state: _ ,   4343 in state: W ,\n" in plain
    assert "<code>ExtendedStatus On</code> directive" in plain and "Total accesses" not in plain
    assert '<table rules="all"' not in plain


def test_scoreboard_wraps_every_64_characters() -> None:
    assert "<pre>___W__</pre>" in render_html(report())
    from pyhttpd.status.html import _wrapped

    assert _wrapped("_" * 130) == "_" * 64 + "\n" + "_" * 64 + "\n" + "__"
    assert _wrapped("_" * 64) == "_" * 64 + "\n"


def test_text_view_shares_the_summary_and_aligns_tables() -> None:
    lines = render_text(report(), full=True)
    assert "Server MPM: event" in lines and "Scoreboard: ___W__" in lines
    assert "Total accesses: 3 - Total Traffic: 6 kB - Total Duration: 0" in lines
    header = next(line for line in lines if line.startswith("Srv "))
    rows = lines[lines.index(header) + 1 :]
    assert [row.split()[3] for row in rows] == ["_", "W"]
    assert not any("Srv " in line for line in render_text(report(), full=False))


@pytest.mark.parametrize(
    ("query", "seconds"),
    [("", None), ("refresh", 10), ("refresh=3", 3), ("auto&refresh=0", 10), ("x=refresh=5s", 5)],
)
def test_refresh_is_read_as_apache_reads_it(query: str, seconds: int | None) -> None:
    assert refresh_seconds(query) == seconds


def test_see_request_tail_is_a_flag_every_worker_slot_reads() -> None:
    line = "GET /" + "a" * 100 + " HTTP/1.1"
    with Scoreboard.create(None, 1, 2) as board:
        board.worker(0, 0).request_started(line)
        board.set_request_tail(True)
        board.worker(0, 1).request_started(line)
        head, tail = (worker.request for worker in board.snapshot().workers[0])
    assert head == line[:63] and tail == line[-63:]
