"""Routes wsgiref.validate would refuse on purpose: failures, file_wrapper, a short body."""

import os
import tempfile


def application(environ, start_response):
    path = environ["PATH_INFO"]
    if path == "/raise":
        raise ValueError("the application failed on purpose")
    if path == "/late":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _late()
    if path == "/file":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        handle = open(os.path.join(environ["DOCUMENT_ROOT"], "big.bin"), "rb")
        return environ["wsgi.file_wrapper"](handle, 65536)
    if path == "/tempfile":  # deleted by its close(): the file must be sent before that
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        handle = tempfile.NamedTemporaryFile()
        handle.write(bytes(range(256)) * 1200)
        handle.seek(0)
        return environ["wsgi.file_wrapper"](handle)
    if path == "/mixed":
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        return _mixed(write)
    if path == "/hop":
        start_response("200 OK", [("Connection", "close")])
        return [b"x"]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"pid %d\n" % os.getpid()]


def _late():
    yield b"first part\n"
    raise RuntimeError("the application failed in mid-response")


def _mixed(write):
    """write() calls inside the iterable: bytes keep the order they were produced in."""
    write(b"a")
    yield b"b"
    write(b"c")
    yield b""
    yield b"d"
