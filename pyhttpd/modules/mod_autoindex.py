"""autoindex_module (mod_autoindex.c): generated directory listings and how they look.

Directive table on top; the handler at the bottom lists a directory (handler httpd/unix-directory)
when Options Indexes is in force, else answers 403 (AH01276): a plain list, FancyIndexing's <pre>
columns or HTMLTable's table, sorted by ?C=N|M|S|D;O=A|D, with icons, alt texts, descriptions,
IndexIgnore, HeaderName / ReadmeName and the server signature, byte for byte as Apache 2.4 writes
them. IndexOptions lines are kept as parsed keyword lists, one per line, and merged at request
time layer by layer (autoindex_rules.py), as Apache merges +/- increments with the enclosing
directories'; the page itself is autoindex_page.py. Directive handlers run while a configuration
is processed; the handler in the thread serving a request.
"""

from __future__ import annotations

import stat as stat_module
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from pyhttpd.config.directives import (
    OR_ALL,
    ArgShape,
    Command,
    DirectiveSpec,
    Handler,
    Merge,
    take_flag,
    take_string,
)
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError, HttpError
from pyhttpd.http.files import etag_for
from pyhttpd.http.generation import server_token
from pyhttpd.http.options import INDEXES, resolve
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Phase, replayable
from pyhttpd.http.request import Request
from pyhttpd.modules.autoindex_page import Listing
from pyhttpd.modules.autoindex_rules import DIR_MAGIC_TYPE, scopes_of

# IndexOptions keywords without a value (Apache 2.4), canonical spelling.
FLAGS = tuple(
    "AddAltClass FancyIndexing FoldersFirst HTMLTable IconsAreLinks IgnoreCase IgnoreClient "
    "ScanHTMLTitles ShowForbidden SuppressColumnSorting SuppressDescription SuppressHTMLPreamble "
    "SuppressIcon SuppressLastModified SuppressRules SuppressSize TrackModified UseOldDateFormat "
    "VersionSort XHTML".split()
)
_FLAGS = {name.lower(): name for name in FLAGS}


@dataclass(frozen=True)
class IndexOption:
    """One IndexOptions keyword: action "" (set), "+" or "-", and a value for `Name=value`."""

    action: str
    name: str
    value: str | None = None


@dataclass(frozen=True)
class IndexItem:
    """AddIcon*, AddAlt*, AddDescription: what to show (`data`) for a file, type or encoding."""

    data: str
    pattern: str


def _width(action: str, name: str, value: str, minimum: int) -> IndexOption:
    if action == "-":
        raise DirectiveError(f"Cannot combine '-' with {name}=n")
    if value.startswith("*"):
        return IndexOption(action, name, "*")
    width = int(value) if value.isdigit() else 0
    if width and width < minimum:
        raise DirectiveError(f"{name} value must be greater than {minimum}")
    return IndexOption(action, name, str(width))


def _option(action: str, word: str) -> IndexOption:
    """One keyword, with add_opts' checks in Apache's order."""
    lowered = word.lower()
    if lowered in _FLAGS:
        return IndexOption(action, _FLAGS[lowered])
    if lowered == "none":
        if action:
            raise DirectiveError("Cannot combine '+' or '-' with 'None' keyword")
        return IndexOption("", "None")
    for name in ("IconWidth", "IconHeight"):
        if lowered == name.lower():
            return IndexOption(action, name)
        if lowered.startswith(name.lower() + "="):
            if action == "-":
                raise DirectiveError(f"Cannot combine '-' with {name}=n")
            return IndexOption(action, name, word[len(name) + 1 :])
    for name, minimum in (("NameWidth", 5), ("DescriptionWidth", 12)):
        if lowered == name.lower():
            if action != "-":
                raise DirectiveError(f"{name} with no value may only appear as '-{name}'")
            return IndexOption(action, name)
        if lowered.startswith(name.lower() + "="):
            return _width(action, name, word[len(name) + 1 :], minimum)
    for name in ("Charset", "Type"):
        if lowered.startswith(name.lower() + "="):
            if action:
                raise DirectiveError(f"Cannot combine '+' or '-' with {name} keyword")
            return IndexOption(action, name, word[len(name) + 1 :])
    raise DirectiveError("Invalid directory indexing option")


def _settles_to_none(lines: list[tuple[IndexOption, ...]]) -> bool:
    """Apache's final check: after this scope's lines, is 'None' set together with other flags?"""
    flags: set[str] = set()
    for line in lines:
        for option in line:
            if option.name == "None":
                flags = {"None"}
            elif option.action == "" and option.name in _FLAGS.values():
                flags.add(option.name)
    return "None" in flags and len(flags) > 1


def index_options(cmd: Command, raw: str) -> tuple[IndexOption, ...]:
    options: list[IndexOption] = []
    for word in split_words(raw):
        action = word[0] if word[:1] in ("+", "-") else ""
        options.append(_option(action, word[len(action) :]))
    line = tuple(options)
    if _settles_to_none([*cmd.scope.get("IndexOptions", ()), line]):
        raise DirectiveError("Cannot combine other IndexOptions keywords with 'None'")
    return line


def index_order_default(cmd: Command, direction: str, key: str) -> tuple[str, str]:
    directions = {"ascending": "Ascending", "descending": "Descending"}
    keys = {"name": "Name", "date": "Date", "size": "Size", "description": "Description"}
    if direction.lower() not in directions:
        raise DirectiveError("First keyword must be 'Ascending' or 'Descending'")
    if key.lower() not in keys:
        raise DirectiveError("Second keyword must be 'Name', 'Date', 'Size', or 'Description'")
    return directions[direction.lower()], keys[key.lower()]


def index_item(cmd: Command, data: str, pattern: str) -> IndexItem:
    return IndexItem(data, pattern)


def fancy_indexing(cmd: Command, raw: str) -> None:
    """Apache's ap_set_deprecated: the help text is the error."""
    raise DirectiveError(
        "The FancyIndexing directive is no longer supported. Use IndexOptions FancyIndexing."
    )


def _one(name: str, shape: ArgShape, handler: Handler, help: str, **kw: Any) -> DirectiveSpec:
    return DirectiveSpec(name, shape, OR_ALL, handler, help, override="Indexes", **kw)


def _list(name: str, shape: ArgShape, handler: Handler, help: str) -> DirectiveSpec:
    return _one(name, shape, handler, help, merge=Merge.APPEND)


I2 = ArgShape.ITERATE2

DIRECTIVES: tuple[DirectiveSpec, ...] = (
    _list("AddIcon", I2, index_item, "an icon URL followed by one or more filenames"),
    _list("AddIconByType", I2, index_item, "an icon URL followed by one or more MIME types"),
    _list(
        "AddIconByEncoding",
        I2,
        index_item,
        "an icon URL followed by one or more content encodings",
    ),
    _list("AddAlt", I2, index_item, "alternate descriptive text followed by one or more filenames"),
    _list(
        "AddAltByType",
        I2,
        index_item,
        "alternate descriptive text followed by one or more MIME types",
    ),
    _list(
        "AddAltByEncoding",
        I2,
        index_item,
        "alternate descriptive text followed by one or more content encodings",
    ),
    _list("IndexOptions", ArgShape.RAW_ARGS, index_options, "one or more index options [+|-][]"),
    _one(
        "IndexOrderDefault",
        ArgShape.TAKE2,
        index_order_default,
        "{Ascending,Descending} {Name,Size,Description,Date}",
        default=("Ascending", "Name"),
    ),
    _list("IndexIgnore", ArgShape.ITERATE, take_string, "one or more file extensions"),
    _one(
        "IndexIgnoreReset",
        ArgShape.FLAG,
        take_flag,
        "Reset the inherited list of IndexIgnore filenames",
        default=False,
    ),
    _list("AddDescription", I2, index_item, "Descriptive text followed by one or more filenames"),
    _one("HeaderName", ArgShape.TAKE1, take_string, "a filename"),
    _one("ReadmeName", ArgShape.TAKE1, take_string, "a filename"),
    DirectiveSpec(
        "FancyIndexing",
        ArgShape.RAW_ARGS,
        OR_ALL,
        fancy_indexing,
        "The FancyIndexing directive is no longer supported. Use IndexOptions FancyIndexing.",
        override="All",
    ),
    _one("DefaultIcon", ArgShape.TAKE1, take_string, "an icon URL"),
    _one("IndexStyleSheet", ArgShape.TAKE1, take_string, "URL to style sheet"),
    _one("IndexHeadInsert", ArgShape.TAKE1, take_string, "String to insert in HTML HEAD section"),
)

# --- hooks ---------------------------------------------------------------------------------


def register(hooks: Hooks, context: HookContext) -> None:
    banner = server_token(str(context.config.get("ServerTokens")))

    def handle_autoindex(request: Request) -> int:
        handler = request.handler or (request.content_type or "").split(";")[0].strip()
        if (handler or "default-handler") not in (DIR_MAGIC_TYPE, "default-handler"):
            return DECLINED
        if request.stat is None or not stat_module.S_ISDIR(request.stat.st_mode):
            return DECLINED
        if request.method not in ("GET", "HEAD"):
            return DECLINED
        scopes = scopes_of(request)
        if INDEXES not in resolve(scope.get("Options", ()) for scope in scopes).options:
            names = request.notes.get("dir-index-names") or "none"
            request.log_error(
                "error",
                "autoindex",
                f"Cannot serve directory {request.filename}: No matching DirectoryIndex ({names}) "
                "found, and server-generated directory index forbidden by Options directive",
                "AH01276",
            )
            raise HttpError(403, close=False)
        if not (request.filename or "").endswith("/"):
            request.filename = (request.filename or "") + "/"
        listing = Listing(request, banner)
        look = listing.look
        charset = "ISO-8859-1" if look.charset is None else look.charset
        request.content_type = look.ctype + (f";charset={charset}" if charset else "")
        if "TrackModified" in look.flags:
            request.headers_out.set("Last-Modified", formatdate(request.stat.st_mtime, usegmt=True))
            request.headers_out.set("ETag", etag_for(request.stat))
        request.status = 200
        request.body = listing.page().encode("utf-8", "surrogateescape")
        return OK

    hooks.add(Phase.HANDLER, replayable(handle_autoindex))  # a listing is never replayed


MODULE = Module(
    name="autoindex_module",
    source="mod_autoindex.c",
    directives=DIRECTIVES,
    description="generated directory listings: IndexOptions, icons, descriptions, ignores",
    register_hooks=register,
)
