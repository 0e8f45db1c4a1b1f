"""log_config_module (mod_log_config.c): LogFormat, CustomLog, TransferLog (compiled in, as Debian).

Directive table on top; at the bottom the hooks: each LogFormat is compiled once per generation
into literal text and item functions (Apache's log_pfn table), each CustomLog file is opened once
(O_APPEND, so lines from several processes never interleave), and log_transaction writes one line
per request. A format given by nickname is resolved when the log is opened, as Apache does.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyhttpd.config.directives import RSRC_CONF, ArgShape, Command, DirectiveSpec, Merge, take_flag
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.http.phases import OK, HookContext, Hooks, Phase

if TYPE_CHECKING:
    from pyhttpd.http.request import Request

COMMON = '%h %l %u %t "%r" %>s %b'


@dataclass(frozen=True)
class LogFormat:
    """`LogFormat format [nickname]`: without a nickname it sets TransferLog's format."""

    format: str
    nickname: str = ""


@dataclass(frozen=True)
class CustomLog:
    """`CustomLog file|pipe format|nickname [env=[!]var | expr=...]`."""

    target: str
    format: str
    condition: str = ""


def log_format(cmd: Command, fmt: str, nickname: str = "") -> LogFormat:
    if nickname and "%" in nickname:
        raise DirectiveError("LogFormat nickname may not contain '%'")
    return LogFormat(fmt, nickname)


def custom_log(cmd: Command, target: str, fmt: str, condition: str = "") -> CustomLog:
    if condition and not (condition.startswith("env=") or condition.startswith("expr=")):
        raise DirectiveError("error in condition clause")
    return CustomLog(target, fmt, condition)


def transfer_log(cmd: Command, target: str) -> CustomLog:
    return CustomLog(target, "")


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "LogFormat",
        ArgShape.TAKE12,
        RSRC_CONF,
        log_format,
        "a log format string (see docs) and an optional format name",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "CustomLog",
        ArgShape.TAKE23,
        RSRC_CONF,
        custom_log,
        'a file name, a custom log format string or format name, and an optional "env=" or "expr=" clause (see docs)',
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "TransferLog",
        ArgShape.TAKE1,
        RSRC_CONF,
        transfer_log,
        "the filename of the access log",
        key="CustomLog",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "BufferedLogs",
        ArgShape.FLAG,
        RSRC_CONF,
        take_flag,
        "Enable Buffered Logging (experimental)",
        default=False,
    ),
)


# --- hooks: formats compiled once per generation, one write per request ---------------------

NICKNAMES = {
    "common": COMMON,
    "combined": COMMON + ' "%{Referer}i" "%{User-agent}i"',
    "referer": "%{Referer}i -> %U",
    "agent": "%{User-agent}i",
}
_ITEM = re.compile(r"%([<>]?)(?:\{([^}]*)\})?([a-zA-Z%])")
Item = Callable[["Request"], str]


def _dash(value: object) -> str:
    text = "" if value is None else str(value)
    return text or "-"


def _user(user: str | None) -> str:
    """log_remote_user: "-" without a user, "" (quoted) for an empty one, escaped otherwise."""
    if user is None:
        return "-"
    return _escape(user) if user else '""'


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f\x7f]')


def _escape(text: str) -> str:
    """Apache escapes quotes, backslashes and control characters in logged request data."""
    if _NEEDS_ESCAPE.search(text) is None:  # the usual case: 9 calls less per field
        return text
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\x{ord(char):02x}")
        else:
            out.append(char)
    return "".join(out)


def _clock(fmt: str) -> Item:
    """%t / %{format}t: the request's start time, formatted once per second (as Apache caches
    its request-time strings): localtime + strftime cost ~4 µs a request otherwise."""
    pattern = fmt.removeprefix("begin:").removeprefix("end:") or "[%d/%b/%Y:%H:%M:%S %z]"
    cached = [-1, ""]  # [second, text]; a racing thread at worst formats the same second twice

    def item(request: Request) -> str:
        second = int(request.start_time)
        if second != cached[0]:
            cached[1] = time.strftime(pattern, time.localtime(second))
            cached[0] = second
        return cached[1]  # type: ignore[return-value]

    return item


def _process_id(argument: str) -> Item:
    """%P / %{pid}P: the process; %{tid}P / %{hextid}P: the thread that served the request
    (as the error log's tid, the kernel's thread id)."""
    if argument == "tid":
        return lambda r: str(threading.get_native_id())
    if argument == "hextid":
        return lambda r: f"{threading.get_native_id():x}"
    return lambda r: str(os.getpid())


def _letter(letter: str, argument: str) -> Item:
    """One %-directive -> a function of the request (Apache's log_pfn table)."""
    header = argument
    table: dict[str, Item] = {
        "h": lambda r: r.client[0],
        "a": lambda r: r.client[0],
        "A": lambda r: r.local[0],
        "l": lambda r: "-",
        "u": lambda r: _user(r.notes.get("user")),
        "t": _clock(argument),
        "r": lambda r: _dash(_escape(r.head.request_line)),
        "s": lambda r: str(r.status),
        "b": lambda r: str(r.bytes_sent) if r.bytes_sent else "-",
        "B": lambda r: str(r.bytes_sent),
        "D": lambda r: str(int((time.time() - r.start_time) * 1_000_000)),
        "T": lambda r: str(int(time.time() - r.start_time)),
        "i": lambda r: _dash(_escape(r.head.headers.get(header) or "")),
        "o": lambda r: _dash(_escape(r.headers_out.get(header) or "")),
        "e": lambda r: _dash(r.environment.get(header)),
        "n": lambda r: _dash(r.notes.get(header)),
        "U": lambda r: _escape(r.uri),
        "q": lambda r: f"?{r.query}" if r.query else "",
        "m": lambda r: r.method,
        "H": lambda r: r.head.protocol,
        "v": lambda r: str(r.server.get("ServerName") or "-"),
        "V": lambda r: _escape(
            r.head.headers.get("Host") or str(r.server.get("ServerName") or "-")
        ),
        "p": lambda r: str(r.local[1]),
        "P": _process_id(argument),
        "f": lambda r: _dash(r.filename),
        "k": lambda r: str(r.notes.get("keepalives", 0)),
        "X": lambda r: "-" if r.notes.get("close") else "+",
        "%": lambda r: "%",
    }
    if letter not in table:
        return lambda r, text=f"%{letter}": text
    return table[letter]


@dataclass(frozen=True)
class Compiled:
    """A LogFormat compiled once per generation: %-template of its literal text, and the item
    functions that fill it (one listcomp and one % per line: ~20 calls less than joining a
    generator of parts)."""

    template: str
    items: tuple[Item, ...]

    def render(self, request: Request) -> str:
        return self.template % tuple([item(request) for item in self.items])


def compile_format(fmt: str) -> Compiled:
    """Split a LogFormat into literal text and item functions, once per generation."""
    literals: list[str] = []
    items: list[Item] = []
    position = 0
    text = fmt.replace("\\n", "\n").replace("\\t", "\t")
    for match in _ITEM.finditer(text):
        literals.append(text[position : match.start()].replace("%", "%%"))
        items.append(_letter(match.group(3), match.group(2) or ""))
        position = match.end()
    literals.append(text[position:].replace("%", "%%"))
    return Compiled("%s".join(literals), tuple(items))


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def register(hooks: Hooks, context: HookContext) -> None:
    """Apache's open_logs + log_transaction: open each CustomLog once, write one line a request."""
    config = context.config
    formats = dict(NICKNAMES)
    default = COMMON
    for entry in config.get("LogFormat") or ():
        if entry.nickname:
            formats[entry.nickname] = entry.format
        else:
            default = entry.format
    logs: list[tuple[int, Compiled, str]] = []
    # registered first, so that a file opened before a later one fails is closed too
    context.on_close(lambda: _close_all([fd for fd, _, _ in logs]))
    for log in config.get("CustomLog") or ():
        if log.target.startswith("|"):
            continue  # piped logs arrive with the process model
        path = (
            log.target
            if os.path.isabs(log.target)
            else os.path.join(config.server_root, log.target)
        )
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        logs.append(
            (fd, compile_format(formats.get(log.format, log.format or default)), log.condition)
        )
    if not logs:
        return

    def log_transaction(request: Request) -> int:
        for fd, parts, condition in logs:
            if condition.startswith("env="):
                name = condition[4:]
                negate = name.startswith("!")
                if (name.lstrip("!") in request.environment) == negate:
                    continue
            os.write(fd, (parts.render(request) + "\n").encode("utf-8", "surrogateescape"))
        return OK

    hooks.add(Phase.LOG_TRANSACTION, log_transaction)


MODULE = Module(
    name="log_config_module",
    source="mod_log_config.c",
    directives=DIRECTIVES,
    description="access logs: LogFormat compiled once, CustomLog written per request",
    register_hooks=register,
)
