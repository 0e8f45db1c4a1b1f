"""Not thread-safe on purpose: a module global set by one request and read back after a
second request had the chance to overwrite it. A barrier makes the overlap certain when two
requests share the process (threads); alone in its process (prefork) a request times out of
the barrier and reads back its own value."""

import threading

barrier = threading.Barrier(2, timeout=2)
current = None


def application(environ, start_response):
    global current
    current = environ["QUERY_STRING"]
    try:
        barrier.wait()
    except threading.BrokenBarrierError:
        barrier.reset()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [current.encode()]
