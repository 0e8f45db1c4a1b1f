"""Which output filters a response's chain holds: core's SetOutputFilter, mod_mime's
AddOutputFilter (by extension, noted on the request) and mod_filter's AddOutputFilterByType,
shared so that a filter module (mod_deflate) can ask without importing any of them.

Apache builds each response's filter chain in the insert_filter hook; pyhttpd's filters run in
the output_headers phase and ask `output_filter_wanted(request, "DEFLATE")` there. Filter names
compare case-insensitively; AddOutputFilterByType matches the response's media type without its
parameters (`text/html; charset=utf-8` is text/html) and counts only while mod_filter is loaded.
Error responses (ap_die's pages) get no filters, as Apache inserts them only when a handler runs.
Runs in the thread serving a request.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyhttpd.config.model import Settings
    from pyhttpd.http.request import Request

OUTPUT_FILTERS_NOTE = "mime_output_filters"  # AddOutputFilter's names for the file's extensions


def media_type(request: Request) -> str:
    """The response's type without parameters, lower-cased ("" when it has none)."""
    value = request.headers_out.get("Content-Type") or request.content_type or ""
    return value.split(";", 1)[0].strip().lower()


def _names(words: object) -> set[str]:
    found: set[str] = set()
    for word in words if isinstance(words, tuple | list) else (words,):
        found.update(name.strip().upper() for name in str(word).split(";") if name.strip())
    return found


def _by_type(per_dir: Settings) -> dict[str, frozenset[str]]:
    """AddOutputFilterByType of merged per-dir settings: filter name -> lower-cased types."""
    table: dict[str, frozenset[str]] = {}
    for rule in per_dir.get("AddOutputFilterByType") or ():
        types = frozenset(t.lower() for t in rule.types)
        for name in _names(rule.filters):
            table[name] = table.get(name, frozenset()) | types
    return table


def output_filter_wanted(request: Request, name: str) -> bool:
    """Is the output filter `name` in this response's chain?"""
    if request.notes.get("error_response"):
        return False
    wanted = name.upper()
    for chosen in (request.per_dir.get("SetOutputFilter"), request.notes.get(OUTPUT_FILTERS_NOTE)):
        if chosen and wanted in _names(chosen):
            return True
    if not request.config.module_loaded("filter_module"):
        return False
    # built once per merged Settings (-12 calls a request)
    types = request.per_dir.derived(_by_type).get(wanted)
    return types is not None and media_type(request) in types
