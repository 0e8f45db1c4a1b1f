"""dir_module (mod_dir.c): index files, the trailing-slash redirect and FallbackResource.

Directive table on top; the fixups hook (dir_fixups, run last) at the bottom. For a directory it
redirects `/dir` to `/dir/` (301, DirectorySlash), else looks up each DirectoryIndex name with a
sub-request and internally redirects to the first regular file (or answers DirectoryIndexRedirect's
3xx); for a missing file without a handler it redirects to FallbackResource. Sub-requests go
through pyhttpd.http.redirect, never through another module. Directive handlers run while a
configuration is processed; the hook in the thread serving a request.
"""

from __future__ import annotations

import stat as stat_module

from pyhttpd.config.directives import (
    OR_ALL,
    ArgShape,
    Command,
    DirectiveSpec,
    atoi,
    take_flag,
    take_string,
)
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError, HttpError
from pyhttpd.http.messages import Headers
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable
from pyhttpd.http.redirect import construct_url, escape_path, fast_redirect, is_regular, sub_request
from pyhttpd.http.request import Request

DEFAULT_INDEX = ("index.html",)  # Apache's AP_DEFAULT_INDEX


def directory_index(cmd: Command, raw: str) -> tuple[str, ...]:
    """Names accumulate within one scope, as Apache pushes onto the same array; a lone first
    `disabled` empties the list."""
    earlier: tuple[str, ...] = cmd.scope.get("DirectoryIndex", ()) or ()
    words = split_words(raw)
    if len(words) == 1 and words[0].lower() == "disabled":
        return ()
    return earlier + words


def directory_index_redirect(cmd: Command, value: str) -> int:
    """On (302), Off (0), permanent, temp, seeother, or a 3xx code: the status to redirect with."""
    named = {"on": 302, "off": 0, "permanent": 301, "temp": 302, "seeother": 303}
    lowered = value.lower()
    if lowered in named:
        return named[lowered]
    if value[:1].isdigit():
        status = atoi(value)
        if not 300 <= status <= 399:
            raise DirectiveError("DirectoryIndexRedirect only accepts values between 300 and 399")
        return status
    raise DirectiveError("DirectoryIndexRedirect ON|OFF|permanent|temp|seeother|3xx")


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "FallbackResource",
        ArgShape.TAKE1,
        OR_ALL,
        take_string,
        "Set a default handler",
        override="Indexes",
    ),
    DirectiveSpec(
        "DirectoryIndex",
        ArgShape.RAW_ARGS,
        OR_ALL,
        directory_index,
        "a list of file names",
        override="Indexes",
        default=DEFAULT_INDEX,
    ),
    DirectiveSpec(
        "DirectorySlash",
        ArgShape.FLAG,
        OR_ALL,
        take_flag,
        "On or Off",
        override="Indexes",
        default=True,
    ),
    DirectiveSpec(
        "DirectoryCheckHandler",
        ArgShape.FLAG,
        OR_ALL,
        take_flag,
        "On or Off",
        override="Indexes",
        default=False,
    ),
    DirectiveSpec(
        "DirectoryIndexRedirect",
        ArgShape.TAKE1,
        OR_ALL,
        directory_index_redirect,
        "On, Off, or a 3xx status code.",
        override="Indexes",
        default=0,
    ),
)

# --- hooks ---------------------------------------------------------------------------------

DIR_MAGIC_TYPE = "httpd/unix-directory"


def _is_redirect(status: int) -> bool:
    return 300 <= status <= 399


def fixup_dir(request: Request) -> int:
    """mod_dir's fixup_dir: the trailing-slash redirect, then the first index that exists."""
    if not request.handler:
        request.handler = DIR_MAGIC_TYPE
    if request.path_info:
        return DECLINED
    per_dir = request.per_dir
    if not request.uri.endswith("/"):
        if not per_dir.get("DirectorySlash"):
            return DECLINED
        if request.method != "GET" and "redirect-carefully" in request.environment:
            return DECLINED
        target = escape_path(request.uri) + "/" + (f"?{request.query}" if request.query else "")
        request.headers_out.set("Location", construct_url(request, target))
        return 301
    if per_dir.get("DirectoryCheckHandler") and request.handler != DIR_MAGIC_TYPE:
        return DECLINED
    names = tuple(per_dir.get("DirectoryIndex") or ())
    error: HttpError | None = None
    for position, name in enumerate(names):
        sub = sub_request(request, name + (f"?{request.query}" if request.query else ""))
        if sub.status == 200 and (sub.handler == "proxy-server" or is_regular(sub)):
            status = int(per_dir.get("DirectoryIndexRedirect") or 0)
            if _is_redirect(status):
                request.headers_out.set("Location", construct_url(request, escape_path(sub.uri)))
                return status
            fast_redirect(sub, request)
            return OK
        last = position == len(names) - 1
        if _is_redirect(sub.status) or (sub.status in (401, 406) and last):
            request.notes.update({k: v for k, v in sub.notes.items() if k != "main"})
            request.headers_out = Headers([*request.headers_out, *sub.headers_out])
            raise sub.notes.get("error") or HttpError(sub.status, close=False)
        if sub.status not in (200, 404, 0):
            error = sub.notes.get("error") or HttpError(sub.status, close=False)
    if error is not None:
        raise error
    request.notes["dir-index-names"] = ",".join(names)
    return DECLINED


def fixup_fallback(request: Request) -> int:
    """FallbackResource: a missing file with no handler is served by the fallback URL."""
    fallback = request.per_dir.get("FallbackResource")
    if not fallback or str(fallback).lower() == "disabled":
        return DECLINED
    sub = sub_request(request, str(fallback))
    if sub.status == 200 and (sub.handler == "proxy-server" or is_regular(sub)):
        fast_redirect(sub, request)
        return OK
    if _is_redirect(sub.status):
        request.headers_out = Headers([*request.headers_out, *sub.headers_out])
    if sub.status not in (0, 200, 404):
        raise sub.notes.get("error") or HttpError(sub.status, close=False)
    return DECLINED


def dir_fixups(request: Request) -> int:
    if request.stat is not None and stat_module.S_ISDIR(request.stat.st_mode):
        return fixup_dir(request)
    if request.stat is None and request.handler is None:
        return fixup_fallback(request)
    return DECLINED


def register(hooks: Hooks, context: HookContext) -> None:
    # an index or fallback is found by a sub-request, which keeps its request from replays
    hooks.add(Phase.FIXUPS, replayable(dir_fixups), Order.LAST)


MODULE = Module(
    name="dir_module",
    source="mod_dir.c",
    directives=DIRECTIVES,
    description="directory index files, trailing-slash redirects and FallbackResource",
    register_hooks=register,
)
