"""Version strings: pyhttpd's own, and the Apache release whose behaviour it models.

The `Apache/2.4.x` token goes after pyhttpd's own name in `Server version:` so that tools which parse
Apache's version (a2query, monitoring, test harnesses) accept pyhttpd. Leaf module: imports nothing.
"""

__version__ = "0.1.0"
APACHE_COMPAT = "2.4.71"
SERVER_BUILT = "2026-11-23T00:00:00"
SERVER_VERSION = f"pyhttpd/{__version__} Apache/{APACHE_COMPAT} (Unix)"
PROGRAM = "pyhttpd"
