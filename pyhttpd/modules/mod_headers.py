"""headers_module (mod_headers.c): Header and RequestHeader.

Directive table on top: each line is parsed into a HeaderEntry with its value format compiled
(%D %t %{VAR}e %{VAR}s and Apache 2.4.71's server-load tags %i %b %l) and its `expr=` clauses
parsed by pyhttpd.http.expr, so a bad line fails at start-up with Apache's message. Entries keep
their order in one list per directive, as Apache's fixup arrays do.

Hooks at the bottom: post_read_request runs `early` entries; fixups (last) runs RequestHeader on
the request headers; output_headers runs Header as Apache's two output tables do: `always` entries
on err_headers_out (kept on error responses), `onsuccess` entries on headers_out (dropped with it
on an error response), err_headers_out first on the wire. Hooks run in the thread serving the
request; the table code only while a configuration is processed.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyhttpd.config.directives import OR_ALL, ArgShape, Command, DirectiveSpec, Merge
from pyhttpd.config.grammar import split_words
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.http.expr import Expression, evaluate, parse, parse_string, regsub, render
from pyhttpd.http.messages import Headers
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase, replayable

if TYPE_CHECKING:
    from pyhttpd.http.request import Request

ACTIONS = ("set", "setifempty", "add", "append", "merge", "unset", "echo", "edit", "edit*", "note")
ACTION_ERROR = (
    "first argument must be 'add', 'set', 'setifempty', 'append', 'merge', 'unset', 'echo', "
    "'note', 'edit', or 'edit*'."
)
# %D duration, %t time, %{VAR}e env, %{VAR}s SSL variable; since 2.4.x also %i idle workers,
# %b busy workers and %l load average (not request headers: Apache's letters, checked on 2.4.71).
FORMAT_TAGS = frozenset("Dtesibl")
Format = tuple[str | tuple[str, str], ...]  # literal text, or (tag letter, {argument})


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
    format: Format = ()  # the value (or, for edit, the replacement) compiled
    value_expression: Expression | None = None  # value "expr=..."
    expression: Expression | None = None  # clause expr=...

    @property
    def early(self) -> bool:
        return self.when.lower() == "early"


def _compile(pattern: str, message: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error:
        raise DirectiveError(message) from None


_ESCAPE = re.compile(r"\\([\\rnt])")
_ESCAPED = {"\\": "\\", "r": "\r", "n": "\n", "t": "\t"}


def compile_format(value: str) -> Format:
    """mod_headers' parse_format_string: literal runs (with \\n \\r \\t \\\\ escapes) and tags."""
    parts: list[str | tuple[str, str]] = []
    index = 0
    while index < len(value):
        if value[index] != "%":
            end = value.find("%", index) if "%" in value[index:] else len(value)
            parts.append(_ESCAPE.sub(lambda m: _ESCAPED[m.group(1)], value[index:end]))
            index = end
            continue
        index += 1
        if value[index : index + 1] == "%":
            parts.append("%")
            index += 1
            continue
        argument = ""
        if value[index : index + 1] == "{":
            close = value.find("}", index)
            argument = value[index + 1 : close] if close >= 0 else value[index + 1 :]
            index = len(value) if close < 0 else close + 1
        tag = value[index : index + 1]
        if tag not in FORMAT_TAGS or not tag:
            raise DirectiveError(f"Unrecognized header format %{tag}")
        parts.append((tag, argument))
        index += 1
    return tuple(parts)


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
        return when  # parsed into HeaderEntry.expression by _entry
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
    text = replacement if action in ("edit", "edit*") else value
    fmt: Format = ()
    value_expression = expression = None
    if text is not None and text[:5].lower() == "expr=" and action not in ("edit", "edit*"):
        value_expression = parse_string(text[5:])
    elif text is not None:
        fmt = compile_format(text)
    if clause[:5].lower() == "expr=":
        expression = parse(clause[5:], "Can't parse envclause/expression")
    return HeaderEntry(
        condition,
        action,
        header,
        value,
        replacement,
        clause,
        regex,
        fmt,
        value_expression,
        expression,
    )


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

# --- hooks ---------------------------------------------------------------------------------------


def _tag(tag: str, argument: str, request: Request) -> str:
    """One %-tag of a value, as mod_headers' header_request_* functions print it."""
    if tag in ("D", "t", "l"):
        request.replayable = False  # the time or the load: not the same again
    if tag == "D":
        return f"D={int((time.time() - request.start_time) * 1_000_000)}"
    if tag == "t":
        return f"t={int(request.start_time * 1_000_000)}"
    if tag == "e":
        value = request.environment.get(argument)
        return "(null)" if value is None else value
    if tag == "l":
        return "l=" + "/".join(f"{load:.2f}" for load in os.getloadavg())
    if tag == "i":
        return "i=0"  # idle workers: the scoreboard is not readable from a request yet
    if tag == "b":
        return "b=1"  # busy workers: at least this one
    return "(null)"  # %{VAR}s: no mod_ssl


def _value(entry: HeaderEntry, request: Request) -> str:
    if entry.value_expression is not None:
        return render(entry.value_expression, request)
    return "".join(p if isinstance(p, str) else _tag(p[0], p[1], request) for p in entry.format)


def _applies(entry: HeaderEntry, request: Request) -> bool:
    if entry.when[:4].lower() == "env=":
        name = entry.when[4:]
        if name.startswith("!"):
            return name[1:] not in request.environment
        return name in request.environment
    return entry.expression is None or evaluate(entry.expression, request)


def _rewrite(headers: Headers, fields: list[tuple[str, str]]) -> None:
    """Replace a table's contents in place (Headers has no positional update)."""
    for name in {name.lower() for name, _ in headers}:
        headers.remove(name)
    for name, value in fields:
        headers.add(name, value)


def _table_set(headers: Headers, name: str, value: str) -> None:
    """apr_table_set: the first field keeps its place and takes the value, the others go."""
    fields, seen, lowered = [], False, name.lower()
    for key, old in headers:
        if key.lower() == lowered:
            if not seen:
                fields.append((key, value))
            seen = True
        else:
            fields.append((key, old))
    if not seen:
        fields.append((name, value))
    _rewrite(headers, fields)


def _table_merge(headers: Headers, name: str, value: str) -> None:
    """apr_table_merge: append ", value" to the first field of that name, or add one."""
    lowered, fields, done = name.lower(), [], False
    for key, old in headers:
        if not done and key.lower() == lowered:
            old, done = f"{old}, {value}", True
        fields.append((key, old))
    if not done:
        fields.append((name, value))
    _rewrite(headers, fields)


def _has_token(existing: str, token: str) -> bool:
    """Header merge's scan (a variant of ap_get_token): comma-separated, quoted strings whole."""
    index, end = 0, len(existing)
    while index < end:
        while index < end and existing[index].isspace():
            index += 1
        start = index
        while index < end and existing[index] != ",":
            index += 1
            if existing[index - 1] == '"':
                while index < end:
                    index += 1
                    if existing[index - 1] == '"':
                        break
        if existing[start:index] == token:
            return True
        index += 1
    return False


def _edit(entry: HeaderEntry, value: str, request: Request) -> str:
    """process_regexp: edit replaces the first match, edit* every match (re-anchored each time)."""
    assert entry.regex is not None
    match = entry.regex.search(value)
    if match is None:
        return value
    replacement = regsub(_value(entry, request), match)
    rest = value[match.end() :]
    if entry.action == "edit*" and rest:
        if match.end() == match.start():  # an empty match would loop forever in Apache
            rest = rest[0] + _edit(entry, rest[1:], request)
        else:
            rest = _edit(entry, rest, request)
    return value[: match.start()] + replacement + rest


def _set_content_type(entry: HeaderEntry, request: Request, value: str) -> None:
    if entry.header.lower() == "content-type":
        request.content_type = value


def fixup(
    request: Request, headers: Headers, entries: tuple[HeaderEntry, ...], early: bool
) -> None:
    """do_headers_fixup: apply the entries, in order, to one table."""
    for entry in entries:
        if entry.early != early or not _applies(entry, request):
            continue
        action, name = entry.action, entry.header
        if action == "add":
            headers.add(name, _value(entry, request))
        elif action == "append":
            _table_merge(headers, name, _value(entry, request))
        elif action == "merge":
            value, existing = _value(entry, request), headers.get(name)
            if existing is None:
                headers.add(name, value)
            elif not _has_token(existing, value):
                _table_merge(headers, name, value)
        elif action == "set" or (action == "setifempty" and name not in headers):
            value = _value(entry, request)
            _set_content_type(entry, request, value)
            _table_set(headers, name, value)
        elif action == "unset":
            headers.remove(name)
        elif action == "echo":
            assert entry.regex is not None
            for key in dict.fromkeys(k for k, _ in request.head.headers):
                if entry.regex.search(key):
                    headers.add(key, ", ".join(request.head.headers.get_all(key)))
        elif action in ("edit", "edit*") and name in headers:
            edited = [_edit(entry, value, request) for value in headers.get_all(name)]
            if name.lower() == "content-type" and request.content_type:
                request.content_type = _edit(entry, request.content_type, request)
            headers.remove(name)
            for value in edited:
                headers.add(name, value)
        elif action == "note":
            value = headers.get(name)
            if value is not None:
                request.notes[_value(entry, request)] = value


ERR_HEADERS_NOTE = "err_headers_out"  # Headers set early by `Header always ... early`


def _entries(request: Request, key: str) -> tuple[HeaderEntry, ...]:
    return tuple(request.per_dir.get(key) or ())


def early(request: Request) -> int:
    """ap_headers_early: the `early` entries of the server config, before anything else."""
    fixup(request, request.head.headers, _entries(request, "RequestHeader"), early=True)
    entries = _entries(request, "Header")
    always = tuple(e for e in entries if e.condition == "always" and e.early)
    if always:
        err = request.notes.setdefault(ERR_HEADERS_NOTE, Headers())
        fixup(request, err, always, early=True)
    fixup(request, request.headers_out, tuple(e for e in entries if e.condition != "always"), True)
    return DECLINED


def request_fixup(request: Request) -> int:
    """ap_headers_fixup: RequestHeader on the request headers, after every other fixup."""
    entries = _entries(request, "RequestHeader")
    if not entries:
        return DECLINED
    request.replayable = False  # the head the log sees is edited: not the one a replay parses
    fixup(request, request.head.headers, entries, early=False)
    return OK


def output_headers(request: Request) -> int:
    """The output filter (success) or error filter: `always` on err_headers_out, `onsuccess`
    on headers_out unless this is an error response; err_headers_out goes first on the wire."""
    entries = _entries(request, "Header")
    err = request.notes.pop(ERR_HEADERS_NOTE, None) or Headers()
    if not entries and not len(err):
        return DECLINED
    content_type = request.content_type
    fixup(request, err, tuple(e for e in entries if e.condition == "always"), early=False)
    if not request.notes.get("error_response"):
        onsuccess = tuple(e for e in entries if e.condition != "always")
        fixup(request, request.headers_out, onsuccess, early=False)
    _rewrite(request.headers_out, [*err, *request.headers_out])
    if request.content_type != content_type and request.content_type:
        _table_set(request.headers_out, "Content-Type", request.content_type)
    return OK


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.POST_READ_REQUEST, replayable(early), Order.FIRST)
    hooks.add(Phase.FIXUPS, replayable(request_fixup), Order.LAST)
    hooks.add(Phase.OUTPUT_HEADERS, replayable(output_headers), Order.MIDDLE)


MODULE = Module(
    name="headers_module",
    source="mod_headers.c",
    directives=DIRECTIVES,
    description="set, append, merge, edit or remove request and response headers",
    register_hooks=register,
)
