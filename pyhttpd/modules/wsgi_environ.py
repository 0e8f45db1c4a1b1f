"""wsgi_module's request environment: PEP 3333's environ, built as mod_wsgi builds it.

The CGI variables come first, from http/cgi_env.py as mod_cgi gets them (HTTP_* from the
request headers minus the credentials and Proxy, SERVER_*, REMOTE_*, AUTH_TYPE), with mod_wsgi's
changes (Authorization under WSGIPassAuthorization On, SCRIPT_NAME and PATH_INFO split where the
script's file name ended, with doubled slashes collapsed as mod_wsgi does), then the
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

from pyhttpd.http.cgi_env import common_variables
from pyhttpd.http.generation import server_token
from pyhttpd.http.request import Request
from pyhttpd.version import APACHE_COMPAT

MOD_WSGI_VERSION = (4, 9, 4)  # the mod_wsgi whose behaviour this follows (Debian's)
_SLASHES = re.compile(r"/{2,}")


def native(text: str) -> str:
    """A request string (decoded as UTF-8 with surrogateescape) as PEP 3333's latin-1 str."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def script_and_path(request: Request) -> tuple[str, str]:
    """SCRIPT_NAME and PATH_INFO: the URL up to where the script's path ended, and the rest."""
    uri, path_info = request.uri, request.path_info
    script_name = uri[: len(uri) - len(path_info)] if path_info and uri.endswith(path_info) else uri
    return _SLASHES.sub("/", script_name), _SLASHES.sub("/", path_info)


def cgi_variables(
    request: Request, pass_authorization: bool = False, software: str = ""
) -> dict[str, str]:
    """Apache's CGI environment for the request (ap_add_common_vars, shared with mod_cgi),
    with mod_wsgi's own rules: no PATH, Authorization only under WSGIPassAuthorization, the
    request line's target as REQUEST_URI, SCRIPT_NAME / PATH_INFO with doubled slashes
    collapsed, as native strings, and PATH_TRANSLATED under the DocumentRoot."""
    software = software or server_token(str(request.config.get("ServerTokens")))
    environ = common_variables(request, software)
    del environ["PATH"]
    if pass_authorization and (credentials := request.head.headers.get("Authorization")):
        environ["HTTP_AUTHORIZATION"] = credentials
    script_name, path_info = script_and_path(request)
    environ.update(
        {
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": request.head.protocol,
            "REQUEST_METHOD": request.method,
            "QUERY_STRING": request.query,
            "REQUEST_URI": request.head.target,
            "SCRIPT_NAME": native(script_name),
            "PATH_INFO": native(path_info),
        }
    )
    if path_info:
        environ["PATH_TRANSLATED"] = native(environ["DOCUMENT_ROOT"].rstrip("/") + path_info)
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
