"""The texts `pyhttpd -v -V -l -L -M -S -t -D DUMP_INCLUDES` print, in Apache's layouts.

Pure formatting over a ServerConfig (or the module registry when no config is read); returns
lines, prints nothing. The layouts are Apache 2.4's, so scripts that parse `apache2 -V` or `-S`
(a2query among them) read ours unchanged.
"""

from __future__ import annotations

import grp
import os
import platform
import pwd
from collections.abc import Callable, Iterable

from pyhttpd.config import ServerConfig
from pyhttpd.config.directives import Context, DirectiveSpec
from pyhttpd.config.module import Module
from pyhttpd.config.nodes import IncludedFile
from pyhttpd.version import PROGRAM, SERVER_BUILT, SERVER_VERSION

DEFAULT_CONFIG_FILE = "conf/httpd.conf"
DEFAULT_PIDLOG = "logs/httpd.pid"
DEFAULT_ERRORLOG = "logs/error_log"

MPM_TRAITS: dict[str, tuple[str, str]] = {
    "prefork": ("no", "yes (variable process count)"),
    "worker": ("yes (fixed thread count)", "yes (variable process count)"),
    "event": ("yes (fixed thread count)", "yes (variable process count)"),
}


def version_lines() -> list[str]:
    return [f"Server version: {SERVER_VERSION}", f"Server built:   {SERVER_BUILT}"]


def compile_settings(
    mpm: str, server_root: str, config_file: str = DEFAULT_CONFIG_FILE
) -> list[str]:
    """`-V`: version, architecture, MPM and its nature, then the ` -D` build lines.

    HTTPD_ROOT and SERVER_CONFIG_FILE are the defaults this installation starts with (what
    Apache has compiled in; the installed launchers set them), not what -d or -f name."""
    threaded, forked = MPM_TRAITS.get(mpm, ("", ""))
    lines = version_lines() + [
        f"Server's Module Magic Number: 20120211:142 (pyhttpd, Python {platform.python_version()})",
        f"Architecture:   {platform.architecture()[0].replace('bit', '-bit')}",
        f"Server MPM:     {mpm}",
    ]
    if mpm:
        lines += [f"  threaded:     {threaded}", f"    forked:     {forked}"]
    lines += [
        "Server compiled with....",
        " -D APR_HAS_SENDFILE",
        " -D APR_HAVE_IPV6 (IPv4-mapped addresses enabled)",
        " -D SINGLE_LISTEN_UNSERIALIZED_ACCEPT",
        " -D DYNAMIC_MODULE_LIMIT=256",
        f' -D HTTPD_ROOT="{server_root}"',
        f' -D DEFAULT_PIDLOG="{DEFAULT_PIDLOG}"',
        ' -D DEFAULT_SCOREBOARD="logs/apache_runtime_status"',
        f' -D DEFAULT_ERRORLOG="{DEFAULT_ERRORLOG}"',
        ' -D AP_TYPES_CONFIG_FILE="conf/mime.types"',
        f' -D SERVER_CONFIG_FILE="{config_file}"',
    ]
    return lines


def compiled_modules(static: Iterable[Module]) -> list[str]:
    return ["Compiled in modules:"] + [f"  {module.source}" for module in static]


def loaded_modules(config: ServerConfig) -> list[str]:
    lines = ["Loaded Modules:"]
    for module in config.modules:
        lines.append(f" {module.name} ({'static' if module.is_static else 'shared'})")
    return lines


def allowed_in(spec: DirectiveSpec) -> list[str]:
    """Apache's -L context lines for a row."""
    contexts = spec.contexts
    outside = Context.SERVER | Context.VHOST
    if contexts & Context.DIRECTORY and contexts & outside:
        where = "Allowed in *.conf anywhere"
    elif contexts & Context.DIRECTORY:
        where = "Allowed in *.conf only inside <Directory>, <Files>, <Location>, or <If>"
    else:
        where = "Allowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>"
    if not contexts & Context.HTACCESS:
        return [where]
    lines = [where + " and in .htaccess"]
    if spec.override and spec.override != "All":
        lines.append(f"when AllowOverride includes {spec.override}")
    else:
        lines.append("when AllowOverride isn't None")
    return lines


def directive_listing(modules: Iterable[Module]) -> list[str]:
    """`-L`: every directive of the given modules with its help and allowed contexts."""
    lines: list[str] = []
    for module in modules:
        for spec in module.directives:
            lines.append(f"{spec.name} ({module.source})")
            lines.append(f"\t{spec.help}")
            lines += [f"\t{line}" for line in allowed_in(spec)]
    return lines


def server_name_warning(config: ServerConfig) -> list[str]:
    """AH00558 when no global ServerName is set, as Apache prints for -t, -S, -M and start."""
    if config.main.is_set("ServerName"):
        return []
    return [
        f"AH00558: {PROGRAM}: Could not reliably determine the server's fully qualified domain "
        "name, using 127.0.0.1. Set the 'ServerName' directive globally to suppress this message"
    ]


def vhost_dump(config: ServerConfig) -> list[str]:
    """`-t -D DUMP_VHOSTS`: one line per address, or a NameVirtualHost block when shared."""
    by_address: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {}
    fallback = str(config.get("ServerName") or "localhost")
    for vhost in config.vhosts:
        name = vhost.server_name or fallback
        aliases = tuple(vhost.settings.values.get("ServerAlias", ()))
        where = f"({vhost.file}:{vhost.line})"
        for address in vhost.addresses:
            by_address.setdefault(_address_key(address), []).append((name, where, aliases))
    lines = ["VirtualHost configuration:"]
    ordered = sorted(by_address.items(), key=lambda item: item[0].startswith("*"))
    for address, hosts in ordered:
        if len(hosts) == 1:
            name, where, _ = hosts[0]
            lines.append(f"{address:<22} {name} {where}")
            continue
        port = address.rpartition(":")[2]
        lines.append(f"{address:<22} is a NameVirtualHost")
        lines.append(f"         default server {hosts[0][0]} {hosts[0][1]}")
        for name, where, aliases in hosts:
            lines.append(f"         port {port} namevhost {name} {where}")
            lines += [f"                 alias {alias}" for alias in aliases]
    return lines


def _address_key(address: str) -> str:
    return address if ":" in address.lstrip("[").split("]")[-1] else f"{address}:*"


def run_config_dump(config: ServerConfig) -> list[str]:
    """`-t -D DUMP_RUN_CFG`: ServerRoot, DocumentRoot, ErrorLog, Mutex, PidFile, Defines, ids."""
    error_log = str(config.get("ErrorLog"))
    if not error_log.startswith(("|", "syslog")) and not os.path.isabs(error_log):
        error_log = os.path.join(config.server_root, error_log)
    pid_file = str(config.get("PidFile"))
    if not os.path.isabs(pid_file):
        pid_file = os.path.join(config.server_root, pid_file)
    lines = [
        f'ServerRoot: "{config.server_root}"',
        f'Main DocumentRoot: "{_server_path(config, str(config.get("DocumentRoot")))}"',
        f'Main ErrorLog: "{error_log}"',
        f'Mutex default: dir="{os.path.join(config.server_root, "logs")}/" mechanism=default ',
        f'PidFile: "{pid_file}"',
    ]
    lines += [f"Define: {name}" for name in sorted(config.defines)]
    lines.append(_identity("User", str(config.get("User")), _uid))
    lines.append(_identity("Group", str(config.get("Group")), _gid))
    return lines


def _server_path(config: ServerConfig, path: str) -> str:
    return path if os.path.isabs(path) else os.path.join(config.server_root, path)


def _uid(name: str) -> int:
    return pwd.getpwnam(name).pw_uid


def _gid(name: str) -> int:
    return grp.getgrnam(name).gr_gid


def _identity(label: str, name: str, lookup: Callable[[str], int]) -> str:
    if name.startswith("#"):
        number = int(name[1:]) if name[1:].lstrip("-").isdigit() else -1
    else:
        try:
            number = lookup(name)
        except KeyError:
            number = -1
    return f'{label}: name="{name}" id={number % 2**32}'


def includes_dump(root: IncludedFile | None) -> list[str]:
    lines = ["Included configuration files:"]

    def walk(node: IncludedFile) -> None:
        marker = "(*)" if node.include_line is None else f"({node.include_line})"
        lines.append(f"{'  ' * (node.depth + 1)}{marker} {node.path}")
        for child in node.children:
            walk(child)

    if root is not None:
        walk(root)
    return lines
