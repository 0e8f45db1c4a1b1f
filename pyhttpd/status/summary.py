"""The server-status summary sentences, shared by the HTML page (one `<dt>` each) and the text
that `pyhttpdctl status` prints: identity (version, MPM and its nature, build), then the times,
generations, uptime, load, the ExtendedStatus counters and the worker counts, worded and
formatted as Apache's mod_status words them. Pure text from a StatusReport.
"""

from __future__ import annotations

from pyhttpd.status.formats import (
    apr_g,
    byte_size,
    kbyte_size,
    single,
    status_time,
    uptime_words,
)
from pyhttpd.status.model import StatusReport


def identity_lines(report: StatusReport) -> list[str]:
    threaded, forked = report.nature
    return [
        f"Server Version: {report.server.version}",
        f"Server MPM: {report.mpm}",
        f"Server MPM threaded: {threaded}, forked: {forked}",
        f"Server Built: {report.server.built}",
    ]


def counter_lines(report: StatusReport) -> list[str]:
    load = " ".join(f"{value:.2f}" for value in report.load)
    lines = [
        f"Current Time: {status_time(report.now)}",
        f"Restart Time: {status_time(report.restart_time)}",
        f"Parent Server Config. Generation: {report.config_generation}",
        f"Parent Server MPM Generation: {report.mpm_generation}",
        f"Server uptime: {uptime_words(report.uptime)}",
        f"Server load: {load}",
    ]
    if report.extended:
        lines += extended_lines(report)
    counts = report.counts
    lines.append(
        f"{counts.busy} requests currently being processed, {counts.graceful} workers "
        f"gracefully restarting, {counts.idle} idle workers"
    )
    return lines


def extended_lines(report: StatusReport) -> list[str]:
    totals = report.totals
    cpu = (
        f"CPU Usage: u{apr_g(totals.cpu_user)} s{apr_g(totals.cpu_system)} "
        f"cu{apr_g(totals.cpu_children_user)} cs{apr_g(totals.cpu_children_system)}"
    )
    if totals.cpu:
        cpu += f" - {apr_g(report.cpu_load(), 3)}% CPU load"
    rates = ""
    if report.uptime:
        rates += f"{apr_g(single(report.requests_per_second()), 3)} requests/sec - "
        rates += f"{byte_size(int(single(report.bytes_per_second())))}/second"
    if totals.accesses:
        rates += " - " if report.uptime else ""
        rates += f"{byte_size(int(single(report.bytes_per_request())))}/request - "
        rates += f"{apr_g(single(report.ms_per_request()))} ms/request"
    return [
        f"Total accesses: {totals.accesses} - Total Traffic: {kbyte_size(totals.kbytes)}"
        f" - Total Duration: {totals.duration_ms}",
        cpu,
        rates,
    ]
