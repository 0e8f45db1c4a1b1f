"""core_module's hooks: translate_name, map_to_storage and the default handler (static files).

translate_name maps the URL onto DocumentRoot; map_to_storage is Apache's directory walk (one
segment at a time from /: <Directory> sections by depth, .htaccess files under AllowOverride, the
symbolic-link rules of Options) followed by the regex directory, <Files> and <Location> sections;
it leaves the merged per-dir settings on the request and the merged sections, in order, in
request.notes[LAYERS_NOTE] for the access modules. The default handler serves regular files for
GET and HEAD and answers other methods as Apache's default handler does. Runs in the thread
serving the request.
"""

from __future__ import annotations

import fnmatch
import os
import stat as stat_module

from pyhttpd.config.htaccess import HtaccessError, access_file_paths, read_access_file
from pyhttpd.config.lookup import merge, section_pool, sections_for
from pyhttpd.config.model import Section, Settings
from pyhttpd.errors import HttpError
from pyhttpd.http.authz import KNOWN_METHODS, LAYERS_NOTE
from pyhttpd.http.expr import evaluator
from pyhttpd.http.files import serve_file
from pyhttpd.http.options import FOLLOW_SYMLINKS, SYMLINKS_IF_OWNER_MATCH, OptionsState, resolve
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable
from pyhttpd.http.replay import WALK_PROBES_NOTE, walk_still_valid
from pyhttpd.http.request import Request
from pyhttpd.memo import remember


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
    """Apache's directory walk and file walk, then the <Location> sections.

    Walks the filename from / one segment at a time: at each directory, the <Directory> sections
    of that depth and then its .htaccess (when AllowOverride allows) are merged; each next
    segment is lstat'ed, and a symbolic link is followed only as Options allows (AH00037). The
    first regular file ends the walk and the rest is PATH_INFO; a missing segment ends it with
    no file. Regex directory sections, <Files>, <Location> and the <If> sections whose condition
    holds follow, in Apache's order.

    A walk that found no .htaccess, met no <If> and could follow any link on its way (Options
    FollowSymLinks without SymLinksIfOwnerMatch) to a regular file depends on nothing but the
    file, the URL and those access files staying absent: its outcome is kept per server, and
    the next request for them costs a stat of the file and an access() per access file looked
    for, instead of an lstat per segment, the section matching and the merge (Apache's
    FollowSymLinks saves those lstat calls too). Anything else found takes the full walk.
    Such a walk leaves its access files in request.notes[WALK_PROBES_NOTE]: what a replay of
    the response checks (replay.py).
    """
    pool = section_pool(request.config, request.vhost)
    key = (request.filename, request.uri)
    kept = pool.walks.get(key)
    if kept is not None:
        info = walk_still_valid(key[0], kept[2])
        if info is not None:
            request.stat = info
            request.notes[LAYERS_NOTE], request.per_dir = kept[0], kept[1]
            request.notes[WALK_PROBES_NOTE] = kept[2]
            return OK
    evaluate = evaluator(request)
    if request.filename is None:
        _apply(request, sections_for(request.config, request.vhost, None, request.uri, evaluate))
        return OK
    layers, probes = _directory_walk(request)
    found = sections_for(request.config, request.vhost, request.filename, request.uri, evaluate)
    regex_dirs = [s for s in found if _is_regex_directory(s)]
    files = [s for s in found if s.kind.lower() in _FILES]
    basename = os.path.basename(request.filename)
    nested = [  # <Files> inside .htaccess (and inside <Directory>, unless sections_for has them)
        child
        for layer in layers + regex_dirs
        for child in layer.sections
        if child.kind.lower() in _FILES
        and _files_match(child, basename)
        and not any(child is known for known in files)
    ]
    locations = [s for s in found if s.kind.lower() in _LOCATIONS]
    conditions = [s for s in found if s.kind.lower() in _IF]
    _apply(request, layers + regex_dirs + files + nested + locations + conditions)
    if probes is not None and not pool.conditions and not request.path_info:
        if _conditionless(found):
            kept = (request.notes[LAYERS_NOTE], request.per_dir, tuple(probes))
            remember(pool.walks, key, kept, WALK_MEMO_SIZE)
            request.notes[WALK_PROBES_NOTE] = kept[2]
    return OK


WALK_MEMO_SIZE = 4096  # distinct (file, URL) pairs kept per server; the memo restarts when full


def _conditionless(sections: list[Section]) -> bool:
    """No <If>/<ElseIf>/<Else> nested in these sections (their outcome is per request)."""
    return not any(child.kind.lower() in _IF for s in sections for child in s.sections)


_FILES = ("files", "filesmatch")
_LOCATIONS = ("location", "locationmatch")
_IF = ("if", "elseif", "else")
_UNSET = None  # AllowOverride never written: Apache still reads .htaccess, granting nothing


def _apply(request: Request, layers: list[Section]) -> None:
    request.notes[LAYERS_NOTE] = tuple(layers)
    request.per_dir = merge(
        request.server, [layer.settings for layer in layers], request.config.directives
    )


def _is_regex_directory(section: Section) -> bool:
    kind = section.kind.lower()
    return kind == "directorymatch" or (kind == "directory" and section.value.regex is not None)


def _files_match(section: Section, basename: str) -> bool:
    if section.value.regex is not None:
        return bool(section.value.regex.search(basename))
    return fnmatch.fnmatchcase(basename, section.value.pattern)


def _directory_matches(section: Section, directory: str) -> bool:
    """A non-regex <Directory> applies at exactly its depth: the same path, or a wildcard match."""
    pattern = section.value.pattern
    if pattern == directory:
        return True
    return (
        any(c in pattern for c in "*?[")
        and pattern.count("/") == directory.count("/")
        and fnmatch.fnmatchcase(directory, pattern)
    )


def _directory_walk(request: Request) -> tuple[list[Section], list[str] | None]:
    """ap_directory_walk for request.filename: returns the layers merged so far, in order, and
    when the walk was plain (no access file found, any link on the way could be followed) the
    access files it looked for, else None; sets stat, filename and path_info."""
    by_depth = section_pool(request.config, request.vhost).plain_by_depth
    options = request.server.derived(_server_options)
    overrides: frozenset[str] | None = _UNSET
    layers: list[Section] = []
    probes: list[str] | None = []
    path = request.filename or "/"
    if not path.startswith("/"):
        path = os.path.abspath(path)
    directory, position = "/", 1
    request.stat = None
    while True:
        for section in by_depth.get(directory.count("/"), ()):
            if _directory_matches(section, directory):
                layers.append(section)
                options = options.merge(section.settings.values.get("Options", ()))
                if "AllowOverride" in section.settings.values:
                    overrides = section.settings.values["AllowOverride"]
        if overrides is _UNSET or overrides:
            access = _access_file(request, directory, overrides or frozenset())
            if access is None:
                if probes is not None:
                    probes += access_file_paths(request.config, directory)
            else:
                probes = None
                layers.append(access)
                options = options.merge(access.settings.values.get("Options", ()))
        while position < len(path) and path[position] == "/":
            position += 1
        if position >= len(path):
            if request.stat is None:
                request.stat = _stat_or_none(directory)
            return layers, None
        end = path.find("/", position)
        end = len(path) if end < 0 else end
        candidate = path[:end]
        info = _lstat(request, candidate)
        if info is None:  # no such file: no stat, the whole filename stays
            request.stat = None
            return layers, None
        if FOLLOW_SYMLINKS not in options or SYMLINKS_IF_OWNER_MATCH in options:
            probes = None
        if stat_module.S_ISLNK(info.st_mode):
            info = _follow(request, candidate, info, options)
        if stat_module.S_ISREG(info.st_mode):
            request.stat = info
            if end < len(path):
                request.filename, request.path_info = candidate, path[end:]
            return layers, probes
        if not stat_module.S_ISDIR(info.st_mode):
            text = f"Forbidden: {candidate} doesn't point to a file or directory"
            raise _forbidden(request, text, "AH00038")
        request.stat = info
        directory, position = candidate + "/", end


def _server_options(server: Settings) -> OptionsState:
    return resolve([line] for line in server.get("Options") or ())


def _stat_or_none(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _lstat(request: Request, path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        text = (
            f"access to {request.uri} denied (filesystem path '{path}') because search "
            "permissions are missing on a component of the path"
        )
        raise _forbidden(request, text, "AH00035") from None
    except OSError:
        text = f"access to {request.uri} failed (filesystem path '{path}')"
        raise _forbidden(request, text, "AH00036") from None


def _forbidden(request: Request, text: str, tag: str) -> HttpError:
    """Log at error level, as Apache's directory walk does, and return the 403 to raise."""
    request.log_error("error", "core", text, tag)
    return HttpError(403, close=False)


def _follow(
    request: Request,
    path: str,
    link: os.stat_result,
    options: OptionsState,
) -> os.stat_result:
    """resolve_symlink: FollowSymLinks follows any link whose target exists;
    SymLinksIfOwnerMatch only one owned by the link's owner (and it wins when both are on)."""
    target: os.stat_result | None = None
    if FOLLOW_SYMLINKS in options or SYMLINKS_IF_OWNER_MATCH in options:
        target = _stat_or_none(path)
        if target is not None and SYMLINKS_IF_OWNER_MATCH in options:
            target = target if target.st_uid == link.st_uid else None
    if target is None:
        text = f"Symbolic link not allowed or link target not accessible: {path}"
        raise _forbidden(request, text, "AH00037")
    return target


def _access_file(request: Request, directory: str, overrides: frozenset[str]) -> Section | None:
    try:
        parsed = read_access_file(request.config, directory, overrides)
    except HtaccessError as error:
        request.log_error(error.level, "core", error.message, error.tag)
        raise HttpError(error.status, close=False) from None
    if parsed is None:
        return None
    for warning in parsed.warnings:  # Apache logs these without the client (ap_log_perror)
        tag, _, text = warning.partition(": ")
        if request.error_log is not None:
            request.error_log.log("warn", "core", text, tag=tag)
    return parsed.section


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
        # Apache's default handler: no index and no autoindex is a 404 (AH00129).
        raise HttpError(
            404, f"Attempt to serve directory: {request.filename}", "AH00129", close=False
        )
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
    hooks.add(Phase.TRANSLATE_NAME, replayable(translate_name), Order.LAST)
    hooks.add(Phase.MAP_TO_STORAGE, replayable(map_to_storage), Order.LAST)
    hooks.add(Phase.HANDLER, replayable(default_handler), Order.LAST)
    hooks.add(Phase.OUTPUT_HEADERS, replayable(add_default_charset), Order.LAST)
