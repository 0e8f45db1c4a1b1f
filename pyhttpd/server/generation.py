"""A generation: one loaded configuration, its error log and the hook table its modules built.

Built once per start, restart or graceful restart and never changed afterwards; a build that fails
raises before anything running is touched. Opening the logs here is Apache's open_logs: a new
generation writes to freshly opened files, which is what log rotation relies on.
"""

from __future__ import annotations

import os

from pyhttpd.config import ServerConfig
from pyhttpd.errorlog import ErrorLog
from pyhttpd.http.connection import Generation
from pyhttpd.http.phases import HookContext, Hooks


def open_error_log(config: ServerConfig) -> ErrorLog:
    target = str(config.get("ErrorLog"))
    levels = [pair for line in config.get("LogLevel") or () for pair in line]
    if target.startswith(("|", "syslog")):
        return ErrorLog(None, levels or (("", "warn"),))
    path = target if os.path.isabs(target) else os.path.join(config.server_root, target)
    return ErrorLog(path, levels or (("", "warn"),))


def build_generation(config: ServerConfig, error_log: ErrorLog | None = None) -> Generation:
    log = error_log or open_error_log(config)
    context = HookContext(config, log)
    hooks = Hooks()
    for module in config.modules:
        register = getattr(module.declaration, "register_hooks", None)
        if register is not None:
            register(hooks, context)
    return Generation(config, hooks.freeze(), log)
