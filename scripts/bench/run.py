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
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from scripts.bench import cases, chart, keepalive, loads, memory, report, servers
from scripts.bench.stats import Results

OUT = servers.REPO / "build" / "bench"


def _rotate(names: Sequence[str], turn: int) -> list[str]:
    if not names:
        return []
    shift = turn % len(names)
    return [*names[shift:], *names[:shift]]


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _guarded(label: str, results: Results, server: str, test: str, work: Callable[[], None]):
    """Run WORK; an exception becomes a note on (server, test), never the end of the run."""
    began = time.monotonic()
    try:
        work()
    except servers.StartFailed as exc:
        results.note(server, test, f"failed to start: {exc}")
    except Exception as exc:  # noqa: BLE001 - one server's failure must not end the run
        results.note(server, test, f"error: {type(exc).__name__}: {exc}")
        traceback.print_exc()
    _say(f"  {label:<40} {time.monotonic() - began:5.1f} s")


def _start_all(names: Sequence[str], results: Results) -> dict[str, servers.Server]:
    running = {}
    for name in names:
        try:
            running[name] = servers.start(name)
            _warm_up(running[name])
        except servers.StartFailed as exc:
            _say(f"  {name}: {exc}")
            for test in report.TESTS:
                results.note(name, test, "failed to start (skipped)")
    return running


def _stop_all(running: list[servers.Server]) -> None:
    """Stop every server at once: Apache with mod_wsgi takes seconds to stop, each."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(running) or 1) as pool:
        for future in [pool.submit(server.stop) for server in running]:
            with contextlib.suppress(Exception):
                future.result(timeout=60)


def _warm_up(server: servers.Server) -> None:
    """A few hundred unrecorded requests: children forked, interpreters and WSGI apps loaded."""
    for kind in ("small", "wsgi"):
        if kind in server.urls:
            loads.ab(server.urls[kind], 50, 300, 5)


def _throughput_round(running: dict[str, servers.Server], plan: cases.Plan, round_no: int,
                      results: Results) -> None:  # fmt: skip
    order = _rotate(list(running), round_no)
    for name in order:
        rest = memory.usage(running[name].pids())
        results.add(name, "memory", "rest_pss_mib", round_no, rest.pss_mib)
        results.add(name, "memory", "rest_rss_mib", round_no, rest.rss_mib)
    for test, case in cases.CASES.items():
        for name in order:
            server = running[name]

            def put(metric: str, value: float | None, name: str = name, test: str = test) -> None:
                results.add(name, test, metric, round_no, value)

            def note(text: str, name: str = name, test: str = test) -> None:
                results.note(name, test, text)

            record = cases.Record(put, note)
            if server.process.poll() is not None:
                note(f"server exited (status {server.process.returncode})")
                continue
            _guarded(f"round {round_no + 1} {test} {name}", results, name, test,
                     lambda case=case, server=server, record=record: case(server, plan, record))  # fmt: skip
            first_load = "small_keepalive" if "small" in server.urls else "wsgi_hello"
            if test == first_load and record.load is not None:
                results.add(name, "memory", "load_pss_mib", round_no, record.load.pss_mib)
                results.add(name, "memory", "load_rss_mib", round_no, record.load.rss_mib)


def _keepalive_round(names: set[str], plan: cases.Plan, round_no: int, results: Results) -> None:
    def recorder(name: str, test: str) -> tuple[keepalive.Put, Callable[[str], None]]:
        return (
            lambda metric, value: results.add(name, test, metric, round_no, value),
            lambda text: results.note(name, test, text),
        )

    for name in _rotate([n for n in keepalive.FRESH_SERVERS if n in names], round_no):
        put, note = recorder(name, "keepalive_fresh")
        _guarded(f"round {round_no + 1} keepalive_fresh {name}", results, name, "keepalive_fresh",
                 lambda name=name, put=put, note=note: keepalive.keepalive_fresh(name, plan, put, note))  # fmt: skip
    for count in plan.idle_counts:
        test = f"idle_{count}"
        for name in _rotate([n for n in keepalive.IDLE_SERVERS if n in names], round_no):
            put, note = recorder(name, test)
            _guarded(f"round {round_no + 1} {test} {name}", results, name, test,
                     lambda name=name, count=count, put=put, note=note:
                     keepalive.idle_capacity(name, count, plan, put, note))  # fmt: skip


def run(plan: cases.Plan, names: Sequence[str], out: Path) -> dict:
    began = time.monotonic()
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    files = servers.raise_file_limit()
    _say(f"bench: {'quick' if plan.quick else 'full'} mode, {plan.rounds} rounds, "
         f"file limit {files}, servers: {', '.join(names)}")  # fmt: skip
    results = Results()
    running = _start_all(names, results)
    try:
        for round_no in range(plan.rounds):
            _throughput_round(running, plan, round_no, results)
    finally:
        _stop_all(list(running.values()))
    started_ok = set(running)
    for round_no in range(plan.idle_rounds):
        _keepalive_round(started_ok, plan, round_no, results)
    meta = {
        "started": started,
        "quick": plan.quick,
        "seconds": round(time.monotonic() - began, 1),
        "plan": {k: v for k, v in vars(plan).items() if k != "quick"},
        "file_limit": files,
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
    parser.add_argument("--rounds", type=int, help="rounds of tests 1-5 (full: 3, quick: 2)")
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
