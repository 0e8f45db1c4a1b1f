"""cgi_module (mod_cgi.c): the cgi-script handler — CGI/1.1 scripts in a process of their own.

Directive table on top (CGIScriptTimeout, and the ScriptLog family, validated only); the handler
at the bottom, in Apache's order: ExecCGI (or a ScriptAlias) or 403 AH02809, a script that exists
(404 AH02811) and is no directory (403 AH02812), path info unless AcceptPathInfo is off (404
AH02813); then the environment (pyhttpd.http.cgi_env), the process (cgi_script.Script), the body
to stdin, the header block (pyhttpd.http.script_headers) and stdout streamed to the client. A
Location path with status 200 is a local redirect (GET, run again from translate_name); any
other Location a 302. An nph- script's output goes to the client as it comes, head included, and
the connection closes after it (a raw StreamBody). A script already done when its headers are read
is sent with a Content-Length. The same module answers `LoadModule cgid_module`, as Debian loads
cgid under threaded MPMs: one process model (subprocess from the serving thread) is safe under
all three MPMs. Runs in the thread serving the request.
"""

from __future__ import annotations

import dataclasses
import os
import stat as stat_module
from urllib.parse import unquote

from pyhttpd.config.directives import (
    ACCESS_CONF,
    RSRC_CONF,
    ArgShape,
    Context,
    DirectiveSpec,
    Handler,
    take_string,
)
from pyhttpd.config.module import Module
from pyhttpd.errors import HttpError
from pyhttpd.http.cgi_env import cgi_environment
from pyhttpd.http.generation import server_token
from pyhttpd.http.messages import Headers
from pyhttpd.http.options import EXEC_CGI, effective_options
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Phase
from pyhttpd.http.redirect import internal_redirect
from pyhttpd.http.request import Request, StreamBody
from pyhttpd.http.script_headers import ScriptHeaderError, scan_script_headers
from pyhttpd.modules.cgi_script import Script
from pyhttpd.modules.core_values import seconds

HANDLERS = ("cgi-script", "application/x-httpd-cgi")  # "cgi-script" and CGI_MAGIC_TYPE
TRUST_LENGTH = "ap_trust_cgilike_cl"  # the environment variable that keeps a script's length
_SHELL_SPECIAL = frozenset("&;`'\"|*?~<>^()[]{}$\\\n")


def _row(name: str, contexts: Context, help: str, handler: Handler = take_string) -> DirectiveSpec:
    return DirectiveSpec(name, ArgShape.TAKE1, contexts, handler, help)


_TIMEOUT_HELP = (
    "The amount of time to wait between successful reads from the CGI script, in seconds."
)
_SCRIPT_LOG = (
    _row("ScriptLog", RSRC_CONF, "the name of a log for script debugging info"),
    _row("ScriptLogLength", RSRC_CONF, "the maximum length (in bytes) of the script debug log"),
    _row("ScriptLogBuffer", RSRC_CONF, "the maximum size (in bytes) to record of a POST request"),
)
DIRECTIVES: tuple[DirectiveSpec, ...] = (
    *_SCRIPT_LOG,
    _row("CGIScriptTimeout", RSRC_CONF | ACCESS_CONF, _TIMEOUT_HELP, seconds),
)
# mod_cgid's table: its daemon's socket (accepted, unused: there is no daemon) and its timeout.
CGID_DIRECTIVES: tuple[DirectiveSpec, ...] = (
    *_SCRIPT_LOG,
    _row(
        "ScriptSock",
        RSRC_CONF,
        "the name of the socket to use for communication with the cgi daemon.",
    ),
    dataclasses.replace(
        _row("CGIDScriptTimeout", RSRC_CONF | ACCESS_CONF, _TIMEOUT_HELP, seconds),
        key="CGIScriptTimeout",
    ),
)

# --- the handler ---------------------------------------------------------------------------------


def _script_error(request: Request, status: int, tag: str, message: str) -> HttpError:
    """log_scripterror: Apache's wording, "stderr from FILE: MESSAGE" (sic)."""
    request.log_error("error", "cgi", f"stderr from {request.filename}: {message}", tag)
    return HttpError(status, close=False)


def _check(request: Request) -> None:
    scriptaliased = str(request.notes.get("alias-forced-type", "")).lower() == "cgi-script"
    if EXEC_CGI not in effective_options(request.per_dir) and not scriptaliased:
        raise _script_error(request, 403, "AH02809", "Options ExecCGI is off in this directory")
    if request.stat is None:
        raise _script_error(request, 404, "AH02811", "script not found or unable to stat")
    if stat_module.S_ISDIR(request.stat.st_mode):
        raise _script_error(request, 403, "AH02812", "attempt to invoke directory as script")
    if request.path_info and str(request.per_dir.get("AcceptPathInfo") or "").lower() == "off":
        raise _script_error(request, 404, "AH02813", "AcceptPathInfo off disallows user's path")


def _escape_shell(word: str) -> str:
    """ap_escape_shell_cmd: a backslash before each shell metacharacter."""
    return "".join("\\" + c if c in _SHELL_SPECIAL else c for c in word)


def build_argv(filename: str, query: str) -> list[str]:
    """default_build_command: an ISINDEX query (no '=') becomes arguments, split on '+'."""
    if not query or "=" in query:
        return [filename]
    return [filename, *(_escape_shell(unquote(word)) for word in query.split("+"))]


def _timeout(request: Request) -> float:
    configured = request.per_dir.get("CGIScriptTimeout")
    return float(configured) if configured else float(request.server.get("Timeout"))


def _environment(request: Request) -> dict[str, str]:
    software = server_token(str(request.config.get("ServerTokens")))
    return cgi_environment(request, software)


def _local_redirect(request: Request, location: str) -> None:
    """The script named a path: the request becomes a GET for it, without its body."""
    head = request.head
    headers = Headers((n, v) for n, v in head.headers if n.lower() != "content-length")
    request.head = dataclasses.replace(head, method="GET", headers=headers)
    request.status = 200
    request.content_type = None
    request.headers_out.remove("Location")
    status = internal_redirect(request, location)
    if status != 200:
        raise HttpError(status, close=False)
    if request.hooks.run(Phase.HANDLER, request) == DECLINED:
        raise HttpError(404, f"no handler for {request.uri}", "AH00128", close=False)


def _answer(request: Request, script: Script, name: str) -> bool:
    """Read the script's headers and act on them; True when the response is complete."""
    if name.startswith("nph-"):  # not parsed: its output is the response, as it comes
        request.body = StreamBody(script.chunks(), script.close, raw=True)
        return True
    try:
        scan_script_headers(request, script.lines(), name)
    except ScriptHeaderError as error:
        request.log_error("error", "cgi", error.message)
        raise HttpError(error.status, close=False) from None
    if TRUST_LENGTH not in request.environment:
        request.headers_out.remove("Content-Length")
    request.headers_out.remove("Transfer-Encoding")
    location = request.headers_out.get("Location")
    if location and request.status == 200:
        script.discard_output()
        script.close()
        if location.startswith("/"):
            _local_redirect(request, location)
            return True
        raise HttpError(302, close=False)
    if script.read_at_hand():  # all there already: sent with a Content-Length
        request.body = bytes(script.buffer)
        script.close()
        return True
    return False


def cgi_handler(request: Request) -> int:
    if (request.handler or "").lower() not in HANDLERS:
        return DECLINED
    _check(request)
    filename = request.filename or ""
    script = Script.start(
        request, build_argv(filename, request.query), _environment(request), _timeout(request)
    )
    try:
        script.feed_body()
        if _answer(request, script, os.path.basename(filename)):
            return OK
    except BaseException:
        script.close()
        raise
    request.body = StreamBody(script.chunks(), script.close)
    return OK


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.HANDLER, cgi_handler)


MODULE = Module(
    name="cgi_module",
    source="mod_cgi.c",
    directives=DIRECTIVES,
    description="CGI/1.1 scripts: the cgi-script handler, its environment and its process",
    register_hooks=register,
)

# Debian enables cgid under threaded MPMs; this one process model serves both names.
CGID_MODULE = Module(
    name="cgid_module",
    source="mod_cgid.c",
    directives=CGID_DIRECTIVES,
    description=MODULE.description,
    register_hooks=register,
)
