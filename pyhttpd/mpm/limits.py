"""Apache's start-up corrections of MPM numbers (the check_config hook), in Apache's order.

Pure functions of the processed settings: they return corrected values and the warnings Apache
prints (on stderr at start-up and with -t). They never fail: `-t` still says Syntax OK. The numbers
are prefork's AH00175-AH00186, worker's AH00300-AH00322 and event's AH00497-AH00519.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyhttpd.config.directives import ConfigCheck, Scope

PREFORK_MAX_SERVER_LIMIT = 200000
THREADED_MAX_SERVER_LIMIT = 20000


@dataclass(frozen=True)
class Tags:
    """The AH numbers one threaded MPM uses for each correction, in Apache's order."""

    server_limit_high: int
    server_limit_low: int
    thread_limit_high: int
    thread_limit_low: int
    threads_high: int
    threads_low: int
    workers_below_threads: int
    workers_not_multiple: int
    workers_over_limit: int
    start_low: int
    min_spare_low: int
    max_thread_limit: int


WORKER_TAGS = Tags(300, 302, 305, 307, 310, 312, 314, 316, 318, 320, 322, 20000)
EVENT_TAGS = Tags(497, 499, 502, 504, 507, 509, 511, 513, 515, 517, 519, 100000)


def _ah(number: int) -> str:
    return f"AH{number:05d}: WARNING: "


def check_prefork(settings: Scope) -> ConfigCheck:
    """prefork's corrections: ServerLimit, MaxRequestWorkers, StartServers, MinSpareServers."""
    server_limit = int(settings.get("ServerLimit"))
    workers = int(settings.get("MaxRequestWorkers"))
    start = int(settings.get("StartServers"))
    min_spare = int(settings.get("MinSpareServers"))
    max_spare = int(settings.get("MaxSpareServers"))
    warnings: list[str] = []
    if server_limit > PREFORK_MAX_SERVER_LIMIT:
        warnings.append(
            f"{_ah(175)}ServerLimit of {server_limit} exceeds compile-time limit of "
            f"{PREFORK_MAX_SERVER_LIMIT} servers, decreasing to {PREFORK_MAX_SERVER_LIMIT}."
        )
        server_limit = PREFORK_MAX_SERVER_LIMIT
    elif server_limit < 1:
        warnings.append(f"{_ah(177)}ServerLimit of {server_limit} not allowed, increasing to 1.")
        server_limit = 1
    if workers > server_limit:
        warnings.append(
            f"{_ah(180)}MaxRequestWorkers of {workers} exceeds ServerLimit value of {server_limit} "
            f"servers, decreasing MaxRequestWorkers to {server_limit}. To increase, please see "
            "the ServerLimit directive."
        )
        workers = server_limit
    elif workers < 1:
        warnings.append(f"{_ah(182)}MaxRequestWorkers of {workers} not allowed, increasing to 1.")
        workers = 1
    if start < 1:
        warnings.append(f"{_ah(184)}StartServers of {start} not allowed, increasing to 1.")
        start = 1
    if min_spare < 1:
        warnings.append(
            f"{_ah(186)}MinSpareServers of {min_spare} not allowed, increasing to 1 to avoid "
            "almost certain server failure. Please read the documentation."
        )
        min_spare = 1
    corrections: dict[str, Any] = {
        "ServerLimit": server_limit,
        "MaxRequestWorkers": workers,
        "StartServers": min(start, workers),
        "MinSpareServers": min_spare,
        "MaxSpareServers": max(max_spare, min_spare + 1),
        "ProcessLimit": workers,
    }
    return ConfigCheck(corrections, tuple(warnings))


def check_threaded(settings: Scope, tags: Tags) -> ConfigCheck:
    """worker's and event's corrections, identical but for their AH numbers."""
    server_limit = int(settings.get("ServerLimit"))
    thread_limit = int(settings.get("ThreadLimit"))
    threads = int(settings.get("ThreadsPerChild"))
    workers = int(settings.get("MaxRequestWorkers"))
    start = int(settings.get("StartServers"))
    min_spare = int(settings.get("MinSpareThreads"))
    max_spare = int(settings.get("MaxSpareThreads"))
    warnings: list[str] = []
    if server_limit > THREADED_MAX_SERVER_LIMIT:
        warnings.append(
            f"{_ah(tags.server_limit_high)}ServerLimit of {server_limit} exceeds compile-time "
            f"limit of {THREADED_MAX_SERVER_LIMIT} servers, decreasing to "
            f"{THREADED_MAX_SERVER_LIMIT}."
        )
        server_limit = THREADED_MAX_SERVER_LIMIT
    elif server_limit < 1:
        warnings.append(
            f"{_ah(tags.server_limit_low)}ServerLimit of {server_limit} not allowed, increasing to 1."
        )
        server_limit = 1
    if thread_limit > tags.max_thread_limit:
        warnings.append(
            f"{_ah(tags.thread_limit_high)}ThreadLimit of {thread_limit} exceeds compile-time "
            f"limit of {tags.max_thread_limit} threads, decreasing to {tags.max_thread_limit}."
        )
        thread_limit = tags.max_thread_limit
    elif thread_limit < 1:
        warnings.append(
            f"{_ah(tags.thread_limit_low)}ThreadLimit of {thread_limit} not allowed, increasing to 1."
        )
        thread_limit = 1
    if threads > thread_limit:
        warnings.append(
            f"{_ah(tags.threads_high)}ThreadsPerChild of {threads} exceeds ThreadLimit of "
            f"{thread_limit} threads, decreasing to {thread_limit}. To increase, please see the "
            "ThreadLimit directive."
        )
        threads = thread_limit
    elif threads < 1:
        warnings.append(
            f"{_ah(tags.threads_low)}ThreadsPerChild of {threads} not allowed, increasing to 1."
        )
        threads = 1
    if workers < threads:
        warnings.append(
            f"{_ah(tags.workers_below_threads)}MaxRequestWorkers of {workers} is less than "
            f"ThreadsPerChild of {threads}, increasing to {threads}. MaxRequestWorkers must be at "
            "least as large as the number of threads in a single server."
        )
        workers = threads
    processes = workers // threads
    if workers % threads:
        rounded = processes * threads
        warnings.append(
            f"{_ah(tags.workers_not_multiple)}MaxRequestWorkers of {workers} is not an integer "
            f"multiple of ThreadsPerChild of {threads}, decreasing to nearest multiple {rounded}, "
            f"for a maximum of {processes} servers."
        )
        workers = rounded
    if processes > server_limit:
        capped = server_limit * threads
        warnings.append(
            f"{_ah(tags.workers_over_limit)}MaxRequestWorkers of {workers} would require "
            f"{processes} servers and would exceed ServerLimit of {server_limit}, decreasing to "
            f"{capped}. To increase, please see the ServerLimit directive."
        )
        processes, workers = server_limit, capped
    if start < 1:
        warnings.append(
            f"{_ah(tags.start_low)}StartServers of {start} not allowed, increasing to 1."
        )
        start = 1
    if min_spare < 1:
        warnings.append(
            f"{_ah(tags.min_spare_low)}MinSpareThreads of {min_spare} not allowed, increasing to 1 "
            "to avoid almost certain server failure. Please read the documentation."
        )
        min_spare = 1
    corrections: dict[str, Any] = {
        "ServerLimit": server_limit,
        "ThreadLimit": thread_limit,
        "ThreadsPerChild": threads,
        "MaxRequestWorkers": workers,
        "ProcessLimit": processes,
        "StartServers": min(start, processes),
        "MinSpareThreads": min_spare,
        "MaxSpareThreads": max(max_spare, min_spare + threads + 1),
    }
    return ConfigCheck(corrections, tuple(warnings))
