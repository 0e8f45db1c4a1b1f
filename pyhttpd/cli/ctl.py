"""`pyhttpdctl`: apachectl's commands (start|stop|restart|graceful|graceful-stop|configtest|status…).

A thin shell over `pyhttpd`: `configtest` runs `pyhttpd -t`; the commands that signal or read a
running server say plainly that they arrive with the process model. Usage and exit codes are
apachectl's.
"""

from __future__ import annotations

import subprocess
import sys

import click

COMMANDS = (
    "start", "stop", "restart", "graceful", "graceful-stop", "configtest", "status", "fullstatus",
)  # fmt: skip
USAGE = (
    "Usage: pyhttpdctl start|stop|restart|graceful|graceful-stop|configtest|status|fullstatus|help\n"
    "       pyhttpdctl <pyhttpd command line arguments>\n"
    "       pyhttpdctl -h            (for help on <pyhttpd command line arguments>)"
)


def run_httpd(args: list[str]) -> int:
    """Run the `pyhttpd` command line in this interpreter's environment."""
    return subprocess.call([sys.executable, "-m", "pyhttpd", *args])


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("words", nargs=-1, type=click.UNPROCESSED)
def command(words: tuple[str, ...]) -> None:
    if not words or words[0] in ("help", "usage", "--help"):
        click.echo(USAGE, err=True)
        sys.exit(1)
    action, rest = words[0], list(words[1:])
    if action == "configtest":
        sys.exit(run_httpd(["-t", *rest]))
    if action in COMMANDS:
        click.echo(
            f"pyhttpdctl {action}: not available yet: the process model (master, MPM children) "
            "is not built in this release.",
            err=True,
        )
        click.echo(f"Action '{action}' failed.")
        sys.exit(1)
    sys.exit(run_httpd(list(words)))  # anything else passes straight to pyhttpd, as apachectl


def main() -> None:
    command.main(prog_name="pyhttpdctl")
