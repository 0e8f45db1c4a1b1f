"""The Module record: Apache's module structure, as this codebase declares it.

A module is a table plus hooks, like Apache's command_rec and register_hooks: its LoadModule name,
the source file `<IfModule>` also matches (mod_mime.c, event.c), its directive table, and optional
hooks, and the providers it declares (Apache's ap_register_provider: `Require ip`, `AuthBasicProvider
file`), which the configuration hands to the directive handlers of the loaded modules and the
HTTP layer looks up in ServerConfig. MPMs are modules too. Lives in config/ because the configuration is the first consumer of the
table; modules hand their tables to config, never the reverse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from pyhttpd.config.directives import ConfigCheck, DirectiveSpec, ProviderDeclaration, Scope


@dataclass(frozen=True)
class Module:
    """One module: names, directive table, hooks (`register_hooks` is used by the HTTP layer)
    and declared providers."""

    name: str
    source: str
    directives: tuple[DirectiveSpec, ...] = ()
    description: str = ""
    mpm: str | None = None  # "prefork", "worker" or "event" for an MPM module
    check_config_hook: Callable[[Scope], ConfigCheck] | None = None
    register_hooks: Callable[..., Any] | None = None
    providers: tuple[ProviderDeclaration, ...] = ()

    def __post_init__(self) -> None:
        stamped = tuple(replace(spec, module=self.source) for spec in self.directives)
        object.__setattr__(self, "directives", stamped)

    def check_config(self, settings: Scope) -> ConfigCheck:
        """Apache's check_config hook: corrections to settings and start-up warnings."""
        if self.check_config_hook is None:
            return ConfigCheck()
        return self.check_config_hook(settings)
