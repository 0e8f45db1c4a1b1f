"""The memory floor of a CPython server tree: the summed PSS of a master and its forked children
that import MODULES and then serve nothing, shaped as the bench's MPMs.

    .venv/bin/python scripts/memory_floor.py            # bare, the design card's packages, pyhttpd's
    .venv/bin/python scripts/memory_floor.py click pyparsing

Each tree is a fresh interpreter: it imports the modules, collects and freezes its heap as the
master does (`pyhttpd.server.children.freeze_heap`), forks the children (threaded: 2 children x
25 threads, the bench's event and worker tuning; prefork: 50 single-threaded children, as the
bench's prefork servers once they have climbed) and prints their summed PSS. Compare it with the
bench's row 5: what pyhttpd's serving adds is the difference, and a target below the bare
interpreter's floor cannot be met by any CPython server of that shape. As in the bench, pages of
libpython that other processes map too (this script's own) count only in part.
Runs in its own process; every child it forks exits before it returns.
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SETS = {
    "bare interpreter": [],
    "the design card's runtime packages (click, pyparsing, setproctitle)": [
        "click",
        "pyparsing",
        "setproctitle",
    ],
    "pyhttpd's master (cli, server, event MPM)": [
        "pyhttpd.cli.httpd",
        "pyhttpd.server.master",
        "pyhttpd.mpm.event",
    ],
}
SHAPES = {"threaded (2 children x 25 threads)": (2, 25), "prefork (50 children)": (50, 0)}
SETTLE_S = 0.5  # children up, threads started, before the PSS is read


def summed_pss_kib(pids: list[int]) -> int:
    """The PSS of PIDS, as `scripts.bench.memory.usage` sums it. Not that function itself: the
    tree's master runs this, and importing the bench's module would add dataclasses, inspect
    and ast to the very heap being measured."""
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    return total


def tree(children: int, threads: int) -> int:
    """In this process (the modules already imported): fork the children, read the summed PSS,
    let them go. Returns KiB."""
    gc.collect()
    gc.freeze()
    release_r, release_w = os.pipe()
    pids = []
    for _ in range(children):
        pid = os.fork()
        if pid == 0:  # the child: start its threads, wait for the release, exit
            os.close(release_w)
            started = [
                threading.Thread(target=os.read, args=(release_r, 1)) for _ in range(threads)
            ]
            for thread in started:
                thread.start()
            os.read(release_r, 1)
            os._exit(0)
        pids.append(pid)
    os.close(release_r)
    time.sleep(SETTLE_S)
    total = summed_pss_kib([os.getpid(), *pids])
    os.close(release_w)  # every blocked read returns b"" and the children exit
    for pid in pids:
        os.waitpid(pid, 0)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="measure only this import set")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # "children,threads": run one tree
    args = parser.parse_args()
    if args.child:
        for module in args.modules:
            __import__(module)
        children, threads = (int(n) for n in args.child.split(","))
        print(tree(children, threads))
        return
    sets = {" ".join(args.modules): args.modules} if args.modules else SETS
    for shape, (children, threads) in SHAPES.items():
        print(f"{shape}: summed PSS, MiB")
        for label, modules in sets.items():
            argv = [sys.executable, __file__, "--child", f"{children},{threads}", *modules]
            done = subprocess.run(argv, capture_output=True, text=True, timeout=120, cwd=REPO)
            figure = (
                f"{int(done.stdout.split()[-1]) / 1024:6.1f}" if done.returncode == 0 else "failed"
            )
            print(f"  {figure}  {label or '(bare)'}")


if __name__ == "__main__":
    main()
