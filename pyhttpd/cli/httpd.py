"""`pyhttpd`: Apache's httpd command line (-D -d -f -C -c -k -v -V -h -l -L -t -T -S -M -X).

A thin click shell: parse argv, load the configuration through `pyhttpd.config`, print one of the
reports in `reports.py`, map errors to Apache's messages and exit codes. Options keep Apache's
getopt spelling so `pyhttpd -t -D DUMP_VHOSTS` works as `apache2 -t -D DUMP_VHOSTS` does.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from pyhttpd.cli import reports
from pyhttpd.config import ServerConfig, load
from pyhttpd.errors import ConfigError, StartupError
from pyhttpd.modules.registry import default_registry
from pyhttpd.version import PROGRAM

USAGE = f"""Usage: {PROGRAM} [-D name] [-d directory] [-f file]
               [-C "directive"] [-c "directive"]
               [-k start|restart|graceful|graceful-stop|stop]
               [-v] [-V] [-h] [-l] [-L] [-t] [-T] [-S] [-X]
Options:
  -D name            : define a name for use in <IfDefine name> directives
  -d directory       : specify an alternate initial ServerRoot
  -f file            : specify an alternate ServerConfigFile
  -C "directive"     : process directive before reading config files
  -c "directive"     : process directive after reading config files
  -e level           : show startup errors of level (see LogLevel)
  -E file            : log startup errors to file
  -v                 : show version number
  -V                 : show compile settings
  -h                 : list available command line options (this page)
  -l                 : list compiled in modules
  -L                 : list available configuration directives
  -t -D DUMP_VHOSTS  : show parsed vhost settings
  -t -D DUMP_RUN_CFG : show parsed run settings
  -S                 : a synonym for -t -D DUMP_VHOSTS -D DUMP_RUN_CFG
  -t -D DUMP_MODULES : show all loaded modules
  -M                 : a synonym for -t -D DUMP_MODULES
  -t -D DUMP_INCLUDES: show all included configuration files
  -t                 : run syntax check for config files
  -T                 : start without DocumentRoot(s) check
  -X                 : debug mode (only one worker, do not detach)"""

SIGNALS = ("start", "restart", "graceful", "graceful-stop", "stop")


def default_server_root() -> str:
    """ServerRoot when -d is absent: $PYHTTPD_ROOT, else the checkout this package runs from."""
    return os.environ.get("PYHTTPD_ROOT") or str(Path(__file__).resolve().parents[2])


def out(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def err(lines: list[str] | tuple[str, ...]) -> None:
    for line in lines:
        click.echo(line, err=True)


@click.command(context_settings={"help_option_names": []}, add_help_option=False)
@click.option("-D", "defines", multiple=True, metavar="name")
@click.option("-d", "server_root", default=None, metavar="directory")
@click.option("-f", "config_file", default=reports.DEFAULT_CONFIG_FILE, metavar="file")
@click.option("-C", "before", multiple=True, metavar="directive")
@click.option("-c", "after", multiple=True, metavar="directive")
@click.option("-k", "signal_name", default=None)
@click.option("-e", "startup_level", default=None)
@click.option("-E", "startup_log", default=None)
@click.option("-v", "show_version", is_flag=True)
@click.option("-V", "show_settings", is_flag=True)
@click.option("-h", "show_help", is_flag=True)
@click.option("-l", "show_compiled", is_flag=True)
@click.option("-L", "show_directives", is_flag=True)
@click.option("-t", "test_only", is_flag=True)
@click.option("-T", "skip_docroot_check", is_flag=True)
@click.option("-S", "dump_vhosts", is_flag=True)
@click.option("-M", "dump_modules", is_flag=True)
@click.option("-X", "debug", is_flag=True)
def command(
    defines: tuple[str, ...],
    server_root: str | None,
    config_file: str,
    before: tuple[str, ...],
    after: tuple[str, ...],
    signal_name: str | None,
    startup_level: str | None,
    startup_log: str | None,
    show_version: bool,
    show_settings: bool,
    show_help: bool,
    show_compiled: bool,
    show_directives: bool,
    test_only: bool,
    skip_docroot_check: bool,
    dump_vhosts: bool,
    dump_modules: bool,
    debug: bool,
) -> None:
    """Apache's order: options that need no config, then read the config, then act."""
    registry = default_registry()
    root = os.path.abspath(server_root or default_server_root())
    wanted = set(defines)
    if dump_vhosts:
        wanted |= {"DUMP_VHOSTS", "DUMP_RUN_CFG"}
    if dump_modules:
        wanted.add("DUMP_MODULES")
    if debug:
        wanted.add("DEBUG")
    if show_help or (signal_name is not None and signal_name not in SIGNALS):
        bad_signal = signal_name is not None and signal_name not in SIGNALS
        err(([f"{PROGRAM}: illegal option -- k"] if bad_signal else []) + USAGE.splitlines())
        sys.exit(1)
    if show_version:
        out(reports.version_lines())
        return
    if show_compiled:
        out(reports.compiled_modules(registry.static_modules()))
        return
    if show_directives:
        out(reports.directive_listing(registry.static_modules() + registry.shared_modules()))
        return
    if show_settings:
        sys.exit(_compile_settings(root, config_file, wanted, before, after))
    config = _load_or_exit(root, config_file, wanted, before, after)
    dumps = {"DUMP_VHOSTS", "DUMP_RUN_CFG", "DUMP_MODULES", "DUMP_INCLUDES"} & wanted
    if test_only or dumps:
        sys.exit(_test_and_dump(config, wanted, quiet_ok=bool(dumps)))
    if debug:
        sys.exit(_serve_single(config))
    # The master and its MPM children arrive with the process-model issue; say so plainly.
    action = f"-k {signal_name}" if signal_name else "start"
    err(
        [
            f"{PROGRAM}: {action} is not available yet: the process model (master, MPM children) "
            "is not built in this release. Use -X to serve in one process, or -t, -S, -M, -V, -L."
        ]
    )
    sys.exit(1)


def _serve_single(config: ServerConfig) -> int:
    from pyhttpd.server.single import run_single_process

    err(reports.server_name_warning(config))
    try:
        return run_single_process(config)
    except StartupError as error:
        err([str(error)])
        return 1


def _load(
    root: str, config_file: str, defines: set[str], before: tuple[str, ...], after: tuple[str, ...]
) -> ServerConfig:
    return load(
        config_file,
        root,
        default_registry(),
        defines=defines,
        before="\n".join(before),
        after="\n".join(after),
    )


def _load_or_exit(
    root: str, config_file: str, defines: set[str], before: tuple[str, ...], after: tuple[str, ...]
) -> ServerConfig:
    try:
        config = _load(root, config_file, defines, before, after)
    except (ConfigError, StartupError) as error:
        err([str(error)])
        sys.exit(1)
    err(config.warnings)
    return config


def _compile_settings(
    root: str, config_file: str, defines: set[str], before: tuple[str, ...], after: tuple[str, ...]
) -> int:
    """`-V` reads the config to find the MPM; on failure Apache prints the error, then -V anyway."""
    try:
        config = _load(root, config_file, defines, before, after)
    except (ConfigError, StartupError) as error:
        err([str(error)])
        out(reports.compile_settings("", root))
        return 1
    out(reports.compile_settings(config.mpm, root))
    return 0


def _test_and_dump(config: ServerConfig, defines: set[str], quiet_ok: bool) -> int:
    err(reports.server_name_warning(config))
    if "DUMP_VHOSTS" in defines:
        out(reports.vhost_dump(config))
    if "DUMP_RUN_CFG" in defines:
        out(reports.run_config_dump(config))
    if "DUMP_MODULES" in defines:
        out(reports.loaded_modules(config))
    if "DUMP_INCLUDES" in defines:
        out(reports.includes_dump(config.includes))
    if not quiet_ok:
        err(["Syntax OK"])
    return 0


def main() -> None:
    """Console entry point: Apache's wording for a bad option."""
    try:
        command.main(standalone_mode=False, prog_name=PROGRAM)
    except click.NoSuchOption as error:
        err([f"{PROGRAM}: illegal option -- {error.option_name.lstrip('-')}"] + USAGE.splitlines())
        sys.exit(1)
    except click.UsageError as error:
        err([f"{PROGRAM}: {error.format_message()}"] + USAGE.splitlines())
        sys.exit(1)
