"""wsgi_module's request environment: PEP 3333's environ, built as mod_wsgi builds it.

The CGI variables come first, from http/cgi_env.py as mod_cgi gets them (HTTP_* from the
request headers minus the credentials and Proxy, SERVER_*, REMOTE_*, AUTH_TYPE), with mod_wsgi's
changes (Authorization under WSGIPassAuthorization On, SCRIPT_NAME and PATH_INFO split where the
script's file name ended, with doubled slashes collapsed as mod_wsgi does), then the
variables SetEnv and friends left on the request, then `mod_wsgi.*` and `wsgi.*`. Strings are
PEP 3333's native strings: the request's bytes decoded as latin-1. `ErrorStream` is wsgi.errors,
writing whole lines to the error log. What a request's settings and alias decide (the callable,
reloading, the application group, the constant `mod_wsgi.*` and `wsgi.*` entries) is a `Plan`,
made once and kept in the generation's Runtime; the environ starts from cgi_env's tables too.
Helper of mod_wsgi.py (not a module); runs in the thread serving the request.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pyhttpd.config.model import Settings
from pyhttpd.http.cgi_env import common_variables
from pyhttpd.http.replay import LOOKUP_MEMO_NOTE
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
    if "//" in script_name:
        script_name = _SLASHES.sub("/", script_name)
    if "//" in path_info:
        path_info = _SLASHES.sub("/", path_info)
    return script_name, path_info


@dataclass(frozen=True)
class Plan:
    """What a request's settings decide for mod_wsgi, the same for every request that has them:
    worked out once per (per-dir settings, server settings, alias, handler, listener) and kept
    in the generation's Runtime. `constants` are the environ's `mod_wsgi.*` and `wsgi.*` entries
    in mod_wsgi's order, with placeholders for the request's own values."""

    per_dir: Settings
    server: Settings
    alias: Any
    callable_object: str
    reloading: bool
    pass_authorization: bool
    group: str | None  # the application group; None for %{RESOURCE}: group_server|SCRIPT_NAME
    group_server: str
    constants: dict[str, Any]


def make_plan(
    request: Request, alias: Any, threaded: bool, forked: bool, file_wrapper: Any
) -> Plan:
    """The Plan of `request` under `alias` (a ScriptAlias or None)."""
    per_dir = request.per_dir
    name = (alias and alias.callable_object) or str(per_dir.get("WSGICallableObject"))
    passing = alias.pass_authorization if alias else None
    if passing is None:
        passing = bool(per_dir.get("WSGIPassAuthorization"))
    reloading = bool(per_dir.get("WSGIScriptReloading"))
    group = alias.application_group if alias else None
    if group is None:
        group = str(per_dir.get("WSGIApplicationGroup"))
    host, port = request.local
    server = str(request.server.get("ServerName") or host).rsplit(":", 1)[0]
    server += "" if port in (80, 443) else f":{port}"
    expanded = None if group == "%{RESOURCE}" else {"%{GLOBAL}": "", "%{SERVER}": server}
    constants = {
        "mod_wsgi.process_group": "",
        "mod_wsgi.application_group": "",
        "mod_wsgi.callable_object": name,
        "mod_wsgi.request_handler": request.handler or "",
        "mod_wsgi.handler_script": "",
        "mod_wsgi.script_reloading": "1" if reloading else "0",
        "mod_wsgi.enable_sendfile": "1" if per_dir.get("EnableSendfile") else "0",
        "mod_wsgi.script_name": "",
        "mod_wsgi.path_info": "",
        "mod_wsgi.request_start": "",
        "mod_wsgi.version": MOD_WSGI_VERSION,
        "mod_wsgi.listener_host": host,
        "mod_wsgi.listener_port": str(port),
        "mod_wsgi.ignore_activity": "0",
        "apache.version": tuple(int(part) for part in APACHE_COMPAT.split(".")),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": None,
        "wsgi.errors": None,
        "wsgi.multithread": threaded,
        "wsgi.multiprocess": forked,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": file_wrapper,
        "wsgi.input_terminated": True,
    }
    return Plan(
        per_dir,
        request.server,
        alias,
        name,
        reloading,
        passing,
        None if expanded is None else expanded.get(group, group),
        server,
        constants,
    )


class ErrorStream:
    """wsgi.errors (and, once a script ran, sys.stdout and sys.stderr): text written here reaches
    the error log one whole line at a time, tagged [wsgi:error], as mod_wsgi's Log object does.
    `log` writes one line: with the request's client for wsgi.errors, without for sys.stdout."""

    lock = threading.Lock()  # one for all: sys.stdout is shared by the threads; held briefly

    def __init__(self, log: Callable[[str], None]) -> None:
        self.log = log
        self.pending = ""

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


# the request's own entries: the client's (unless the request's environment sets them), then
# those set after the environment (always this request's)
_CLIENT_ENTRIES = ("REMOTE_ADDR", "REMOTE_PORT")
_OWN_ENTRIES = ("mod_wsgi.request_start", "wsgi.input", "wsgi.errors")
_TEMPLATE = "mod_wsgi.environ"  # the key of a restored lookup's template in its memo


def wsgi_environ(request: Request, plan: Plan, software: str) -> dict[str, Any]:
    """The whole environ: Apache's CGI variables (ap_add_common_vars, shared with mod_cgi) with
    mod_wsgi's own rules — no PATH, Authorization only under WSGIPassAuthorization, the request
    line's target as REQUEST_URI, SCRIPT_NAME / PATH_INFO with doubled slashes collapsed, as
    native strings, PATH_TRANSLATED under the DocumentRoot — then the request's environment,
    then `mod_wsgi.*` and PEP 3333's `wsgi.*` keys.

    A request restored from a kept lookup (replay.py) differs from the others that lookup
    restores only in its client and its own entries: the rest is built once, kept in the
    lookup's memo as a template, and copied (~45 entries built were a seventh of a WSGI
    request's Python time)."""
    memo = request.notes.get(LOOKUP_MEMO_NOTE)
    kept = memo.get(_TEMPLATE) if memo is not None else None
    if kept is not None and kept[0] is plan:
        environ = kept[1].copy()
        address, port = kept[2]
        if address:
            environ["REMOTE_ADDR"] = request.client[0]
        if port:
            environ["REMOTE_PORT"] = str(request.client[1])
        _add_own_entries(environ, request)
        return environ
    environ = _build(request, plan, software)
    if memo is not None:
        template = environ.copy()
        for key in _OWN_ENTRIES:
            template[key] = None  # (no reference to this request)
        # an entry the request's environment sets (SetEnv REMOTE_ADDR) is the template's
        clients = tuple(key not in request.environment for key in _CLIENT_ENTRIES)
        memo[_TEMPLATE] = (plan, template, clients)
    return environ


def _add_own_entries(environ: dict[str, Any], request: Request) -> None:
    environ["mod_wsgi.request_start"] = str(int(request.start_time * 1_000_000))
    environ["wsgi.input"] = request.body_input
    environ["wsgi.errors"] = ErrorStream(lambda line: request.log_error("error", "wsgi", line))


def _build(request: Request, plan: Plan, software: str) -> dict[str, Any]:
    environ: dict[str, Any] = common_variables(request, software, path=False)
    if "PATH" in environ:  # a PATH of SetEnv's comes back with the request's environment below
        del environ["PATH"]
    head = request.head
    if plan.pass_authorization and (credentials := head.headers.get("Authorization")):
        environ["HTTP_AUTHORIZATION"] = credentials
    script_name, path = script_and_path(request)
    if not script_name.isascii():
        script_name = native(script_name)
    path_info = path if path.isascii() else native(path)
    environ["GATEWAY_INTERFACE"] = "CGI/1.1"
    environ["SERVER_PROTOCOL"] = head.protocol
    environ["REQUEST_METHOD"] = head.method
    environ["QUERY_STRING"] = request.query
    environ["REQUEST_URI"] = head.target
    environ["SCRIPT_NAME"] = script_name
    environ["PATH_INFO"] = path_info
    if path:
        environ["PATH_TRANSLATED"] = native(environ["DOCUMENT_ROOT"].rstrip("/") + path)
    if request.environment:
        environ.update(request.environment)
    environ.update(plan.constants)
    group = plan.group
    if group is None:
        uri = request.uri
        group = f"{plan.group_server}|{uri[: len(uri) - len(request.path_info)]}"
    environ["mod_wsgi.application_group"] = group
    environ["mod_wsgi.script_name"] = script_name
    environ["mod_wsgi.path_info"] = path_info
    _add_own_entries(environ, request)
    return environ
