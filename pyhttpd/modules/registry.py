"""LoadModule name -> the pyhttpd file that implements it, and the modules compiled in.

Explicit table, resolved lazily, so a configuration imports only the modules it loads (uvicorn's
registry pattern). Adding a module edits this table and nothing else. MPMs are modules as in Apache;
they are listed by dotted path only, so this file imports no MPM.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from pyhttpd.config.module import Module

# Compiled-in modules (`pyhttpd -l`), in build order, always loaded.
STATIC_MODULES: dict[str, str] = {
    "core_module": "pyhttpd.modules.core",
    "so_module": "pyhttpd.modules.mod_so",
    "http_module": "pyhttpd.modules.http_core",
    "log_config_module": "pyhttpd.modules.mod_log_config",
    "version_module": "pyhttpd.modules.mod_version",
    "unixd_module": "pyhttpd.modules.mod_unixd",
}

# Modules a configuration may load with LoadModule NAME PATH.
SHARED_MODULES: dict[str, str] = {
    "mpm_prefork_module": "pyhttpd.mpm.prefork",
    "mpm_worker_module": "pyhttpd.mpm.worker",
    "mpm_event_module": "pyhttpd.mpm.event",
    "access_compat_module": "pyhttpd.modules.mod_access_compat",
    "alias_module": "pyhttpd.modules.mod_alias",
    "auth_basic_module": "pyhttpd.modules.mod_auth_basic",
    "authn_core_module": "pyhttpd.modules.mod_authn_core",
    "authn_file_module": "pyhttpd.modules.mod_authn_file",
    "authz_core_module": "pyhttpd.modules.mod_authz_core",
    "authz_host_module": "pyhttpd.modules.mod_authz_host",
    "authz_user_module": "pyhttpd.modules.mod_authz_user",
    "autoindex_module": "pyhttpd.modules.mod_autoindex",
    "cgi_module": "pyhttpd.modules.mod_cgi",
    "cgid_module": "pyhttpd.modules.mod_cgi:CGID_MODULE",
    "deflate_module": "pyhttpd.modules.mod_deflate",
    "dir_module": "pyhttpd.modules.mod_dir",
    "env_module": "pyhttpd.modules.mod_env",
    "expires_module": "pyhttpd.modules.mod_expires",
    "filter_module": "pyhttpd.modules.mod_filter",
    "headers_module": "pyhttpd.modules.mod_headers",
    "mime_module": "pyhttpd.modules.mod_mime",
    "proxy_module": "pyhttpd.modules.mod_proxy",
    "proxy_http_module": "pyhttpd.modules.mod_proxy_http",
    "remoteip_module": "pyhttpd.modules.mod_remoteip",
    "reqtimeout_module": "pyhttpd.modules.mod_reqtimeout",
    "setenvif_module": "pyhttpd.modules.mod_setenvif",
    "ssl_module": "pyhttpd.modules.mod_ssl",
    "status_module": "pyhttpd.modules.mod_status",
    "wsgi_module": "pyhttpd.modules.mod_wsgi",
}


@dataclass
class ModuleRegistry:
    """The catalogue handed to `config.load`: finds modules by name, imports them on first use."""

    static: dict[str, str] = field(default_factory=lambda: dict(STATIC_MODULES))
    shared: dict[str, str] = field(default_factory=lambda: dict(SHARED_MODULES))

    def find(self, name: str) -> Module | None:
        path = self.shared.get(name) or self.static.get(name)
        return _import(path) if path else None

    def static_modules(self) -> tuple[Module, ...]:
        return tuple(_import(path) for path in self.static.values())

    def shared_modules(self) -> tuple[Module, ...]:
        """Every loadable module once (a second name such as cgid_module is left out)."""
        return tuple(_import(path) for path in self.shared.values() if ":" not in path)


def _import(dotted: str) -> Module:
    """`package.module` (its MODULE) or `package.module:NAME` (a second name, such as cgid)."""
    path, _, attribute = dotted.partition(":")
    module = getattr(importlib.import_module(path), attribute or "MODULE")
    assert isinstance(module, Module), dotted
    return module


def default_registry() -> ModuleRegistry:
    return ModuleRegistry()
