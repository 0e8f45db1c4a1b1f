"""Apache 2.4's configuration syntax: logical lines, comments, quoting, sections (pyparsing).

Owns only the shape of text: it turns a file's characters into logical lines with their line
numbers, and one logical line into a directive, an opening `<Section ...>` tag or a closing tag.
Knows no directive, file system or module. Rules followed exactly (Apache's util.c and config.c):

- A backslash just before the newline (optional CR between) joins the next line; the backslash goes,
  the next line's leading whitespace stays. A space after the backslash stops it. Comments continue too.
- A line is a comment only if its first non-blank character is `#`; a later `#` is an argument.
- Words split on whitespace; `"..."` and `'...'` quote a word (a word ends at its closing quote);
  `\\\\` becomes `\\` everywhere, a backslash before the quote character escapes it inside quotes,
  every other backslash stays.
- `${NAME}` is expanded over the whole line before it is split (see `expand_variables`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum

import pyparsing as pp

pp.ParserElement.set_default_whitespace_chars(" \t\r\f\v")


class LineKind(Enum):
    DIRECTIVE = "directive"
    OPEN = "open"
    CLOSE = "close"


@dataclass(frozen=True)
class LogicalLine:
    """One logical line of text and the number of its last physical line."""

    text: str
    line: int


@dataclass(frozen=True)
class ParsedLine:
    """The structure of one logical line: its kind, name and argument text."""

    kind: LineKind
    name: str
    raw_args: str
    tag_closed: bool = True


_CONTINUATION = re.compile(r"\\\r?$")


def logical_lines(text: str) -> Iterator[LogicalLine]:
    """Yield the non-blank, non-comment logical lines of a file, continuations joined."""
    pending: list[str] = []
    for number, physical in enumerate(text.split("\n"), start=1):
        if _CONTINUATION.search(physical):
            pending.append(_CONTINUATION.sub("", physical))
            continue
        pending.append(physical)
        joined = "".join(pending).strip()
        pending = []
        if joined and not joined.startswith("#"):
            yield LogicalLine(joined, number)
    if pending:  # a continued line at EOF is accepted
        joined = "".join(pending).strip()
        if joined and not joined.startswith("#"):
            yield LogicalLine(joined, text.count("\n") + 1)


def _quoted(quote: str) -> pp.ParserElement:
    body = rf"{quote}(?:\\.|[^{quote}\\])*{quote}?"
    return pp.Regex(body, re.DOTALL).set_parse_action(lambda t: _unescape(t[0][1:], quote))


def _unescape(body: str, quote: str | None) -> str:
    """Apache's substring_conf: drop the closing quote, resolve `\\\\` and `\\<quote>`."""
    if quote and body.endswith(quote) and not _escaped_at_end(body):
        body = body[:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        following = body[index + 1] if index + 1 < len(body) else ""
        if char == "\\" and (following == "\\" or (quote and following == quote)):
            out.append(following)
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def _escaped_at_end(body: str) -> bool:
    """True when the final character is escaped by an odd run of backslashes before it."""
    run = len(body) - 1 - len(body[:-1].rstrip("\\"))
    return run % 2 == 1


_WORD = (
    _quoted('"') | _quoted("'") | pp.Regex(r"\S+").set_parse_action(lambda t: _unescape(t[0], None))
)
_WORDS = pp.ZeroOrMore(_WORD)
_CLOSE = pp.Regex(r"</(?P<name>[^\s>]*)\s*>?.*", re.DOTALL)
_OPEN = pp.Regex(r"<(?P<name>[^\s>/][^\s>]*)(?P<rest>.*)", re.DOTALL)
_DIRECTIVE = pp.Regex(r"(?P<name>\S+)\s*(?P<rest>.*)", re.DOTALL)
_LINE = _CLOSE("close") | _OPEN("open") | _DIRECTIVE("directive")


def parse_line(text: str) -> ParsedLine:
    """Classify one logical line (already stripped and variable-expanded)."""
    result = _LINE.parse_string(text, parse_all=True)
    if "close" in result:
        return ParsedLine(LineKind.CLOSE, result["name"], "")
    if "open" in result:
        rest = result["rest"].strip()
        closed = rest.endswith(">")
        return ParsedLine(
            LineKind.OPEN, result["name"], rest[:-1].rstrip() if closed else rest, closed
        )
    return ParsedLine(LineKind.DIRECTIVE, result["name"], result["rest"].strip())


def split_words(raw_args: str) -> tuple[str, ...]:
    """Split argument text into words with Apache's quoting and escaping rules."""
    if not raw_args.strip():
        return ()
    return tuple(_WORDS.parse_string(raw_args, parse_all=True))


_VARIABLE = re.compile(r"\$\{([^}]*)\}")


def expand_variables(text: str, lookup: Callable[[str], str | None]) -> tuple[str, list[str]]:
    """Expand `${NAME}`; an undefined name stays literal and is reported (Apache's AH00111).

    Returns the expanded text and the undefined names (those containing ':' are not reported).
    """
    undefined: list[str] = []

    def replace(match: re.Match[str]) -> str:
        value = lookup(match.group(1))
        if value is None:
            if ":" not in match.group(1):
                undefined.append(match.group(1))
            return match.group(0)
        return value

    if "${" not in text:
        return text, undefined
    return _VARIABLE.sub(replace, text), undefined
