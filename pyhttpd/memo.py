"""remember(): the one policy of the bounded memo tables on the request path.

Several lookups keep what they computed in a plain dict shared by a process's threads: merged
per-dir settings, remembered directory walks, parsed .htaccess files, CGI server variables,
checked WSGI status lines and headers. None may grow without bound (keys can come from clients
or from files that change), and none needs an eviction order: a table that reaches its limit
starts afresh. One item assignment and clear() are each atomic under the GIL, so readers need
no lock. Used from any thread.
"""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def remember(table: dict[K, V], key: K, value: V, limit: int) -> V:
    """Keep `value` under `key`, emptying `table` first when it holds `limit` entries."""
    if len(table) >= limit:
        table.clear()
    table[key] = value
    return value
