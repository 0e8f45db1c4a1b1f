"""`pyhttpd`: Apache's httpd command line (-D -d -f -C -c -k -v -V -h -l -L -t -T -S -M -X).

A thin click shell: parse argv, load the configuration through `pyhttpd.config`, print one of the
reports in `reports.py`, map errors to Apache's messages and exit codes. Options keep Apache's
getopt spelling so `pyhttpd -t -D DUMP_VHOSTS` works as `apache2 -t -D DUMP_VHOSTS` does.
`-k start` (or no -k) binds the listeners and builds the first generation while errors still reach
the terminal, then detaches (double fork, setsid, stdio to /dev/null) unless `-D FOREGROUND`, and
runs the master (`pyhttpd.server.master`); `-k stop|restart|graceful|graceful-stop` parse the
config first, then signal the pid in PidFile. `-X` is the single-process debug mode.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
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
# The installed launchers set these (ServerRoot /etc/pyhttpd, httpd.conf in it), as Debian's apache2
# is compiled with HTTPD_ROOT and SERVER_CONFIG_FILE; -d and -f still win.
ROOT_ENV, CONFIG_ENV = "PYHTTPD_ROOT", "PYHTTPD_CONFIG"


def default_server_root() -> str:
    """ServerRoot when -d is absent: $PYHTTPD_ROOT, else the checkout this package runs from."""
    return os.environ.get(ROOT_ENV) or str(Path(__file__).resolve().parents[2])


def out(lines: list[str]) -> None:
    for line in lines:
        click.echo(line)


def err(lines: list[str] | tuple[str, ...]) -> None:
    for line in lines:
        click.echo(line, err=True)


@click.command(context_settings={"help_option_names": []}, add_help_option=False)
@click.option("-D", "defines", multiple=True, metavar="name")
@click.option("-d", "server_root", default=None, metavar="directory")
@click.option(
    "-f", "config_file", default=reports.DEFAULT_CONFIG_FILE, metavar="file", envvar=CONFIG_ENV
)
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
    loader = lambda: _load(root, config_file, wanted, before, after)  # noqa: E731
    if signal_name in (None, "start"):
        sys.exit(_start(config, loader, foreground="FOREGROUND" in wanted))
    sys.exit(_send_signal(config, signal_name, loader, foreground="FOREGROUND" in wanted))


# --- -k start|stop|restart|graceful|graceful-stop ------------------------------------------------

KILL_SIGNALS = {
    "stop": signal.SIGTERM,
    "graceful-stop": signal.SIGWINCH,
    "restart": signal.SIGHUP,
    "graceful": signal.SIGUSR1,
}


def _running_pid(config: ServerConfig) -> tuple[int | None, bool]:
    """(pid in the PidFile, whether it is alive); exits 1 with AH00058 on a garbled file."""
    from pyhttpd.server import pidfile
    from pyhttpd.server.master import pid_path

    try:
        pid = pidfile.read(pid_path(config))
    except StartupError as error:
        err([str(error)])
        sys.exit(1)
    return pid, pid is not None and pidfile.alive(pid)


def _start(config: ServerConfig, loader: Callable[[], ServerConfig], foreground: bool) -> int:
    """Apache's -k start: refuse a live PidFile, bind and build while errors still reach the
    terminal, then detach (unless -D FOREGROUND) and run the master."""
    from pyhttpd.server.listeners import bind_listeners, inherited_sockets
    from pyhttpd.server.master import Master

    pid, alive = _running_pid(config)
    if alive:
        out([f"httpd (pid {pid}) already running"])
        return 0
    err(reports.server_name_warning(config))
    try:
        listeners = bind_listeners(
            config.get("Listen") or (), int(config.get("ListenBacklog")), inherited_sockets()
        )
    except StartupError as error:
        err([str(error), "AH00015: Unable to open logs"])
        return 1
    try:
        master = Master(config, listeners, loader, " ".join([PROGRAM, *sys.argv[1:]]))
    except (StartupError, OSError) as error:
        for listener in listeners:
            listener.close()
        err([str(error)])
        return 1
    if not foreground:
        _detach()
    try:
        return master.run()
    except Exception as error:  # noqa: BLE001 - detached: the error log is the only witness
        master.log("emerg", f"the master process failed: {error!r}", module="core")
        if foreground:
            raise
        return 1


def _detach() -> None:
    """Double fork and setsid; stdin, stdout and stderr to /dev/null (flushed first)."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.fork() > 0:
        os._exit(0)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)
    os.chdir("/")


def _send_signal(
    config: ServerConfig, name: str, loader: Callable[[], ServerConfig], foreground: bool
) -> int:
    """Apache's -k stop|graceful-stop|restart|graceful, after the config parsed."""
    pid, alive = _running_pid(config)
    if not alive:
        if name in ("restart", "graceful"):
            out(["httpd not running, trying to start"])
            sys.stdout.flush()
            return _start(config, loader, foreground)
        out(
            [
                "httpd (no pid file) not running"
                if pid is None
                else f"httpd (pid {pid}?) not running"
            ]
        )
        return 0
    assert pid is not None
    try:
        os.kill(pid, KILL_SIGNALS[name])
    except OSError as error:
        err([f"({error.errno}){error.strerror}: AH00057: sending signal to server"])
        return 1
    return 0


def load_from_args(args: list[str]) -> ServerConfig:
    """The config a `pyhttpd` command line names (for pyhttpdctl): -d -f -D -C -c honoured."""
    context = command.make_context(PROGRAM, list(args))
    params = context.params
    root = os.path.abspath(params["server_root"] or default_server_root())
    return _load(root, params["config_file"], set(params["defines"]), params["before"],
                 params["after"])  # fmt: skip


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


def _default_config_file() -> str:
    """The config file read when -f is absent: $PYHTTPD_CONFIG, else conf/httpd.conf."""
    return os.environ.get(CONFIG_ENV) or reports.DEFAULT_CONFIG_FILE


def _compile_settings(
    root: str, config_file: str, defines: set[str], before: tuple[str, ...], after: tuple[str, ...]
) -> int:
    """`-V` reads the config to find the MPM; on failure Apache prints the error, then -V anyway."""
    try:
        config = _load(root, config_file, defines, before, after)
    except (ConfigError, StartupError) as error:
        err([str(error)])
        out(reports.compile_settings("", root, _default_config_file()))
        return 1
    out(reports.compile_settings(config.mpm, root, _default_config_file()))
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
