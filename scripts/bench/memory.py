"""Memory of a server's process tree: summed PSS and summed RSS, in MiB.

PSS (proportional set size, from /proc/PID/smaps_rollup) divides each shared page among the
processes sharing it, so a sum over forked children counts it once; RSS counts it in every
process, which is why both are reported. `Sampler` samples a tree in a thread while a load runs
and keeps the peak. Runs in the bench process (the sampler in its own thread).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Usage:
    pss_mib: float
    rss_mib: float


def _rollup(pid: int) -> tuple[int, int]:
    """(Pss, Rss) in KiB of one process, from smaps_rollup; (0, 0) when it is gone."""
    pss = rss = 0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == "Pss":
                pss = int(value.split()[0])
            elif name == "Rss":
                rss = int(value.split()[0])
    return pss, rss


def usage(pids: list[int]) -> Usage:
    """The summed PSS and RSS of PIDS."""
    pss = rss = 0
    for pid in pids:
        one_pss, one_rss = _rollup(pid)
        pss += one_pss
        rss += one_rss
    return Usage(pss / 1024, rss / 1024)


class Sampler:
    """Samples `usage(pids())` every INTERVAL seconds in a thread; `peak` once stopped."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 0.25) -> None:
        self._pids = pids
        self._interval = interval
        self._stop = threading.Event()
        self._samples: list[Usage] = []
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            self._samples.append(usage(self._pids()))

    @property
    def peak(self) -> Usage | None:
        if not self._samples:
            return None
        return Usage(max(s.pss_mib for s in self._samples), max(s.rss_mib for s in self._samples))
