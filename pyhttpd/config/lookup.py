"""Per request: choose the virtual host and merge the sections that apply, in Apache's order.

Virtual hosts: those whose address matches the connection's local address and port, then by Host
among their ServerName / ServerAlias; the first listed for the address is the default. Sections:
<Directory> (shortest path first), <DirectoryMatch>, <Files> and <FilesMatch> (also those nested
in a matching <Directory>), then <Location> and <LocationMatch>, then the <If> sections whose
condition holds (ap_if_walk); later values override earlier ones, APPEND settings accumulate.
Conditions are decided by a callable the caller passes (config/ knows no HTTP). Runs in the thread
serving the request; reads only the frozen ServerConfig.
"""

from __future__ import annotations

import fnmatch
import os
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pyhttpd.config.directives import DirectiveSpec, Merge
from pyhttpd.config.model import Section, ServerConfig, Settings, VirtualHost, freeze
from pyhttpd.memo import remember

_DIRECTORY = ("directory",)
_DIRECTORY_MATCH = ("directorymatch",)
_FILES = ("files", "filesmatch")
_LOCATION = ("location", "locationmatch")
_IF = ("if", "elseif", "else")


def select_vhost(
    config: ServerConfig, host: str | None, local_address: str, local_port: int
) -> VirtualHost | None:
    """Name-based selection among the vhosts listening on this address; None = main server."""
    candidates = [v for v in config.vhosts if _listens_on(v, local_address, local_port)]
    if not candidates:
        return None
    if host:
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        name = name.strip("[]").lower().rstrip(".")
        for vhost in candidates:
            names = [vhost.server_name or "", *vhost.settings.values.get("ServerAlias", ())]
            if any(fnmatch.fnmatchcase(name, pattern.lower()) for pattern in names if pattern):
                return vhost
    return candidates[0]


def _listens_on(vhost: VirtualHost, address: str, port: int) -> bool:
    for entry in vhost.addresses:
        host, _, port_text = entry.rpartition(":") if not entry.endswith("]") else (entry, "", "")
        host = host.strip("[]")
        if port_text not in ("", "*") and port_text.isdigit() and int(port_text) != port:
            continue
        if host in ("*", "_default_", "") or host == address:
            return True
    return False


def server_settings(config: ServerConfig, vhost: VirtualHost | None) -> Settings:
    """The vhost's settings over the main server's (Apache merges server configs this way)."""
    if vhost is None:
        return config.main
    return merge(config.main, [vhost.settings], config.directives)


@dataclass(frozen=True)
class SectionPool:
    """A server's sections (the main server's, then the vhost's) sorted by kind, in config order.

    Built once per (generation, vhost) by `section_pool`: every request walks these lists, and
    sorting them by kind each time was a tenth of sections_for's cost.
    """

    directories: tuple[Section, ...]  # <Directory>, plain and regex (~)
    directory_matches: tuple[Section, ...]
    files: tuple[Section, ...]
    locations: tuple[Section, ...]
    conditions: tuple[Section, ...]  # <If>, <ElseIf>, <Else>
    # plain (non-regex) <Directory> sections by the number of "/" in their path
    plain_by_depth: Mapping[int, tuple[Section, ...]]
    # the request path's memo of map_to_storage outcomes that depend on nothing but the
    # file and URL (see core_hooks.map_to_storage); filled by the threads serving requests
    walks: dict[Any, Any] = field(default_factory=dict, compare=False, hash=False)


def section_pool(config: ServerConfig, vhost: VirtualHost | None) -> SectionPool:
    """The SectionPool of a server, kept for as long as its generation's config lives."""
    pools = _POOLS.get(id(config))
    if pools is None or pools[0]() is not config:
        key = id(config)
        pools = _POOLS[key] = (weakref.ref(config, lambda _: _POOLS.pop(key, None)), {})
    found = pools[1].get(id(vhost))
    if found is not None:
        return found[0]
    pool = list(config.sections) + (list(vhost.sections) if vhost else [])

    def kind(names: tuple[str, ...]) -> tuple[Section, ...]:
        return tuple(s for s in pool if s.kind.lower() in names)

    by_depth: dict[int, list[Section]] = {}
    for section in kind(_DIRECTORY):
        if section.value.regex is None:
            by_depth.setdefault(section.value.pattern.count("/"), []).append(section)
    made = SectionPool(
        kind(_DIRECTORY),
        kind(_DIRECTORY_MATCH),
        kind(_FILES),
        kind(_LOCATION),
        kind(_IF),
        {depth: tuple(sections) for depth, sections in by_depth.items()},
    )
    pools[1][id(vhost)] = (made, vhost)  # the entry keeps its vhost (so its id) alive
    return made


# id(config) -> (weak reference to it, {id(vhost): (pool, vhost)})
_POOLS: dict[
    int,
    tuple[weakref.ref[ServerConfig], dict[int, tuple[SectionPool, VirtualHost | None]]],
] = {}


def sections_for(
    config: ServerConfig,
    vhost: VirtualHost | None,
    filename: str | None,
    uri: str,
    evaluate: Callable[[str], bool] | None = None,
) -> list[Section]:
    """The sections that apply to a file and URL, in Apache's merge order.

    `evaluate(expression_text) -> bool` decides <If> / <ElseIf> conditions for this request;
    without it, <If>, <ElseIf> and <Else> sections are left out.
    """
    pool = section_pool(config, vhost)
    found: list[Section] = []
    if filename is not None:
        directories = [s for s in pool.directories if _dir_matches(s, filename)]
        directories.sort(key=lambda s: s.value.pattern.count("/"))
        found += directories
        found += [s for s in pool.directory_matches if _regex(s, filename)]
        basename = os.path.basename(filename)
        files = [*pool.files, *_children(found, _FILES)]
        found += [s for s in files if _name_matches(s, basename)]
    found += [s for s in pool.locations if _location_matches(s, uri)]
    if evaluate is not None:
        found += if_walk([*pool.conditions, *_children(found, _IF)], evaluate)
    return found


def _children(sections: list[Section], kinds: tuple[str, ...]) -> list[Section]:
    return [child for s in sections for child in s.sections if child.kind.lower() in kinds]


def if_walk(level: list[Section], evaluate: Callable[[str], bool]) -> list[Section]:
    """ap_if_walk: <If>/<ElseIf>/<Else> chains in merge order, then the <If>s nested in those
    that applied, one level at a time. An <ElseIf>/<Else> is skipped once its chain matched."""
    applied: list[Section] = []
    while level:
        matched: list[Section] = []
        previous: bool | None = None
        for section in level:
            kind = section.kind.lower()
            if kind != "if" and previous:
                continue
            if kind == "else":
                previous = None
            else:
                previous = bool(evaluate(str(section.value)))
                if not previous:
                    continue
            matched.append(section)
        applied += matched
        level = [child for s in matched for child in s.sections if child.kind.lower() in _IF]
    return applied


def _dir_matches(section: Section, filename: str) -> bool:
    if section.value.regex is not None:
        return bool(section.value.regex.search(filename))
    pattern = section.value.pattern
    if pattern == "/":
        return True
    directory = filename if filename.endswith("/") else os.path.dirname(filename) + "/"
    prefix = directory[: len(pattern)]
    return (
        fnmatch.fnmatchcase(prefix, pattern)
        if any(c in pattern for c in "*?[")
        else (directory.startswith(pattern))
    )


def _regex(section: Section, text: str) -> bool:
    return section.value.regex is not None and bool(section.value.regex.search(text))


def _name_matches(section: Section, basename: str) -> bool:
    if section.value.regex is not None:
        return bool(section.value.regex.search(basename))
    return fnmatch.fnmatchcase(basename, section.value.pattern)


def _location_matches(section: Section, uri: str) -> bool:
    if section.value.regex is not None:
        return bool(section.value.regex.search(uri))
    pattern = section.value.pattern
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(uri, pattern)
    return uri == pattern or uri.startswith(pattern.rstrip("/") + "/") or pattern == "/"


def merge(
    base: Settings, layers: Iterable[Settings], table: Mapping[str, DirectiveSpec]
) -> Settings:
    """Merge settings layers over a base: REPLACE settings override, APPEND settings accumulate.

    Settings are frozen and a generation's sections are built once, so the same base and layers
    always merge alike: the result is remembered by the identity of its inputs (the entry keeps
    them alive, so an identity is never reused while it is a key). Most requests of a site walk
    the same few section lists, and the merge was a tenth of a static request's time.
    """
    layers = tuple(layers)
    key = (id(base), id(table), *map(id, layers))
    found = _MERGED.get(key)
    if found is not None:
        return found[0]
    appended = _appended(table)
    values: dict[str, Any] = dict(base.values)
    for layer in layers:
        for name, value in layer.values.items():
            values[name] = values.get(name, ()) + value if name in appended else value
    merged = freeze(values, base.defaults)
    # a generation's worth is far smaller than the limit; .htaccess layers are new each time
    remember(_MERGED, key, (merged, base, table, layers), MERGE_MEMO_SIZE)
    return merged


MERGE_MEMO_SIZE = 4096
_MERGED: dict[tuple[int, ...], tuple[Settings, Settings, object, tuple[Settings, ...]]] = {}
_APPENDED: dict[int, tuple[frozenset[str], object]] = {}


def _appended(table: Mapping[str, DirectiveSpec]) -> frozenset[str]:
    """The APPEND settings of a directive table (one table per generation)."""
    found = _APPENDED.get(id(table))
    if found is None:
        names = frozenset(spec.setting for spec in table.values() if spec.merge is Merge.APPEND)
        _APPENDED.clear()  # older generations' tables are done with
        found = _APPENDED[id(table)] = (names, table)
    return found[0]
