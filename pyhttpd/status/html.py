"""The server-status HTML page, in Apache 2.4's layout (mod_status.c status_handler).

Line for line what Debian's apache2 2.4 sends, so scrapers of the HTML page read ours: the
heading, the server and counter `<dt>` lines, event's per-process connections table, the
scoreboard `<pre>` (wrapped every 64 characters) with its key, then with ExtendedStatus the
per-worker table (or, with `?notable`, the "Server Details" list) and its legend, else the PID
key. One line is pyhttpd's own: the MPM's threaded/forked nature under "Server MPM". Pure text
from a StatusReport; runs in the process answering the request.
"""

from __future__ import annotations

from html import escape

from pyhttpd.scoreboard import WorkerState
from pyhttpd.status.formats import KBYTE, MBYTE, apr_g, byte_size, single
from pyhttpd.status.model import StatusReport, WorkerRow
from pyhttpd.status.summary import counter_lines, identity_lines

DOCTYPE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
)
LINE_WIDTH = 64  # STATUS_MAXLINE
KEY = (
    "<p>Scoreboard Key:<br />\n"
    '"<b><code>_</code></b>" Waiting for Connection, \n'
    '"<b><code>S</code></b>" Starting up, \n'
    '"<b><code>R</code></b>" Reading Request,<br />\n'
    '"<b><code>W</code></b>" Sending Reply, \n'
    '"<b><code>K</code></b>" Keepalive (read), \n'
    '"<b><code>D</code></b>" DNS Lookup,<br />\n'
    '"<b><code>C</code></b>" Closing connection, \n'
    '"<b><code>L</code></b>" Logging, \n'
    '"<b><code>G</code></b>" Gracefully finishing,<br /> \n'
    '"<b><code>I</code></b>" Idle cleanup of worker, \n'
    '"<b><code>.</code></b>" Open slot with no current process<br />\n'
    "</p>\n"
)
PROCESS_TABLE_HEAD = (
    '\n\n<table rules="all" cellpadding="1%">\n'
    '<tr><th rowspan="2">Slot</th><th rowspan="2">PID</th><th rowspan="2">Stopping</th>'
    '<th colspan="2">Connections</th>\n'
    '<th colspan="3">Threads</th><th colspan="4">Async connections</th></tr>\n'
    "<tr><th>total</th><th>accepting</th><th>busy</th><th>graceful</th><th>idle</th>"
    "<th>wait-io</th><th>writing</th><th>keep-alive</th><th>closing</th></tr>\n"
)
WORKER_TABLE_HEAD = (
    '\n\n<table border="0"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th>'
    "<th>SS</th><th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th>"
    "<th>Client</th><th>Protocol</th><th>VHost</th><th>Request</th></tr>\n\n"
)
WORKER_LEGEND = (
    "</table>\n <hr /> <table>\n"
    " <tr><th>Srv</th><td>Child Server number - generation</td></tr>\n"
    " <tr><th>PID</th><td>OS process ID</td></tr>\n"
    " <tr><th>Acc</th><td>Number of accesses this connection / this child / this slot</td></tr>\n"
    " <tr><th>M</th><td>Mode of operation</td></tr>\n"
    "<tr><th>CPU</th><td>CPU usage, number of seconds</td></tr>\n"
    "<tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>\n"
    " <tr><th>Req</th><td>Milliseconds required to process most recent request</td></tr>\n"
    " <tr><th>Dur</th><td>Sum of milliseconds required to process all requests</td></tr>\n"
    " <tr><th>Conn</th><td>Kilobytes transferred this connection</td></tr>\n"
    " <tr><th>Child</th><td>Megabytes transferred this child</td></tr>\n"
    " <tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>\n"
    " </table>\n"
)
NOT_EXTENDED = (
    "<hr />To obtain a full report with current status information you need to use the "
    "<code>ExtendedStatus On</code> directive.\n"
)
# the table's M column: plain for idle states, bold for busy ones (Apache's switch)
PLAIN_MODES = (WorkerState.READY, WorkerState.DEAD, WorkerState.GRACEFUL, WorkerState.IDLE_KILL)
MODE_WORDS = {
    WorkerState.READY: "Ready", WorkerState.STARTING: "Starting", WorkerState.BUSY_READ: "<b>Read</b>",
    WorkerState.BUSY_WRITE: "<b>Write</b>", WorkerState.BUSY_KEEPALIVE: "<b>Keepalive</b>",
    WorkerState.BUSY_LOG: "<b>Logging</b>", WorkerState.BUSY_DNS: "<b>DNS lookup</b>",
    WorkerState.CLOSING: "<b>Closing</b>", WorkerState.DEAD: "Dead",
    WorkerState.GRACEFUL: "Graceful", WorkerState.IDLE_KILL: "Dying",
}  # fmt: skip


def render_html(report: StatusReport, *, notable: bool = False, signature: str = "") -> str:
    parts = [_head(report), _counters(report)]
    if report.is_async:
        parts.append(_process_table(report))
    parts.append("<pre>" + _wrapped(report.scoreboard) + "</pre>\n" + KEY)
    if not report.extended:
        parts.append(_pid_key(report) + NOT_EXTENDED)
    elif notable:
        parts.append("<hr /><h2>Server Details</h2>\n\n")
        parts.extend(_detail(row) for row in report.workers)
    else:
        parts.append(WORKER_TABLE_HEAD)
        parts.extend(_table_row(row) for row in report.workers)
        parts.append(WORKER_LEGEND)
    parts.append(signature and f"<hr />\n{signature}")
    parts.append("</body></html>\n")
    return "".join(parts)


def _head(report: StatusReport) -> str:
    server = report.server
    identity = identity_lines(report)
    return (
        f"{DOCTYPE}<html><head>\n<title>Apache Status</title>\n</head><body>\n"
        f"<h1>Apache Server Status for {escape(server.host, quote=False)} "
        f"(via {server.local_ip})</h1>\n\n<dl>"
        + "".join(f"<dt>{line}</dt>\n" for line in identity[:-1])
        + f"<dt>{identity[-1]}\n</dt></dl><hr /><dl>\n"
    )


def _counters(report: StatusReport) -> str:
    return "".join(f"<dt>{line}</dt>\n" for line in counter_lines(report)) + "</dl>"


def _process_table(report: StatusReport) -> str:
    rows = [PROCESS_TABLE_HEAD]
    for process in report.processes:
        stopping = ("yes" if process.stopping else "no") + (
            " (old gen)" if process.old_generation else ""
        )
        cells = (
            process.slot, process.pid, stopping, process.connections,
            "yes" if process.accepting else "no", process.busy, process.graceful, process.idle,
            process.wait_io, process.write_completion, process.keep_alive, process.lingering_close,
        )  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>\n")
    totals = report.connections
    cells = (
        "Sum", totals.processes, totals.stopping, totals.connections, "&nbsp;",
        sum(p.busy for p in report.processes), sum(p.graceful for p in report.processes),
        sum(p.idle for p in report.processes), totals.wait_io, totals.write_completion,
        totals.keep_alive, totals.lingering_close,
    )  # fmt: skip
    rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>\n</table>\n")
    return "".join(rows)


def _wrapped(scoreboard: str) -> str:
    lines = [scoreboard[i : i + LINE_WIDTH] for i in range(0, len(scoreboard), LINE_WIDTH)]
    return "\n".join(lines) + ("\n" if len(scoreboard) % LINE_WIDTH == 0 and scoreboard else "")


def _pid_key(report: StatusReport) -> str:
    text, column = "PID Key: <br />\n<pre>\n", 0
    for pid, code in report.pid_key:
        text += f"   {pid} in state: {code} "
        column += 1
        if column >= 3:
            text, column = text + "\n", 0
        else:
            text += ","
    return text + "\n</pre>\n"


def _srv_pid_acc(row: WorkerRow, separator: str) -> tuple[str, str, str]:
    pid = "-" if row.pid == 0 or row.state is WorkerState.DEAD else str(row.pid)
    counts = separator.join(str(n) for n in (row.conn_count, row.my_access_count, row.access_count))
    return f"{row.slot}-{row.generation}", pid, counts


def _table_row(row: WorkerRow) -> str:
    srv, pid, counts = _srv_pid_acc(row, "/")
    mode = row.state.code if row.state in PLAIN_MODES else f"<b>{row.state.code}</b>"
    return (
        f"<tr><td><b>{srv}</b></td><td>{pid}</td><td>{counts}</td><td>{mode}\n</td>"
        f"<td>{row.cpu:.2f}</td><td>{row.seconds_since}</td><td>{row.request_ms}</td>"
        f"<td>{row.duration_ms}</td><td>{single(row.conn_bytes / KBYTE):.1f}</td>"
        f"<td>{single(row.my_bytes / MBYTE):.2f}</td><td>{single(row.bytes_served / MBYTE):.2f}\n"
        f"</td><td>{escape(row.client)}</td><td>{escape(row.protocol)}</td>"
        f"<td nowrap>{escape(row.vhost)}</td><td nowrap>{escape(row.request)}</td></tr>\n\n"
    )


def _detail(row: WorkerRow) -> str:
    srv, pid, counts = _srv_pid_acc(row, "|")
    return (
        f"<b>Server {srv}</b> ({pid}): {counts} [{MODE_WORDS[row.state]}] "
        f"u{apr_g(row.cpu_user)} s{apr_g(row.cpu_system)} cu0 cs0\n"
        f" {row.seconds_since} {row.request_ms} {row.duration_ms}"
        f"({byte_size(row.conn_bytes)}|{byte_size(row.my_bytes)}|{byte_size(row.bytes_served)})\n"
        f" <i>{escape(row.client)} {{{escape(row.request)}}}</i> <i>({escape(row.protocol)})</i> "
        f"<b>[{escape(row.vhost)}]</b><br />\n\n"
    )
