"""mime_module (mod_mime.c): file extensions -> content type, charset, encoding, language, handler
and filters; the TypesConfig table; MultiviewsMatch.

Directive table on top. The type_checker hook that reads TypesConfig and applies these mappings
arrives with the HTTP layer. ForceType and SetHandler live in core.py, as in Apache 2.4's core.c.
Never knows sockets or other modules. Runs only while a configuration is processed.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhttpd.config.directives import (
    OR_ALL,
    RSRC_CONF,
    ArgShape,
    Command,
    DirectiveSpec,
    Merge,
    take_string,
)
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

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

MODULE = Module(
    name="mime_module",
    source="mod_mime.c",
    directives=DIRECTIVES,
    description="content type, charset, encoding, language and handler from file extensions",
)
