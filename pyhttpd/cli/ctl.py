"""`pyhttpdctl`: apachectl's commands (start|stop|restart|graceful|graceful-stop|configtest|status…).

A thin shell over `pyhttpd`: `configtest` runs `pyhttpd -t`; start, stop, restart, graceful and
graceful-stop run `pyhttpd -k …` (restart and graceful after a quiet `-t`, as Debian's
apache2ctl does) and then wait with a deadline: `start` until a worker is ready and the listen
address accepts, `stop` until the master's pid is gone. `status` and `fullstatus` read the
scoreboard file directly (attached read-only), not via HTTP, and print the status page as text
(pyhttpd.status.text). `tune` is pyhttpd's own: the memory-aware tuning advisor (cli/tune.py).
Usage and exit codes are apachectl's.
Any other arguments pass straight through to `pyhttpd`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import click

from pyhttpd.config import ServerConfig
from pyhttpd.errors import ConfigError, StartupError

COMMANDS = (
    "start", "stop", "restart", "graceful", "graceful-stop", "configtest", "status", "fullstatus",
    "tune",
)  # fmt: skip
USAGE = (
    "Usage: pyhttpdctl start|stop|restart|graceful|graceful-stop|configtest|status|fullstatus|help\n"
    "       pyhttpdctl tune [--memory SIZE] [--threads-per-child N] [--headroom F]\n"
    "       pyhttpdctl <pyhttpd command line arguments>\n"
    "       pyhttpdctl -h            (for help on <pyhttpd command line arguments>)"
)
START_DEADLINE = 15.0
STOP_DEADLINE = 20.0


def run_httpd(args: list[str], quiet: bool = False) -> int:
    """Run the `pyhttpd` command line in this interpreter's environment."""
    if quiet:
        result = subprocess.run([sys.executable, "-m", "pyhttpd", *args], capture_output=True)
        return result.returncode
    return subprocess.call([sys.executable, "-m", "pyhttpd", *args])


def _config(rest: list[str]) -> ServerConfig:
    from pyhttpd.cli.httpd import load_from_args

    return load_from_args(rest)


def _failed(action: str) -> None:
    click.echo(f"Action '{action}' failed.")
    click.echo("The Apache error log may have more information.")
    sys.exit(1)


def _master_pid(config: ServerConfig) -> int | None:
    from pyhttpd.server import pidfile
    from pyhttpd.server.master import pid_path

    pid = pidfile.read_quietly(pid_path(config))
    return pid if pid is not None and pidfile.alive(pid) else None


def _ready(config: ServerConfig, pid: int) -> bool:
    """The scoreboard names this master and has a ready worker, and a listen address accepts."""
    from pyhttpd.scoreboard import Scoreboard, ScoreboardError
    from pyhttpd.server.master import scoreboard_path

    try:
        with Scoreboard.attach(scoreboard_path(config)) as board:
            snapshot = board.snapshot()
    except (ScoreboardError, OSError, ValueError):
        return False
    if snapshot.master_pid != pid or snapshot.idle_workers() == 0:
        return False
    for address in config.get("Listen") or ():
        host = address.host or "127.0.0.1"
        try:
            with socket.create_connection((host.strip("[]"), address.port), timeout=0.5):
                return True
        except OSError:
            continue
    return False


def _start(rest: list[str]) -> None:
    config = _config(rest)
    if _master_pid(config) is not None:
        sys.exit(run_httpd(["-k", "start", *rest]))
    if run_httpd(["-k", "start", *rest]) != 0:
        _failed("start")
    deadline = time.monotonic() + START_DEADLINE
    seen = False
    while time.monotonic() < deadline:
        pid = _master_pid(config)
        if pid is not None and _ready(config, pid):
            return
        if seen and pid is None:
            break  # the master came up and died: its error log says why
        seen = seen or pid is not None
        time.sleep(0.05)
    click.echo("pyhttpdctl start: the server did not start accepting connections", err=True)
    for line in _error_log_tail(config):
        click.echo(line, err=True)
    _failed("start")


def _error_log_tail(config: ServerConfig, count: int = 5) -> list[str]:
    target = str(config.get("ErrorLog"))
    if target.startswith(("|", "syslog")):
        return []
    path = target if os.path.isabs(target) else os.path.join(config.server_root, target)
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read().splitlines()[-count:]
    except OSError:
        return []


def _stop(action: str, rest: list[str]) -> None:
    config = _config(rest)
    pid = _master_pid(config)
    if run_httpd(["-k", action, *rest]) != 0:
        _failed(action)
    if pid is None:
        return
    deadline = time.monotonic() + STOP_DEADLINE
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            pass
        time.sleep(0.05)
    click.echo(f"pyhttpdctl {action}: pid {pid} is still running", err=True)
    _failed(action)


def status_lines(config: ServerConfig, full: bool) -> list[str]:
    """The status page as terminal text (pyhttpd.status.text), from the scoreboard file."""
    from pyhttpd.modules.core_values import extended_status
    from pyhttpd.scoreboard import Scoreboard
    from pyhttpd.server.master import scoreboard_path
    from pyhttpd.status.model import ServerInfo, build_report
    from pyhttpd.status.text import render_text
    from pyhttpd.version import SERVER_BUILT, SERVER_VERSION

    with Scoreboard.attach(scoreboard_path(config)) as board:
        snapshot = board.snapshot()
    extended = extended_status(config)  # Off: the children keep no per-request detail
    addresses = config.get("Listen") or ()
    local = next((a.host.strip("[]") for a in addresses if a.host), "127.0.0.1")
    name = str(config.get("ServerName") or "localhost").rsplit(":", 1)[0]
    server = ServerInfo(name, local, SERVER_VERSION, SERVER_BUILT)
    report = build_report(
        snapshot, server, extended=extended, now=time.time(), load=os.getloadavg()
    )
    return render_text(report, full=full)


def _status(action: str, rest: list[str]) -> None:
    from pyhttpd.cli.tune import split_options, tune_lines
    from pyhttpd.scoreboard import ScoreboardError

    options, rest = split_options(rest) if action == "tune" else ({}, rest)
    config = _config(rest)
    pid = _master_pid(config)
    if pid is None:
        click.echo("pyhttpdctl: the server is not running", err=True)
        sys.exit(3)
    try:
        if action == "tune":
            lines = tune_lines(config, pid, options)
        else:
            lines = status_lines(config, full=action == "fullstatus")
    except ScoreboardError as error:
        click.echo(f"pyhttpdctl: {error}", err=True)
        sys.exit(1)
    for line in lines:
        click.echo(line)


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("words", nargs=-1, type=click.UNPROCESSED)
def command(words: tuple[str, ...]) -> None:
    if not words or words[0] in ("help", "usage", "--help"):
        click.echo(USAGE, err=True)
        sys.exit(1)
    action, rest = words[0], list(words[1:])
    if action not in COMMANDS:
        sys.exit(run_httpd(list(words)))  # anything else passes straight to pyhttpd, as apachectl
    try:
        if action == "configtest":
            sys.exit(run_httpd(["-t", *rest]))
        if action == "start":
            _start(rest)
        elif action in ("stop", "graceful-stop"):
            _stop(action, rest)
        elif action in ("restart", "graceful"):
            if run_httpd(["-t", *rest], quiet=True) != 0:
                run_httpd(["-t", *rest])
                _failed(action)
            if run_httpd(["-k", action, *rest]) != 0:
                _failed(action)
        else:
            _status(action, rest)
    except (ConfigError, StartupError) as error:
        click.echo(str(error), err=True)
        _failed(action)


def main() -> None:
    command.main(prog_name="pyhttpdctl")
