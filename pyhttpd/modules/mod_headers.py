"""headers_module (mod_headers.c): Header and RequestHeader.

Directive table on top; the hooks arrive with the HTTP layer: post_read_request for `early`
entries, fixups for RequestHeader, and the output filters for Header (onsuccess and always).
Entries keep their order in one list per directive, as Apache's fixup arrays do. The format
string is checked here (%D %t %e %s); `expr=` clauses are kept as text for the HTTP layer's
expression evaluator. Runs only while a configuration is processed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyhttpd.config.directives import OR_ALL, ArgShape, Command, DirectiveSpec, Merge
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

ACTIONS = ("set", "setifempty", "add", "append", "merge", "unset", "echo", "edit", "edit*", "note")
ACTION_ERROR = (
    "first argument must be 'add', 'set', 'setifempty', 'append', 'merge', 'unset', 'echo', "
    "'note', 'edit', or 'edit*'."
)
FORMAT_TAGS = frozenset("Dtes")  # %D duration, %t time, %{VAR}e env, %{VAR}s SSL variable


@dataclass(frozen=True)
class HeaderEntry:
    """One Header / RequestHeader line, parsed.

    `condition` is "onsuccess" or "always" for Header, "" for RequestHeader. `when` holds the
    trailing clause: "early", "env=[!]VAR", "expr=..." or "". For edit/edit*, `value` is the
    regular expression (compiled in `regex`) and `replacement` the substitution; for echo,
    `regex` matches the request header names to copy.
    """

    condition: str
    action: str
    header: str
    value: str | None = None
    replacement: str | None = None
    when: str = ""
    regex: re.Pattern[str] | None = None

    @property
    def early(self) -> bool:
        return self.when.lower() == "early"


def _compile(pattern: str, message: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        raise DirectiveError(message) from None


def check_format(value: str) -> None:
    """mod_headers' parse_format_string: only %D %t %{..}e %{..}s and %% may follow a '%'."""
    if value[:5].lower() == "expr=":
        return
    index = 0
    while index < len(value):
        if value[index] != "%":
            index += 1
            continue
        index += 1
        if index >= len(value) or value[index] == "%":
            index += 1
            continue
        if value[index] == "{":
            close = value.find("}", index)
            index = len(value) if close < 0 else close + 1
        tag = value[index] if index < len(value) else ""
        if tag not in FORMAT_TAGS:
            raise DirectiveError(f"Unrecognized header format %{tag}")
        index += 1


def _clause(when: str) -> str:
    lowered = when.lower()
    if lowered == "early":
        return when
    if lowered.startswith("env="):
        if when[4:] in ("", "!"):
            raise DirectiveError(
                "error: missing environment variable name. envclause should be in the form "
                "env=envar "
            )
        return when
    if lowered.startswith("expr="):
        return when  # ap_expr text: parsed by the HTTP layer's expression evaluator
    raise DirectiveError(f"Unknown parameter: {when}")


def _entry(
    cmd: Command,
    condition: str,
    action: str,
    header: str,
    value: str | None,
    replacement: str | None,
    when: str | None,
) -> HeaderEntry:
    """Port of header_inout_cmd: how many words each action takes, and what they mean."""
    action = action.lower()
    if action not in ACTIONS:
        raise DirectiveError(ACTION_ERROR)
    regex = None
    if action in ("edit", "edit*"):
        if replacement is None:
            raise DirectiveError("Header edit requires a match and a substitution")
        regex = _compile(value or "", "Header edit regex could not be compiled")
    else:
        if when is not None:
            raise DirectiveError("Too many arguments to directive")
        when, replacement = replacement, None
    if action == "unset":
        if value is not None:
            if when is not None:
                raise DirectiveError("header unset takes two arguments")
            when, value = value, None
    elif action == "echo":
        if value is not None:
            if when is not None:
                raise DirectiveError("Header echo takes two arguments")
            when, value = value, None
        if not condition:
            raise DirectiveError("Header echo only valid on Header directives")
        regex = _compile(header, "Header echo regex could not be compiled")
    elif value is None:
        raise DirectiveError("Header requires three arguments")
    clause = _clause(when) if when is not None else ""
    header = header.split(":", 1)[0]
    if value is not None and action not in ("edit", "edit*"):
        check_format(value)
    return HeaderEntry(condition, action, header, value, replacement, clause, regex)


def _parse(cmd: Command, raw: str, allow_condition: bool) -> HeaderEntry:
    words = list(split_words(raw))
    action = words.pop(0) if words else ""
    condition = "onsuccess" if allow_condition else ""
    if allow_condition and action.lower() in ("always", "onsuccess"):
        condition = action.lower()
        action = words.pop(0) if words else ""
    header = words.pop(0) if words else ""
    rest: list[str | None] = [*words[:3], None, None, None][:3]
    if len(words) > 3:
        raise DirectiveError(f"{cmd.name} has too many arguments")
    return _entry(cmd, condition, action, header, rest[0], rest[1], rest[2])


def header(cmd: Command, raw: str) -> HeaderEntry:
    return _parse(cmd, raw, allow_condition=True)


def request_header(cmd: Command, raw: str) -> HeaderEntry:
    return _parse(cmd, raw, allow_condition=False)


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "Header",
        ArgShape.RAW_ARGS,
        OR_ALL,
        header,
        "an optional condition, an action, header and value followed by optional env clause",
        merge=Merge.APPEND,
        override="FileInfo",
    ),
    DirectiveSpec(
        "RequestHeader",
        ArgShape.RAW_ARGS,
        OR_ALL,
        request_header,
        "an action, header and value followed by optional env clause",
        merge=Merge.APPEND,
        override="FileInfo",
    ),
)

MODULE = Module(
    name="headers_module",
    source="mod_headers.c",
    directives=DIRECTIVES,
    description="set, append, merge, edit or remove request and response headers",
)
