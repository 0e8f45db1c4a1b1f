"""mpm_worker_module (worker.c): children with ThreadsPerChild threads and a listener thread.

Directive table and start-up corrections; the child loop arrives with the process model.
"""

from __future__ import annotations

from pyhttpd.config.module import Module
from pyhttpd.mpm.directives import process_rows, thread_rows
from pyhttpd.mpm.limits import WORKER_TAGS, check_threaded

DIRECTIVES = (
    *process_rows(
        start=3,
        server_limit=16,
        max_workers=400,
        workers_help="Maximum number of threads alive at the same time",
    ),
    *thread_rows(),
)

MODULE = Module(
    name="mpm_worker_module",
    source="worker.c",
    directives=DIRECTIVES,
    description="worker MPM: threaded children, a thread per connection",
    mpm="worker",
    check_config_hook=lambda settings: check_threaded(settings, WORKER_TAGS),
)
