"""core_module's hooks: translate_name, map_to_storage and the default handler (static files).

translate_name maps the URL onto DocumentRoot; map_to_storage stats the file, splits off
PATH_INFO and merges the per-directory sections; the default handler serves regular files for GET
and HEAD and answers other methods as Apache's default handler does. Runs in the thread serving the
request.
"""

from __future__ import annotations

import os
import stat as stat_module

from pyhttpd.config.lookup import merge, sections_for
from pyhttpd.errors import HttpError
from pyhttpd.http.files import serve_file
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase
from pyhttpd.http.request import Request


def allowed_methods(request: Request) -> str:
    """The Allow header of Apache's default handler (TRACE only while TraceEnable allows it)."""
    trace = request.server.get("TraceEnable") != "off"
    return "HEAD,GET,POST,OPTIONS" + (",TRACE" if trace else "")


def translate_name(request: Request) -> int:
    if request.uri == "*" or not request.uri.startswith("/"):
        return DECLINED
    root = str(request.server.get("DocumentRoot"))
    if not os.path.isabs(root):
        root = os.path.join(request.config.server_root, root)
    request.filename = os.path.join(root, request.uri.lstrip("/"))
    request.notes["document_root"] = root
    return OK


def map_to_storage(request: Request) -> int:
    """Stat the longest existing prefix of the filename; the rest is PATH_INFO."""
    if request.filename is None:
        request.per_dir = _merged(request, None)
        return OK
    path = request.filename
    rest = ""
    while True:
        try:
            request.stat = os.stat(path)
            break
        except (FileNotFoundError, NotADirectoryError):
            parent, leaf = os.path.split(path.rstrip("/"))
            if (
                not leaf
                or parent == path
                or len(parent) < len(request.notes.get("document_root", "/"))
            ):
                break
            rest = "/" + leaf + rest
            path = parent
        except OSError:
            raise HttpError(403, f"cannot stat {path}", "AH00035", close=False) from None
    if request.stat is not None and stat_module.S_ISREG(request.stat.st_mode) and rest:
        request.filename, request.path_info = path, rest
    elif rest:
        request.stat = None
    request.per_dir = _merged(request, request.filename)
    return OK


def _merged(request: Request, filename: str | None) -> object:
    sections = sections_for(request.config, request.vhost, filename, request.uri)
    return merge(request.server, [s.settings for s in sections], request.config.directives)


# Apache's registered methods (http_protocol.c); anything else is 501 Not Implemented.
KNOWN_METHODS = frozenset(
    "GET HEAD PUT POST DELETE CONNECT OPTIONS TRACE PATCH PROPFIND PROPPATCH MKCOL COPY MOVE "
    "LOCK UNLOCK VERSION-CONTROL CHECKOUT UNCHECKOUT CHECKIN UPDATE LABEL REPORT MKWORKSPACE "
    "MKACTIVITY BASELINE-CONTROL MERGE".split()
)


def default_handler(request: Request) -> int:
    """Apache's default handler, in its order: 501, OPTIONS, 405, 404, directory 403, the file.

    As in Apache, POST to a static file returns the file, and any other known method is 405
    before the file is even looked at.
    """
    if request.method not in KNOWN_METHODS:
        request.headers_out.set("Allow", allowed_methods(request))
        raise HttpError(
            501, f"Invalid method in request {request.head.request_line}", "AH00127", close=False
        )
    if request.method == "OPTIONS":
        request.headers_out.set("Allow", allowed_methods(request))
        request.headers_out.set("Content-Length", "0")
        return OK
    if request.method not in ("GET", "HEAD", "POST"):
        request.headers_out.set("Allow", allowed_methods(request))
        raise HttpError(405, close=False)
    if request.stat is None:
        raise HttpError(404, f"File does not exist: {request.filename}", "AH00128", close=False)
    if stat_module.S_ISDIR(request.stat.st_mode):
        raise HttpError(403, f"Cannot serve directory {request.filename}", "AH01276", close=False)
    if request.path_info and request.per_dir.get("AcceptPathInfo") != "on":
        raise HttpError(
            404, f"File does not exist: {request.filename}{request.path_info}", close=False
        )
    serve_file(request, request.filename or "", request.stat)
    return OK


def add_default_charset(request: Request) -> int:
    """AddDefaultCharset: Apache adds it to text/plain and text/html responses without one."""
    charset = request.per_dir.get("AddDefaultCharset")
    content_type = request.headers_out.get("Content-Type") or request.content_type or ""
    if not charset or "charset=" in content_type.lower():
        return DECLINED
    if content_type.split(";")[0].strip().lower() in ("text/plain", "text/html"):
        request.headers_out.set("Content-Type", f"{content_type}; charset={charset}")
    return OK


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.TRANSLATE_NAME, translate_name, Order.LAST)
    hooks.add(Phase.MAP_TO_STORAGE, map_to_storage, Order.LAST)
    hooks.add(Phase.HANDLER, default_handler, Order.LAST)
    hooks.add(Phase.OUTPUT_HEADERS, add_default_charset, Order.LAST)
