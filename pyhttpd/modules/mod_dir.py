"""dir_module (mod_dir.c): index files, the trailing-slash redirect and FallbackResource.

Directive table on top; the fixups hook that serves a directory's index or redirects `/dir` to
`/dir/` arrives with the HTTP layer. Runs only while a configuration is processed.
"""

from __future__ import annotations

from pyhttpd.config.directives import (
    OR_ALL,
    ArgShape,
    Command,
    DirectiveSpec,
    atoi,
    take_string,
)
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

DEFAULT_INDEX = ("index.html",)  # Apache's AP_DEFAULT_INDEX


def on_off(cmd: Command, on: bool) -> bool:
    """FLAG handler: the processor passes On/Off as a bool (directives.take_flag expects text)."""
    return on


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
        on_off,
        "On or Off",
        override="Indexes",
        default=True,
    ),
    DirectiveSpec(
        "DirectoryCheckHandler",
        ArgShape.FLAG,
        OR_ALL,
        on_off,
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

MODULE = Module(
    name="dir_module",
    source="mod_dir.c",
    directives=DIRECTIVES,
    description="directory index files, trailing-slash redirects and FallbackResource",
)
