"""core_module (core.c): the server's own directives and containers.

Directive table on top; hooks (map_to_storage, the default handler) arrive with the HTTP layer.
Defaults are Apache 2.4's compiled-in ones. The MPM-common directives (Listen, PidFile,
MaxConnectionsPerChild, GracefulShutdownTimeout…) live here, as in Apache 2.4's core.c.
"""

from __future__ import annotations

import os

from pyhttpd.config.directives import (
    CONF_ANYWHERE,
    OR_ALL,
    RSRC_CONF,
    ArgShape,
    Command,
    Context,
    DirectiveSpec,
    Merge,
    take_atoi,
    take_flag,
    take_server_path,
    take_string,
    take_words,
)
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError
from pyhttpd.modules import core_hooks
from pyhttpd.modules import core_values as values
from pyhttpd.modules.core_sections import SECTIONS, read_phase_only

T1, T2, T12, FLAG, RAW, ARGV, ITER = (
    ArgShape.TAKE1,
    ArgShape.TAKE2,
    ArgShape.TAKE12,
    ArgShape.FLAG,
    ArgShape.RAW_ARGS,
    ArgShape.TAKE_ARGV,
    ArgShape.ITERATE,
)
SERVER = Context.SERVER
ACCESS = Context.DIRECTORY | Context.HTACCESS


def server_alias(cmd: Command, name: str) -> str:
    if not cmd.section_path:
        raise DirectiveError("ServerAlias only used in <VirtualHost>")
    return name


def listen_backlog(cmd: Command, value: str) -> int:
    backlog = int(value) if value.lstrip("-").isdigit() else 0
    if backlog < 1:
        raise DirectiveError("ListenBacklog must be > 0")
    return backlog


def mutex(cmd: Command, raw: str) -> str:
    return raw


def file_etag(cmd: Command, raw: str) -> tuple[str, ...]:
    from pyhttpd.config.grammar import split_words

    allowed = {"inode", "mtime", "size", "none", "all", "digest"}
    words = split_words(raw)
    for word in words:
        if word.lstrip("+-").lower() not in allowed:
            raise DirectiveError(f"Unknown keyword '{word}' for FileETag directive")
    return words


def max_ranges(cmd: Command, value: str) -> int:
    """MaxRanges: none (0, Range ignored), default (200), unlimited (-1) or a count."""
    named = {"none": 0, "default": 200, "unlimited": -1}
    if value.lower() in named:
        return named[value.lower()]
    if not value.isdigit() or int(value) < 1:
        raise DirectiveError(
            f"{cmd.name} requires 'none', 'default', 'unlimited' or a positive integer"
        )
    return int(value)


def http_protocol_options(cmd: Command, *words: str) -> frozenset[str]:
    allowed = {"allow0.9", "require1.0", "registeredmethods", "lenientmethods", "unsafe", "strict"}
    for word in words:
        if word.lower() not in allowed:
            raise DirectiveError(f"HttpProtocolOptions does not support {word}")
    return frozenset(word.lower() for word in words)


def accept_path_info(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("on", "off", "default"):
        raise DirectiveError("AcceptPathInfo must be set to on, off, or default")
    return lowered


def allow_encoded_slashes(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("on", "off", "nodecode"):
        raise DirectiveError("AllowEncodedSlashes must be On, Off, or NoDecode")
    return lowered


def use_canonical_name(cmd: Command, value: str) -> str:
    lowered = value.lower()
    if lowered not in ("on", "off", "dns"):
        raise DirectiveError('parameter must be "on", "off", or "dns"')
    return lowered


def deprecated_max_requests_per_child(cmd: Command, value: str) -> int:
    """The old name; Apache notes AH00545 at info level only, so -t stays silent."""
    return take_atoi(cmd, value)


def document_root(cmd: Command, value: str) -> str:
    """Apache refuses a main-server DocumentRoot that is not a directory; a vhost's only warns."""
    path = cmd.server_path(value)
    if not os.path.isdir(path):
        if cmd.section_path:
            cmd.warn(f"AH00112: Warning: DocumentRoot [{path}] does not exist")
        else:
            raise DirectiveError(f"DocumentRoot '{path}' is not a directory, or is not readable")
    return path


def row(
    name: str, shape: ArgShape, contexts: Context, handler: object, help: str, **kw: object
) -> DirectiveSpec:
    return DirectiveSpec(name, shape, contexts, handler, help, **kw)  # type: ignore[arg-type]


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    *SECTIONS,
    # Read-phase directives (consumed by the reader; rows for -L and <IfDirective>).
    row(
        "Include",
        T1,
        OR_ALL,
        read_phase_only,
        "Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file",
    ),
    row(
        "IncludeOptional",
        T1,
        OR_ALL,
        read_phase_only,
        "Name or pattern of the config file(s) to be included; ignored if the file does not exist or the pattern does not match any files",
    ),
    row(
        "Define",
        T12,
        OR_ALL,
        read_phase_only,
        "Define a variable, optionally to a value.  Same as passing -D to the command line.",
    ),
    row(
        "UnDefine",
        T1,
        OR_ALL,
        read_phase_only,
        "Undefine the existence of a variable. Undo a Define.",
    ),
    row(
        "ServerRoot",
        T1,
        SERVER,
        read_phase_only,
        "Common directory of server-related files (logs, confs, etc.)",
    ),
    # The server and its names.
    row("ServerName", T1, RSRC_CONF, take_string, "The hostname and port of the server"),
    row(
        "ServerAlias",
        ITER,
        RSRC_CONF,
        server_alias,
        "A name or names alternately used to access the server",
        merge=Merge.APPEND,
    ),
    row("ServerAdmin", T1, RSRC_CONF, take_string, "The email address of the server administrator"),
    row(
        "ServerTokens",
        ArgShape.TAKE12,
        SERVER,
        values.server_tokens,
        "Determine tokens displayed in the Server: header - Min(imal), Major, Minor, Prod(uctOnly), OS, or Full",
        default="Full",
    ),
    row(
        "ServerSignature",
        T1,
        OR_ALL,
        values.server_signature,
        "En-/disable server signature (on|off|email)",
        default="off",
        override="Options",
    ),
    row(
        "UseCanonicalName",
        T1,
        CONF_ANYWHERE,
        use_canonical_name,
        "How to work out the ServerName : Port when constructing URLs",
        default="off",
    ),
    row(
        "HostnameLookups",
        T1,
        CONF_ANYWHERE,
        values.hostname_lookups,
        '"on" to enable, "off" to disable reverse DNS lookups, or "double" to enable double-reverse DNS lookups',
        default="off",
    ),
    row(
        "DocumentRoot",
        T1,
        RSRC_CONF,
        document_root,
        "Root directory of the document tree",
        default="htdocs",
    ),
    row(
        "ErrorLog",
        T1,
        RSRC_CONF,
        take_string,
        "The filename of the error log",
        default="logs/error_log",
    ),
    row(
        "LogLevel",
        ARGV,
        CONF_ANYWHERE,
        values.log_level,
        "Level of verbosity in error logging",
        merge=Merge.APPEND,
    ),
    row(
        "ErrorDocument",
        T2,
        OR_ALL,
        values.error_document,
        "Change responses for HTTP errors",
        merge=Merge.APPEND,
        override="FileInfo",
    ),
    row(
        "AddDefaultCharset",
        T1,
        OR_ALL,
        values.default_charset,
        "The name of the default charset to add to any Content-Type without one or 'Off' to disable",
        default=False,
        override="FileInfo",
    ),
    # Listening, processes and run-time files (Apache's mpm_common, in core.c since 2.4).
    row(
        "Listen",
        ARGV,
        SERVER,
        values.listen,
        "A port number or a numeric IP address and a port number, and an optional protocol",
        merge=Merge.APPEND,
        server_only=True,
    ),
    row(
        "ListenBacklog",
        T1,
        SERVER,
        listen_backlog,
        "Maximum length of the queue of pending connections, as used by listen(2)",
        default=511,
        server_only=True,
    ),
    row(
        "PidFile",
        T1,
        SERVER,
        take_string,
        "A file for logging the server process ID",
        default="logs/httpd.pid",
        server_only=True,
    ),
    row(
        "ExtendedStatus",
        FLAG,
        RSRC_CONF,
        take_flag,
        '"On" to track extended status information, "Off" to disable',
        server_only=True,  # unset: On if mod_status is loaded (core_values.extended_status)
    ),
    row(
        "ScoreBoardFile",
        T1,
        SERVER,
        take_string,
        "A file for Apache to maintain runtime process management information",
        default="logs/apache_runtime_status",
        server_only=True,
    ),
    row(
        "MaxConnectionsPerChild",
        T1,
        SERVER,
        take_atoi,
        "Maximum number of connections a particular child serves before dying.",
        default=0,
        server_only=True,
    ),
    row(
        "MaxRequestsPerChild",
        T1,
        SERVER,
        deprecated_max_requests_per_child,
        "Maximum number of connections a particular child serves before dying. (deprecated, use MaxConnectionsPerChild)",
        key="MaxConnectionsPerChild",
        server_only=True,
    ),
    row(
        "GracefulShutdownTimeout",
        T1,
        SERVER,
        take_atoi,
        "Maximum time in seconds to wait for child processes to complete transactions during shutdown",
        default=0,
        server_only=True,
    ),
    row(
        "MaxMemFree",
        T1,
        SERVER,
        take_atoi,
        "Maximum number of 1k blocks a particular child's allocator may hold.",
        default=2048,
        server_only=True,
    ),
    row(
        "Mutex",
        RAW,
        SERVER,
        mutex,
        'mutex (or "default") and mechanism',
        merge=Merge.APPEND,
        server_only=True,
    ),
    row(
        "DefaultRuntimeDir",
        T1,
        SERVER,
        take_server_path,
        "The location of the directory Apache changes to before dumping core",
        default="logs",
        server_only=True,
    ),
    # Connection and request limits.
    row("Timeout", T1, RSRC_CONF, values.timeout_atoi, "Timeout duration (sec)", default=60.0),
    row(
        "LimitRequestLine",
        T1,
        RSRC_CONF,
        values.nonnegative,
        "Limit on maximum size of an HTTP request line",
        default=8190,
    ),
    row(
        "LimitRequestFieldsize",
        T1,
        RSRC_CONF,
        values.nonnegative,
        "Limit on maximum size of an HTTP request header field",
        key="LimitRequestFieldSize",
        default=8190,
    ),
    row(
        "LimitRequestFields",
        T1,
        RSRC_CONF,
        values.nonnegative,
        "Limit (0 = unlimited) on max number of header fields in a request message",
        default=100,
    ),
    row(
        "LimitRequestBody",
        T1,
        OR_ALL,
        values.request_body_limit,
        "Limit (in bytes) on maximum size of request message body",
        default=1073741824,
        override="All",
    ),
    row(
        "HttpProtocolOptions",
        ARGV,
        RSRC_CONF,
        http_protocol_options,
        "'Allow0.9' or 'Require1.0' (default); 'RegisteredMethods' or 'LenientMethods' (default); 'Unsafe' or 'Strict' (default). Sets HTTP acceptance rules",
    ),
    row(
        "MaxRanges",
        T1,
        CONF_ANYWHERE,
        max_ranges,
        "Maximum number of Ranges in a request before returning the entire resource, or 0 for unlimited",
        default=200,
    ),
    row(
        "TraceEnable",
        T1,
        RSRC_CONF,
        values.trace_enable,
        "'on' (default), 'off' or 'extended' to trace request body content",
        default="on",
    ),
    row(
        "MergeSlashes",
        FLAG,
        RSRC_CONF,
        take_flag,
        "Controls whether consecutive slashes in the URI path are merged",
        default=True,
    ),
    row(
        "AllowEncodedSlashes",
        T1,
        CONF_ANYWHERE,
        allow_encoded_slashes,
        "Allow URLs containing '/' encoded as '%2F'",
        default="off",
    ),
    # Per-directory behaviour.
    row(
        "Options",
        RAW,
        OR_ALL,
        values.options,
        "Set a number of attributes for a given directory",
        merge=Merge.APPEND,
        override="Options",
    ),
    row(
        "AllowOverride",
        RAW,
        Context.DIRECTORY,
        values.allow_override,
        "Controls what groups of directives can be configured by per-directory config files",
    ),
    row(
        "AcceptPathInfo",
        T1,
        OR_ALL,
        accept_path_info,
        "Set to on or off for PATH_INFO to be accepted by handlers, or default for the per-handler preference",
        default="default",
        override="FileInfo",
    ),
    row(
        "EnableSendfile",
        FLAG,
        OR_ALL,
        take_flag,
        "Controls whether sendfile may be used to transmit files",
        default=False,
        override="FileInfo",
    ),
    row(
        "EnableMMAP",
        FLAG,
        OR_ALL,
        take_flag,
        "Controls whether memory-mapping may be used to read files",
        default=True,
        override="FileInfo",
    ),
    row(
        "FileETag",
        RAW,
        OR_ALL,
        file_etag,
        "Specify components used to construct a file's ETag",
        override="FileInfo",
        merge=Merge.APPEND,
    ),
    row(
        "ForceType",
        T1,
        ACCESS | Context.SERVER | Context.VHOST,
        take_string,
        "a mime type that overrides other configured type",
        override="FileInfo",
    ),
    row(
        "SetHandler",
        T1,
        ACCESS | Context.SERVER | Context.VHOST,
        take_string,
        "a handler name that overrides any other configured handler",
        override="FileInfo",
    ),
    row(
        "SetOutputFilter",
        T1,
        OR_ALL,
        take_words,
        "filter (or ; delimited list of filters) to be run on the request content",
        override="FileInfo",
    ),
    row(
        "SetInputFilter",
        T1,
        OR_ALL,
        take_words,
        "filter (or ; delimited list of filters) to be run on the request body",
        override="FileInfo",
    ),
)

MODULE = Module(
    name="core_module",
    source="core.c",
    directives=DIRECTIVES,
    description="the server's core: containers, names, paths, limits, listeners",
    register_hooks=core_hooks.register,
)

__all__ = ["MODULE", "ITER", "RAW"]
