"""One bench run: start every server, measure in rounds alternating servers, report, stop.

In each round, every test runs on every server before the next test starts, the servers' order
rotating from round to round, so machine drift hits all alike. A server that fails to start is
reported and skipped; a measurement that fails is a figure (None plus a note), never a crash.
Runs in the bench process (`python -m scripts.bench`, `make bench`).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from scripts.bench import cases, chart, keepalive, loads, memory, report, servers
from scripts.bench import tuning as tun
from scripts.bench.stats import Results

OUT = servers.REPO / "build" / "bench"
PREFORK_CLIMB_S = 15.0  # at most this long loading the prefork servers until all children exist


def _rotate(names: Sequence[str], turn: int) -> list[str]:
    if not names:
        return []
    shift = turn % len(names)
    return [*names[shift:], *names[:shift]]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _guarded(label: str, record: cases.Record, work: Callable[..., None], *args: object) -> None:
    """Run WORK(*ARGS); an exception becomes a note, never the end of the run."""
    began = time.monotonic()
    try:
        work(*args)
    except servers.StartFailed as exc:
        record.note(f"failed to start: {exc}")
    except Exception as exc:  # noqa: BLE001 - one server's failure must not end the run
        record.note(f"error: {type(exc).__name__}: {exc}")
        traceback.print_exc()
    _say(f"  {label:<40} {time.monotonic() - began:5.1f} s")


@dataclass
class Fleet:
    """The servers of tests 1-5: one static instance each, plus WSGI instances (`wsgi_module`)."""

    static: dict[str, servers.Server] = field(default_factory=dict)
    wsgi: dict[str, servers.Server] = field(default_factory=dict)

    def serving(self, name: str, test: str) -> servers.Server:
        if test == "wsgi_hello":
            return self.wsgi.get(name, self.static[name])
        return self.static[name]

    def all(self) -> list[servers.Server]:
        return [*self.static.values(), *self.wsgi.values()]


def _start_all(names: Sequence[str], results: Results) -> Fleet:
    fleet = Fleet()
    for name in names:
        try:
            fleet.static[name] = servers.start(name)
            _warm_up(fleet.static[name])
        except servers.StartFailed as exc:
            _say(f"  {name}: {exc}")
            for test in report.TESTS:
                results.note(name, test, f"failed to start (skipped): {str(exc)[:160]}")
            continue
        if servers.wsgi_module(name):
            try:
                fleet.wsgi[name] = servers.start(name, wsgi=True)
                _warm_up(fleet.wsgi[name])
            except servers.StartFailed as exc:
                results.note(name, "wsgi_hello", f"failed to start with WSGI: {exc}")
    _fork_prefork_children(fleet)
    return fleet


def _fork_prefork_children(fleet: Fleet) -> None:
    """Load every prefork server until it has a child for each of the load's connections.

    A prefork server starts StartServers children and forks more only at its once-a-second
    upkeep (1, 2, 4, 8... a second, as Apache): five seconds of load before all fifty exist.
    Without this the first round would measure the climb, half the connections waiting in the
    listen queue, and quick runs (1-s loads) would never see the full set. Apache's and
    pyhttpd's prefork servers climb together, in parallel, bounded by PREFORK_CLIMB_S."""
    growing = [server for server in fleet.all() if server.name.endswith("-prefork")]
    if growing:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(growing)) as pool:
            list(pool.map(_fork_all_children, growing))


def _fork_all_children(server: servers.Server) -> None:
    url = server.urls.get("small") or server.urls["wsgi"]
    connections = tun.DEFAULT.max_request_workers  # as tests 1 and 4: one a worker
    began = time.monotonic()
    while len(server.pids()) <= connections and time.monotonic() < began + PREFORK_CLIMB_S:
        loads.wrk(url, 2, connections, 1)
    climbed = time.monotonic() - began
    _say(f"  {server.name}: {len(server.pids()) - 1} children after {climbed:.1f} s of load")


def _stop_all(running: list[servers.Server]) -> None:
    """Stop every server at once: Apache with mod_wsgi takes seconds to stop, each."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(running) or 1) as pool:
        for future in [pool.submit(server.stop) for server in running]:
            with contextlib.suppress(Exception):
                future.result(timeout=60)


def _warm_up(server: servers.Server) -> None:
    """A few hundred unrecorded requests: interpreters and WSGI apps loaded, StartServers
    children serving (the rest of a prefork server's: `_fork_prefork_children`)."""
    for kind in ("small", "wsgi"):
        if kind in server.urls:
            loads.ab(server.urls[kind], 50, 300, 5)


def _record(results: Results, name: str, test: str, round_no: int) -> cases.Record:
    """Where one case on one server in one round puts its figures and notes."""
    return cases.Record(
        lambda metric, value: results.add(name, test, metric, round_no, value),
        lambda text: results.note(name, test, text),
    )


def _throughput_round(fleet: Fleet, plan: cases.Plan, round_no: int, results: Results) -> None:
    order = _rotate(list(fleet.static), round_no)
    for name in order:
        rest = memory.usage(fleet.static[name].pids())
        results.add(name, "memory", "rest_pss_mib", round_no, rest.pss_mib)
        results.add(name, "memory", "rest_rss_mib", round_no, rest.rss_mib)
    for test, case in cases.CASES.items():
        for name in order:
            server, record = fleet.serving(name, test), _record(results, name, test, round_no)
            if server.process.poll() is not None:
                record.note(f"server exited (status {server.process.returncode})")
                continue
            label = f"round {round_no + 1} {test} {name}"
            _guarded(label, record, case, server, plan, record)
            first_load = "small_keepalive" if "small" in server.urls else "wsgi_hello"
            if test == first_load and record.load is not None:
                results.add(name, "memory", "load_pss_mib", round_no, record.load.pss_mib)
                results.add(name, "memory", "load_rss_mib", round_no, record.load.rss_mib)


def _keepalive_round(names: set[str], plan: cases.Plan, round_no: int, results: Results) -> None:
    test = "keepalive_fresh"
    for name in _rotate([n for n in keepalive.FRESH_SERVERS if n in names], round_no):
        record = _record(results, name, test, round_no)
        label = f"round {round_no + 1} {test} {name}"
        _guarded(label, record, keepalive.keepalive_fresh, name, plan, record)
    for count in plan.idle_counts:
        test = f"idle_{count}"
        for name in _rotate([n for n in keepalive.IDLE_SERVERS if n in names], round_no):
            record = _record(results, name, test, round_no)
            label = f"round {round_no + 1} {test} {name}"
            _guarded(label, record, keepalive.idle_capacity, name, count, plan, record)


def run(plan: cases.Plan, names: Sequence[str], out: Path) -> dict:
    began = time.monotonic()
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    files = servers.raise_file_limit()
    load = [round(value, 2) for value in os.getloadavg()]
    mode = "quick" if plan.quick else "full"
    _say(
        f"bench: {mode} mode, {plan.rounds} rounds, file limit {files}, servers: {', '.join(names)}"
    )
    results = Results()
    fleet = _start_all(names, results)
    try:
        for round_no in range(plan.rounds):
            _throughput_round(fleet, plan, round_no, results)
    finally:
        _stop_all(fleet.all())
    started_ok = set(fleet.static)
    for round_no in range(plan.idle_rounds):
        _keepalive_round(started_ok, plan, round_no, results)
    meta = {
        "started": started,
        "quick": plan.quick,
        "seconds": round(time.monotonic() - began, 1),
        "plan": {k: v for k, v in vars(plan).items() if k != "quick"},
        "file_limit": files,
        "cpus": os.cpu_count(),
        "load_average_at_start": load,
        "wsgi_module": servers.wsgi_available(),
    }
    document = report.build(results, list(names), meta)
    print(report.table(document))
    path = report.write(document, out)
    picture = chart.draw(document, out / "latest.png")
    _say(f"bench: {meta['seconds']} s; wrote {path}" + (f" and {picture}" if picture else
         " (no chart: matplotlib is not installed)"))  # fmt: skip
    return document


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs: under two minutes")
    parser.add_argument("--rounds", type=int, help="rounds of tests 1-5 (default 3)")
    parser.add_argument("--servers", help="comma-separated subset of: " + ",".join(servers.NAMES))
    parser.add_argument("--out", type=Path, default=OUT, help="where latest.json/.png go")
    args = parser.parse_args(argv)
    plan = cases.QUICK if args.quick else cases.FULL
    if args.rounds:
        plan = replace(plan, rounds=args.rounds)
    names = args.servers.split(",") if args.servers else list(servers.NAMES)
    unknown = set(names) - set(servers.NAMES)
    if unknown:
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")
    run(plan, names, args.out)
    return 0
