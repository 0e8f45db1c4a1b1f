"""`/server-status?auto`: Apache 2.4's machine-readable `Key: value` lines, in its order.

Monitoring that reads Apache's ?auto page (Prometheus apache_exporter, Munin, Zabbix, Datadog,
collectd) splits each line at the first ": " and looks keys up by name, so the names, the order
and the number formats (APR's %g) are Apache's: the bare host name first, then ServerVersion ..
Load15, the ExtendedStatus counters, BusyWorkers / GracefulWorkers / IdleWorkers, event's
Processes / Stopping / Conns*, and Scoreboard last. Pure text from a StatusReport.
"""

from __future__ import annotations

from pyhttpd.status.formats import apr_g, single, status_time, uptime_words
from pyhttpd.status.model import StatusReport

CONTENT_TYPE = "text/plain; charset=ISO-8859-1"


def auto_pairs(report: StatusReport) -> list[tuple[str, str]]:
    """The (key, value) pairs after the host line, in Apache's order."""
    server = report.server
    pairs = [
        ("ServerVersion", server.version),
        ("ServerMPM", report.mpm),
        ("Server Built", server.built),
        ("CurrentTime", status_time(report.now)),
        ("RestartTime", status_time(report.restart_time)),
        ("ParentServerConfigGeneration", str(report.config_generation)),
        ("ParentServerMPMGeneration", str(report.mpm_generation)),
        ("ServerUptimeSeconds", str(report.uptime)),
        ("ServerUptime", uptime_words(report.uptime).lstrip(" ")),
        ("Load1", f"{report.load[0]:.2f}"),
        ("Load5", f"{report.load[1]:.2f}"),
        ("Load15", f"{report.load[2]:.2f}"),
    ]
    if report.extended:
        totals = report.totals
        pairs += [
            ("Total Accesses", str(totals.accesses)),
            ("Total kBytes", str(totals.kbytes)),
            ("Total Duration", str(totals.duration_ms)),
            ("CPUUser", apr_g(totals.cpu_user)),
            ("CPUSystem", apr_g(totals.cpu_system)),
            ("CPUChildrenUser", apr_g(totals.cpu_children_user)),
            ("CPUChildrenSystem", apr_g(totals.cpu_children_system)),
        ]
        if totals.cpu:
            pairs.append(("CPULoad", apr_g(report.cpu_load())))
        pairs.append(("Uptime", str(report.uptime)))
        if report.uptime:
            pairs.append(("ReqPerSec", apr_g(single(report.requests_per_second()))))
            pairs.append(("BytesPerSec", apr_g(single(report.bytes_per_second()))))
        if totals.accesses:
            pairs.append(("BytesPerReq", apr_g(single(report.bytes_per_request()))))
            pairs.append(("DurationPerReq", apr_g(single(report.ms_per_request()))))
    counts = report.counts
    pairs += [
        ("BusyWorkers", str(counts.busy)),
        ("GracefulWorkers", str(counts.graceful)),
        ("IdleWorkers", str(counts.idle)),
    ]
    if report.is_async:
        conns = report.connections
        pairs += [
            ("Processes", str(conns.processes)),
            ("Stopping", str(conns.stopping)),
            ("ConnsTotal", str(conns.connections)),
            ("ConnsAsyncWaitIO", str(conns.wait_io)),
            ("ConnsAsyncWriting", str(conns.write_completion)),
            ("ConnsAsyncKeepAlive", str(conns.keep_alive)),
            ("ConnsAsyncClosing", str(conns.lingering_close)),
        ]
    pairs.append(("Scoreboard", report.scoreboard))
    return pairs


def render_auto(report: StatusReport) -> str:
    lines = [report.server.host]
    lines += [f"{key}: {value}".rstrip(" ") for key, value in auto_pairs(report)]
    return "\n".join(lines) + "\n"
