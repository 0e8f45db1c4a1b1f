"""The report of a run: the JSON document, the terminal table (absolute figures and ratios).

`build` turns Results into the document written to build/bench/latest.json: for each server and
test, each metric's median, min, max, per-round values and `ratio_to_apache_event` (the median of
the per-round ratios), or the note saying why there is none. `table` renders it for the terminal.
Pure apart from `write`. Runs in the bench process.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.bench.stats import Results, summary_with_ratio

REFERENCE = "apache-event"


@dataclass(frozen=True)
class Metric:
    test: str
    name: str
    label: str
    unit: str
    higher_is_better: bool


TESTS: dict[str, str] = {
    "small_keepalive": "1. 612-byte file, keep-alive (wrk -t2 -c50)",
    "small_close": "2. 612-byte file, no keep-alive (ab -c50)",
    "large_keepalive": "3. 1 MiB file, keep-alive (wrk -t2 -c10)",
    "wsgi_hello": "4. WSGI hello, keep-alive (wrk -t2 -c50)",
    "memory": "5. memory of all server processes (MiB)",
    "keepalive_fresh": "6. one child, 10 threads, 20 idle keep-alive conns: fresh requests",
    "idle_1000": "7. one event child holding 1,000 idle keep-alive connections",
    "idle_10000": "7. one event child holding 10,000 idle keep-alive connections",
}

METRICS: tuple[Metric, ...] = (
    Metric("small_keepalive", "requests_per_s", "req/s", "", True),
    Metric("small_keepalive", "p99_ms", "p99", "ms", False),
    Metric("small_keepalive", "cpu_us", "CPU/req", "µs", False),
    Metric("small_close", "requests_per_s", "req/s", "", True),
    Metric("small_close", "failures", "failures", "", False),
    Metric("small_close", "cpu_us", "CPU/req", "µs", False),
    Metric("large_keepalive", "mib_per_s", "MiB/s", "", True),
    Metric("wsgi_hello", "requests_per_s", "req/s", "", True),
    Metric("wsgi_hello", "p99_ms", "p99", "ms", False),
    Metric("wsgi_hello", "cpu_us", "CPU/req", "µs", False),
    Metric("memory", "rest_pss_mib", "PSS rest", "", False),
    Metric("memory", "rest_rss_mib", "RSS rest", "", False),
    Metric("memory", "load_pss_mib", "PSS load", "", False),
    Metric("memory", "load_rss_mib", "RSS load", "", False),
    Metric("keepalive_fresh", "median_ms", "median", "ms", False),
    Metric("keepalive_fresh", "max_ms", "max", "ms", False),
    Metric("keepalive_fresh", "failures", "failures", "", False),
    *(
        metric
        for test in ("idle_1000", "idle_10000")
        for metric in (
            Metric(test, "held", "held", "", True),
            Metric(test, "p99_ms", "fresh p99", "ms", False),
            Metric(test, "kib_per_conn", "KiB/conn", "", False),
        )
    ),
)


def build(results: Results, servers: list[str], meta: dict[str, Any]) -> dict[str, Any]:
    """The JSON document: meta, then servers -> test -> metric -> figures (or a note)."""
    document: dict[str, Any] = {"meta": {**meta, "rounds": results.rounds}, "servers": {}}
    for server in servers:
        tests: dict[str, Any] = {}
        for test in TESTS:
            entry: dict[str, Any] = {}
            for metric in (m for m in METRICS if m.test == test):
                values = results.series(server, test, metric.name)
                reference = results.series(REFERENCE, test, metric.name)
                summary = summary_with_ratio(values, reference)
                if summary is not None:
                    entry[metric.name] = {
                        "median": summary.median,
                        "min": summary.low,
                        "max": summary.high,
                        "rounds": list(summary.rounds),
                        "ratio_to_apache_event": summary.ratio,
                    }
            note = results.notes.get((server, test))
            if note:
                entry["note"] = note
            if entry:
                tests[test] = entry
        document["servers"][server] = tests
    return document


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value >= 1 else f"{value:.2g}"


def _cell(figures: dict[str, Any] | None) -> tuple[str, str]:
    if not figures:
        return "-", ""
    text = f"{_number(figures['median'])} [{_number(figures['min'])}-{_number(figures['max'])}]"
    ratio = figures.get("ratio_to_apache_event")
    return text, ("" if ratio is None else f"x{ratio:.2f}")


def table(document: dict[str, Any]) -> str:
    """One block per test: a row per server, each figure as median [min-max] and x ratio."""
    meta = document["meta"]
    mode = "quick" if meta.get("quick") else "full"
    lines = [
        f"pyhttpd bench {meta.get('started', '')}: {mode} run, {meta.get('rounds')} rounds, "
        f"load average at start {meta.get('load_average_at_start', '?')}",
        "each figure: median [min-max] of the rounds; vs ap-ev: median of the per-round ratios "
        "to apache-event",
    ]
    for test, title in TESTS.items():
        metrics = [m for m in METRICS if m.test == test]
        rows = []
        for server, tests in document["servers"].items():
            entry = tests.get(test)
            if not entry:
                continue
            if not any(m.name in entry for m in metrics):
                rows.append([server, f"{entry.get('note', 'no figures')}"])
                continue
            cells = [server]
            for metric in metrics:
                text, ratio = _cell(entry.get(metric.name))
                cells += [text, ratio]
            if entry.get("note"):
                cells.append(f"({entry['note']})")
            rows.append(cells)
        if not rows:
            continue
        header = ["server"]
        for metric in metrics:
            header += [f"{metric.label}{' ' + metric.unit if metric.unit else ''}", "vs ap-ev"]
        lines += ["", title, *_align([header, *rows])]
    return "\n".join(lines).lstrip("\n") + "\n"


def _align(rows: list[list[str]]) -> list[str]:
    width = max(len(row) for row in rows)
    widths = [0] * width
    for row in rows:
        if len(row) > 2 or row is rows[0]:
            for n, cell in enumerate(row):
                widths[n] = max(widths[n], len(cell))
    out = []
    for row in rows:
        if len(row) == 2 and row is not rows[0]:
            out.append(f"  {row[0].ljust(widths[0])}  {row[1]}")
        else:
            out.append("  " + "  ".join(c.ljust(widths[n]) for n, c in enumerate(row)).rstrip())
    return out


def write(document: dict[str, Any], directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "latest.json"
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
