"""Profile one pyhttpd child under the bench's load with py-spy (issue 8: speed).

Developer helper: nothing imports it. It starts the bench's own pyhttpd instance
(scripts/bench/servers.start: same config, same files), warms it, loads it with wrk (the 612-byte
file with keep-alive, or the WSGI hello) or ab (no keep-alive), and samples its first child with
`py-spy record --gil`: only samples holding the GIL, that is the child's Python work. Sampling
wall-clock time instead puts half of the listener in send(), where the kernel runs the loopback
client's wake-up. It prints the functions with the most own samples, then the frames with the
most samples below them. py-spy comes with `make bench` (the bench extras); it needs ptrace.

    .venv/bin/python scripts/profile_child.py [--mpm event] [--load small|close|wsgi]
                                              [--seconds 6] [--top 40]
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PY_SPY = REPO / ".venv" / "bin" / "py-spy"


def aggregate(raw: str) -> tuple[int, collections.Counter[str], collections.Counter[str]]:
    """py-spy's raw (collapsed) output -> (samples, own samples per function, samples per frame
    anywhere in the stack). A line is `thread (tid): name;frame;frame... count`; a thread with
    no frame was idle and is not counted."""
    own: collections.Counter[str] = collections.Counter()
    below: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")[1:]  # the first element names the thread
        if not count.isdigit() or not frames:
            continue
        samples = int(count)
        total += samples
        name, _, where = frames[-1].partition(" (")
        own[f"{name} ({where.rsplit(':', 1)[0]})"] += samples
        for frame in set(frames):
            below[frame] += samples
    return total, own, below


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mpm", default="event", choices=("event", "worker", "prefork"))
    parser.add_argument("--load", default="small", choices=("small", "close", "wsgi"))
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--top", type=int, default=40)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from scripts.bench import loads, servers

    server = servers.start(f"pyhttpd-{args.mpm}", wsgi=args.load == "wsgi")
    try:
        url = server.urls["wsgi" if args.load == "wsgi" else "small"]

        def load(seconds: int) -> None:
            if args.load == "close":
                loads.ab(url, 50, 1_000_000, seconds)
            else:
                loads.wrk(url, 2, 50, seconds)

        load(1)  # warm: imports, memo tables
        child = server.pids()[1]
        loader = threading.Thread(target=load, args=(args.seconds + 2,))
        loader.start()
        with tempfile.NamedTemporaryFile(suffix=".txt") as out:
            record = [str(PY_SPY), "record", "--pid", str(child), "--duration", str(args.seconds)]
            record += ["--rate", "500", "--format", "raw", "--gil", "--nonblocking"]
            done = subprocess.run([*record, "--output", out.name], capture_output=True, text=True)
            loader.join()
            raw = Path(out.name).read_text()
        if done.returncode != 0:
            sys.exit(f"py-spy failed: {done.stderr.strip()[-500:]}")
    finally:
        server.stop()
    total, own, below = aggregate(raw)
    print(f"pyhttpd-{args.mpm} child {child}, {args.load} load: {total} samples holding the GIL")
    print("--- own samples")
    for name, samples in own.most_common(args.top):
        print(f"{samples / total * 100:5.1f}%  {name}")
    print("--- samples below the frame")
    for frame, samples in below.most_common(args.top):
        print(f"{samples / total * 100:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
