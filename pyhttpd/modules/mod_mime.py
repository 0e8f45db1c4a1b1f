"""mime_module (mod_mime.c): file extensions -> content type, charset, encoding, language, handler
and filters; the TypesConfig table; MultiviewsMatch.

Directive table on top; hooks at the bottom. register reads TypesConfig once per generation (a
missing file fails the start, AH01597). The type_checker hook (find_ct) looks at every extension
of the file name after the first dot, left to right: mime.types then AddType give the type,
AddCharset the charset parameter, AddEncoding Content-Encoding (accumulating), AddLanguage
Content-Language, AddHandler the handler; Remove* drop inherited mappings. ForceType and SetHandler
are core directives (core.c's core_override_type, a fixups hook run first); pyhttpd applies them
here, as a fixups hook, so they need mod_mime loaded. Never knows sockets or other modules.
Directive handlers run while a configuration is processed; hooks in the thread serving a request.
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyhttpd.config.directives import (
    OR_ALL,
    RSRC_CONF,
    ArgShape,
    Command,
    DirectiveSpec,
    Merge,
    take_string,
)
from pyhttpd.config.lookup import sections_for
from pyhttpd.config.model import Settings
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError, StartupError
from pyhttpd.http.filters import OUTPUT_FILTERS_NOTE
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable
from pyhttpd.http.request import Request

TYPES_CONFIG = "conf/mime.types"  # Apache's AP_TYPES_CONFIG_FILE, relative to ServerRoot


@dataclass(frozen=True)
class ExtensionMapping:
    """`AddType text/html html`: one extension (lower case, no leading dot) and its value."""

    value: str
    extension: str


def _extension(word: str) -> str:
    return (word[1:] if word.startswith(".") else word).lower()


def add_mapping(cmd: Command, value: str, extension: str) -> ExtensionMapping:
    """AddType, AddCharset, AddEncoding, AddLanguage, AddHandler, Add*Filter (ITERATE2)."""
    return ExtensionMapping(value.lower(), _extension(extension))


def remove_mapping(cmd: Command, extension: str) -> str:
    """RemoveType, RemoveHandler, ... (ITERATE): the extension whose inherited mapping goes."""
    return _extension(extension)


def types_config(cmd: Command, path: str) -> str:
    return cmd.server_path(path)


_MULTIVIEWS = {
    "any": "Any",
    "negotiatedonly": "NegotiatedOnly",
    "filters": "Filters",
    "handlers": "Handlers",
}
_ANY_CONFLICT = "Any is incompatible with NegotiatedOnly, Filters and Handlers"


def multiviews_match(cmd: Command, word: str) -> str:
    """One MultiviewsMatch keyword, checked against the ones set earlier in this scope and line."""
    option = _MULTIVIEWS.get(word.lower())
    if option is None:
        raise DirectiveError("Unrecognized option")
    line = [w.lower() for w in cmd.node.args]
    earlier_in_line = line[: line.index(word.lower())] if word.lower() in line else []
    seen = set(cmd.scope.get("MultiviewsMatch", ()))
    seen |= {_MULTIVIEWS[w] for w in earlier_in_line if w in _MULTIVIEWS}
    if option in ("Any", "NegotiatedOnly"):
        # Apache prints the same sentence for both (mod_mime.c's own wording).
        if seen - {option}:
            raise DirectiveError(_ANY_CONFLICT)
    elif seen & {"Any", "NegotiatedOnly"}:
        raise DirectiveError(f"{option} is incompatible with Any and NegotiatedOnly")
    return option


def _add(name: str, help: str) -> DirectiveSpec:
    return DirectiveSpec(
        name, ArgShape.ITERATE2, OR_ALL, add_mapping, help, merge=Merge.APPEND, override="FileInfo"
    )


def _remove(name: str) -> DirectiveSpec:
    return DirectiveSpec(
        name,
        ArgShape.ITERATE,
        OR_ALL,
        remove_mapping,
        "one or more file extensions",
        merge=Merge.APPEND,
        override="FileInfo",
    )


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    _add("AddCharset", "a charset (e.g., iso-2022-jp), followed by one or more file extensions"),
    _add("AddEncoding", "an encoding (e.g., gzip), followed by one or more file extensions"),
    _add("AddHandler", "a handler name followed by one or more file extensions"),
    _add(
        "AddInputFilter",
        "input filter name (or ; delimited names) followed by one or more file extensions",
    ),
    _add("AddLanguage", "a language (e.g., fr), followed by one or more file extensions"),
    _add(
        "AddOutputFilter",
        "output filter name (or ; delimited names) followed by one or more file extensions",
    ),
    _add("AddType", "a mime type followed by one or more file extensions"),
    DirectiveSpec(
        "DefaultLanguage",
        ArgShape.TAKE1,
        OR_ALL,
        take_string,
        "language to use for documents with no other language file extension",
        override="FileInfo",
    ),
    DirectiveSpec(
        "MultiviewsMatch",
        ArgShape.ITERATE,
        OR_ALL,
        multiviews_match,
        "NegotiatedOnly (default), Handlers and/or Filters, or Any",
        merge=Merge.APPEND,
        override="FileInfo",
    ),
    _remove("RemoveCharset"),
    _remove("RemoveEncoding"),
    _remove("RemoveHandler"),
    _remove("RemoveInputFilter"),
    _remove("RemoveLanguage"),
    _remove("RemoveOutputFilter"),
    _remove("RemoveType"),
    DirectiveSpec(
        "TypesConfig",
        ArgShape.TAKE1,
        RSRC_CONF,
        types_config,
        "the MIME types config file",
        default=TYPES_CONFIG,
    ),
)

# --- hooks ---------------------------------------------------------------------------------

DIR_MAGIC_TYPE = "httpd/unix-directory"
_ADDS = {
    "AddType": "type",
    "AddCharset": "charset",
    "AddEncoding": "encoding",
    "AddLanguage": "language",
    "AddHandler": "handler",
    "AddInputFilter": "input_filters",
    "AddOutputFilter": "output_filters",
}
_REMOVES = {"Remove" + name[3:]: field for name, field in _ADDS.items()}
Table = dict[str, dict[str, str | None]]  # extension -> field -> value (None: removed)


def read_types(path: str) -> dict[str, str]:
    """mime_post_config: `type ext ext ...` lines; '#' starts a comment line; later lines win."""
    table: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="surrogateescape") as handle:
        for line in handle:
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            for extension in words[1:]:
                table[extension.lower()] = words[0]
    return table


def _apply_layer(table: Table, values: Mapping[str, Any]) -> None:
    """merge_mime_dir_configs for one layer: overlay its Add* mappings, then apply its Remove*."""
    for key, field in _ADDS.items():
        for mapping in values.get(key) or ():
            table.setdefault(mapping.extension, {})[field] = mapping.value
    for key, field in _REMOVES.items():
        for extension in values.get(key) or ():
            table.setdefault(extension, {})[field] = None


def _merged_table(per_dir: Settings) -> Table | None:
    """The table of merged per-dir settings; None when a Remove* makes it depend on layers."""
    if any(per_dir.get(key) for key in _REMOVES):
        return None
    table: Table = {}
    _apply_layer(table, per_dir)
    return table


def extension_table(request: Request) -> Table:
    """The mappings in force for the request's file, merged layer by layer as Apache does.

    Without any Remove* directive the merged per-dir settings are enough (and the table is built
    once per merged Settings: -25 calls a request); with one, the layers (server, then each
    section in merge order) are replayed so that a removal only affects what its own and
    enclosing sections added. Callers must not change the table.
    """
    table = request.per_dir.derived(_merged_table)
    if table is not None:
        return table
    table = {}
    _apply_layer(table, request.server)
    sections = sections_for(request.config, request.vhost, request.filename, request.uri)
    for section in sections:
        _apply_layer(table, section.settings.values)
    return table


def content_type_with(content_type: str, charset: str | None) -> str:
    """find_ct's rebuild: `type/subtype` then each parameter, charset replaced by AddCharset's."""
    base, *params = [part.strip() for part in content_type.split(";")]
    if "/" not in base:
        return content_type
    result, replaced = base, False
    for param in params:
        attr, _, value = param.partition("=")
        if charset and attr.strip() == "charset":
            if not replaced:
                result, replaced = f"{result}; charset={charset}", True
        elif param:
            result = f"{result}; {attr.strip()}={value.strip()}"
    return f"{result}; charset={charset}" if charset and not replaced else result


def register(hooks: Hooks, context: HookContext) -> None:
    config = context.config
    path = str(config.get("TypesConfig") or TYPES_CONFIG)
    path = path if os.path.isabs(path) else os.path.join(config.server_root, path)
    try:
        types = read_types(path)
    except OSError as error:
        context.error_log.log(
            "error",
            "mime",
            f"({error.errno}){error.strerror}: AH01597: could not open mime types config file "
            f"{path}.",
        )
        raise StartupError("AH00016: Configuration Failed") from None

    def find_ct(request: Request) -> int:
        if request.stat is not None and stat_module.S_ISDIR(request.stat.st_mode):
            request.content_type = DIR_MAGIC_TYPE
            return OK
        if request.filename is None:
            return DECLINED
        table = extension_table(request)
        content_type = charset = encoding = None
        languages: list[str] = []
        output_filters: list[str] = []
        for extension in os.path.basename(request.filename).split(".")[1:]:
            if not extension:
                continue
            extension = extension.lower()
            info = table.get(extension, {})
            if "type" not in info:  # RemoveType hides the TypesConfig entry too
                content_type = types.get(extension) or content_type
            content_type = info.get("type") or content_type
            charset = info.get("charset") or charset
            if info.get("language"):
                languages.append(str(info["language"]))
            if info.get("encoding"):
                encoding = f"{encoding}, {info['encoding']}" if encoding else info["encoding"]
            if info.get("handler"):
                request.handler = info["handler"]
            if info.get("output_filters"):
                output_filters.append(str(info["output_filters"]))
        if content_type:
            request.content_type = content_type_with(content_type, charset)
        if not languages and request.per_dir.get("DefaultLanguage"):
            languages = [str(request.per_dir.get("DefaultLanguage"))]
        if encoding:
            request.headers_out.set("Content-Encoding", encoding)
        if languages:
            request.headers_out.set("Content-Language", ",".join(languages))
        if output_filters:
            request.notes[OUTPUT_FILTERS_NOTE] = tuple(output_filters)
        return OK if request.content_type else DECLINED

    hooks.add(Phase.TYPE_CHECKER, replayable(find_ct))
    hooks.add(Phase.FIXUPS, replayable(override_type), Order.FIRST)


def override_type(request: Request) -> int:
    """core_override_type: ForceType and SetHandler win over what the extensions said."""
    forced = str(request.per_dir.get("ForceType") or "").lower()
    if forced and forced != "none":
        request.content_type = forced
    handler = str(request.per_dir.get("SetHandler") or "").lower()
    if handler and handler != "none":
        request.handler = handler
    return OK


MODULE = Module(
    name="mime_module",
    source="mod_mime.c",
    directives=DIRECTIVES,
    description="content type, charset, encoding, language and handler from file extensions",
    register_hooks=register,
)
