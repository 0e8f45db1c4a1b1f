"""pyhttpd: the Apache HTTP Server's model, rebuilt in Python.

Packages in data-flow order (see ../shared/DESIGN.md):

    config   httpd.conf text -> frozen ServerConfig (knows no sockets, processes or HTTP)
    modules  one file per Apache module: a directive table on top, hooks at the bottom
    mpm      which process or thread serves which connection
    server   the master: listeners, pidfile, signals, generations, fork and reap
    http     socket bytes <-> Request (knows no processes or threads)
    cli      thin click shells over the above

Leaves that import nothing of pyhttpd: errors, errorlog, scoreboard (+ scoreboard_layout), version.
"""

from pyhttpd.version import APACHE_COMPAT, SERVER_BUILT, __version__

__all__ = ["APACHE_COMPAT", "SERVER_BUILT", "__version__"]
