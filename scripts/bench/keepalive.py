"""Tests 6 and 7: what idle keep-alive connections cost a child, under worker and under event.

6. One child with ThreadsPerChild 10; 20 idle keep-alive connections are held open, then fresh
   requests on new connections are timed: under worker each idle connection holds a thread until
   its KeepAliveTimeout, under event the listener parks it. Median and max latency, failures.
7. One event child holds N idle keep-alive connections (1,000 and 10,000) while fresh requests are
   timed: how many it still holds, the fresh p99, and the PSS it costs per connection.
Each server is started for the test with its one-child tuning and stopped after it. Runs in the
bench process.
"""

from __future__ import annotations

import statistics

from scripts.bench import holder, memory, servers, tuning
from scripts.bench.cases import Plan, Record
from scripts.bench.stats import percentile

FRESH_SERVERS = ("apache-event", "apache-worker", "pyhttpd-event", "pyhttpd-worker")
IDLE_SERVERS = ("apache-event", "pyhttpd-event")
IDLE_KEEPALIVE_TIMEOUT = 120  # longer than any hold: the idle connections must stay open
# Apache event accepts ThreadsPerChild + AsyncRequestWorkerFactor x idle threads connections per
# child; the factor is raised so that the test measures the child, not that guard.
IDLE_ASYNC_FACTOR = 1000.0


def keepalive_fresh(name: str, plan: Plan, record: Record) -> None:
    shape = tuning.one_child(10, plan.keepalive_timeout)
    server = servers.start(name, shape)
    try:
        held = holder.hold(server.urls["small"], 20, budget=1.0, parallel=20)
        timeout = 2 * plan.keepalive_timeout + 5
        fresh = holder.probe(server.urls["small"], plan.fresh_probes, timeout, budget=3 * timeout)
        answered = len(held.idle)
        held.close()
    finally:
        server.stop()
    record.put("median_ms", statistics.median(fresh.latencies) if fresh.latencies else None)
    record.put("max_ms", max(fresh.latencies) if fresh.latencies else None)
    record.put("failures", float(fresh.failures))
    if answered < 20:
        record.note(f"{answered} of 20 idle connections answered within 1 s (all threads held)")


def idle_capacity(name: str, count: int, plan: Plan, record: Record) -> None:
    shape = tuning.one_child(25, IDLE_KEEPALIVE_TIMEOUT, IDLE_ASYNC_FACTOR)
    server = servers.start(name, shape)
    try:
        rest = memory.usage(server.pids())
        held = holder.hold(server.urls["small"], count, budget=20.0 if plan.quick else 60.0)
        loaded = memory.usage(server.pids())
        probes = 50 if plan.quick else 200
        fresh = holder.probe(server.urls["small"], probes, timeout=2.0, budget=20.0)
        still, answered = held.still_open(), len(held.idle)
        held.close()
    finally:
        server.stop()
    record.put("held", float(still))
    p99 = percentile(fresh.latencies, 99)
    record.put("p99_ms", p99 if fresh.failures == 0 else None)
    if answered:
        record.put("kib_per_conn", (loaded.pss_mib - rest.pss_mib) * 1024 / answered)
    verdict = "no fresh answer" if p99 is None else f"fresh p99 {p99:.1f} ms"
    if p99 is not None and p99 < 50 and not fresh.failures:
        verdict += " (under 50 ms)"
    failed = f", {fresh.failures} fresh requests failed" if fresh.failures else ""
    record.note(f"held {still} of {count}, {count - answered} never answered{failed}; {verdict}")
