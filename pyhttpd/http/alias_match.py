"""URL-path prefix and pattern matching shared by the alias-style modules (mod_alias, mod_wsgi).

`alias_matches` is mod_alias's prefix test (mod_wsgi carries a copy of it in C), `substitute`
Apache's ap_pregsub for the Match forms. Pure functions; run in the thread serving a request.
"""

from __future__ import annotations

import re


def alias_matches(uri: str, fake: str) -> int:
    """mod_alias's prefix test: runs of '/' match runs of '/'; returns the matched length or 0."""
    if "//" not in uri and "//" not in fake:  # every run is one '/': a plain prefix test
        if not uri.startswith(fake):
            return 0
        end = len(fake)
        if fake and fake[-1] != "/" and end < len(uri) and uri[end] != "/":
            return 0
        return end
    a = u = 0
    while a < len(fake):
        if fake[a] == "/":
            if u >= len(uri) or uri[u] != "/":
                return 0
            while a < len(fake) and fake[a] == "/":
                a += 1
            while u < len(uri) and uri[u] == "/":
                u += 1
        else:
            if u >= len(uri) or uri[u] != fake[a]:
                return 0
            a += 1
            u += 1
    if fake and fake[-1] != "/" and u < len(uri) and uri[u] != "/":
        return 0
    return u


_SUBSTITUTION = re.compile(r"\\([$&])|\$([0-9])")


def substitute(template: str, match: re.Match[str]) -> str:
    """ap_pregsub: $0..$9 become the match's groups; a backslash protects a '$'."""

    def one(found: re.Match[str]) -> str:
        if found.group(1):
            return found.group(1)
        number = int(found.group(2))
        return (match.group(number) or "") if number <= (match.re.groups or 0) else ""

    return _SUBSTITUTION.sub(one, template)
