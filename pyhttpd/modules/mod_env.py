"""env_module (mod_env.c): SetEnv, UnsetEnv and PassEnv, the variables handed to CGI and SSI.

Directive table on top; the three directives feed one ordered list of operations under the `Env`
key, so `SetEnv A 1` then `UnsetEnv A` in one scope behave as in Apache. PassEnv reads this
process's environment while the configuration is processed, as Apache's getenv() does.

The fixups hook at the bottom replays the merged list into a table (an UnsetEnv removes what an
enclosing scope set, as merge_env_dir_configs does) and overlays it on the request's environment.
As in Apache, UnsetEnv removes only configured variables, not those SetEnvIf or others set. Runs in
the thread serving the request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyhttpd.config.directives import OR_ALL, ArgShape, Command, DirectiveSpec, Handler, Merge
from pyhttpd.config.module import Module
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Phase, replayable

if TYPE_CHECKING:
    from pyhttpd.http.request import Request


@dataclass(frozen=True)
class EnvOperation:
    """Set `name` to `value`, or unset it (`value` None)."""

    name: str
    value: str | None


def set_env(cmd: Command, name: str, value: str = "") -> EnvOperation:
    if "=" in name:
        variable, _, rest = name.partition("=")
        cmd.warn(
            "AH10032: Spurious usage of '=' in an environment variable name. "
            f"'{cmd.name} {variable} {rest}' expected instead?"
        )
    return EnvOperation(name, value)


def unset_env(cmd: Command, name: str) -> EnvOperation:
    return EnvOperation(name, None)


def pass_env(cmd: Command, name: str) -> EnvOperation | None:
    value = os.environ.get(name)
    if value is None:
        cmd.warn(f"AH01506: PassEnv variable {name} was undefined")
        return None
    return EnvOperation(name, value)


def _row(name: str, shape: ArgShape, handler: Handler, help: str) -> DirectiveSpec:
    return DirectiveSpec(
        name,
        shape,
        OR_ALL,
        handler,
        help,
        key="Env",
        merge=Merge.APPEND,
        override="FileInfo",
    )


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    _row("PassEnv", ArgShape.ITERATE, pass_env, "a list of environment variables to pass to CGI."),
    _row(
        "SetEnv",
        ArgShape.TAKE12,
        set_env,
        "an environment variable name and optional value to pass to CGI.",
    ),
    _row(
        "UnsetEnv",
        ArgShape.ITERATE,
        unset_env,
        "a list of variables to remove from the CGI environment.",
    ),
)

# --- hooks ---------------------------------------------------------------------------------------


def variables(operations: tuple[EnvOperation, ...]) -> dict[str, str]:
    """The configured table: operations replayed in merge order (outer scopes first)."""
    table: dict[str, str] = {}
    for operation in operations:
        if operation.value is None:
            table.pop(operation.name, None)
        else:
            table[operation.name] = operation.value
    return table


def fixup_env(request: Request) -> int:
    """fixup_env_module: overlay the configured variables on the request's environment."""
    table = variables(tuple(request.per_dir.get("Env") or ()))
    if not table:
        return DECLINED
    request.environment.update(table)
    return OK


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.FIXUPS, replayable(fixup_env))


MODULE = Module(
    name="env_module",
    source="mod_env.c",
    directives=DIRECTIVES,
    description="environment variables for CGI and SSI: SetEnv, UnsetEnv, PassEnv",
    register_hooks=register,
)
