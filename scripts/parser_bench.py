"""Time pyhttpd's request-head parser against httptools and h11 on one typical request.

The measurement behind the parser choice (issue: HTTP/1.1 serving). Developer helper: nothing
imports it, and httptools / h11 are not dependencies: install them somewhere first, e.g.
`pip install --target /tmp/pbench httptools h11`, then
`.venv/bin/python scripts/parser_bench.py /tmp/pbench`.
"""

from __future__ import annotations

import sys
import timeit

from pyhttpd.http.framing import body_framing, check_host
from pyhttpd.http.parser import Limits, parse_head

RAW = (
    b"GET /index.html HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk/4.1\r\n"
    b"Accept: */*\r\nAccept-Encoding: gzip\r\nConnection: keep-alive\r\n\r\n"
)


def pyhttpd_parse() -> None:
    head, _ = parse_head(RAW, Limits())  # type: ignore[misc]
    check_host(head)
    body_framing(head)


def main() -> None:
    if len(sys.argv) > 1:
        sys.path.insert(0, sys.argv[1])
    candidates = {"pyhttpd parse_head + framing": pyhttpd_parse}
    try:
        import httptools

        class Sink:
            def on_url(self, url: bytes) -> None: ...
            def on_header(self, name: bytes, value: bytes) -> None: ...

        candidates["httptools"] = lambda: httptools.HttpRequestParser(Sink()).feed_data(RAW)
    except ImportError:
        print("httptools not importable: skipped")
    try:
        import h11

        def h11_parse() -> None:
            connection = h11.Connection(h11.SERVER)
            connection.receive_data(RAW)
            connection.next_event()

        candidates["h11"] = h11_parse
    except ImportError:
        print("h11 not importable: skipped")
    for name, function in candidates.items():
        best = min(timeit.repeat(function, number=20000, repeat=3)) / 20000
        print(f"{name:30s} {best * 1e6:7.2f} µs per request")


if __name__ == "__main__":
    main()
