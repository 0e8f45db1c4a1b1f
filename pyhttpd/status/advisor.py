"""`pyhttpdctl tune`'s arithmetic: how many workers fit in this machine's memory, per MPM.

Pure functions of a Measurement (what measure.py read with psutil from the running server and
the machine); no clock, no processes. The model, in the words every MPM guide uses:

- a child's own memory is its USS (unique set size): pages no other process shares. What it
  shares with the master (copy-on-write code and data) is paid once, by the master;
- a child is a base (the interpreter, the loaded config and modules) plus one cost per thread;
  the base is the measured child's USS less its extra threads at the probed per-thread cost;
- prefork serves with one thread per child; worker and event with ThreadsPerChild workers plus
  a listener thread per child;
- the budget is the memory the children may use: the machine's available memory plus what the
  children hold now (or an explicit limit less the master's RSS), times a headroom fraction.

Workers that fit = children that fit x threads per child. Every step is kept as a sentence in
`Advice.steps` so the command can show its arithmetic.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from pyhttpd.status.formats import mebibytes

THREADED = ("worker", "event")
MPMS = ("prefork", "worker", "event")
DEFAULT_THREADS_PER_CHILD = 25  # Apache's, for costing a threaded MPM from a prefork server
SERVER_LIMIT_MAX = {"prefork": 200000, "worker": 20000, "event": 20000}
DEFAULT_HEADROOM = 0.8
SPARE_CHILDREN_MAX = 16  # idle threaded children kept ready; a Python child takes ~1 s to start


@dataclass(frozen=True, slots=True)
class ChildSample:
    pid: int
    rss: int
    uss: int
    threads: int
    cpu_seconds: float


@dataclass(frozen=True, slots=True)
class Measurement:
    mpm: str
    threads_per_child: int  # the loaded MPM's (or the one to cost); ignored by prefork
    master_rss: int
    master_uss: int
    children: tuple[ChildSample, ...]
    total_memory: int
    available_memory: int
    per_thread: int  # bytes one more worker thread costs (probed)
    memory_limit: int | None = None  # the children's memory budget comes from this when set
    headroom: float = DEFAULT_HEADROOM
    cpu_count: int = 1


@dataclass(frozen=True, slots=True)
class Plan:
    """One MPM serving `workers` at once: how many children, each costing `child_cost`."""

    mpm: str
    threads_per_child: int
    child_cost: int
    children: int
    workers: int
    memory: int
    fits: bool


@dataclass(frozen=True, slots=True)
class Advice:
    mpm: str
    budget: int
    base: int
    per_thread: int
    child_cost: int
    settings: tuple[tuple[str, int], ...]  # directive, value, in config order
    alternatives: tuple[Plan, ...]
    steps: tuple[str, ...]

    def setting(self, name: str) -> int:
        return dict(self.settings)[name]


def child_cost(mpm: str, base: int, per_thread: int, threads_per_child: int) -> int:
    """prefork: the base (its one thread is the main one); threaded: base + (TPC + listener)."""
    return base if mpm == "prefork" else base + (threads_per_child + 1) * per_thread


def measured_base(m: Measurement) -> tuple[int, list[str]]:
    if not m.children:
        raise ValueError("no child process to measure: is the server running?")
    uss = int(statistics.median(child.uss for child in m.children))
    threads = int(statistics.median(child.threads for child in m.children))
    base = max(uss - (threads - 1) * m.per_thread, m.per_thread)
    return base, [
        f"Child unique memory (median of {len(m.children)}): {mebibytes(uss)} with {threads} "
        f"thread{'s' if threads != 1 else ''}",
        f"Child base = {mebibytes(uss)} - {threads - 1} extra threads x "
        f"{mebibytes(m.per_thread)} = {mebibytes(base)}",
    ]


def budget_of(m: Measurement) -> tuple[int, list[str]]:
    held = sum(child.uss for child in m.children)
    if m.memory_limit is not None:
        raw = max(m.memory_limit - m.master_rss, 0)
        text = f"{mebibytes(m.memory_limit)} limit - master RSS {mebibytes(m.master_rss)}"
    else:
        raw = m.available_memory + held
        text = (
            f"{mebibytes(m.available_memory)} available + {mebibytes(held)} held by the "
            "children now"
        )
    budget = int(raw * m.headroom)
    return budget, [f"Budget = ({text}) x {m.headroom:g} headroom = {mebibytes(budget)}"]


def _prefork_settings(children: int) -> tuple[tuple[str, int], ...]:
    workers = max(1, min(children, SERVER_LIMIT_MAX["prefork"]))
    low = max(1, min(workers // 20, SPARE_CHILDREN_MAX * 4))
    high = max(low + 1, 2 * low)
    return (
        ("StartServers", low), ("MinSpareServers", low), ("MaxSpareServers", high),
        ("ServerLimit", workers), ("MaxRequestWorkers", workers),
    )  # fmt: skip


def _threaded_settings(children: int, tpc: int, mpm: str) -> tuple[tuple[str, int], ...]:
    servers = max(1, min(children, SERVER_LIMIT_MAX[mpm]))
    workers = servers * tpc
    low = tpc * max(1, min(servers // 10, SPARE_CHILDREN_MAX))
    high = min(workers, low + 2 * tpc) if workers >= low + tpc else low + tpc
    return (
        ("StartServers", max(1, low // tpc)), ("ServerLimit", servers), ("ThreadLimit", tpc),
        ("ThreadsPerChild", tpc), ("MaxRequestWorkers", workers), ("MinSpareThreads", low),
        ("MaxSpareThreads", high),
    )  # fmt: skip


def plan(mpm: str, workers: int, base: int, per_thread: int, tpc: int, budget: int) -> Plan:
    threads = 1 if mpm == "prefork" else tpc
    cost = child_cost(mpm, base, per_thread, threads)
    children = math.ceil(workers / threads)
    memory = children * cost
    return Plan(mpm, threads, cost, children, children * threads, memory, memory <= budget)


def advise(m: Measurement) -> Advice:
    base, steps = measured_base(m)
    budget, more = budget_of(m)
    steps += more
    tpc = max(1, m.threads_per_child)
    cost = child_cost(m.mpm, base, m.per_thread, tpc)
    if m.mpm == "prefork":
        steps.append(f"prefork child = base = {mebibytes(cost)}")
    else:
        steps.append(
            f"{m.mpm} child = {mebibytes(base)} + ({tpc} workers + 1 listener) x "
            f"{mebibytes(m.per_thread)} = {mebibytes(cost)}"
        )
    fit = budget // cost if cost else 0
    steps.append(f"Children that fit = {mebibytes(budget)} // {mebibytes(cost)} = {fit}")
    if fit < 1:
        steps.append("Not even one child fits the budget: the settings below are the minimum")
    if m.mpm == "prefork":
        settings = _prefork_settings(fit)
    else:
        settings = _threaded_settings(fit, tpc, m.mpm)
        steps.append(f"MaxRequestWorkers = {dict(settings)['ServerLimit']} children x {tpc}")
    workers = dict(settings)["MaxRequestWorkers"]
    other_tpc = tpc if m.mpm in THREADED else DEFAULT_THREADS_PER_CHILD
    alternatives = tuple(
        plan(other, workers, base, m.per_thread, other_tpc, budget)
        for other in MPMS
        if other != m.mpm
    )
    return Advice(m.mpm, budget, base, m.per_thread, cost, settings, alternatives, tuple(steps))
