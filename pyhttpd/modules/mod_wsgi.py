"""wsgi_module (mod_wsgi): Python WSGI applications, in mod_wsgi's embedded mode.

Directive table on top: WSGIScriptAlias(Match) map a URL onto a script file (options
callable-object=, application-group=, process-group=, pass-authorization=), WSGIPythonPath and
WSGIPythonHome extend sys.path, WSGICallableObject, WSGIScriptReloading, WSGIChunkedRequest and
WSGIPassAuthorization act as in mod_wsgi. WSGIApplicationGroup, WSGIProcessGroup and
WSGIDaemonProcess are validated and otherwise not acted on: every application runs embedded, in
the serving child's one interpreter (mod_wsgi's %{GLOBAL} group), never in daemon processes.

Hooks at the bottom: translate_name maps the alias (after mod_alias, as mod_wsgi orders itself)
and sets the wsgi-script handler; the handler loads the script once per child (wsgi_script.py),
builds PEP 3333's environ (wsgi_environ.py), calls the application and turns its answer into
the response (wsgi_response.py). An exception in the application is a 500 with mod_wsgi's
messages and the traceback in the error log; the child lives on. Whether the MPM is threaded
is read from the configuration (which MPM module is loaded, and -X), never from the MPM.
Directive handlers run while a configuration is processed; hooks in the thread serving a request.
"""

from __future__ import annotations

import os
import re
import stat as stat_module
import traceback
from dataclasses import dataclass
from typing import Any

from pyhttpd.config.directives import (
    ACCESS_CONF,
    OR_ALL,
    RSRC_CONF,
    ArgShape,
    Command,
    DirectiveSpec,
    Merge,
)
from pyhttpd.config.grammar import split_words
from pyhttpd.config.model import ServerConfig
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError, HttpError
from pyhttpd.http.alias_match import alias_matches, substitute
from pyhttpd.http.options import EXEC_CGI, effective_options
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Phase
from pyhttpd.http.request import Request
from pyhttpd.modules.wsgi_environ import wsgi_environ
from pyhttpd.modules.wsgi_response import FileWrapper, Response, respond
from pyhttpd.modules.wsgi_script import (
    ScriptCache,
    ScriptLoadError,
    find_callable,
    python_home_site,
)

_OWN_FILES = os.path.dirname(os.path.abspath(__file__)) + os.sep
HANDLERS = ("wsgi-script", "application/x-httpd-wsgi")
_ALIAS_HELP = "Map location to target WSGI script file."
_OPTIONS = {  # option -> mod_wsgi's complaint when its value is empty
    "application-group": "Invalid name for WSGI application group.",
    "process-group": "Invalid name for WSGI process group.",
    "callable-object": "Invalid name for WSGI callable object.",
    "pass-authorization": "Invalid value for authorization flag.",
}


# WSGIDaemonProcess options mod_wsgi 4.9 accepts (checked against Debian's build).
DAEMON_OPTIONS = frozenset(
    """user group processes threads umask home python-home python-path python-eggs lang locale
    display-name maximum-requests inactivity-timeout request-timeout graceful-timeout
    socket-timeout queue-timeout listen-backlog startup-timeout restart-interval deadlock-timeout
    shutdown-timeout connect-timeout header-buffer-size response-buffer-size send-buffer-size
    receive-buffer-size stack-size memory-limit virtual-memory-limit cpu-time-limit cpu-priority
    server-metrics eviction-timeout script-user socket-user response-socket-timeout
    supplementary-groups""".split()
)


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


def _on_off(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered not in ("on", "off"):
        raise DirectiveError(f"{name} must be one of: Off | On")
    return lowered == "on"


def _options(words: tuple[str, ...]) -> dict[str, Any]:
    """mod_wsgi's key=value options after the two paths of a WSGIScriptAlias line."""
    found: dict[str, Any] = {}
    for word in words:
        option, equals, value = word.partition("=")
        if not equals or option not in _OPTIONS:
            raise DirectiveError("Invalid option to WSGI script alias definition.")
        if not value:
            raise DirectiveError(_OPTIONS[option])
        if option == "pass-authorization":
            found[option] = _on_off("pass-authorization", value)
        else:
            found[option] = "" if value == "%{GLOBAL}" else value
    return found


def _script_alias(cmd: Command, raw: str, match: bool) -> ScriptAlias:
    words = split_words(raw)
    if len(words) < 2:
        raise DirectiveError(f"{cmd.name} requires at least two arguments, {_ALIAS_HELP}")
    location, script = words[0], cmd.server_path(words[1]) if not match else words[1]
    regex = None
    if match:
        try:
            regex = re.compile(location)
        except re.error:
            raise DirectiveError("Regular expression could not be compiled.") from None
    options = _options(words[2:])
    return ScriptAlias(
        location,
        script,
        regex,
        options.get("callable-object"),
        options.get("application-group"),
        options.get("process-group"),
        options.get("pass-authorization"),
    )


def script_alias(cmd: Command, raw: str) -> ScriptAlias:
    return _script_alias(cmd, raw, match=False)


def script_alias_match(cmd: Command, raw: str) -> ScriptAlias:
    return _script_alias(cmd, raw, match=True)


def python_path(cmd: Command, value: str) -> tuple[str, ...]:
    return tuple(entry for entry in value.split(":") if entry)


def python_home(cmd: Command, value: str) -> str:
    return value


def group_name(cmd: Command, value: str) -> str:
    """WSGIApplicationGroup / WSGIProcessGroup: a name, %{GLOBAL}, %{SERVER}, %{RESOURCE}…"""
    return value


def daemon_process(cmd: Command, raw: str) -> tuple[str, ...]:
    """WSGIDaemonProcess NAME [option=value…]: checked, recorded, not started (embedded only)."""
    words = split_words(raw)
    if not words or not words[0]:
        raise DirectiveError("Name of WSGI daemon process not supplied.")
    for word in words[1:]:
        option, equals, value = word.partition("=")
        if not equals or option not in DAEMON_OPTIONS:
            raise DirectiveError("Invalid option to WSGI daemon process definition.")
        if option == "processes" and (not value.isdigit() or int(value) < 1):
            raise DirectiveError("Invalid process count for WSGI daemon process.")
    return words


def flag(cmd: Command, value: str) -> bool:
    return _on_off(cmd.name, value)


def callable_object(cmd: Command, value: str) -> str:
    return value


def _row(name: str, handler: Any, help: str, **extra: Any) -> DirectiveSpec:
    return DirectiveSpec(name, ArgShape.TAKE1, RSRC_CONF, handler, help, **extra)


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "WSGIScriptAlias", ArgShape.RAW_ARGS, RSRC_CONF, script_alias, _ALIAS_HELP,
        key="WSGIScriptAlias", merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "WSGIScriptAliasMatch", ArgShape.RAW_ARGS, RSRC_CONF, script_alias_match,
        "Map location pattern to target WSGI script file.", key="WSGIScriptAlias",
        merge=Merge.APPEND,
    ),
    _row("WSGIPythonPath", python_path, "Python module search path.", server_only=True),
    _row("WSGIPythonHome", python_home, "Python prefix/exec_prefix absolute path names.",
         server_only=True),
    DirectiveSpec(
        "WSGIApplicationGroup", ArgShape.TAKE1, RSRC_CONF | ACCESS_CONF, group_name,
        "Application interpreter group.", default="%{RESOURCE}",
    ),
    DirectiveSpec(
        "WSGIProcessGroup", ArgShape.TAKE1, RSRC_CONF | ACCESS_CONF, group_name,
        "Name of the WSGI process group.", default="%{GLOBAL}",
    ),
    DirectiveSpec(
        "WSGIDaemonProcess", ArgShape.RAW_ARGS, RSRC_CONF, daemon_process,
        "Specify details of daemon processes to start.", merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "WSGICallableObject", ArgShape.TAKE1, OR_ALL, callable_object,
        "Name of entry point in WSGI script file.", default="application", override="FileInfo",
    ),
    DirectiveSpec(
        "WSGIScriptReloading", ArgShape.TAKE1, OR_ALL, flag,
        "Enable/Disable script reloading mechanism.", default=True, override="FileInfo",
    ),
    DirectiveSpec(
        "WSGIChunkedRequest", ArgShape.TAKE1, OR_ALL, flag,
        "Enable/Disable support for chunked requests.", default=False, override="FileInfo",
    ),
    DirectiveSpec(
        "WSGIPassAuthorization", ArgShape.TAKE1, OR_ALL, flag,
        "Enable/Disable WSGI authorization.", default=False, override="FileInfo",
    ),
)  # fmt: skip

# --- hooks ---------------------------------------------------------------------------------


def _aliases(request: Request) -> tuple[ScriptAlias, ...]:
    """The virtual host's aliases first, then the main server's (mod_wsgi's merge)."""
    main = tuple(request.config.main.get("WSGIScriptAlias") or ())
    own = tuple(request.vhost.settings.values.get("WSGIScriptAlias") or ()) if request.vhost else ()
    return own + main


def translate(request: Request) -> int:
    """wsgi_hook_intercept: the first alias whose prefix or pattern matches the URL."""
    if request.uri and not request.uri.startswith("/"):
        return DECLINED
    for entry in _aliases(request):
        if entry.regex is not None:
            match = entry.regex.search(request.uri)
            if match is None:
                continue
            length, script = match.end(), substitute(entry.script, match)
            location = request.uri[:length]
        else:
            length, script, location = (
                alias_matches(request.uri, entry.location),
                entry.script,
                entry.location,
            )
        if length <= 0:
            continue
        rest = request.uri if location == "/" else request.uri[length:]
        request.filename = script + rest
        request.handler = HANDLERS[0]
        request.notes["alias-forced-type"] = HANDLERS[0]
        request.notes["mod_wsgi.alias"] = entry
        return OK
    return DECLINED


@dataclass(frozen=True)
class Runtime:
    """What the handler knows of its generation: the script cache and the process model."""

    cache: ScriptCache
    threaded: bool
    forked: bool


def runtime_for(config: ServerConfig) -> Runtime:
    """Threads and processes from the configuration: -X (DEBUG) serves in one thread of one
    process; worker and event serve in threads of several children; prefork in children."""
    single = "DEBUG" in config.defines
    paths = tuple(config.get("WSGIPythonPath") or ())
    home = config.get("WSGIPythonHome")
    if home:
        paths += (python_home_site(str(home)),)
    return Runtime(
        ScriptCache(paths),
        threaded=not single and config.mpm in ("worker", "event"),
        forked=not single,
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


def register(hooks: Hooks, context: HookContext) -> None:
    config = context.config
    home = config.get("WSGIPythonHome")
    if home:
        _check_home(context, str(home))
    runtime = runtime_for(config)

    def handler(request: Request) -> int:
        return handle(request, runtime)

    hooks.add(Phase.TRANSLATE_NAME, translate)
    hooks.add(Phase.HANDLER, handler)


def _check_home(context: HookContext, home: str) -> None:
    """mod_wsgi's start-up warnings for a Python home it cannot use."""
    pid = os.getpid()
    try:
        info = os.stat(home)
    except OSError:
        context.error_log.log(
            "warn",
            "wsgi",
            f"mod_wsgi (pid={pid}): Unable to stat Python home {home}. Python interpreter may "
            "not be able to be initialized correctly. Verify the supplied path and access "
            "permissions for whole of the path.",
        )
        return
    if not stat_module.S_ISDIR(info.st_mode):
        context.error_log.log(
            "warn",
            "wsgi",
            f"mod_wsgi (pid={pid}): Python home {home} is not a directory. Python interpreter "
            "may not be able to be initialized correctly. Verify the supplied path.",
        )


MODULE = Module(
    name="wsgi_module",
    source="mod_wsgi.c",
    directives=DIRECTIVES,
    description="Python WSGI applications in the serving children (mod_wsgi's embedded mode)",
    register_hooks=register,
)
