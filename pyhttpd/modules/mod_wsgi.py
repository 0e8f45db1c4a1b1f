"""wsgi_module (mod_wsgi): Python WSGI applications, in mod_wsgi's embedded mode.

Directive table on top: WSGIScriptAlias(Match) map a URL onto a script file (options
callable-object=, application-group=, process-group=, pass-authorization=), WSGIPythonPath and
WSGIPythonHome extend sys.path, WSGICallableObject, WSGIScriptReloading, WSGIChunkedRequest and
WSGIPassAuthorization act as in mod_wsgi. WSGIApplicationGroup, WSGIProcessGroup and
WSGIDaemonProcess are validated and otherwise not acted on: every application runs embedded, in
the serving child's one interpreter (mod_wsgi's %{GLOBAL} group), never in daemon processes.

Hooks at the bottom: translate_name maps the alias (after mod_alias, as mod_wsgi orders itself)
and sets the wsgi-script handler; the handler (wsgi_handler.py) loads the script once per
child (wsgi_script.py), builds PEP 3333's environ (wsgi_environ.py), calls the application and
turns its answer into the response (wsgi_response.py). An exception in the application is a 500 with mod_wsgi's
messages and the traceback in the error log; the child lives on. Whether the MPM is threaded
is read from the configuration (which MPM module is loaded, and -X), never from the MPM.
Directive handlers run while a configuration is processed; hooks in the thread serving a request.
"""

from __future__ import annotations

import os
import re
import stat as stat_module
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
from pyhttpd.config.model import Settings
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.http.alias_match import alias_matches, substitute
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Phase, replayable
from pyhttpd.http.request import Request
from pyhttpd.modules.wsgi_handler import HANDLERS, ScriptAlias, close_file, handle, runtime_for

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
    """A path or word kept as written (WSGIPythonHome is checked at start-up, with warnings)."""
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


def import_script(cmd: Command, raw: str) -> tuple[str, ...]:
    """WSGIImportScript PATH process-group=… application-group=…: checked only (every script
    is loaded by the first request that needs it, in the child that serves it)."""
    words = split_words(raw)
    if not words or not words[0]:
        raise DirectiveError("Location of import script not supplied.")
    options = dict(word.partition("=")[::2] for word in words[1:])
    if any("=" not in word for word in words[1:]) or set(options) - {
        "process-group",
        "application-group",
    }:
        raise DirectiveError("Invalid option to WSGI import script definition.")
    if not options.get("application-group"):
        raise DirectiveError("Name of WSGI application group required.")
    group = options.get("process-group")
    if not group:
        raise DirectiveError("Name of WSGI process group required.")
    daemons = {words[0] for words in cmd.scope.get("WSGIDaemonProcess") or ()}
    if group != "%{GLOBAL}" and group not in daemons:
        raise DirectiveError("WSGI process group not yet configured.")
    return words


def flag(cmd: Command, value: str) -> bool:
    return _on_off(cmd.name, value)


def callable_object(cmd: Command, value: str) -> str:
    return value


def _row(name: str, handler: Any, help: str, **extra: Any) -> DirectiveSpec:
    return DirectiveSpec(name, ArgShape.TAKE1, RSRC_CONF, handler, help, **extra)


_GLOBAL = {"server_only": True}  # mod_wsgi's GLOBAL_ONLY directives
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
    # validated, not acted on: daemon processes and interpreter set-up pyhttpd does not have
    DirectiveSpec(
        "WSGIImportScript", ArgShape.RAW_ARGS, RSRC_CONF, import_script,
        "Location of WSGI import script.", merge=Merge.APPEND,
    ),
    _row("WSGISocketPrefix", python_home, "Path prefix for the daemon process sockets.",
         **_GLOBAL),
    _row("WSGIRestrictEmbedded", flag, "Enable/Disable use of embedded mode.", **_GLOBAL),
    _row("WSGILazyInitialization", flag, "Enable/Disable lazy Python initialisation.",
         **_GLOBAL),
    _row("WSGIRestrictStdin", flag, "Enable/Disable restrictions on use of STDIN.", **_GLOBAL),
    _row("WSGIRestrictStdout", flag, "Enable/Disable restrictions on use of STDOUT.", **_GLOBAL),
    _row("WSGIRestrictSignal", flag, "Enable/Disable restrictions on use of signal().",
         **_GLOBAL),
    _row("WSGIPythonOptimize", python_home, "Set level of Python compiler optimisations.",
         **_GLOBAL),
)  # fmt: skip

# --- hooks ---------------------------------------------------------------------------------


def _own_aliases(settings: Settings) -> tuple[ScriptAlias, ...]:
    return tuple(settings.values.get("WSGIScriptAlias") or ())


def _aliases(request: Request) -> tuple[ScriptAlias, ...]:
    """The virtual host's aliases first, then the main server's (mod_wsgi's merge); each
    server's own, as tuples, once per generation (Settings.derived)."""
    main = request.config.main.derived(_own_aliases)
    return request.vhost.settings.derived(_own_aliases) + main if request.vhost else main


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


def register(hooks: Hooks, context: HookContext) -> None:
    config = context.config
    home = config.get("WSGIPythonHome")
    if home:
        _check_home(context, str(home))
    runtime = runtime_for(config, context.error_log)

    def handler(request: Request) -> int:
        return handle(request, runtime)

    hooks.add(Phase.TRANSLATE_NAME, replayable(translate))  # WSGIScriptAlias: the URL alone
    # declines on the handler name alone, so a static file beside an application is still
    # replayed; an application's answer vetoes its own request (handle)
    hooks.add(Phase.HANDLER, replayable(handler))
    hooks.add(Phase.LOG_TRANSACTION, close_file)


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
