"""Tests 1 to 5 on one running server for one round: static files, WSGI hello, memory.

Each case records its figures through a `Record` (metric -> value, None for a failed
measurement) or a note saying why the server has none (n/a, or the tool's error). Tests 1, 2
and 4 also record the server's CPU time per request (all its processes, user + system). Memory under
load is the peak sampled while test 1 (or test 4 for a WSGI-only server) runs. Runs in the bench
process.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from scripts.bench import loads, memory
from scripts.bench.servers import Server, wsgi_available


@dataclass(frozen=True)
class Plan:
    """How long and how much: the full run, or QUICK=1's short one."""

    quick: bool
    rounds: int  # rounds of tests 1-5, every server in each
    seconds: int  # each wrk run (whole seconds: wrk's unit)
    ab_requests: int  # ab -n, bounded also by ab_seconds (ab -t)
    ab_seconds: int
    fresh_probes: int  # fresh requests timed in test 6
    idle_counts: tuple[int, ...]  # idle connections held in test 7
    keepalive_timeout: int  # KeepAliveTimeout of test 6 (a worker waits it out)
    idle_rounds: int  # rounds of tests 6 and 7


FULL = Plan(
    quick=False, rounds=3, seconds=5, ab_requests=5000, ab_seconds=10, fresh_probes=60,
    idle_counts=(1000, 10000), keepalive_timeout=5, idle_rounds=3,
)  # fmt: skip
QUICK = Plan(
    quick=True, rounds=3, seconds=1, ab_requests=500, ab_seconds=3, fresh_probes=12,
    idle_counts=(1000,), keepalive_timeout=1, idle_rounds=1,
)  # fmt: skip


@dataclass
class Record:
    """Where a case puts its figures for (server, test) in the current round."""

    put: Callable[[str, float | None], None]
    note: Callable[[str], None]
    load: memory.Usage | None = None  # the peak memory sampled while the case's load ran


def _wrk(server: Server, kind: str, connections: int, plan: Plan, record: Record) -> None:
    if kind not in server.urls:
        record.note("n/a (WSGI server only)")
        return
    sampler = memory.Sampler(server.pids)
    cpu = server.cpu_seconds()
    with sampler:
        result = loads.wrk(server.urls[kind], 2, connections, plan.seconds)
    cpu = server.cpu_seconds() - cpu
    record.load = sampler.peak
    if result.error:
        record.note(f"wrk: {result.error}")
    ok = not result.error
    if kind == "large":
        record.put("mib_per_s", result.mib_per_s if ok else None)
        return
    record.put("requests_per_s", result.requests_per_s if ok else None)
    record.put("p99_ms", result.p99_ms if ok else None)
    record.put("cpu_us", per_request(cpu, result.requests) if ok else None)
    if ok and result.errors:
        record.note(f"wrk errors in one round: {result.error_kinds}")


def per_request(cpu_seconds: float, requests: int) -> float | None:
    """The server's CPU microseconds per request answered (None without an answer)."""
    return cpu_seconds / requests * 1e6 if requests > 0 else None


def small_keepalive(server: Server, plan: Plan, record: Record) -> None:
    _wrk(server, "small", 50, plan, record)


def small_close(server: Server, plan: Plan, record: Record) -> None:
    if "small" not in server.urls:
        record.note("n/a (WSGI server only)")
        return
    cpu = server.cpu_seconds()
    result = loads.ab(server.urls["small"], 50, plan.ab_requests, plan.ab_seconds)
    cpu = server.cpu_seconds() - cpu
    if result.error:
        record.note(f"ab: {result.error}")
        record.put("requests_per_s", None)
        record.put("failures", None)
        record.put("cpu_us", None)
        return
    record.put("requests_per_s", result.requests_per_s)
    record.put("failures", float(result.failures))
    record.put("cpu_us", per_request(cpu, result.complete))


def large_keepalive(server: Server, plan: Plan, record: Record) -> None:
    _wrk(server, "large", 10, plan, record)


def wsgi_hello(server: Server, plan: Plan, record: Record) -> None:
    if "wsgi" not in server.urls:
        if server.name.startswith("pyhttpd") and not wsgi_available():
            record.note("n/a (no WSGI module yet)")
        elif server.name.startswith("apache"):
            record.note("n/a (mod_wsgi is not installed)")
        else:
            record.note("n/a (no WSGI in this configuration)")
        return
    if server.name == "python-ceiling":
        record.note("its fixed 612-byte answer, no WSGI: the limit")
    _wrk(server, "wsgi", 50, plan, record)


def rest_memory(server: Server) -> memory.Usage:
    return memory.usage(server.pids())


CASES: dict[str, Callable[[Server, Plan, Record], None]] = {
    "small_keepalive": small_keepalive,
    "small_close": small_close,
    "large_keepalive": large_keepalive,
    "wsgi_hello": wsgi_hello,
}
