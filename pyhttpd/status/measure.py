"""What `pyhttpdctl tune` measures with psutil: the running server's processes and the machine.

Runs in pyhttpdctl, never in the server. For the master and each child the scoreboard lists:
RSS, USS (memory_full_info; RSS less shared pages when the kernel refuses), thread count and CPU
seconds; for the machine: total and available memory. The cost of one more worker thread is
probed in this process: start idle threads that each hold a request-sized buffer (the engine's
64 KiB read) and compare USS before and after, so the figure comes from this machine's Python,
libc and kernel.
"""

from __future__ import annotations

import threading

import psutil

from pyhttpd.status.advisor import DEFAULT_HEADROOM, ChildSample, Measurement

PROBE_THREADS = 32
PROBE_BUFFER = 64 * 1024  # connection.RECV_SIZE: what a worker holds while it reads


def unique_memory(process: psutil.Process) -> int:
    try:
        return int(process.memory_full_info().uss)
    except psutil.AccessDenied:
        info = process.memory_info()
        return int(info.rss - getattr(info, "shared", 0))


def sample(pid: int) -> ChildSample:
    process = psutil.Process(pid)
    with process.oneshot():
        rss = int(process.memory_info().rss)
        threads = process.num_threads()
        cpu = process.cpu_times()
    return ChildSample(pid, rss, unique_memory(process), threads, cpu.user + cpu.system)


def probe_thread_cost(count: int = PROBE_THREADS) -> int:
    """Bytes of unique memory one more idle worker thread costs in a Python process here."""
    me = psutil.Process()
    release = threading.Event()
    started = threading.Barrier(count + 1)

    def worker() -> None:
        buffer = bytearray(PROBE_BUFFER)  # touched: a real worker reads into one
        buffer[::4096] = b"x" * len(buffer[::4096])
        started.wait()
        release.wait()

    before = unique_memory(me)
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(count)]
    for thread in threads:
        thread.start()
    try:
        started.wait(timeout=10)
        after = unique_memory(me)
    finally:
        release.set()
        for thread in threads:
            thread.join(timeout=10)
    return max((after - before) // count, PROBE_BUFFER)


def measure(
    mpm: str,
    master_pid: int,
    child_pids: list[int],
    threads_per_child: int,
    *,
    memory_limit: int | None = None,
    headroom: float = DEFAULT_HEADROOM,
    per_thread: int | None = None,
) -> Measurement:
    master = sample(master_pid)
    children = []
    for pid in child_pids:
        try:
            children.append(sample(pid))
        except psutil.NoSuchProcess:  # left between the scoreboard read and now
            continue
    memory = psutil.virtual_memory()
    return Measurement(
        mpm=mpm,
        threads_per_child=threads_per_child,
        master_rss=master.rss,
        master_uss=master.uss,
        children=tuple(children),
        total_memory=int(memory.total),
        available_memory=int(memory.available),
        per_thread=probe_thread_cost() if per_thread is None else per_thread,
        memory_limit=memory_limit,
        cpu_count=psutil.cpu_count() or 1,
        headroom=headroom,
    )
