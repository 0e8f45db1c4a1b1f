"""wsgi_module's script loading: each WSGI script file executed once per process, then cached.

mod_wsgi's embedded mode: a script is executed as a module named `_mod_wsgi_<md5 of its path>`
the first time a request needs it in this process (a child, after the fork: the master never
loads one), and its callable (`application` unless WSGICallableObject says otherwise) is looked
up for every request. With WSGIScriptReloading On (mod_wsgi's default) a script whose mtime
changed is executed again, as a fresh module. WSGIPythonPath's directories (and WSGIPythonHome's
site-packages) join sys.path, in front, once per process before the first script runs, and
sys.stdout and sys.stderr are pointed at the error log then (mod_wsgi's print() behaviour).
Threads serving requests share one cache; one lock makes a script load once. Helper of
mod_wsgi.py (not a module); runs in the threads serving requests.
"""

from __future__ import annotations

import os
import site
import sys
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyhttpd.digests import hex_digest


class ScriptLoadError(Exception):
    """The script file raised while it was executed; `__cause__` is the script's exception."""


@dataclass(frozen=True)
class LoadedScript:
    mtime_ns: int
    module: types.ModuleType


def module_name(path: str) -> str:
    """mod_wsgi's module name for a script file: a prefix and the md5 of its path."""
    return "_mod_wsgi_" + hex_digest("md5", path.encode("utf-8", "surrogateescape"))


def python_home_site(home: str) -> str:
    """The site-packages directory of a virtual environment (or prefix) for this Python."""
    version = "python{}.{}".format(*sys.version_info[:2])
    return os.path.join(home, "lib", version, "site-packages")


def add_python_path(directories: tuple[str, ...]) -> None:
    """site.addsitedir each directory (so .pth files work) and move what it added to the front."""
    before = list(sys.path)
    for directory in directories:
        if directory and directory not in before:
            site.addsitedir(directory)
    added = [entry for entry in sys.path if entry not in before]
    sys.path[:] = added + [entry for entry in sys.path if entry not in added]


@dataclass
class ScriptCache:
    """The scripts this process has executed, by path; built per generation, filled lazily."""

    python_path: tuple[str, ...] = ()
    prepare: Callable[[], None] | None = None  # once per process, before the first script
    loaded: dict[str, LoadedScript] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    path_ready: bool = False

    def module(self, path: str, mtime_ns: int, reloading: bool) -> types.ModuleType:
        """The executed module for `path`; raises ScriptLoadError when the script fails."""
        entry = self.loaded.get(path)
        if entry is not None and (not reloading or entry.mtime_ns == mtime_ns):
            return entry.module
        with self.lock:
            entry = self.loaded.get(path)
            if entry is not None and (not reloading or entry.mtime_ns == mtime_ns):
                return entry.module
            if not self.path_ready:
                add_python_path(self.python_path)
                if self.prepare is not None:
                    self.prepare()
                self.path_ready = True
            self.loaded.pop(path, None)
            module = _execute(path)
            self.loaded[path] = LoadedScript(mtime_ns, module)
            return module


def _execute(path: str) -> types.ModuleType:
    name = module_name(path)
    sys.modules.pop(name, None)
    module = types.ModuleType(name)
    module.__file__ = path
    sys.modules[name] = module
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        code = compile(source, path, "exec", dont_inherit=True)
        exec(code, module.__dict__)  # noqa: S102 - running the configured script is the point
    except (Exception, SystemExit) as error:  # a script's sys.exit() must not end the child
        sys.modules.pop(name, None)
        raise ScriptLoadError(path) from error
    return module


def find_callable(module: types.ModuleType, name: str) -> Any | None:
    found = getattr(module, name, None)
    return found if callable(found) else None
