"""mpm_event_module (event.c): worker, plus a listener that parks idle keep-alive connections.

Directive table and start-up corrections; the child loop arrives with the process model.
"""

from __future__ import annotations

from pyhttpd.config.module import Module
from pyhttpd.mpm.directives import ASYNC_REQUEST_WORKER_FACTOR, process_rows, thread_rows
from pyhttpd.mpm.limits import EVENT_TAGS, check_threaded

DIRECTIVES = (
    *process_rows(
        start=3,
        server_limit=16,
        max_workers=400,
        workers_help="Maximum number of threads alive at the same time",
    ),
    *thread_rows(),
    ASYNC_REQUEST_WORKER_FACTOR,
)

MODULE = Module(
    name="mpm_event_module",
    source="event.c",
    directives=DIRECTIVES,
    description="event MPM: worker plus an async listener for keep-alive connections",
    mpm="event",
    check_config_hook=lambda settings: check_threaded(settings, EVENT_TAGS),
)
