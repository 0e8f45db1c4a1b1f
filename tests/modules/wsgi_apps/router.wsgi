"""A WSGI application checked by wsgiref.validate: one route per behaviour the tests look at."""

import json
import os
import warnings
from wsgiref.validate import WSGIWarning, validator

warnings.simplefilter("error", WSGIWarning)  # a warning of the validator is a failure too

ENVIRON_KEYS = (
    "REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "CONTENT_TYPE",
    "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR",
    "REQUEST_URI", "SCRIPT_FILENAME", "HTTP_X_TEST", "HTTP_AUTHORIZATION", "HTTP_PROXY_AUTHORIZATION",
    "HTTP_PROXY", "wsgi.multithread", "wsgi.multiprocess",
    "wsgi.run_once", "wsgi.url_scheme", "mod_wsgi.process_group",
)  # fmt: skip


def environ_route(environ, start_response):
    found = {key: environ.get(key) for key in ENVIRON_KEYS}
    found["pid"] = os.getpid()
    body = json.dumps(found).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def echo(environ, start_response):
    """wsgi.input read in blocks until the end (chunked bodies have no CONTENT_LENGTH)."""
    stream, parts = environ["wsgi.input"], []
    while True:
        block = stream.read(65536)
        if not block:
            break
        parts.append(block)
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return [b"".join(parts)]


def lines(environ, start_response):
    stream = environ["wsgi.input"]
    first = stream.readline()
    rest = stream.readlines()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"%d %d\n" % (len(first), len(rest))]


def stream(environ, start_response):
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written\n")

    def chunks():
        for number in range(5):
            yield b"chunk %d\n" % number
            yield b""

    return chunks()


def sized(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])
    return iter([b"hello ", b"world!"])


def errors(environ, start_response):
    environ["wsgi.errors"].write("a note from the application\n")
    environ["wsgi.errors"].flush()
    print("printed by the application")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"noted\n"]


ROUTES = {
    "/env": environ_route, "/echo": echo, "/lines": lines, "/stream": stream, "/sized": sized,
    "/errors": errors,
}  # fmt: skip


def route(environ, start_response):
    target = ROUTES.get(environ["PATH_INFO"].split("/x")[0] or "/env", environ_route)
    return target(environ, start_response)


application = validator(route)
