"""mpm_prefork_module (prefork.c): one single-threaded child process per connection.

Directive table and start-up corrections; the child loop arrives with the process model.
Defaults are Apache's compiled-in ones (Debian's mods-available/mpm_prefork.conf overrides them).
"""

from __future__ import annotations

from pyhttpd.config.module import Module
from pyhttpd.mpm.directives import number, process_rows
from pyhttpd.mpm.limits import check_prefork

DIRECTIVES = (
    *process_rows(
        start=5,
        server_limit=256,
        max_workers=256,
        workers_help="Maximum number of children alive at the same time",
    ),
    number("MinSpareServers", "Minimum number of idle children, to handle request spikes", 5),
    number("MaxSpareServers", "Maximum number of idle children", 10),
)

MODULE = Module(
    name="mpm_prefork_module",
    source="prefork.c",
    directives=DIRECTIVES,
    description="prefork MPM: single-threaded children, one connection each",
    mpm="prefork",
    check_config_hook=check_prefork,
)
