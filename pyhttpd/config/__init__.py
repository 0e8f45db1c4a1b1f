"""Configuration: httpd.conf text -> a frozen ServerConfig. The only entry point is `load`.

Apache's order: read the files (running the read-phase directives), check that exactly one MPM is
loaded, process the tree with the loaded modules' directive tables (their
declared providers at hand), run each module's check_config,
then freeze. Knows no sockets, processes or HTTP, and imports no module: the caller hands it a
catalogue of the modules pyhttpd can load.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from pyhttpd.config.directives import DirectiveSpec, provider_table
from pyhttpd.config.model import ServerConfig, Settings, freeze
from pyhttpd.config.processor import Processor
from pyhttpd.config.reader import LoadedModule, ModuleCatalog, Reader
from pyhttpd.errors import StartupError
from pyhttpd.version import PROGRAM

__all__ = ["ServerConfig", "Settings", "load", "directive_table", "mpm_of"]


def load(
    config_file: str,
    server_root: str,
    catalog: ModuleCatalog,
    defines: Iterable[str] = (),
    before: str = "",
    after: str = "",
    environment: Mapping[str, str] | None = None,
) -> ServerConfig:
    """Read, check and process a configuration; raise ConfigError or StartupError on failure."""
    reader = Reader(
        server_root=os.path.abspath(server_root),
        catalog=catalog,
        defines=set(defines),
        environment=dict(os.environ if environment is None else environment),
    )
    path = (
        config_file if os.path.isabs(config_file) else os.path.join(reader.server_root, config_file)
    )
    result = reader.read(path, before, after)
    mpm = mpm_of(result.modules)
    table = directive_table(result.modules)
    defaults = defaults_of(table)
    providers = provider_table([module.declaration for module in result.modules])
    processor = Processor(table, result.server_root, result.warnings, providers)
    main = processor.process(result.nodes)
    main.values.setdefault("ServerRoot", result.server_root)
    for module in result.modules:
        check = module.declaration.check_config(freeze(main.values, defaults))
        main.values.update(check.corrections)
        result.warnings.extend(check.warnings)
    return ServerConfig(
        config_file=path,
        server_root=result.server_root,
        defines=result.defines,
        variables=result.variables,
        modules=result.modules,
        mpm=mpm,
        main=freeze(main.values, defaults),
        sections=tuple(section.freeze_section(defaults) for section in main.sections),
        vhosts=tuple(vhost.freeze_vhost(defaults) for vhost in main.vhosts),
        directives=table,
        warnings=tuple(result.warnings),
        includes=result.includes,
        providers=providers,
    )


def mpm_of(modules: Iterable[LoadedModule]) -> str:
    """The one loaded MPM's name, or Apache's AH00534 when there are none or several."""
    mpms = [module.declaration.mpm for module in modules if module.declaration.mpm]
    if not mpms:
        raise StartupError(f"AH00534: {PROGRAM}: Configuration error: No MPM loaded.")
    if len(mpms) > 1:
        raise StartupError(f"AH00534: {PROGRAM}: Configuration error: More than one MPM loaded.")
    return str(mpms[0])


def directive_table(modules: Iterable[LoadedModule]) -> dict[str, DirectiveSpec]:
    """This generation's directive table: lower-case name (sections keep '<') -> row."""
    table: dict[str, DirectiveSpec] = {}
    for module in modules:
        for spec in module.declaration.directives:
            table.setdefault(spec.name.lower(), spec)
    return table


def defaults_of(table: Mapping[str, DirectiveSpec]) -> dict[str, Any]:
    return {spec.setting: spec.default for spec in table.values() if spec.default is not None}
