""".htaccess files: read, processed in the HTACCESS context under AllowOverride, and cached.

Apache's ap_parse_htaccess: the directory walk asks for one directory's access file with the
override classes its merged AllowOverride grants; the file is read with the same reader as
httpd.conf (so <IfModule> and friends work), then every directive must be allowed in .htaccess and
belong to a granted class, else the request fails with `<name> not allowed here` (an unknown one
with `Invalid command '...'`; a Require line whose provider is unknown or refuses its
arguments with the provider's message, as httpd.conf would at start-up), which the caller logs as `[core:alert] /path/.htaccess: reason` and
answers with 500. Results are cached by (path, mtime, size, inode, overrides) per generation.

Knows no HTTP: it returns a Section (kind "htaccess") or raises HtaccessError. Runs in the thread
serving a request.
"""

from __future__ import annotations

import errno
import os
import threading
from dataclasses import dataclass, field
from typing import Any

from pyhttpd.config.directives import Context, DirectiveSpec, ModuleDeclaration
from pyhttpd.config.model import Section, ServerConfig
from pyhttpd.config.nodes import Node
from pyhttpd.config.processor import Processor, ScopeBuilder
from pyhttpd.config.reader import READ_PHASE_DIRECTIVES, Reader
from pyhttpd.errors import ConfigError, DirectiveError
from pyhttpd.memo import remember

DEFAULT_ACCESS_FILE = ".htaccess"
KIND = "htaccess"
NONFATAL = "Nonfatal"
CACHE_LIMIT = 512
# Apache's spelling of the read-phase directives, none of which .htaccess may hold.
_READ_PHASE_NAMES = {
    name.lower(): name
    for name in ("Define", "UnDefine", "Include", "IncludeOptional", "LoadModule", "ServerRoot")
}


class HtaccessError(Exception):
    """An access file the request cannot get past: the status, log level, message and AH tag."""

    def __init__(self, status: int, level: str, message: str, tag: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.level = level
        self.message = message
        self.tag = tag


@dataclass(frozen=True)
class Parsed:
    """One access file's result: its section, plus AllowOverride Nonfatal warnings to log."""

    section: Section
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Catalog:
    """The reader's module catalogue for .htaccess: this generation's modules, nothing loadable."""

    modules: tuple[ModuleDeclaration, ...]

    def find(self, name: str) -> ModuleDeclaration | None:
        return None

    def static_modules(self) -> tuple[ModuleDeclaration, ...]:
        return self.modules


class _HtaccessReader(Reader):
    """The config reader, refusing the read-phase directives Apache does not allow in .htaccess."""

    def _run_read_phase(self, node: Node, depth: int) -> list[Node]:
        key = node.name.lower()
        if key in READ_PHASE_DIRECTIVES:
            name = _READ_PHASE_NAMES.get(key, node.name)
            raise ConfigError(f"{name} not allowed here", node.file, node.line, read_phase=True)
        return [node]


@dataclass
class _HtaccessProcessor(Processor):
    """The config processor in the HTACCESS context, with Apache's override check first."""

    overrides: frozenset[str] = frozenset()
    nonfatal: list[str] = field(default_factory=list)

    def _walk(
        self, nodes: tuple[Node, ...], scope: ScopeBuilder, context: Context, path: tuple[str, ...]
    ) -> None:
        super()._walk(nodes, scope, Context.HTACCESS, path)

    def _one(
        self, node: Node, scope: ScopeBuilder, context: Context, path: tuple[str, ...]
    ) -> None:
        spec = self.table.get(node.key)
        nonfatal = NONFATAL in self.overrides
        if spec is None and nonfatal:
            self.nonfatal.append(
                f"AH02296: Unknown directive {node.key} perhaps misspelled or defined by a module "
                "not included in the server configuration"
            )
            return
        if spec is not None and not granted(spec, self.overrides):
            if nonfatal:
                self.nonfatal.append(
                    f"AH02295: {spec.name} in .htaccess forbidden by AllowOverride"
                )
                return
            if path:  # invoke_cmd names the enclosing section, as written
                raise DirectiveError(f"{spec.name} not allowed in {path[-1]}> context")
            raise DirectiveError(f"{spec.name} not allowed here")
        super()._one(node, scope, context, path)


def granted(spec: DirectiveSpec, overrides: frozenset[str]) -> bool:
    """Apache's `parms->override & cmd->req_override`: the directive's class must be granted;
    a row open to every class (OR_ALL: no class named, or "All") needs any one of them."""
    if not spec.contexts & Context.HTACCESS:
        return False
    classes = overrides - {NONFATAL}
    if spec.override in ("", "All"):
        return bool(classes)
    return spec.override in classes


_cache: dict[tuple[Any, ...], tuple[ServerConfig, Parsed | HtaccessError]] = {}
_cache_lock = threading.Lock()


def access_file_paths(config: ServerConfig, directory: str) -> list[str]:
    """The access files looked for in `directory` (AccessFileName's names, in order)."""
    names = str(config.get("AccessFileName") or DEFAULT_ACCESS_FILE).split()
    return [os.path.join(directory, name) for name in names]


def read_access_file(
    config: ServerConfig, directory: str, overrides: frozenset[str]
) -> Parsed | None:
    """The parsed access file of `directory` (ending in '/'), or None when it has none.

    Raises HtaccessError: 500 for a file that does not parse or holds a directive AllowOverride
    does not grant, 403 for one that exists but cannot be read (Apache's AH00529).
    """
    for path in access_file_paths(config, directory):
        try:
            info = os.stat(path)
        except OSError as error:
            if error.errno in (errno.ENOENT, errno.ENOTDIR):
                continue
            raise _unreadable(path, directory) from None
        key = (path, info.st_mtime_ns, info.st_size, info.st_ino, overrides)
        with _cache_lock:
            cached = _cache.get(key)
        if cached is None or cached[0] is not config:
            result = _parse(config, path, overrides)
            with _cache_lock:
                remember(_cache, key, (config, result), CACHE_LIMIT)
        else:
            result = cached[1]
        if isinstance(result, HtaccessError):
            raise result
        return result
    return None


def _unreadable(path: str, directory: str) -> HtaccessError:
    return HtaccessError(
        403,
        "crit",
        f"{path} pcfg_openfile: unable to check htaccess file, ensure it is readable and that "
        f"'{directory}' is executable",
        "AH00529",
    )


def _parse(config: ServerConfig, path: str, overrides: frozenset[str]) -> Parsed | HtaccessError:
    reader = _HtaccessReader(
        server_root=config.server_root,
        catalog=_Catalog(tuple(module.declaration for module in config.modules)),
        defines=set(config.defines),
        variables=dict(config.variables),
    )
    processor = _HtaccessProcessor(
        config.directives, config.server_root, providers=config.providers, overrides=overrides
    )
    try:
        nodes = reader.read_file(path, depth=0, include_line=None)
        scope = ScopeBuilder(KIND, (), path, 0)
        processor._walk(tuple(nodes), scope, Context.HTACCESS, ())
    except ConfigError as error:
        if error.file is None and "Could not open" in error.reason:
            return _unreadable(path, os.path.dirname(path) + "/")
        return HtaccessError(500, "alert", f"{path}: {error.reason}")
    return Parsed(scope.freeze_section(config.main.defaults), tuple(processor.nonfatal))
