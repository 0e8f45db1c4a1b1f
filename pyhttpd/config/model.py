"""The frozen result of loading a configuration: one generation's ServerConfig.

Immutable by design: a restart or graceful builds a new one, and a build that fails leaves the
running generation's ServerConfig untouched. Knows no sockets, processes or HTTP.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, TypeVar

from pyhttpd.config.directives import DirectiveSpec, ProviderDeclaration
from pyhttpd.config.nodes import IncludedFile
from pyhttpd.config.reader import LoadedModule

T = TypeVar("T")
_MISSING = object()


@dataclass(frozen=True)
class Settings(Mapping[str, Any]):
    """Setting key -> value, read-only; `get` falls back to the directive table's default."""

    values: Mapping[str, Any]
    defaults: Mapping[str, Any] = field(default_factory=dict, repr=False)
    # What `derived` computed from these settings, by the function that computed it.
    _derived: dict[Callable[[Settings], Any], Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __getitem__(self, key: str) -> Any:
        if key in self.values:
            return self.values[key]
        return self.defaults[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __contains__(self, key: object) -> bool:
        return key in self.values

    def get(self, key: str, default: Any = None) -> Any:
        value = self.values.get(key, _MISSING)
        if value is _MISSING:
            return self.defaults.get(key, default)
        return value

    def is_set(self, key: str) -> bool:
        """True when the directive was written, not just defaulted."""
        return key in self.values

    def derived(self, build: Callable[[Settings], T]) -> T:
        """`build(self)`, computed once: settings never change, so a table a hook derives from
        them (mod_mime's extensions, the output filters by type) is built once per merged
        Settings instead of once per request. Two threads may both build it; either wins."""
        try:
            return self._derived[build]  # type: ignore[no-any-return]
        except KeyError:
            value = self._derived[build] = build(self)
            return value


@dataclass(frozen=True)
class Section:
    """A `<Directory>`, `<Location>`, `<Files>`, `<If>`… section with its settings and subsections.

    `value` is what the section's handler returned (for instance a compiled pattern); the HTTP layer
    merges sections in Apache's order at request time.
    """

    kind: str
    args: tuple[str, ...]
    file: str
    line: int
    value: Any
    settings: Settings
    sections: tuple[Section, ...] = ()


@dataclass(frozen=True)
class VirtualHost:
    """A `<VirtualHost addr[:port] ...>` with its own settings, inheriting the main server's."""

    addresses: tuple[str, ...]
    file: str
    line: int
    settings: Settings
    sections: tuple[Section, ...] = ()

    @property
    def server_name(self) -> str | None:
        name = self.settings.values.get("ServerName")
        return name if isinstance(name, str) else None


@dataclass(frozen=True)
class ServerConfig:
    """Everything one generation needs, frozen: modules, the MPM, main settings, vhosts, sections."""

    config_file: str
    server_root: str
    defines: frozenset[str]
    variables: Mapping[str, str]
    modules: tuple[LoadedModule, ...]
    mpm: str
    main: Settings
    sections: tuple[Section, ...]
    vhosts: tuple[VirtualHost, ...]
    directives: Mapping[str, DirectiveSpec]
    warnings: tuple[str, ...] = ()
    includes: IncludedFile | None = None
    providers: Mapping[tuple[str, str], ProviderDeclaration] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """A main-server setting, or the directive's default."""
        return self.main.get(key, default)

    def module_loaded(self, name: str) -> bool:
        return name in self._module_names

    @cached_property
    def _module_names(self) -> frozenset[str]:
        # module_loaded is asked several times a request (filters, authn, access_compat)
        return frozenset(module.name for module in self.modules)

    def provider(self, group: str, name: str) -> Any:
        """A loaded module's declared provider in `group` by name, or None (ap_lookup_provider)."""
        return self.providers.get((group, name))


def freeze(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> Settings:
    return Settings(MappingProxyType(dict(values)), defaults)
