"""alias_module (mod_alias.c): Alias, ScriptAlias, their Match forms, and the Redirect family.

Directive table on top; hooks at the bottom: translate_name (run first) answers the server's
redirects and the <Location> forms, then maps aliases onto the file system (ScriptAlias also sets
the cgi-script handler); fixups answers the redirects written in <Directory> and <Location>
sections. Aliases of every kind share one ordered list under the `Alias` key, redirects one under
`Redirect`, as Apache keeps one array each. Directive handlers run while a configuration is
processed; hooks in the thread serving a request.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pyhttpd.config.directives import (
    CONF_ANYWHERE,
    OR_ALL,
    RSRC_CONF,
    ArgShape,
    Command,
    Context,
    DirectiveSpec,
    Handler,
    Merge,
    atoi,
)
from pyhttpd.config.lookup import merge, sections_for
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError, HttpError
from pyhttpd.http.alias_match import alias_matches, substitute
from pyhttpd.http.cgi_env import CONTEXT_PREFIX_NOTE, CONTEXT_ROOT_NOTE
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable
from pyhttpd.http.redirect import construct_url, escape_path
from pyhttpd.http.request import Request

CGI_SCRIPT = "cgi-script"
_URL = re.compile(r"^[A-Za-z0-9+.-]+:")  # ap_is_url: a scheme, then ':'
_REGEX_ERROR = "Regular expression could not be compiled."


@dataclass(frozen=True)
class AliasEntry:
    """One alias: URL-path (or pattern) -> file path. `handler` is cgi-script for ScriptAlias*.

    `expression` marks the one-argument form inside <Location>, whose target is an ap_expr string
    the HTTP layer evaluates per request (then `fake` is empty).
    """

    fake: str
    real: str
    handler: str | None = None
    regex: re.Pattern[str] | None = None
    expression: bool = False


@dataclass(frozen=True)
class RedirectEntry:
    """One redirect: status, URL-path (or pattern) and target URL (None for 410 and non-3xx)."""

    status: int
    fake: str
    url: str | None
    regex: re.Pattern[str] | None = None
    expression: bool = False  # the <Location> form: `url` is an ap_expr string, `fake` empty


_NOT_IN_DIRECTORY = ("<directory", "<directorymatch")
_NOT_IN_LOCATION = ("<location", "<locationmatch")
_NOT_IN_FILES = ("<files", "<filesmatch", "<if", "<elseif", "<else")


def _forbidden_in(cmd: Command, *groups: tuple[str, ...]) -> None:
    """Apache's ap_check_cmd_context(NOT_IN_...): checks Directory, then Location, then Files."""
    for group in groups:
        for wanted in group:
            for name in reversed(cmd.section_path):
                if name.lower() == wanted:
                    raise DirectiveError(f"{cmd.name} cannot occur within {name}> section")


def _in_directory_section(cmd: Command) -> bool:
    """True inside <Directory>, <Location>, <Files>… (Apache's cmd->path), not a bare vhost."""
    return any(name.lower() != "<virtualhost" for name in cmd.section_path)


def _compile(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        raise DirectiveError(_REGEX_ERROR) from None


def _warn_overlap(cmd: Command, fake: str) -> None:
    """AH00671: an alias hidden by an earlier, broader one in the same server."""
    for earlier in cmd.scope.get("Alias", ()):
        if earlier.expression:
            continue
        hit = earlier.regex.search(fake) if earlier.regex else alias_matches(fake, earlier.fake)
        if hit:
            kind = (
                ("Script" if earlier.handler else "") + "Alias" + ("Match" if earlier.regex else "")
            )
            cmd.warn(
                f"AH00671: The {cmd.name} directive in {cmd.node.file} at line {cmd.node.line} "
                f"will probably never match because it overlaps an earlier {kind}."
            )
            return


def _alias(cmd: Command, fake: str, real: str | None, handler: str | None) -> AliasEntry:
    if real is None:
        _forbidden_in(cmd, _NOT_IN_DIRECTORY, _NOT_IN_FILES)
        if not _in_directory_section(cmd):
            raise DirectiveError("Alias must have two arguments when used globally")
        return AliasEntry("", fake, handler, expression=True)
    _forbidden_in(cmd, _NOT_IN_DIRECTORY, _NOT_IN_LOCATION, _NOT_IN_FILES)
    _warn_overlap(cmd, fake)
    return AliasEntry(fake, real, handler)


def alias(cmd: Command, fake: str, real: str | None = None) -> AliasEntry:
    return _alias(cmd, fake, real, None)


def script_alias(cmd: Command, fake: str, real: str | None = None) -> AliasEntry:
    return _alias(cmd, fake, real, CGI_SCRIPT)


def alias_match(cmd: Command, pattern: str, real: str) -> AliasEntry:
    return AliasEntry(pattern, real, None, _compile(pattern))


def script_alias_match(cmd: Command, pattern: str, real: str) -> AliasEntry:
    return AliasEntry(pattern, real, CGI_SCRIPT, _compile(pattern))


_STATUS_WORDS = {"permanent": 301, "temp": 302, "seeother": 303, "gone": 410}


def _redirect(
    cmd: Command, status: int, arg1: str, arg2: str | None, arg3: str | None, use_regex: bool
) -> RedirectEntry:
    """Port of add_redirect_internal: an optional status word or code, then path and URL."""
    grok = True
    if arg1.lower() in _STATUS_WORDS:
        status = _STATUS_WORDS[arg1.lower()]
    elif arg1[:1].isdigit():
        status = atoi(arg1)
    else:
        grok = False
    if arg3 is not None and not grok:
        raise DirectiveError("Redirect: invalid first argument (of three)")
    if _in_directory_section(cmd):  # the ap_expr forms, meaningful inside <Location>
        if grok and arg2 is not None and arg3 is None and status != 410:
            return RedirectEntry(status, "", arg2, expression=True)
        if grok and arg2 is None and status == 410:
            return RedirectEntry(status, "", None)
        if not grok and arg2 is None:
            return RedirectEntry(status, "", arg1, expression=True)
    fake, url = arg2 or "", arg3
    if arg3 is None and not grok:
        fake, url = arg1, arg2
    regex = _compile(fake) if use_regex else None
    if 300 <= status <= 399:
        if not url:
            raise DirectiveError("URL to redirect to is missing")
        if not use_regex and not _URL.match(url) and not url.startswith("/"):
            raise DirectiveError("Redirect to non-URL")
    elif url is not None:
        raise DirectiveError("Redirect URL not valid for this status")
    return RedirectEntry(status, fake, url, regex)


def redirect(
    cmd: Command, arg1: str, arg2: str | None = None, arg3: str | None = None
) -> RedirectEntry:
    return _redirect(cmd, 302, arg1, arg2, arg3, use_regex=False)


def redirect_match(cmd: Command, arg1: str, arg2: str, arg3: str | None = None) -> RedirectEntry:
    return _redirect(cmd, 302, arg1, arg2, arg3, use_regex=True)


def redirect_temp(cmd: Command, fake: str, url: str) -> RedirectEntry:
    return _redirect(cmd, 302, fake, url, None, use_regex=False)


def redirect_permanent(cmd: Command, fake: str, url: str) -> RedirectEntry:
    return _redirect(cmd, 301, fake, url, None, use_regex=False)


_ALIAS_HELP = "a fakename and a realname, or a realname in a Location"
_MATCH_HELP = "a regular expression and a filename"
_REDIRECT2_HELP = "a document to be redirected, then the destination URL"


def _row(
    name: str,
    shape: ArgShape,
    contexts: Context,
    handler: Handler,
    help: str,
    key: str,
    override: str = "",
) -> DirectiveSpec:
    return DirectiveSpec(
        name, shape, contexts, handler, help, key=key, merge=Merge.APPEND, override=override
    )


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    _row("Alias", ArgShape.TAKE12, CONF_ANYWHERE, alias, _ALIAS_HELP, "Alias"),
    _row("ScriptAlias", ArgShape.TAKE12, CONF_ANYWHERE, script_alias, _ALIAS_HELP, "Alias"),
    _row(
        "Redirect",
        ArgShape.TAKE123,
        OR_ALL,
        redirect,
        "an optional status, then document to be redirected and destination URL",
        "Redirect",
        override="FileInfo",
    ),
    _row("AliasMatch", ArgShape.TAKE2, RSRC_CONF, alias_match, _MATCH_HELP, "Alias"),
    _row("ScriptAliasMatch", ArgShape.TAKE2, RSRC_CONF, script_alias_match, _MATCH_HELP, "Alias"),
    _row(
        "RedirectMatch",
        ArgShape.TAKE23,
        OR_ALL,
        redirect_match,
        "an optional status, then a regular expression and destination URL",
        "Redirect",
        override="FileInfo",
    ),
    _row(
        "RedirectTemp",
        ArgShape.TAKE2,
        OR_ALL,
        redirect_temp,
        _REDIRECT2_HELP,
        "Redirect",
        override="FileInfo",
    ),
    _row(
        "RedirectPermanent",
        ArgShape.TAKE2,
        OR_ALL,
        redirect_permanent,
        _REDIRECT2_HELP,
        "Redirect",
        override="FileInfo",
    ),
)

# --- hooks ---------------------------------------------------------------------------------

_EXPR_VARIABLE = re.compile(r"%\{([^}]*)\}")


def expression_string(request: Request, text: str) -> str:
    """The ap_expr string forms used inside <Location>: literal text with %{VARIABLE}s."""
    head = request.head.headers
    variables = {
        "REQUEST_URI": request.uri,
        "QUERY_STRING": request.query,
        "HTTP_HOST": head.get("Host") or "",
        "SERVER_NAME": str(request.server.get("ServerName") or ""),
        "REQUEST_METHOD": request.method,
        "REQUEST_SCHEME": "http",
        "DOCUMENT_ROOT": str(request.server.get("DocumentRoot") or ""),
    }

    def one(found: re.Match[str]) -> str:
        name = found.group(1)
        if name.upper().startswith("HTTP:"):
            return head.get(name[5:]) or ""
        return variables.get(name.upper(), request.environment.get(name, ""))

    return _EXPR_VARIABLE.sub(one, text.strip('"'))


def _server_list(request: Request, key: str) -> tuple[Any, ...]:
    """merge_alias_config: the virtual host's entries first, then the main server's."""
    main = tuple(request.config.main.get(key) or ())
    own = tuple(request.vhost.settings.values.get(key) or ()) if request.vhost else ()
    return own + main


def _try_list(
    request: Request, entries: tuple[Any, ...], is_redirect: bool
) -> tuple[str, int] | None:
    """try_alias_list: the first entry whose prefix or pattern matches the URL."""
    for entry in entries:
        if entry.expression or (not entry.fake and entry.regex is None):
            continue
        real = entry.url if is_redirect else entry.real
        found: str | None = None
        context: tuple[str, str] | None = None
        if entry.regex is not None:
            match = entry.regex.search(request.uri)
            if match is None:
                continue
            found = substitute(real, match) if real else ""
            if found and not is_redirect:
                tail = len(request.uri) - match.end()
                context = request.uri[: match.end()], found[: max(len(found) - tail, 0)]
            if found and is_redirect:
                parts = urlsplit(found)
                rest = parts._replace(query="", fragment="").geturl()
                found = escape_path(rest) + (f"?{parts.query}" if "?" in found else "")
                found += f"#{parts.fragment}" if parts.fragment else ""
        else:
            length = alias_matches(request.uri, entry.fake)
            if not length:
                continue
            tail = request.uri[length:]
            found = (real or "") + (escape_path(tail) if is_redirect else tail)
            context = entry.fake, real or ""
        if not is_redirect and entry.handler:
            request.handler = entry.handler
            request.notes["alias-forced-type"] = entry.handler
        if not is_redirect and not os.path.isabs(found):
            found = os.path.join(request.config.server_root, found)
        if not is_redirect and context is not None:  # ap_set_context_info, for CGI
            prefix, root = context
            if not os.path.isabs(root):
                root = os.path.join(request.config.server_root, root)
            request.notes[CONTEXT_PREFIX_NOTE], request.notes[CONTEXT_ROOT_NOTE] = prefix, root
        return found, getattr(entry, "status", 0)
    return None


def _try_dir_redirect(request: Request, entries: tuple[Any, ...]) -> tuple[str, int] | None:
    """try_redirect: the one-argument forms of a <Location> (an expression, or a bare status)."""
    for entry in reversed(entries):
        if entry.expression:
            return expression_string(request, entry.url or ""), entry.status
        if not entry.fake and entry.regex is None:
            return "", entry.status
    return None


def _answer(request: Request, target: str, status: int) -> int:
    """Set Location for a 3xx (absolute, with the request's query unless one is given)."""
    if 300 <= status <= 399:
        if target.startswith("/"):
            target = construct_url(request, target)
        if not _URL.match(target):
            raise HttpError(
                500,
                f"cannot redirect '{request.uri}' to '{target}'; target is not a valid "
                "absoluteURI or abs_path",
                "AH00674",
                close=False,
            )
        if request.query and "?" not in target:
            target += f"?{request.query}"
        request.headers_out.set("Location", target)
    return status


def _location_settings(request: Request, key: str) -> tuple[Any, ...]:
    sections = sections_for(request.config, request.vhost, None, request.uri)
    if not sections:
        return ()
    merged = merge(request.server, [s.settings for s in sections], request.config.directives)
    return tuple(merged.get(key) or ())[len(tuple(request.server.get(key) or ())) :]


def translate_alias_redir(request: Request, location_forms: bool = True) -> int:
    if request.uri and not request.uri.startswith("/"):
        return DECLINED
    hit = None
    if location_forms:
        hit = _try_dir_redirect(request, _location_settings(request, "Redirect"))
    hit = hit or _try_list(request, _server_list(request, "Redirect"), True)
    if hit is not None:
        return _answer(request, *hit)
    located = location_forms and [e for e in _location_settings(request, "Alias") if e.expression]
    if located:
        request.filename = expression_string(request, located[-1].real)
        request.handler = located[-1].handler or request.handler
        return OK
    hit = _try_list(request, _server_list(request, "Alias"), False)
    if hit is not None:
        request.filename = hit[0]
        return OK
    return DECLINED


def fixup_redir(request: Request) -> int:
    """Redirects written in <Directory>, <Files> and <Location> sections."""
    inherited = len(tuple(request.server.get("Redirect") or ()))
    entries = tuple(request.per_dir.get("Redirect") or ())[inherited:]
    if not entries:
        return DECLINED
    hit = _try_dir_redirect(request, entries) or _try_list(request, entries, True)
    return _answer(request, *hit) if hit is not None else DECLINED


def _has_location_forms(sections: tuple[Any, ...]) -> bool:
    return any(
        s.kind.lower().lstrip("<") in ("location", "locationmatch")
        and any(s.settings.values.get(key) for key in ("Redirect", "Alias"))
        or _has_location_forms(s.sections)
        for s in sections
    )


def register(hooks: Hooks, context: HookContext) -> None:
    config = context.config
    pool = config.sections + tuple(s for v in config.vhosts for s in v.sections)
    location_forms = _has_location_forms(pool)

    def translate(request: Request) -> int:
        return translate_alias_redir(request, location_forms)

    hooks.add(Phase.TRANSLATE_NAME, replayable(translate), Order.FIRST)
    hooks.add(Phase.FIXUPS, replayable(fixup_redir))


MODULE = Module(
    name="alias_module",
    source="mod_alias.c",
    directives=DIRECTIVES,
    description="URL-path aliases to the file system, and external redirects",
    register_hooks=register,
)
