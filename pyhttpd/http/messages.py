"""Request and response heads as plain values: Headers keep order and case, look up by lower case.

Sans-I/O and thread-agnostic; built by the parser, read by modules, written by the writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass


class Headers:
    """An ordered multi-map of header fields; lookups are case-insensitive."""

    __slots__ = ("_fields",)

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str]] = list(fields)

    def get(self, name: str, default: str | None = None) -> str | None:
        lowered = name.lower()
        for key, value in self._fields:
            if key.lower() == lowered:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self._fields if key.lower() == lowered]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def add(self, name: str, value: str) -> None:
        self._fields.append((name, value))

    def set(self, name: str, value: str) -> None:
        self.remove(name)
        self._fields.append((name, value))

    def setdefault(self, name: str, value: str) -> None:
        if name not in self:
            self._fields.append((name, value))

    def remove(self, name: str) -> None:
        lowered = name.lower()
        self._fields = [(k, v) for k, v in self._fields if k.lower() != lowered]

    def copy(self) -> Headers:
        return Headers(self._fields)

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


@dataclass(frozen=True)
class RequestHead:
    """A parsed request line and header block. `version` is (0, 9) for an HTTP/0.9 request."""

    method: str
    target: str
    version: tuple[int, int]
    headers: Headers
    request_line: str

    @property
    def protocol(self) -> str:
        return "HTTP/0.9" if self.version == (0, 9) else f"HTTP/{self.version[0]}.{self.version[1]}"
