"""filter_module (mod_filter.c): smart filters chosen per response, and AddOutputFilterByType.

Directive table on top; the insert_filter hook that builds each response's chain, and the
harness that runs a smart filter's providers, arrive with the HTTP layer. Provider names and
match expressions are checked there, once the filters the loaded modules register are known
(Apache checks provider names while reading the configuration). Runs only while a
configuration is processed.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhttpd.config.directives import (
    CONF_ANYWHERE,
    OR_ALL,
    ArgShape,
    Command,
    DirectiveSpec,
    Merge,
    atoi,
)
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

FILTER_TYPES = ("RESOURCE", "CONTENT_SET", "PROTOCOL", "CONNECTION", "NETWORK")


@dataclass(frozen=True)
class FilterByType:
    """`AddOutputFilterByType DEFLATE;INCLUDES text/html text/plain`."""

    filters: tuple[str, ...]
    types: tuple[str, ...]


@dataclass(frozen=True)
class FilterDeclaration:
    name: str
    type: str = "RESOURCE"  # an unknown type leaves the default, as in Apache


@dataclass(frozen=True)
class FilterProvider:
    name: str
    provider: str
    expression: str


@dataclass(frozen=True)
class ChainStep:
    """One FilterChain word: action '+' (append), '@' (prepend), '-' (remove), '!' (clear),
    '=' (reset to this one); a bare name appends."""

    action: str
    name: str


def add_output_filter_by_type(cmd: Command, *words: str) -> FilterByType:
    if len(words) < 2:
        raise DirectiveError("AddOutputFilterByType requires at least two arguments")
    filters = tuple(name for name in words[0].split(";") if name)
    return FilterByType(filters, tuple(words[1:]))


def filter_declare(cmd: Command, name: str, place: str = "") -> FilterDeclaration:
    upper = place.upper()
    return FilterDeclaration(name, upper if upper in FILTER_TYPES else "RESOURCE")


def filter_provider(cmd: Command, name: str, provider: str, expression: str) -> FilterProvider:
    return FilterProvider(name, provider, expression)


def filter_chain(cmd: Command, word: str) -> ChainStep:
    if word[:1] in ("+", "@", "-", "!", "="):
        return ChainStep(word[0], word[1:])
    return ChainStep("+", word)


def filter_trace(cmd: Command, name: str, level: str) -> tuple[str, int]:
    return name, atoi(level)


def filter_protocol(cmd: Command, name: str, *rest: str) -> tuple[str, ...]:
    return (name, *rest)


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "FilterDeclare",
        ArgShape.TAKE12,
        OR_ALL,
        filter_declare,
        "filter-name [filter-type]",
        merge=Merge.APPEND,
        override="Options",
    ),
    DirectiveSpec(
        "FilterProvider",
        ArgShape.TAKE3,
        OR_ALL,
        filter_provider,
        "filter-name provider-name match-expression",
        merge=Merge.APPEND,
        override="Options",
    ),
    DirectiveSpec(
        "FilterChain",
        ArgShape.ITERATE,
        OR_ALL,
        filter_chain,
        "list of filter names with optional [+-=!@]",
        merge=Merge.APPEND,
        override="Options",
    ),
    DirectiveSpec(
        "FilterTrace",
        ArgShape.TAKE2,
        CONF_ANYWHERE,
        filter_trace,
        "filter-name debug-level",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "AddOutputFilterByType",
        ArgShape.TAKE_ARGV,
        OR_ALL,
        add_output_filter_by_type,
        "output filter name followed by one or more content-types",
        merge=Merge.APPEND,
        override="FileInfo",
    ),
    DirectiveSpec(
        "FilterProtocol",
        ArgShape.TAKE23,
        OR_ALL,
        filter_protocol,
        "filter-name [provider-name] protocol-args",
        merge=Merge.APPEND,
        override="Options",
    ),
)

MODULE = Module(
    name="filter_module",
    source="mod_filter.c",
    directives=DIRECTIVES,
    description="smart filters chosen per response, and AddOutputFilterByType",
)
