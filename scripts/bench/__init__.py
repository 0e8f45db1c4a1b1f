"""`make bench`: pyhttpd measured side by side with Apache, nginx, gunicorn and a Python ceiling.

One concept per file: `tuning` (the settings every server shares and their config texts),
`servers` (start and stop one server in a temp dir on a free loopback port), `ceiling` (the bare
epoll responder), `loads` (wrk and ab runners and their output parsing), `holder` (idle keep-alive
connections and fresh-request probes), `memory` (PSS/RSS sums), `cases` (the throughput and memory
tests), `keepalive` (the idle-connection tests), `stats` and `report` (medians, ratios, table, JSON),
`chart` (the PNG), `run` (the rounds). Runs in the bench process only; nothing in pyhttpd imports it.
"""
