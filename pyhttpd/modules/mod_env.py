"""env_module (mod_env.c): SetEnv, UnsetEnv and PassEnv, the variables handed to CGI and SSI.

Directive table on top; the fixups hook that overlays them on the request's environment arrives
with the HTTP layer. The three directives feed one ordered list of operations under the `Env`
key, so `SetEnv A 1` then `UnsetEnv A` in one scope behave as in Apache. PassEnv reads this
process's environment while the configuration is processed, as Apache's getenv() does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pyhttpd.config.directives import OR_ALL, ArgShape, Command, DirectiveSpec, Handler, Merge
from pyhttpd.config.module import Module


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

MODULE = Module(
    name="env_module",
    source="mod_env.c",
    directives=DIRECTIVES,
    description="environment variables for CGI and SSI: SetEnv, UnsetEnv, PassEnv",
)
