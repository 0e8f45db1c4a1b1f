"""Syscalls, context switches and CPU per response of bench servers under wrk (issue 8: speed).

Developer helper: nothing imports it. It starts each named server as `make bench` does
(scripts/bench/servers.py: same config, same tuning), then for each round runs the same wrk load
on each server in turn (A B A B ...) while `perf stat` counts, over the server's whole process
tree, its syscalls (tracepoints: every syscall, and the ones named below one by one), context
switches and CPU time; wrk's own CPU is counted too (the two share the cores, so a response that
costs the client more is slower as well). It prints the medians per response. Counts do not
drift with the machine's load as wall-clock figures do.

A name may be NAME@CHECKOUT: pyhttpd's code is then imported from that other checkout of the
repository (e.g. a `git worktree` of the commit before a change), for before/after in one run.

    .venv/bin/python scripts/syscall_bench.py apache-event pyhttpd-event [--kind large]
        [--rounds 3] [--seconds 3] [--connections 10]

Needs perf (Debian's linux-perf) and read access to /sys/kernel/tracing (root).
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.bench import loads, servers  # noqa: E402

TRACEPOINTS = Path("/sys/kernel/tracing/events/syscalls")
CALLS = (
    "sendfile64", "sendto", "sendmsg", "writev", "write", "recvfrom", "read", "poll", "pselect6",
    "epoll_wait", "epoll_ctl", "ioctl", "fcntl", "setsockopt", "openat", "newfstatat", "lseek",
    "close", "mmap", "munmap", "futex",
)  # fmt: skip


@contextlib.contextmanager
def checkout(label: str) -> Iterator[str]:
    """The server name of LABEL, with servers.REPO pointed at its checkout while it starts."""
    name, _, where = label.partition("@")
    mine = servers.REPO
    servers.REPO = Path(where).resolve() if where else mine
    try:
        yield name
    finally:
        servers.REPO = mine


def measure(server: servers.Server, url: str, args: argparse.Namespace) -> dict[str, float]:
    """One wrk run under perf stat: the counts divided by the responses wrk got."""
    calls = [c for c in CALLS if (TRACEPOINTS / f"sys_enter_{c}").exists()]
    events = ["raw_syscalls:sys_enter", "context-switches", "task-clock"]
    events += [f"syscalls:sys_enter_{c}" for c in calls]
    with tempfile.NamedTemporaryFile("r", suffix=".perf") as out:
        pids = ",".join(str(pid) for pid in server.pids())
        perf = subprocess.Popen(
            ["perf", "stat", "-x", ";", "-e", ",".join(events), "-p", pids, "-o", out.name]
        )
        time.sleep(0.3)  # perf attaches
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = loads.wrk(url, 2, args.connections, args.seconds)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=30)
        text = out.read()
    if result.error or not result.requests:
        raise SystemExit(f"{server.name}: wrk: {result.error or 'no responses'}")
    n = result.requests
    wrk_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    figures = {"MiB/s": result.mib_per_s, "req/s": result.requests_per_s}
    figures["wrk CPU µs"] = wrk_cpu * 1e6 / n
    for line in text.splitlines():
        fields = line.split(";")
        if len(fields) > 2 and fields[0].replace(".", "").isdigit():
            event = fields[2].removeprefix("syscalls:sys_enter_")
            value = float(fields[0])
            if event == "task-clock":  # milliseconds
                figures["server CPU µs"] = value * 1000 / n
            else:
                figures[event.replace("raw_syscalls:sys_enter", "syscalls")] = value / n
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("names", nargs="+", help="servers (scripts/bench/servers.py NAMES)")
    parser.add_argument("--kind", default="large", choices=("small", "large", "wsgi"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=10)
    args = parser.parse_args()
    servers.raise_file_limit()
    started: list[tuple[str, servers.Server]] = []
    results: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    try:
        for label in args.names:
            with checkout(label) as name:
                started.append((label, servers.start(name, wsgi=args.kind == "wsgi")))
        for round_ in range(args.rounds):
            for label, server in started:
                figures = measure(server, server.urls[args.kind], args)
                for key, value in figures.items():
                    results[label][key].append(value)
                print(f"round {round_ + 1} {label}: {figures['MiB/s']:.0f} MiB/s", flush=True)
    finally:
        for _, server in started:
            server.stop()
    for label, figures in results.items():
        print(f"== {label}: medians per response over {args.rounds} rounds")
        for key, values in figures.items():
            median = statistics.median(values)
            if median >= 0.05:
                print(f"  {key:>16} {median:10.2f}")


if __name__ == "__main__":
    main()
