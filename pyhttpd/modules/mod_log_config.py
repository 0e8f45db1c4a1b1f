"""log_config_module (mod_log_config.c): LogFormat, CustomLog, TransferLog (compiled in, as Debian).

Directive table now; the log_transaction hook that writes the lines arrives with the HTTP layer.
A format given by nickname is resolved when the log is opened, as Apache does.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyhttpd.config.directives import RSRC_CONF, ArgShape, Command, DirectiveSpec, Merge, take_flag
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError

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

MODULE = Module(name="log_config_module", source="mod_log_config.c", directives=DIRECTIVES)
