"""wsgi_module's request environment: PEP 3333's environ, built as mod_wsgi builds it.

The CGI variables come first, as Apache's ap_add_common_vars and ap_add_cgi_vars make them
(HTTP_* from the request headers, minus Authorization unless WSGIPassAuthorization On and minus
Proxy as Apache drops it; SERVER_*, REMOTE_*, REQUEST_URI, SCRIPT_NAME and PATH_INFO split where
the script's file name ended, with doubled slashes collapsed as mod_wsgi does), then the
variables SetEnv and friends left on the request, then `mod_wsgi.*` and `wsgi.*`. Strings are
PEP 3333's native strings: the request's bytes decoded as latin-1. `ErrorStream` is wsgi.errors,
writing whole lines to the error log. Helper of mod_wsgi.py (not a module); runs in the thread
serving the request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any, BinaryIO

from pyhttpd.http.generation import server_token
from pyhttpd.http.redirect import server_name, server_port, signature
from pyhttpd.http.request import Request
from pyhttpd.version import APACHE_COMPAT

MOD_WSGI_VERSION = (4, 9, 4)  # the mod_wsgi whose behaviour this follows (Debian's)
_VALID_NAME = re.compile(r"^[A-Za-z0-9-]+$")
_SLASHES = re.compile(r"/{2,}")
_NO_HTTP_PREFIX = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


def native(text: str) -> str:
    """A request string (decoded as UTF-8 with surrogateescape) as PEP 3333's latin-1 str."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _header_variables(request: Request, pass_authorization: bool) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in request.head.headers:
        lowered = name.lower()
        if not _VALID_NAME.match(name) or lowered == "proxy":
            continue
        if lowered == "authorization" and not pass_authorization:
            continue
        key = _NO_HTTP_PREFIX.get(lowered) or "HTTP_" + name.upper().replace("-", "_")
        found[key] = f"{found[key]}, {value}" if key in found else value
    return found


def script_and_path(request: Request) -> tuple[str, str]:
    """SCRIPT_NAME and PATH_INFO: the URL up to where the script's path ended, and the rest."""
    uri, path_info = request.uri, request.path_info
    script_name = uri[: len(uri) - len(path_info)] if path_info and uri.endswith(path_info) else uri
    return _SLASHES.sub("/", script_name), _SLASHES.sub("/", path_info)


def cgi_variables(
    request: Request, pass_authorization: bool = False, software: str = ""
) -> dict[str, str]:
    """Apache's CGI environment for the request, as mod_wsgi hands it to the application."""
    document_root = str(
        request.notes.get("document_root") or request.server.get("DocumentRoot") or ""
    )
    software = software or server_token(str(request.config.get("ServerTokens")))
    script_name, path_info = script_and_path(request)
    environ = _header_variables(request, pass_authorization)
    environ.update(
        {
            "SERVER_SIGNATURE": signature(request, software),
            "SERVER_SOFTWARE": software,
            "SERVER_NAME": server_name(request),
            "SERVER_ADDR": request.local[0],
            "SERVER_PORT": str(server_port(request)),
            "REMOTE_ADDR": request.client[0],
            "DOCUMENT_ROOT": document_root,
            "REQUEST_SCHEME": "http",
            "CONTEXT_PREFIX": "",
            "CONTEXT_DOCUMENT_ROOT": document_root,
            "SERVER_ADMIN": str(request.server.get("ServerAdmin") or "[no address given]"),
            "SCRIPT_FILENAME": request.filename or "",
            "REMOTE_PORT": str(request.client[1]),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": request.head.protocol,
            "REQUEST_METHOD": request.method,
            "QUERY_STRING": request.query,
            "REQUEST_URI": request.head.target,
            "SCRIPT_NAME": native(script_name),
            "PATH_INFO": native(path_info),
        }
    )
    if path_info and document_root:
        environ["PATH_TRANSLATED"] = native(document_root.rstrip("/") + path_info)
    environ.update(request.environment)
    return environ


class ErrorStream:
    """wsgi.errors (and, once a script ran, sys.stdout and sys.stderr): text written here reaches
    the error log one whole line at a time, tagged [wsgi:error], as mod_wsgi's Log object does.
    `log` writes one line: with the request's client for wsgi.errors, without for sys.stdout."""

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.pending = ""
        self.lock = threading.Lock()  # sys.stdout is shared by the threads of a child

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        with self.lock:
            self.pending += text
            *lines, self.pending = self.pending.split("\n")
        for line in lines:
            self.log(line)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        with self.lock:
            line, self.pending = self.pending, ""
        if line:
            self.log(line)

    def close(self) -> None:
        self.flush()

    def isatty(self) -> bool:
        return False


def wsgi_environ(
    request: Request,
    stream: BinaryIO | Any,
    *,
    threaded: bool,
    forked: bool,
    mod_wsgi: dict[str, str],
    pass_authorization: bool,
    file_wrapper: Any,
    software: str = "",
) -> dict[str, Any]:
    """The whole environ: CGI variables, `mod_wsgi.*` values and PEP 3333's `wsgi.*` keys."""
    environ: dict[str, Any] = cgi_variables(request, pass_authorization, software)
    script_name, path_info = environ["SCRIPT_NAME"], environ["PATH_INFO"]
    environ.update(mod_wsgi)
    environ["mod_wsgi.script_name"] = script_name
    environ["mod_wsgi.path_info"] = path_info
    environ["mod_wsgi.request_start"] = str(int(request.start_time * 1_000_000))
    environ["mod_wsgi.version"] = MOD_WSGI_VERSION
    environ["mod_wsgi.listener_host"] = request.local[0]
    environ["mod_wsgi.listener_port"] = str(request.local[1])
    environ["mod_wsgi.ignore_activity"] = "0"
    environ["apache.version"] = tuple(int(part) for part in APACHE_COMPAT.split("."))
    environ.update(
        {
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": stream,
            "wsgi.errors": ErrorStream(lambda line: request.log_error("error", "wsgi", line)),
            "wsgi.multithread": threaded,
            "wsgi.multiprocess": forked,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": file_wrapper,
            "wsgi.input_terminated": True,
        }
    )
    return environ
