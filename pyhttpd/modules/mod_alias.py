"""alias_module (mod_alias.c): Alias, ScriptAlias, their Match forms, and the Redirect family.

Directive table on top; the translate_name hook (aliases, server-wide redirects) and the fixups
hook (per-directory redirects) arrive with the HTTP layer. Aliases of every kind share one ordered
list under the `Alias` key, redirects one under `Redirect`, as Apache keeps one array each.
Runs only while a configuration is processed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

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


def alias_matches(uri: str, fake: str) -> int:
    """mod_alias's prefix test: runs of '/' match runs of '/'; returns the matched length or 0."""
    a = u = 0
    while a < len(fake):
        if fake[a] == "/":
            if u >= len(uri) or uri[u] != "/":
                return 0
            while a < len(fake) and fake[a] == "/":
                a += 1
            while u < len(uri) and uri[u] == "/":
                u += 1
        else:
            if u >= len(uri) or uri[u] != fake[a]:
                return 0
            a += 1
            u += 1
    if fake and fake[-1] != "/" and u < len(uri) and uri[u] != "/":
        return 0
    return u


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

MODULE = Module(
    name="alias_module",
    source="mod_alias.c",
    directives=DIRECTIVES,
    description="URL-path aliases to the file system, and external redirects",
)
