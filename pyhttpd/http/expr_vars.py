"""ap_expr's variables, string functions and unary file tests, read from a pyhttpd Request.

The tables of util_expr_eval.c (request_var_names, misc_var_names, the string and unary operator
providers), each entry a function of the evaluation context. A value Apache gives as NULL is "".
Imported by expr.py only; runs in the thread serving the request.
"""

from __future__ import annotations

import base64
import grp
import ipaddress
import os
import pwd
import re
import stat
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from pyhttpd.digests import hex_digest

API_VERSION = "20120211"
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Context:
    """One evaluation: the request and the last successful regex match (for $0..$9)."""

    __slots__ = ("request", "match")

    def __init__(self, request: Any) -> None:
        self.request = request
        self.match: re.Match[str] | None = None


Word = Callable[[Context], str]
Variable = Callable[[Context], str]


def request_header(request: Any, name: str) -> str | None:
    """A request header as Apache's headers_in holds it: repeated fields joined with ', '."""
    values = request.head.headers.get_all(name)
    return ", ".join(values) if values else None


def client_ip(request: Any) -> str:
    return str(request.client[0])


def _host_and_port(request: Any) -> tuple[str, str]:
    host = request_header(request, "Host") or ""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        return name.lower(), rest.lstrip(":")
    name, _, port = host.partition(":")
    return name.lower().rstrip("."), port


def server_name(request: Any) -> str:
    """ap_get_server_name: the client's Host under UseCanonicalName Off, else ServerName."""
    configured = str(request.server.get("ServerName") or "")
    if str(request.per_dir.get("UseCanonicalName") or "off").lower() != "on":
        name, _ = _host_and_port(request)
        if name:
            return name
    return configured.split(":")[0] or str(request.local[0])


def server_port(request: Any) -> str:
    name, port = _host_and_port(request)
    if port:
        return port
    return "80" if name else str(request.local[1])


def _stamp(moment: float) -> str:
    return time.strftime("%Y%m%d%H%M%S", time.localtime(moment))


def _mtime(request: Any) -> str:
    stat_result = getattr(request, "stat", None)
    return _stamp(stat_result.st_mtime) if stat_result is not None else ""


def _owner(request: Any, group: bool) -> str:
    try:
        info = os.stat(request.filename or "")
    except OSError:
        return ""
    try:
        if group:
            return grp.getgrgid(info.st_gid).gr_name
        return pwd.getpwuid(info.st_uid).pw_name
    except KeyError:
        return str(info.st_gid if group else info.st_uid)


def _document_root(request: Any) -> str:
    """ap_document_root, as the CGI environment's DOCUMENT_ROOT (absolute, no trailing /)."""
    from pyhttpd.http.cgi_env import document_root

    return document_root(request)


def _context_document_root(request: Any) -> str:
    from pyhttpd.http.cgi_env import CONTEXT_ROOT_NOTE

    return str(request.notes.get(CONTEXT_ROOT_NOTE) or _document_root(request))


def _software(request: Any) -> str:
    from pyhttpd.http.generation import server_token

    return server_token(str(request.config.get("ServerTokens")))


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _from_request(read: Callable[[Any], object]) -> Variable:
    return lambda context: _text(read(context.request))


def _header_variable(name: str) -> Variable:
    return lambda context: request_header(context.request, name) or ""


def _clock(fmt: str) -> Variable:
    return lambda context: time.strftime(fmt, time.localtime())


VARIABLES: dict[str, Variable] = {
    **{
        name: _header_variable(name[5:].replace("_", "-"))
        for name in (
            "HTTP_ACCEPT",
            "HTTP_COOKIE",
            "HTTP_FORWARDED",
            "HTTP_HOST",
            "HTTP_PROXY_CONNECTION",
            "HTTP_REFERER",
            "HTTP_USER_AGENT",
        )
    },
    "REQUEST_METHOD": _from_request(lambda r: r.head.method),
    "REQUEST_SCHEME": _from_request(lambda r: "https" if r.notes.get("https") else "http"),
    "REQUEST_URI": _from_request(lambda r: r.uri),
    "DOCUMENT_URI": _from_request(lambda r: r.uri),
    "REQUEST_FILENAME": _from_request(lambda r: r.filename),
    "SCRIPT_FILENAME": _from_request(lambda r: r.filename),
    "LAST_MODIFIED": _from_request(_mtime),
    "SCRIPT_USER": _from_request(lambda r: _owner(r, group=False)),
    "SCRIPT_GROUP": _from_request(lambda r: _owner(r, group=True)),
    "PATH_INFO": _from_request(lambda r: r.path_info),
    "QUERY_STRING": _from_request(lambda r: r.query),
    "IS_SUBREQ": lambda context: "false",
    "THE_REQUEST": _from_request(lambda r: r.head.request_line),
    "REMOTE_ADDR": _from_request(client_ip),
    "REMOTE_PORT": _from_request(lambda r: r.client[1]),
    "REMOTE_HOST": _from_request(client_ip),
    "REMOTE_USER": _from_request(lambda r: r.notes.get("user")),
    "REMOTE_IDENT": lambda context: "",
    "SERVER_NAME": _from_request(server_name),
    "SERVER_PORT": _from_request(server_port),
    "SERVER_ADMIN": _from_request(lambda r: r.server.get("ServerAdmin")),
    "SERVER_PROTOCOL": _from_request(lambda r: r.head.protocol),
    "DOCUMENT_ROOT": _from_request(_document_root),
    "AUTH_TYPE": _from_request(lambda r: r.per_dir.get("AuthType")),
    "CONTENT_TYPE": _from_request(lambda r: r.content_type),
    "HANDLER": _from_request(lambda r: r.handler or r.content_type),
    "HTTP2": lambda context: "off",
    "HTTPS": _from_request(lambda r: "on" if r.notes.get("https") else "off"),
    "IPV6": _from_request(lambda r: "on" if ":" in client_ip(r) else "off"),
    "REQUEST_STATUS": _from_request(lambda r: r.status),
    "REQUEST_LOG_ID": lambda context: "",
    "CONN_LOG_ID": lambda context: "",
    "CONN_REMOTE_ADDR": _from_request(lambda r: r.notes.get("remoteip_peer") or client_ip(r)),
    "CONTEXT_PREFIX": lambda context: "",
    "CONTEXT_DOCUMENT_ROOT": _from_request(_context_document_root),
    "TIME_YEAR": _clock("%Y"),
    "TIME_MON": _clock("%m"),
    "TIME_DAY": _clock("%d"),
    "TIME_HOUR": _clock("%H"),
    "TIME_MIN": _clock("%M"),
    "TIME_SEC": _clock("%S"),
    "TIME_WDAY": _clock("%w"),
    "TIME": lambda context: _stamp(time.time()),
    "SERVER_SOFTWARE": _from_request(_software),
    "API_VERSION": lambda context: API_VERSION,
}


# --- string functions: func(argument) and %{func:argument} ---------------------------------------


def _note(request: Any, name: str) -> str | None:
    value = request.notes.get(name)
    return value if isinstance(value, str) else None


def _env(request: Any, name: str) -> str:
    """Apache's env(): a note, else the request's environment, else the process environment."""
    for value in (_note(request, name), request.environment.get(name), os.environ.get(name)):
        if value is not None:
            return value
    return ""


def _unbase64(text: str) -> str:
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4)).decode("latin-1")
    except ValueError:
        return ""


def _unescape(text: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        return ""  # ap_unescape_url fails on a bad escape; Apache then returns NULL
    return urllib.parse.unquote(text, encoding="latin-1")


def _file(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().decode("latin-1")


def _filesize(path: str) -> str:
    try:
        info = os.stat(path)
    except OSError:
        return "0"
    return str(info.st_size) if stat.S_ISREG(info.st_mode) else "0"


Function = Callable[[Context, str], str]


def _of_request(read: Callable[[Any, str], object]) -> Function:
    return lambda context, argument: _text(read(context.request, argument))


def _of_text(transform: Callable[[str], str]) -> Function:
    return lambda context, argument: transform(argument)


FUNCTIONS: dict[str, Function] = {
    "req": _of_request(request_header),
    "http": _of_request(request_header),
    "req_novary": _of_request(request_header),
    "resp": _of_request(lambda r, name: r.headers_out.get(name)),
    "reqenv": _of_request(lambda r, name: r.environment.get(name)),
    "osenv": _of_text(lambda name: os.environ.get(name, "")),
    "note": _of_request(_note),
    "env": _of_request(_env),
    "tolower": _of_text(str.lower),
    "toupper": _of_text(str.upper),
    "escape": _of_text(lambda text: urllib.parse.quote(text, safe="$-_.+!*'(),:@&=/~")),
    "unescape": _of_text(_unescape),
    "base64": _of_text(lambda text: base64.b64encode(text.encode("latin-1")).decode("ascii")),
    "unbase64": _of_text(_unbase64),
    "md5": _of_text(lambda text: hex_digest("md5", text.encode("latin-1"))),
    "sha1": _of_text(lambda text: hex_digest("sha1", text.encode("latin-1"))),
    "file": _of_text(_file),
    "filesize": _of_text(_filesize),
}


# --- unary operators: -d -e -f -s -L -h -x -F -U -A -n -z -T (-R lives in expr.py) -------------


def _stat(path: str, follow: bool = True) -> os.stat_result | None:
    try:
        return os.stat(path) if follow else os.lstat(path)
    except (OSError, ValueError):
        return None


def _is(path: str, kind: Callable[[int], bool]) -> bool:
    info = _stat(path)
    return info is not None and kind(info.st_mode)


def _symlink(path: str) -> bool:
    info = _stat(path, follow=False)
    return info is not None and stat.S_ISLNK(info.st_mode)


def _nonempty_file(path: str) -> bool:
    info = _stat(path)
    return info is not None and stat.S_ISREG(info.st_mode) and info.st_size > 0


def _executable(path: str) -> bool:
    info = _stat(path)
    return info is not None and bool(info.st_mode & stat.S_IXUSR)


def _true(text: str) -> bool:
    return text.lower() not in ("", "0", "off", "false", "no")


def _unary(test: Callable[[str], bool]) -> Callable[[Context, str], bool]:
    return lambda context, argument: test(argument)


UNARY: dict[str, Callable[[Context, str], bool]] = {
    "d": _unary(lambda p: _is(p, stat.S_ISDIR)),
    "e": _unary(lambda p: _stat(p) is not None),
    "f": _unary(lambda p: _is(p, stat.S_ISREG)),
    "s": _unary(_nonempty_file),
    "L": _unary(_symlink),
    "h": _unary(_symlink),
    "x": _unary(_executable),
    # -F / -U / -A run a subrequest through access control in Apache; pyhttpd has no
    # subrequests yet, so -F is the plain file test and -U / -A are false.
    "F": _unary(lambda p: _is(p, stat.S_ISREG)),
    "U": _unary(lambda p: False),
    "A": _unary(lambda p: False),
    "n": _unary(lambda text: text != ""),
    "z": _unary(lambda text: text == ""),
    "T": _unary(_true),
    "R": _unary(lambda text: False),  # replaced by the parser with an -ipmatch on REMOTE_ADDR
}


# --- operators and helpers shared with the modules ----------------------------------------------


def ip_subnet(text: str) -> Network | None:
    """apr_ipsubnet_create: `a.b.c.d`, partial `10.1`, `ip/bits`, `ip/a.b.c.d`, IPv6 `x::/n`."""
    address, slash, mask = text.partition("/")
    try:
        if slash:
            if mask.isdigit() or ":" in address:
                return ipaddress.ip_network(f"{address}/{mask}", strict=False)
            return ipaddress.IPv4Network(f"{address}/{mask}", strict=False)
        if ":" in address:
            return ipaddress.ip_network(address)
        octets = address.rstrip(".").split(".")
        if not 1 <= len(octets) <= 4 or not all(o.isdigit() and int(o) < 256 for o in octets):
            return None
        full = ".".join(octets + ["0"] * (4 - len(octets)))
        return ipaddress.IPv4Network(f"{full}/{8 * len(octets)}")
    except ValueError:
        return None


def ip_in(text: str, network: Network) -> bool:
    """apr_ipsubnet_test, IPv4-mapped IPv6 clients matching IPv4 subnets."""
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        if isinstance(network, ipaddress.IPv4Network):
            address = address.ipv4_mapped
    return address.version == network.version and address in network


def glob_regex(pattern: str, *, pathname: bool, nocase: bool) -> re.Pattern[str]:
    """apr_fnmatch as a regex: `*` `?` `[...]` and `\\x`; with `pathname`, wildcards skip '/'."""
    any_char = "[^/]" if pathname else "."
    out: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        index += 1
        if char == "*":
            out.append(any_char + "*")
        elif char == "?":
            out.append(any_char)
        elif char == "\\" and index < len(pattern):
            out.append(re.escape(pattern[index]))
            index += 1
        elif char == "[":
            start = index + 1 if pattern[index : index + 1] in ("!", "^") else index
            close = pattern.find("]", start + 1)
            if close < 0:
                out.append(re.escape(char))
                continue
            body = pattern[start:close].replace("\\", "\\\\").replace("[", "\\[")
            out.append(("[^" if start > index else "[") + body + "]")
            index = close + 1
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if nocase else 0))


def regsub(template: str, match: re.Match[str] | None) -> str:
    """ap_pregsub: `$0`..`$9` from the match ('' when unset), a backslash quotes the next char."""
    out: list[str] = []
    index = 0
    while index < len(template):
        char = template[index]
        index += 1
        if char == "$" and index < len(template) and template[index].isdigit():
            number = int(template[index])
            index += 1
            if match is not None and number <= (match.re.groups or 0):
                out.append(match.group(number) or "")
        elif char == "\\" and index < len(template):
            out.append(template[index])
            index += 1
        else:
            out.append(char)
    return "".join(out)
