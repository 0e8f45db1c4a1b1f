"""wsgi_module's handler: one request through a WSGI application, as mod_wsgi's embedded mode.

`handle` runs wsgi_hook_handler's checks in its order and words (ExecCGI unless script-aliased,
a missing script 404, a directory 403, chunked bodies only with WSGIChunkedRequest On), gets
the script's callable from this generation's ScriptCache, builds the environ and calls the
application; an exception is a 500 with mod_wsgi's messages and the application's own
traceback frames in the error log, and the child lives on. `Runtime` holds what a generation
knows of its processes: whether the loaded MPM module is threaded and whether this is -X, read
from the configuration, never from the MPM, and the Plans its requests' settings made. Helper of mod_wsgi.py (not a module); runs in the
thread serving the request.
"""

from __future__ import annotations

import os
import re
import stat as stat_module
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

from pyhttpd.config.model import ServerConfig
from pyhttpd.errorlog import ErrorLog
from pyhttpd.errors import HttpError
from pyhttpd.http.generation import server_token
from pyhttpd.http.options import EXEC_CGI, effective_options
from pyhttpd.http.phases import DECLINED, OK
from pyhttpd.http.request import Request
from pyhttpd.memo import remember
from pyhttpd.modules.wsgi_environ import ErrorStream, Plan, make_plan, wsgi_environ
from pyhttpd.modules.wsgi_response import CLOSE_NOTE, FileWrapper, Response, respond
from pyhttpd.modules.wsgi_script import (
    ScriptCache,
    ScriptLoadError,
    find_callable,
    python_home_site,
)

_OWN_FILES = os.path.dirname(os.path.abspath(__file__)) + os.sep
HANDLERS = ("wsgi-script", "application/x-httpd-wsgi")
PLAN_LIMIT = 256


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
    """What the handler knows of its generation: the script cache, the process model and the
    Plans its requests' settings made (bounded: a full table starts again)."""

    cache: ScriptCache
    threaded: bool
    forked: bool
    software: str = ""  # SERVER_SOFTWARE, from ServerTokens
    plans: dict[tuple[Any, ...], Plan] = field(default_factory=dict)

    def plan(self, request: Request, alias: ScriptAlias | None) -> Plan:
        per_dir, server = request.per_dir, request.server
        key = (id(per_dir), id(server), id(alias), request.handler, request.local)
        plan = self.plans.get(key)  # a Plan keeps its settings and alias alive: ids stay theirs
        if plan is None:
            plan = make_plan(request, alias, self.threaded, self.forked, FileWrapper)
            remember(self.plans, key, plan, PLAN_LIMIT)
        return plan


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
    request.replayable = False  # the application's answer is its own, even a file_wrapper's
    _check(request)
    plan = runtime.plan(request, request.notes.get("mod_wsgi.alias"))
    path = request.filename or ""
    assert request.stat is not None
    try:  # the directory walk's stat of the script is the one mod_wsgi's reloading looks at
        module = runtime.cache.module(path, request.stat.st_mtime_ns, plan.reloading)
    except ScriptLoadError as error:
        messages = (
            f"Failed to exec Python script file '{path}'.",
            f"Exception occurred processing WSGI script '{path}'.",
        )
        _log_exception(request, messages, error.__cause__ or error)
        raise HttpError(500, close=False) from None
    application = find_callable(module, plan.callable_object)
    if application is None:
        pid = os.getpid()
        request.log_error(
            "error",
            "wsgi",
            f"mod_wsgi (pid={pid}): Target WSGI script '{path}' does not contain WSGI "
            f"application '{plan.callable_object}'.",
        )
        raise HttpError(404, close=False)
    _call(request, wsgi_environ(request, plan, runtime.software), application)
    return OK


def _call(request: Request, environ: dict[str, Any], application: Any) -> None:
    response = Response()
    result: Any = None

    def report(error: BaseException) -> None:
        message = f"Exception occurred processing WSGI script '{request.filename}'."
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
