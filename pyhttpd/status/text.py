"""The server-status page as terminal text, for `pyhttpdctl status` and `fullstatus`.

What apachectl's `lynx -dump` of the page shows, without a browser: the same summary sentences
as the HTML (summary.py), event's per-process table and the per-worker table as aligned columns,
the scoreboard on a `Scoreboard: ` line, and its key. `fullstatus` adds the per-worker table.
Pure text from a StatusReport; runs in pyhttpdctl.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyhttpd.scoreboard import WorkerState
from pyhttpd.status.formats import KBYTE, MBYTE, single
from pyhttpd.status.model import StatusReport
from pyhttpd.status.summary import counter_lines, identity_lines

KEY_ORDER = "_SRWKDCLGI."  # the HTML key's order
PROCESS_COLUMNS = (
    "Slot", "PID", "Stopping", "Conns", "Accepting", "Busy", "Graceful", "Idle", "Wait-io",
    "Writing", "Keep-alive", "Closing",
)  # fmt: skip
WORKER_COLUMNS = (
    "Srv", "PID", "Acc", "M", "CPU", "SS", "Req", "Dur", "Conn", "Child", "Slot", "Client",
    "Protocol", "VHost", "Request",
)  # fmt: skip


def columns(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Left-aligned columns two spaces apart; the last column is not padded."""
    table = [list(header)] + [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]


def render_text(report: StatusReport, *, full: bool) -> list[str]:
    lines = [f"Apache Server Status for {report.server.host} (via {report.server.local_ip})", ""]
    lines += identity_lines(report) + counter_lines(report)
    if report.is_async:
        lines += ["", *process_table(report)]
    lines += ["", f"Scoreboard: {report.scoreboard}", ""]
    lines += ["Scoreboard Key:"]
    lines += [f'  "{code}" {WorkerState.from_code(code).legend}' for code in KEY_ORDER]
    if full and report.extended:
        lines += ["", *worker_table(report)]
    elif full:
        lines += ["", "ExtendedStatus is Off: no per-worker detail is kept."]
    return lines


def process_table(report: StatusReport) -> list[str]:
    rows: list[list[object]] = []
    for p in report.processes:
        stopping = ("yes" if p.stopping else "no") + (" (old gen)" if p.old_generation else "")
        rows.append([
            p.slot, p.pid, stopping, p.connections, "yes" if p.accepting else "no", p.busy,
            p.graceful, p.idle, p.wait_io, p.write_completion, p.keep_alive, p.lingering_close,
        ])  # fmt: skip
    c = report.connections
    rows.append([
        "Sum", c.processes, c.stopping, c.connections, "", sum(p.busy for p in report.processes),
        sum(p.graceful for p in report.processes), sum(p.idle for p in report.processes),
        c.wait_io, c.write_completion, c.keep_alive, c.lingering_close,
    ])  # fmt: skip
    return columns(PROCESS_COLUMNS, rows)


def worker_table(report: StatusReport) -> list[str]:
    rows = [
        [
            f"{w.slot}-{w.generation}", w.pid or "-",
            f"{w.conn_count}/{w.my_access_count}/{w.access_count}", w.state.code, f"{w.cpu:.2f}",
            w.seconds_since, w.request_ms, w.duration_ms, f"{single(w.conn_bytes / KBYTE):.1f}",
            f"{single(w.my_bytes / MBYTE):.2f}", f"{single(w.bytes_served / MBYTE):.2f}",
            w.client or "-", w.protocol or "-", w.vhost or "-", w.request or "-",
        ]
        for w in report.workers
    ]  # fmt: skip
    return columns(WORKER_COLUMNS, rows)
