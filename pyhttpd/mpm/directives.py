"""Directive rows the MPMs share, built with each MPM's own defaults and help texts.

Every MPM directive is allowed only in the main server config (Apache: RSRC_CONF plus GLOBAL_ONLY),
and numbers go through C's atoi: "abc" is 0 and meets the start-up corrections, never a parse error.
AsyncRequestWorkerFactor is the exception: it is parsed strictly, as Apache does.
"""

from __future__ import annotations

from pyhttpd.config.directives import ArgShape, Command, Context, DirectiveSpec, take_atoi
from pyhttpd.errors import DirectiveError


def number(name: str, help: str, default: int, key: str = "") -> DirectiveSpec:
    """An MPM count: TAKE1, main config only, atoi semantics."""
    return DirectiveSpec(
        name,
        ArgShape.TAKE1,
        Context.SERVER,
        take_atoi,
        help,
        key=key,
        default=default if not key else None,
        server_only=True,
    )


def async_factor(cmd: Command, value: str) -> float:
    try:
        factor = float(value)
    except ValueError:
        raise DirectiveError("error parsing value") from None
    if factor <= 0:
        raise DirectiveError("AsyncRequestWorkerFactor argument must be a positive number")
    return factor


def process_rows(
    *, start: int, server_limit: int, max_workers: int, workers_help: str
) -> tuple[DirectiveSpec, ...]:
    """The rows every MPM has: StartServers, ServerLimit, MaxRequestWorkers and MaxClients."""
    return (
        number("StartServers", "Number of child processes launched at server startup", start),
        number(
            "ServerLimit", "Maximum value of MaxRequestWorkers for this run of Apache", server_limit
        ),
        number("MaxRequestWorkers", workers_help, max_workers),
        number(
            "MaxClients",
            "Deprecated name of MaxRequestWorkers",
            max_workers,
            key="MaxRequestWorkers",
        ),
    )


def thread_rows() -> tuple[DirectiveSpec, ...]:
    """The rows worker and event add for threads."""
    return (
        number("MinSpareThreads", "Minimum number of idle threads, to handle request spikes", 75),
        number("MaxSpareThreads", "Maximum number of idle threads", 250),
        number("ThreadsPerChild", "Number of threads each child creates", 25),
        number(
            "ThreadLimit",
            "Maximum number of worker threads per child process for this run of Apache - Upper "
            "limit for ThreadsPerChild",
            64,
        ),
    )


ASYNC_REQUEST_WORKER_FACTOR = DirectiveSpec(
    "AsyncRequestWorkerFactor",
    ArgShape.TAKE1,
    Context.SERVER,
    async_factor,
    "How many additional connects will be accepted per idle worker",
    default=2.0,
    server_only=True,
)
