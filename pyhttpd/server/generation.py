"""A generation: one loaded configuration, its error log and the hook table its modules built.

Built once per start, restart or graceful restart and never changed afterwards; a build that fails
raises before anything running is touched (and closes what it had opened). Opening the logs here
is Apache's open_logs: a new generation writes to freshly opened files, which is what log rotation
relies on. The generation owns those files: `open_generation` returns, with it, the one call that
closes them (the error log and whatever the modules registered through `HookContext.on_close`),
which the master makes when it retires the generation, as Apache clears pconf.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from pyhttpd.config import ServerConfig
from pyhttpd.errorlog import ErrorLog
from pyhttpd.http.generation import Generation
from pyhttpd.http.phases import HookContext, Hooks

Closer = Callable[[], None]


def open_error_log(config: ServerConfig) -> ErrorLog:
    target = str(config.get("ErrorLog"))
    levels = [pair for line in config.get("LogLevel") or () for pair in line]
    if target.startswith(("|", "syslog")):
        return ErrorLog(None, levels or (("", "warn"),))
    path = target if os.path.isabs(target) else os.path.join(config.server_root, target)
    return ErrorLog(path, levels or (("", "warn"),))


def _closer(cleanups: list[Closer]) -> Closer:
    """Run every cleanup once, last registered first (as a pool's cleanups run)."""
    pending = list(cleanups)

    def close() -> None:
        while pending:
            cleanup = pending.pop()
            try:
                cleanup()
            except OSError:
                pass

    return close


def open_generation(
    config: ServerConfig, error_log: ErrorLog | None = None
) -> tuple[Generation, Closer]:
    """Build a generation; return it with the call that closes the files it opened."""
    log = error_log or open_error_log(config)
    context = HookContext(config, log)
    if error_log is None:
        context.on_close(log.close)
    hooks = Hooks()
    try:
        for module in config.modules:
            register = getattr(module.declaration, "register_hooks", None)
            if register is not None:
                register(hooks, context)
    except BaseException:
        _closer(context.cleanups)()
        raise
    return Generation(config, hooks.freeze(), log), _closer(context.cleanups)


def build_generation(config: ServerConfig, error_log: ErrorLog | None = None) -> Generation:
    """A generation whose files stay open for the life of the process (-X, tests)."""
    return open_generation(config, error_log)[0]
