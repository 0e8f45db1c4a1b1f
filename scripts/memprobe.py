"""Where a server's memory goes: PSS / RSS / USS per process, at rest and after the bench's loads.

    .venv/bin/python scripts/memprobe.py pyhttpd-event [--seconds 6] [--requests 8000] [--maps]

Starts NAME as the bench does (scripts/bench/servers.py, the bench's tuning) and prints one line
per process of its tree; then plays two of the bench's rounds, shortened: the warm-up (ab), the
small file under wrk -c50 while sampling the summed PSS / RSS (the bench's peak), ab -c50 without
keep-alive and the 1 MiB file under wrk -c10, then the small file again. The second round is
where a child's first full garbage collection shows (it copies the heap the child inherited).
--maps adds the private / PSS / RSS KiB of each mapping kind ([heap], anonymous, libpython...)
of the master and the first child. Compare trees by running it on each (PYTHONPATH=tree).
Runs in its own process; stops the server by its pid.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scripts.bench import memory, servers  # noqa: E402

FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean", "Shared_Dirty")


def rollup(pid: int) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, _, value = line.partition(":")
        if name in FIELDS:
            values[name] = int(value.split()[0])
    return values


def lines(pids: list[int]) -> list[str]:
    out, total = [], defaultdict(int)
    for pid in pids:
        try:
            one = rollup(pid)
        except OSError:
            continue
        uss = one["Private_Clean"] + one["Private_Dirty"]
        for key, value in (*one.items(), ("Uss", uss)):
            total[key] += value
        out.append(f"  {pid:>7} pss {one['Pss']:>7} rss {one['Rss']:>7} uss {uss:>7} "
                   f"priv_dirty {one['Private_Dirty']:>7} KiB")  # fmt: skip
    out.append(f"  total   pss {total['Pss'] / 1024:7.1f} rss {total['Rss'] / 1024:7.1f} "
               f"uss {total['Uss'] / 1024:7.1f} MiB over {len(out)} processes")  # fmt: skip
    return out


def kind(header: str) -> str:
    parts = header.split()
    if len(parts) < 6:
        return "[anon]"
    name = parts[5]
    if name.startswith("["):
        return name
    return re.sub(r"[-.]\d.*$", "", Path(name).name) if ".so" in name else Path(name).name


def maps(pid: int) -> list[str]:
    sizes: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    current = ""
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
            current = kind(line)
            continue
        name, _, value = line.partition(":")
        if name in ("Private_Dirty", "Private_Clean"):
            sizes[current][0] += int(value.split()[0])
        elif name == "Pss":
            sizes[current][1] += int(value.split()[0])
        elif name == "Rss":
            sizes[current][2] += int(value.split()[0])
    rows = sorted(sizes.items(), key=lambda item: -item[1][1])
    return [f"    {n:<32} private {p:>6} pss {s:>6} rss {r:>6}" for n, (p, s, r) in rows[:14]]


def run(argv: list[str], timeout: int) -> None:
    done = subprocess.run(argv, capture_output=True, timeout=timeout, check=False, text=True)
    summary = [n for n in done.stdout.splitlines() if "Requests/sec" in n or "Transfer/sec" in n]
    print(f"    {argv[0]} {argv[-1].rsplit('/', 1)[-1]}: {' '.join(summary) or done.stderr[-200:]}")


def loaded(server: servers.Server, argv: list[str], seconds: int) -> memory.Usage:
    with memory.Sampler(server.pids) as sampler:
        run(argv, seconds + 20)
    return sampler.peak or memory.Usage(0.0, 0.0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--maps", action="store_true")
    args = parser.parse_args()
    servers.raise_file_limit()
    server = servers.start(args.name)
    try:
        pids = server.pids()
        print(f"{args.name} at rest after start")
        print("\n".join(lines(pids)))
        if args.maps:
            for pid in pids[:2]:
                print(f"  maps of {pid}")
                print("\n".join(maps(pid)))
        small, large = server.urls["small"], server.urls["large"]
        run(["ab", "-q", "-c50", "-n300", "-s5", small], 20)  # the bench's warm-up
        rest = memory.usage(server.pids())
        peak = loaded(server, ["wrk", "-t2", "-c50", f"-d{args.seconds}s", small], args.seconds)
        print(f"round 1: rest pss {rest.pss_mib:.1f} rss {rest.rss_mib:.1f}; "
              f"load pss {peak.pss_mib:.1f} rss {peak.rss_mib:.1f} MiB")  # fmt: skip
        run(["ab", "-q", "-c50", f"-n{args.requests}", "-s10", small], 60)
        run(["wrk", "-t2", "-c10", f"-d{args.seconds}s", large], args.seconds + 20)
        rest = memory.usage(server.pids())
        peak = loaded(server, ["wrk", "-t2", "-c50", f"-d{args.seconds}s", small], args.seconds)
        print(f"round 2: rest pss {rest.pss_mib:.1f} rss {rest.rss_mib:.1f}; "
              f"load pss {peak.pss_mib:.1f} rss {peak.rss_mib:.1f} MiB")  # fmt: skip
        print("\n".join(lines(server.pids())))
        if args.maps:
            for pid in server.pids()[:2]:
                print(f"  maps of {pid}")
                print("\n".join(maps(pid)))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
