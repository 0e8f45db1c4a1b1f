"""Helpers for the pure configuration tier: write a config tree into tmp_path, then `load` it.

`write_config(text)` writes `tmp_path/httpd.conf` with `LoadModule mpm_event_module ...` as its
first line (so a test's own lines start at line 2), or with another MPM (`mpm="worker"`), or with no
MPM line at all (`mpm=None`). `load_config(text)` does the same and returns the ServerConfig, with an
empty process environment unless one is given, so ${VAR} tests do not depend on the caller's shell.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import pytest

from pyhttpd.config import ServerConfig, load
from pyhttpd.modules.registry import default_registry


def mpm_line(mpm: str) -> str:
    return f"LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so\n"


WriteConfig = Callable[..., Path]
LoadConfig = Callable[..., ServerConfig]


@pytest.fixture
def write_config(tmp_path: Path) -> WriteConfig:
    def write(text: str, *, mpm: str | None = "event", name: str = "httpd.conf") -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text((mpm_line(mpm) if mpm else "") + text)
        return path

    return write


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str], Path]:
    """Write any file under the ServerRoot (tmp_path), creating its directories."""

    def write(relative: str, text: str) -> Path:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    return write


@pytest.fixture
def load_config(tmp_path: Path, write_config: WriteConfig) -> LoadConfig:
    def load_text(
        text: str,
        *,
        mpm: str | None = "event",
        defines: Iterable[str] = (),
        environment: Mapping[str, str] | None = None,
        before: str = "",
        after: str = "",
    ) -> ServerConfig:
        path = write_config(text, mpm=mpm)
        return load(
            str(path),
            str(tmp_path),
            default_registry(),
            defines=defines,
            before=before,
            after=after,
            environment={} if environment is None else environment,
        )

    return load_text


@pytest.fixture
def conf_path(tmp_path: Path) -> str:
    """The path `write_config` uses by default, as the error messages show it."""
    return str(tmp_path / "httpd.conf")
