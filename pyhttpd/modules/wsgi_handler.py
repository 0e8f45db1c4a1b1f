"""wsgi_module's handler: one request through a WSGI application, as mod_wsgi's embedded mode.

`handle` runs wsgi_hook_handler's checks in its order and words (ExecCGI unless script-aliased,
a missing script 404, a directory 403, chunked bodies only with WSGIChunkedRequest On), gets
the script's callable from this generation's ScriptCache, builds the environ and calls the
application; an exception is a 500 with mod_wsgi's messages and the application's own
traceback frames in the error log, and the child lives on. `Runtime` holds what a generation
knows of its processes: whether the loaded MPM module is threaded and whether this is -X, read
from the configuration, never from the MPM. Helper of mod_wsgi.py (not a module); runs in the
thread serving the request.
"""

from __future__ import annotations

import os
import re
import stat as stat_module
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from pyhttpd.config.model import ServerConfig
from pyhttpd.errorlog import ErrorLog
from pyhttpd.errors import HttpError
from pyhttpd.http.generation import server_token
from pyhttpd.http.options import EXEC_CGI, effective_options
from pyhttpd.http.phases import DECLINED, OK
from pyhttpd.http.request import Request
from pyhttpd.modules.wsgi_environ import ErrorStream, wsgi_environ
from pyhttpd.modules.wsgi_response import CLOSE_NOTE, FileWrapper, Response, respond
from pyhttpd.modules.wsgi_script import (
    ScriptCache,
    ScriptLoadError,
    find_callable,
    python_home_site,
)

_OWN_FILES = os.path.dirname(os.path.abspath(__file__)) + os.sep
HANDLERS = ("wsgi-script", "application/x-httpd-wsgi")


@dataclass(frozen=True)
class ScriptAlias:
    """One WSGIScriptAlias(Match): URL prefix (or pattern) -> script file, with its options."""

    location: str
    script: str
    regex: re.Pattern[str] | None = None
    callable_object: str | None = None
    application_group: str | None = None
    process_group: str | None = None
    pass_authorization: bool | None = None


@dataclass(frozen=True)
class Runtime:
    """What the handler knows of its generation: the script cache and the process model."""

    cache: ScriptCache
    threaded: bool
    forked: bool
    software: str = ""  # SERVER_SOFTWARE, from ServerTokens


def runtime_for(config: ServerConfig, error_log: ErrorLog) -> Runtime:
    """Threads and processes from the configuration: -X (DEBUG) serves in one thread of one
    process; worker and event serve in threads of several children; prefork in children."""
    single = "DEBUG" in config.defines
    paths = tuple(config.get("WSGIPythonPath") or ())
    home = config.get("WSGIPythonHome")
    if home:
        paths += (python_home_site(str(home)),)

    def redirect_output() -> None:
        """print() in an application reaches the error log, as under mod_wsgi."""
        stream = ErrorStream(lambda line: error_log.log("error", "wsgi", line))
        sys.stdout = sys.stderr = stream  # type: ignore[assignment]

    return Runtime(
        ScriptCache(paths, redirect_output),
        threaded=not single and config.mpm in ("worker", "event"),
        forked=not single,
        software=server_token(str(config.get("ServerTokens"))),
    )


def _log_exception(request: Request, messages: tuple[str, ...], error: BaseException) -> None:
    """mod_wsgi's report: its own lines, then the traceback, one error-log line each."""
    pid = os.getpid()
    for message in messages:
        request.log_error("error", "wsgi", f"mod_wsgi (pid={pid}): {message}")
    trace = error.__traceback__
    while trace is not None and trace.tb_frame.f_code.co_filename.startswith(_OWN_FILES):
        trace = trace.tb_next  # the application's frames only, as mod_wsgi shows them
    for block in traceback.format_exception(type(error), error, trace):
        for line in block.rstrip("\n").split("\n"):
            request.log_error("error", "wsgi", line)


def _script_error(request: Request, text: str, status: int) -> HttpError:
    request.log_error("error", "wsgi", f"{text}: {request.filename}")
    return HttpError(status, close=False)


def _check(request: Request) -> None:
    """wsgi_hook_handler's checks, in its order, with its words."""
    aliased = request.notes.get("alias-forced-type") == HANDLERS[0]
    if not aliased and EXEC_CGI not in effective_options(request.per_dir):
        raise _script_error(request, "Options ExecCGI is off in this directory", 403)
    if request.stat is None:
        raise _script_error(request, "Target WSGI script not found or unable to stat", 404)
    if stat_module.S_ISDIR(request.stat.st_mode):
        raise _script_error(request, "Attempt to invoke directory as WSGI application", 403)
    if request.path_info and request.per_dir.get("AcceptPathInfo") == "off":
        raise _script_error(request, "AcceptPathInfo off disallows user's path", 404)
    if request.body_input.length is None and not request.per_dir.get("WSGIChunkedRequest"):
        request.log_error(
            "error",
            "wsgi",
            "Received request requiring chunked transfer encoding, but optional support for "
            f"chunked transfer encoding has not been enabled.: {request.filename}",
        )
        raise HttpError(411, close=False)


def handle(request: Request, runtime: Runtime) -> int:
    if request.handler not in HANDLERS:
        return DECLINED
    _check(request)
    alias: ScriptAlias | None = request.notes.get("mod_wsgi.alias")
    per_dir = request.per_dir
    name = (alias and alias.callable_object) or str(per_dir.get("WSGICallableObject"))
    path = request.filename or ""
    assert request.stat is not None
    try:
        module = runtime.cache.module(
            path, request.stat.st_mtime_ns, bool(per_dir.get("WSGIScriptReloading"))
        )
    except ScriptLoadError as error:
        messages = (
            f"Failed to exec Python script file '{path}'.",
            f"Exception occurred processing WSGI script '{path}'.",
        )
        _log_exception(request, messages, error.__cause__ or error)
        raise HttpError(500, close=False) from None
    application = find_callable(module, name)
    if application is None:
        pid = os.getpid()
        request.log_error(
            "error",
            "wsgi",
            f"mod_wsgi (pid={pid}): Target WSGI script '{path}' does not contain WSGI "
            f"application '{name}'.",
        )
        raise HttpError(404, close=False)
    _call(request, runtime, application, alias)
    return OK


def _call(request: Request, runtime: Runtime, application: Any, alias: ScriptAlias | None) -> None:
    per_dir = request.per_dir
    passing = alias.pass_authorization if alias else None
    if passing is None:
        passing = bool(per_dir.get("WSGIPassAuthorization"))
    environ = wsgi_environ(
        request,
        request.body_input,
        threaded=runtime.threaded,
        forked=runtime.forked,
        mod_wsgi={
            "mod_wsgi.process_group": "",
            "mod_wsgi.application_group": _application_group(request, alias),
            "mod_wsgi.callable_object": (alias and alias.callable_object)
            or str(per_dir.get("WSGICallableObject")),
            "mod_wsgi.request_handler": request.handler or "",
            "mod_wsgi.handler_script": "",
            "mod_wsgi.script_reloading": "1" if per_dir.get("WSGIScriptReloading") else "0",
            "mod_wsgi.enable_sendfile": "1" if per_dir.get("EnableSendfile") else "0",
        },
        pass_authorization=passing,
        file_wrapper=FileWrapper,
        software=runtime.software,
    )
    response = Response()
    result: Any = None
    message = f"Exception occurred processing WSGI script '{request.filename}'."

    def report(error: BaseException) -> None:
        _log_exception(request, (message,), error)

    try:
        result = application(environ, response.start_response)
        respond(request, response, result, report)
    except HttpError:
        _close(result)
        raise
    except (Exception, SystemExit) as error:  # noqa: BLE001 - the application's error is a 500
        _close(result)
        report(error)
        raise HttpError(500, close=False) from None


def close_file(request: Request) -> int:
    """log_transaction: close a file_wrapper whose file the engine has sent by now."""
    close = request.notes.pop(CLOSE_NOTE, None)
    if close is not None:
        close()
    return OK


def _close(result: Any) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001, S110 - the first error is the one reported
            pass


def _application_group(request: Request, alias: ScriptAlias | None) -> str:
    """WSGIApplicationGroup expanded as mod_wsgi names groups (all run in one interpreter)."""
    value = alias.application_group if alias else None
    if value is None:
        value = str(request.per_dir.get("WSGIApplicationGroup"))
    port = request.local[1]
    server = str(request.server.get("ServerName") or request.local[0]).rsplit(":", 1)[0]
    server += "" if port in (80, 443) else f":{port}"
    script_name = request.uri[: len(request.uri) - len(request.path_info)]
    expanded = {"%{GLOBAL}": "", "%{SERVER}": server, "%{RESOURCE}": f"{server}|{script_name}"}
    return expanded.get(value, value)
