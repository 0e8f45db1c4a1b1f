"""A generation: one loaded configuration and the hook table its modules registered.

Built once per start, restart or graceful restart and never changed afterwards; a build that fails
raises before anything running is touched.
"""

from __future__ import annotations

from pyhttpd.config import ServerConfig
from pyhttpd.http.connection import Generation
from pyhttpd.http.phases import Hooks


def build_generation(config: ServerConfig) -> Generation:
    hooks = Hooks()
    for module in config.modules:
        register = getattr(module.declaration, "register_hooks", None)
        if register is not None:
            register(hooks)
    return Generation(config, hooks.freeze())
