"""pyhttpd-enmod, pyhttpd-dismod and pyhttpd-query: thin click shells over config.modfiles, speaking
Debian's a2enmod / a2dismod / a2query words so scripts written for those keep working.

Owns argv parsing, the ServerRoot choice (-d, then $PYHTTPD_ROOT, then this checkout), printing
(INFO lines hidden by -q, errors on stderr), the two stdin prompts, and exit codes: 0 success
(including "already ..."), 1 any failure, 2 a bad option (click). Knows nothing of link rules; every
decision is modfiles'. Runs in its own short-lived process, never inside the server.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import click

from pyhttpd.config import modfiles
from pyhttpd.config.modfiles import AVAILABLE, Level, Message

_CONTEXT = {"help_option_names": ["-h", "--help"]}


def _server_root(option: str | None) -> Path:
    """-d wins, then $PYHTTPD_ROOT, then the checkout this package lives in."""
    if option:
        return Path(option)
    environment = os.environ.get("PYHTTPD_ROOT")
    return Path(environment) if environment else Path(__file__).resolve().parents[2]


def _emit(messages: Iterable[Message], quiet: bool) -> None:
    for message in messages:
        if message.level is Level.INFO and quiet:
            continue
        click.echo(message.text, err=message.level is Level.ERROR)


def _read_line() -> str | None:
    line = click.get_text_stream("stdin").readline()
    return line.rstrip("\r\n") if line else None


def _ask_names(root: Path, enabling: bool) -> list[str]:
    """a2enmod with no arguments: list the choices and read the names from stdin."""
    choices = modfiles.available_modules(root) if enabling else modfiles.enabled_modules(root)
    click.echo("Your choices are: " + " ".join(choices))
    action = "enable" if enabling else "disable"
    click.echo(f"Which module(s) do you want to {action} (wildcards ok)?")
    return (_read_line() or "").split()


def _confirm_essential(names: list[str]) -> bool:
    """a2dismod's guard against disabling a module most configurations rely on."""
    plural = "module" if len(names) == 1 else "modules"
    click.echo(f"WARNING: The following essential {plural} will be disabled.")
    click.echo("This might result in unexpected behavior and should NOT be done")
    click.echo("unless you know exactly what you are doing!")
    for name in names:
        click.echo(f" {name}")
    click.echo("")
    click.echo(
        f"To continue type in the phrase '{modfiles.CONFIRMATION}' or retry by passing '-f': ",
        nl=False,
    )
    if _read_line() == modfiles.CONFIRMATION:
        return True
    click.echo("Aborting")
    return False


def _run(enabling: bool, arguments: tuple[str, ...], quiet: bool, force: bool, root: Path) -> int:
    """Plan and apply each name in command-line order; any failure makes the exit status 1."""
    if not (root / AVAILABLE).is_dir():
        click.echo(f"ERROR: {root} has no {AVAILABLE} directory", err=True)
        return 1
    names = list(arguments) or _ask_names(root, enabling)
    if not names:
        click.echo("ERROR: No module given, aborting", err=True)
        return 1
    failed = restart = False
    for argument in names:
        for name in modfiles.expand(root, argument, enabling):
            if enabling:
                plan = modfiles.plan_enable(root, name)
            else:
                plan = modfiles.plan_disable(root, name, force)
            if plan.ok and plan.essential and not force and not _confirm_essential(plan.essential):
                failed = True
                continue
            _emit(plan.messages, quiet)
            errors = modfiles.apply(plan)
            _emit(errors, quiet)
            failed |= not plan.ok or bool(errors)
            restart |= plan.ok and not errors and plan.needs_restart
    if restart and not quiet:
        for line in modfiles.ACTIVATE_HINT:
            click.echo(line)
    return 1 if failed else 0


def _common_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.argument("modules", nargs=-1)(func)
    func = click.option(
        "-d", "--server-root", metavar="DIR", help="ServerRoot (default: $PYHTTPD_ROOT)."
    )(func)
    func = click.option(
        "-f", "--force", is_flag=True, help="Disable dependents and essential modules too."
    )(func)
    return click.option("-q", "--quiet", is_flag=True, help="Hide informational messages.")(func)


@click.command(context_settings=_CONTEXT)
@_common_options
@click.pass_context
def enmod(
    ctx: click.Context, quiet: bool, force: bool, server_root: str | None, modules: tuple[str, ...]
) -> None:
    """Enable MODULES (globs over mods-available) by linking them into mods-enabled."""
    ctx.exit(_run(True, modules, quiet, force, _server_root(server_root)))


@click.command(context_settings=_CONTEXT)
@_common_options
@click.pass_context
def dismod(
    ctx: click.Context, quiet: bool, force: bool, server_root: str | None, modules: tuple[str, ...]
) -> None:
    """Disable MODULES (globs over mods-enabled) by removing their links from mods-enabled."""
    ctx.exit(_run(False, modules, quiet, force, _server_root(server_root)))


@click.command(context_settings=_CONTEXT)
@click.option("-M", "mpm", is_flag=True, help="Print the enabled MPM (event, worker, prefork).")
@click.option("-m", "module", metavar="NAME", help="Tell whether module NAME is enabled.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing; answer with the exit status.")
@click.option("-d", "--server-root", metavar="DIR", help="ServerRoot (default: $PYHTTPD_ROOT).")
@click.pass_context
def query(
    ctx: click.Context, mpm: bool, module: str | None, quiet: bool, server_root: str | None
) -> None:
    """Answer a2query's -M and -m questions about mods-enabled."""
    if mpm == (module is not None):
        raise click.UsageError("Give exactly one of -M or -m NAME.")
    root = _server_root(server_root)
    say: Callable[..., None] = (lambda *args, **kwargs: None) if quiet else click.echo
    if mpm:
        mpms = modfiles.enabled_mpms(root)
        if len(mpms) > 1:
            say("There is more than one MPM loaded. Do not proceed due to undefined results")
            ctx.exit(1)
        say(mpms[0].removeprefix("mpm_") if mpms else "invalid")
        ctx.exit(0 if mpms else 1)
    assert module is not None
    pattern = module.removesuffix(".load")
    matches = [m for m in modfiles.enabled_modules(root) if fnmatchcase(m, pattern)]
    for match in matches:
        say(f"{match} (enabled by site administrator)")
    if not matches:
        say(f"No module matches {module}", err=True)
    ctx.exit(0 if matches else 1)


def enmod_main() -> None:
    """Console script pyhttpd-enmod."""
    enmod(prog_name="pyhttpd-enmod")


def dismod_main() -> None:
    """Console script pyhttpd-dismod."""
    dismod(prog_name="pyhttpd-dismod")


def query_main() -> None:
    """Console script pyhttpd-query (a2query's -M and -m)."""
    query(prog_name="pyhttpd-query")
