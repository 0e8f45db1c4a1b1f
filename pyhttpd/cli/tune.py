"""`pyhttpdctl tune [--memory SIZE] [--threads-per-child N] [--headroom F]`: the tuning advisor.

A thin shell: read the running server's scoreboard for its master and children, measure them and
the machine (pyhttpd.status.measure), do the arithmetic (pyhttpd.status.advisor) and print it
(pyhttpd.status.tune_text). `--memory` sets the children's budget from a limit (a cgroup's, a
VM's) instead of the machine's available memory; `--threads-per-child` costs another
ThreadsPerChild than the configured one. Other arguments (-d, -f, -D) select the configuration.
"""

from __future__ import annotations

import re

from pyhttpd.config import ServerConfig
from pyhttpd.errors import StartupError

SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
OPTIONS = ("--memory", "--threads-per-child", "--headroom")


def parse_size(text: str) -> int:
    """`512M`, `2G`, `1.5G`, `1048576` (bytes); K/M/G/T are powers of 1024; a trailing B or iB
    is allowed."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?\s*", text.upper())
    if not match:
        raise StartupError(f"pyhttpdctl tune: cannot read the size {text!r} (say 512M or 2G)")
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2)])


def split_options(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """The advisor's own `--name value` / `--name=value` options, and the rest for pyhttpd."""
    options: dict[str, str] = {}
    rest: list[str] = []
    items = iter(words)
    for word in items:
        name, equals, value = word.partition("=")
        if name in OPTIONS:
            options[name] = value if equals else next(items, "")
        else:
            rest.append(word)
    return options, rest


def tune_lines(config: ServerConfig, master_pid: int, options: dict[str, str]) -> list[str]:
    from pyhttpd.scoreboard import Scoreboard
    from pyhttpd.server.master import scoreboard_path
    from pyhttpd.status.advisor import DEFAULT_HEADROOM, DEFAULT_THREADS_PER_CHILD, advise
    from pyhttpd.status.measure import measure
    from pyhttpd.status.tune_text import render_advice

    with Scoreboard.attach(scoreboard_path(config)) as board:
        snapshot = board.snapshot()
    children = [p.pid for p in snapshot.processes if p.pid and not p.quiescing]
    mpm = snapshot.mpm or config.mpm
    threads = DEFAULT_THREADS_PER_CHILD
    if mpm != "prefork":
        threads = snapshot.threads_per_child or int(config.get("ThreadsPerChild") or threads)
    try:
        if "--threads-per-child" in options:
            threads = int(options["--threads-per-child"])
        headroom = float(options.get("--headroom") or DEFAULT_HEADROOM)
    except ValueError as error:
        raise StartupError(f"pyhttpdctl tune: {error}") from error
    if threads < 1 or not 0 < headroom <= 1:
        raise StartupError("pyhttpdctl tune: --threads-per-child >= 1, 0 < --headroom <= 1")
    limit = parse_size(options["--memory"]) if "--memory" in options else None
    measured = measure(mpm, master_pid, children, threads, memory_limit=limit, headroom=headroom)
    try:
        advice = advise(measured)
    except ValueError as error:
        raise StartupError(f"pyhttpdctl tune: {error}") from error
    return render_advice(measured, advice)
