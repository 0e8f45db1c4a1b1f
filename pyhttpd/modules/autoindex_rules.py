"""autoindex_module's request-time rules: IndexOptions merged layer by layer, which icon, alt
text and description an entry gets, IndexIgnore, and how entries sort (apr_strnatcmp for
VersionSort, apr_strfsize for sizes).

Ports of mod_autoindex.c's merge_autoindex_configs, find_item, find_desc, ignore_entry, dsortf and
the query-string parsing of index_directory. Pure functions of settings, names and stat results,
except find_title, which reads the head of an HTML file. Runs in the thread serving a request.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pyhttpd.http.authz import LAYERS_NOTE
from pyhttpd.http.redirect import escape_path
from pyhttpd.http.request import Request

DIR_MAGIC_TYPE = "httpd/unix-directory"
# IndexOptions keywords that are not on/off flags (the rest are, as the directive table checked).
_VALUED = frozenset(
    "None NameWidth DescriptionWidth IconWidth IconHeight Type Charset UseOldDateFormat".split()
)


@dataclass
class Look:
    """IndexOptions after merging: flags, column widths ("adjust" for `=*`), type and charset."""

    flags: set[str] = field(default_factory=set)
    name_width: int = 23
    name_adjust: str = ""
    desc_width: int = 23
    desc_adjust: str = ""
    icon_width: int = 0
    icon_height: int = 0
    ctype: str = "text/html"
    charset: str | None = None
    date_format: str = "%Y-%m-%d %H:%M"


def scopes_of(request: Request) -> list[Mapping[str, Any]]:
    """The configuration layers merged for the request, in merge order: main server, virtual
    host, then the sections the directory walk applied (all of per_dir if it left no note)."""
    sections = request.notes.get(LAYERS_NOTE)
    if sections is None:
        return [request.per_dir.values]
    scopes = [request.config.main.values]
    if request.vhost is not None:
        scopes.append(request.vhost.settings.values)
    return scopes + [section.settings.values for section in sections]


def resolve_look(scopes: list[Mapping[str, Any]]) -> Look:
    """add_opts over each layer's IndexOptions lines, then merge_autoindex_configs in order."""
    look, increments, decrements = Look(), set[str](), set[str]()
    for scope in scopes:
        absolute: set[str] | None = None
        plus, minus, none = set[str](), set[str](), False
        for option in (o for line in scope.get("IndexOptions", ()) for o in line):
            name, value, action = option.name, option.value, option.action
            bit = None if name in _VALUED else name
            if name == "None":
                absolute, none = set(), True
            elif name in ("NameWidth", "DescriptionWidth"):
                width, adjust = 23, "fixed" if value is None else "adjust"
                if value not in (None, "*"):
                    width, adjust = int(value or 0), "fixed"
                prefix = "name" if name == "NameWidth" else "desc"
                setattr(look, f"{prefix}_width", width)
                setattr(look, f"{prefix}_adjust", adjust)
            elif name in ("IconWidth", "IconHeight"):
                default = 20 if name == "IconWidth" else 22
                digits = re.match(r"\d*", value or "")
                size = (0 if action == "-" else default) if value is None else int(digits[0] or 0)
                attribute = "icon_width" if name == "IconWidth" else "icon_height"
                setattr(look, attribute, size or getattr(look, attribute))
            elif name == "Type":
                look.ctype = value or ""
            elif name == "Charset":
                look.charset = value or ""
            elif name == "UseOldDateFormat":
                look.date_format = "%d-%b-%Y %H:%M"
            if action == "":
                if bit:
                    absolute = (absolute or set()) | {bit}
                plus, minus = set(), set()
            elif bit:
                plus, minus = (
                    (plus | {bit}, minus - {bit})
                    if action == "+"
                    else (plus - {bit}, minus | {bit})
                )
        if none:
            look.flags, increments, decrements = set(), set(), set()
            continue
        if absolute is None:
            increments, decrements = (increments | plus) - minus, decrements | minus
        else:
            look.flags, increments, decrements = absolute, set(), set()
        look.flags = (look.flags | increments) - decrements
    return look


def wild(text: str, pattern: str, fold: bool = False) -> bool:
    """ap_strcmp_match: '*' matches any run (slashes too), '?' any one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.S | (re.I if fold else 0)) is not None


def escape_html(text: str) -> str:
    """ap_escape_html: & < > and the double quote."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


def _ordered(scopes: list[Mapping[str, Any]], key: str) -> list[Any]:
    """A list setting, deepest layer first (merge_autoindex_configs' apr_array_append(add, base))."""
    return [item for scope in reversed(scopes) for item in scope.get(key, ())]


def items_of(scopes: list[Mapping[str, Any]], kind: str) -> list[tuple[str, str, str]]:
    """(by, pattern, data) for icons or alts; by is "encoding", "type" or "path", in that order
    (Apache keeps one list in directive order; pyhttpd's table keeps one per directive)."""
    found: list[tuple[str, str, str]] = []
    for by, suffix in (("encoding", "ByEncoding"), ("type", "ByType"), ("path", "")):
        icons = _ordered(scopes, f"AddIcon{suffix}")
        for item in _ordered(scopes, f"Add{kind}{suffix}") + (icons if kind == "Alt" else []):
            data, pattern = item.data, item.pattern
            if data.startswith("("):  # AddIcon (ALT,/icon.gif): the alt for Alt, the URL for Icon
                alt, _, icon = data[1:].partition(",")
                data = alt if kind == "Alt" else icon.split(")")[0]
            elif kind == "Alt" and item in icons:
                continue
            pattern = "^^DIRECTORY^^" if pattern == "**DIRECTORY**" else pattern
            pattern = pattern.lower() if by == "encoding" else pattern
            if by == "path" and "*" not in pattern and "?" not in pattern:
                pattern = "*" + pattern
            found.append((by, pattern, data))
    return found


def find_item(items: list[tuple[str, str, str]], path: str, ctype: str | None, enc: str | None,
              path_only: bool) -> str | None:  # fmt: skip
    for by, pattern, data in items:
        if not pattern:
            return data
        if by == "path" or path.startswith("^"):
            if wild(path, pattern):
                return data
        elif not path_only and not enc and by == "type" and ctype and wild(ctype, pattern, True):
            return data
        elif not path_only and enc and by == "encoding" and wild(enc, pattern, True):
            return data
    return None


def find_description(scopes: list[Mapping[str, Any]], path: str) -> str | None:
    for item in _ordered(scopes, "AddDescription"):
        pattern = item.pattern
        if "/" in pattern or any(c in pattern for c in "*?["):
            full = "/" in pattern
            pattern = ("*/" if full else "*") + pattern + "*"
            regex = "".join(
                ".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern
            )
            if re.fullmatch(regex, path if full else os.path.basename(path), re.S):
                return str(item.data)
        elif pattern in os.path.basename(path):
            return str(item.data)
    return None


def ignore_patterns(scopes: list[Mapping[str, Any]]) -> list[str]:
    """IndexIgnore, each layer's before its parents' unless IndexIgnoreReset On cuts them off."""
    patterns: list[str] = []
    for scope in scopes:
        own = [str(p).rsplit("/", 1)[-1] for p in scope.get("IndexIgnore", ())]
        patterns = own if scope.get("IndexIgnoreReset") else own + patterns
    return patterns


def find_title(sub: Request) -> str | None:
    content_type = (sub.content_type or "").split(";")[0].strip().lower()
    if content_type != "text/html" or "Content-Encoding" in sub.headers_out:
        return None
    try:
        with open(sub.filename or "", "rb") as handle:
            text = handle.read(8191).decode("latin-1")
    except OSError:
        return None
    start = text.lower().find("<title>")
    if start < 0:
        return None
    title = text[start + 7 :].split("<", 1)[0]
    title = title[1:] if title[:1] in "\r\n" and title else title
    return title.replace("\r", " ").replace("\n", " ")


def strfsize(size: int) -> str:
    """apr_strfsize: four characters: '  - ', '123 ', '4.9K', ' 12M'."""
    if size < 0:
        return "  - "
    if size < 973:
        return f"{size:3d} "
    for order in "KMGTPE":
        remain, size = size & 1023, size >> 10
        if size >= 973:
            continue
        if size < 9 or (size == 9 and remain < 973):
            tenths = (remain * 5 + 256) // 512
            if tenths >= 10:
                size, tenths = size + 1, 0
            return f"{size}.{tenths}{order}"
        return f"{size + (remain >= 512):3d}{order}"
    return "****"


def natcmp(a: bytes, b: bytes, fold: bool = False) -> int:
    """apr_strnatcmp (Martin Pool's natural order): digit runs compare as numbers; bytes are
    C's signed chars, so UTF-8 sorts before ASCII."""
    a, b = a + b"\0", b + b"\0"
    i = j = 0
    while True:
        while a[i] in _SPACES:
            i += 1
        while b[j] in _SPACES:
            j += 1
        ca, cb = a[i], b[j]
        if 48 <= ca <= 57 and 48 <= cb <= 57:
            result = _digits(a[i:], b[j:], fractional=ca == 48 or cb == 48)
            if result:
                return result
        if not ca and not cb:
            return 0
        if fold:
            ca, cb = (c - 32 if 97 <= c <= 122 else c for c in (ca, cb))
        ca, cb = (c - 256 if c >= 128 else c for c in (ca, cb))
        if ca != cb:
            return -1 if ca < cb else 1
        i, j = i + 1, j + 1


_SPACES = frozenset(b" \t\n\v\f\r")


def _digits(a: bytes, b: bytes, fractional: bool) -> int:
    bias = 0
    for x, y in zip(a, b, strict=False):
        dx, dy = 48 <= x <= 57, 48 <= y <= 57
        if not dx and not dy:
            return 0 if fractional else bias
        if not dx or not dy:
            return -1 if not dx else 1
        if x != y:
            if fractional:
                return -1 if x < y else 1
            bias = bias or (-1 if x < y else 1)
    return bias


@dataclass
class Entry:
    name: str
    icon: str | None = None
    alt: str | None = None
    desc: str | None = None
    size: int = -1
    lm: float = -1
    isdir: bool = False


def compare(one: Entry, two: Entry, key: str, ascending: bool, flags: set[str]) -> int:
    if one.isdir != two.isdir:
        return -1 if one.isdir else 1
    c1, c2 = (one, two) if ascending else (two, one)
    version, fold = "VersionSort" in flags, "IgnoreCase" in flags
    if key in ("M", "S"):
        x, y = (c1.lm, c2.lm) if key == "M" else (c1.size, c2.size)
        if x != y:
            return 1 if x > y else -1
    elif key == "D":
        d1, d2 = (c1.desc or "").encode(), (c2.desc or "").encode()
        result = natcmp(d1, d2) if version else (d1 > d2) - (d1 < d2)
        if result:
            return result
    n1, n2 = (c.name.encode("utf-8", "surrogateescape") for c in (c1, c2))
    result = (natcmp(n1, n2, fold) or natcmp(n1, n2)) if version else 0
    if not result and fold:
        result = (n1.lower() > n2.lower()) - (n1.lower() < n2.lower())
    return result or (n1 > n2) - (n1 < n2)


def parse_query(query: str, key: str, direction: str, flags: set[str]) -> tuple[str, ...]:
    """index_directory's C=, O=, F=, V= and P= arguments; a syntax error ends the parsing."""
    extra = {"F": "", "V": "", "P": ""}
    pattern = None
    rest = query
    while rest:
        word = re.match(r"([COFV])=(.)(?:[&;]|$)", rest)
        if word and (name := word[1], value := word[2]) and value in {
            "C": "NMSD", "O": "AD", "F": "012", "V": "01"
        }[name]:  # fmt: skip
            if name == "C":
                key = value
            elif name == "O":
                direction = value
            elif name == "F":
                flags -= {"FancyIndexing", "HTMLTable"}
                flags |= [set(), {"FancyIndexing"}, {"FancyIndexing", "HTMLTable"}][int(value)]
                extra["F"] = f";F={value}"
            else:
                flags.discard("VersionSort") if value == "0" else flags.add("VersionSort")
                extra["V"] = f";V={value}"
            rest = rest[word.end() :]
        elif rest.startswith("P="):
            text = re.split(r"[&;]", rest[2:], maxsplit=1)[0]
            rest = rest[2 + len(text) + 1 :]
            pattern = re.sub(r"%([0-9A-Fa-f]{2})", lambda m: chr(int(m[1], 16)), text) or None
            extra["P"] = f";P={escape_path(pattern)}" if pattern else ""
        else:
            break
    return key, direction, extra["F"] + extra["V"] + extra["P"], pattern or ""


def fnmatch_period(name: str, pattern: str) -> bool:
    """apr_fnmatch with APR_FNM_PERIOD: a leading dot must be matched by a literal dot."""
    if name.startswith(".") and not pattern.startswith("."):
        return False
    return fnmatch.fnmatchcase(name, pattern)
