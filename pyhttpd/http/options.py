"""The effective `Options` of a request: OptionsLine records resolved as Apache's core merges them.

Apache keeps three sets per configuration section (core.c's opts, opts_add, opts_remove). Within
one section, an absolute line (`Options Indexes`) resets the options to exactly its words; a
relative line (`Options +Indexes -ExecCGI`) adds to or removes from them and is remembered in the
add / remove sets. When sections merge (request.c's core_opts_merge, core.c's merge), a section
with an absolute line replaces everything before it, and a section with only relative lines
applies its accumulated adds and removes to the inherited options. With no Options directive at
all, the server's default is FollowSymLinks (Apache 2.4).

Pure functions over OptionsLine records (pyhttpd.modules.core_values); no I/O. Used by the
directory walk (symlink rules) and by handlers that ask whether Indexes or MultiViews is on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

FOLLOW_SYMLINKS = "FollowSymLinks"
SYMLINKS_IF_OWNER_MATCH = "SymLinksIfOwnerMatch"
INDEXES = "Indexes"
MULTIVIEWS = "MultiViews"
EXEC_CGI = "ExecCGI"

DEFAULT_OPTIONS: frozenset[str] = frozenset({FOLLOW_SYMLINKS})


class OptionsLineLike(Protocol):
    """What the resolver reads of a core_values.OptionsLine (kept structural: no module import)."""

    @property
    def add(self) -> frozenset[str]: ...

    @property
    def remove(self) -> frozenset[str]: ...

    @property
    def relative(self) -> bool: ...


@dataclass(frozen=True)
class OptionsState:
    """The options in force, plus the adds and removes still to be applied by relative sections."""

    options: frozenset[str] = DEFAULT_OPTIONS
    added: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()

    def __contains__(self, name: object) -> bool:
        return name in self.options

    def merge(self, lines: Sequence[OptionsLineLike]) -> OptionsState:
        """Merge one section's Options lines over this state (core_opts_merge)."""
        if not lines:
            return self
        explicit, options, added, removed = section_options(lines)
        if explicit:
            return OptionsState(options, added, removed)
        added_all = (self.added - removed) | added
        removed_all = (self.removed - added) | removed
        return OptionsState((self.options - removed_all) | added_all, added_all, removed_all)


def section_options(
    lines: Sequence[OptionsLineLike],
) -> tuple[bool, frozenset[str], frozenset[str], frozenset[str]]:
    """Apache's set_options run over one section's lines, in order.

    Returns (explicit, options, added, removed): `explicit` is False while the section has only
    relative lines (Apache's OPT_UNSET), in which case only `added` and `removed` matter.
    """
    explicit = False
    options: set[str] = set()
    added: set[str] = set()
    removed: set[str] = set()
    for line in lines:
        if not line.relative:
            explicit = True
            options = set(line.add)
            continue
        for name in line.remove:
            removed.add(name)
            added.discard(name)
            options.discard(name)
        for name in line.add:
            added.add(name)
            removed.discard(name)
            options.add(name)
    return explicit, frozenset(options), frozenset(added), frozenset(removed)


def resolve(
    layers: Iterable[Sequence[OptionsLineLike]], base: OptionsState | None = None
) -> OptionsState:
    """Merge the Options lines of each section, in Apache's merge order, over the default."""
    state = base if base is not None else OptionsState()
    for lines in layers:
        state = state.merge(lines)
    return state


def effective_options(per_dir: Mapping[str, Any]) -> frozenset[str]:
    """The options in force for merged per-dir settings whose "Options" holds every line in order.

    The merged settings no longer know where one section ended and the next began, so each line
    counts as its own section. That differs from Apache only when a relative line precedes an
    absolute one inside a single section and a later section is relative (a rare corner).
    """
    lines = per_dir.get("Options") or ()
    return resolve([line] for line in lines).options
