"""Request and response heads as plain values: Headers keep order and case, look up by lower case.

Sans-I/O and thread-agnostic; built by the parser, read by modules, written by the writer.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property


class Headers:
    """An ordered multi-map of header fields; lookups are case-insensitive.

    The lower-cased names are kept beside the fields, lowered once when a field is added: a
    request looks headers up ~100 times, and lowering every name on every lookup was the most
    called function of a static GET (request_bench: -150 calls per request).
    """

    __slots__ = ("_fields", "_keys")

    def __init__(self, fields: Iterable[tuple[str, str]] = ()) -> None:
        self._fields: list[tuple[str, str]] = list(fields)
        # (every request starts with empty response headers: no comprehension for those)
        self._keys: list[str] = [name.lower() for name, _ in self._fields] if self._fields else []

    def get(self, name: str, default: str | None = None) -> str | None:
        # `in` before index(): most lookups miss (If-*, Range, Expect...), and a ValueError
        # raised and caught costs five times the second scan of a few keys
        keys, lowered = self._keys, name.lower()
        if lowered in keys:
            return self._fields[keys.index(lowered)][1]
        return default

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        if lowered not in self._keys:
            return []
        return [
            field[1] for key, field in zip(self._keys, self._fields, strict=True) if key == lowered
        ]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._keys

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._fields)

    def __len__(self) -> int:
        return len(self._fields)

    def add(self, name: str, value: str) -> None:
        self._fields.append((name, value))
        self._keys.append(name.lower())

    def set(self, name: str, value: str) -> None:
        lowered = name.lower()  # remove + add, inlined: a response sets ~6 fields
        if lowered in self._keys:
            self.remove(name)
        self._fields.append((name, value))
        self._keys.append(lowered)

    def setdefault(self, name: str, value: str) -> None:
        lowered = name.lower()  # (inlined: every response sets its Content-Type so)
        if lowered not in self._keys:
            self._fields.append((name, value))
            self._keys.append(lowered)

    def remove(self, name: str) -> None:
        lowered = name.lower()
        if lowered in self._keys:
            kept = [
                pair for pair in zip(self._keys, self._fields, strict=True) if pair[0] != lowered
            ]
            self._keys = [key for key, _ in kept]
            self._fields = [field for _, field in kept]

    def copy(self) -> Headers:
        copied = Headers.__new__(Headers)  # the names are lowered already
        copied._fields, copied._keys = self._fields.copy(), self._keys.copy()
        return copied

    def __repr__(self) -> str:
        return f"Headers({self._fields!r})"


@dataclass(frozen=True)
class RequestHead:
    """A parsed request line and header block. `version` is (0, 9) for an HTTP/0.9 request.

    `raw`: the head's exact bytes when the parser keeps it (parser.KEPT_HEAD_MAX). Such a head
    is shared by every request that arrives as those bytes, so nothing may change it: a Request
    gets `private()`'s copy, and the bytes key the replays (replay.py).
    """

    method: str
    target: str
    version: tuple[int, int]
    headers: Headers
    request_line: str
    raw: bytes = field(default=b"", compare=False, repr=False)

    def private(self) -> RequestHead:
        """A copy of a shared head that a request's hooks may change (RequestHeader...)."""
        if not self.raw:
            return self
        return RequestHead(
            self.method, self.target, self.version, self.headers.copy(), self.request_line
        )

    @cached_property
    def has_body_fields(self) -> bool:
        """Whether a Content-Length or Transfer-Encoding field came, worked out on first use:
        a shared head is asked on every request that arrives as it (whether it can be served
        without a body), and cannot change. The engine asks before any hook runs."""
        return "content-length" in self.headers or "transfer-encoding" in self.headers

    @cached_property
    def protocol(self) -> str:
        """The version's name, "HTTP/1.1", from a table: CGI and WSGI variables, the log and the
        scoreboard ask for it on every request (of a shared head: once)."""
        return _PROTOCOLS.get(self.version) or "HTTP/{}.{}".format(*self.version)


_PROTOCOLS = {(1, 1): "HTTP/1.1", (1, 0): "HTTP/1.0", (0, 9): "HTTP/0.9"}
