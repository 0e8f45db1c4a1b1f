"""The CGI/1.1 environment of a request (RFC 3875) as Apache builds it in util_script.c.

`cgi_environment` is ap_add_common_vars followed by ap_add_cgi_vars: the request's own
environment (SetEnv, PassEnv, SetEnvIf...), then HTTP_* for every request header but the
credentials (Authorization, Proxy-Authorization) and `Proxy` (httpoxy), then the server, client,
document-root and script variables. A header whose name holds anything but letters, digits and
'-' is not exported, as in Apache. The context notes are what mod_alias records when an alias
maps the URL (Apache's ap_set_context_info); without them the context is the DocumentRoot.

Shared by every module that runs a script the CGI way: mod_cgi, and mod_wsgi for its environ.
The variables that depend only on the server, the Host header and the listener are worked out
once per server settings and copied (`site_variables`), each header name's variable once per
process. Reads the Request and this process's PATH only; runs in the thread serving the request.
"""

from __future__ import annotations

import os
from typing import Any

from pyhttpd.config.model import Settings
from pyhttpd.http.authn import AUTH_TYPE_NOTE, USER_NOTE
from pyhttpd.http.redirect import server_name, server_port, signature, sub_request
from pyhttpd.http.request import Request
from pyhttpd.memo import remember

# request.notes keys written by mod_alias (ap_set_context_info) and read here.
CONTEXT_PREFIX_NOTE = "context_prefix"
CONTEXT_ROOT_NOTE = "context_document_root"

DEFAULT_PATH = "/bin:/usr/bin:/usr/ucb:/usr/bsd:/usr/local/bin"  # Apache's DEFAULT_PATH
DEFAULT_ADMIN = "[no address given]"
_NOT_EXPORTED = frozenset({"authorization", "proxy-authorization", "proxy"})


def header_variable(name: str) -> str | None:
    """http2env: HTTP_ plus the name upper-cased with '-' as '_'; None for any other character."""
    out = []
    for char in name:
        if char.isascii() and char.isalnum():
            out.append(char.upper())
        elif char == "-":
            out.append("_")
        else:
            return None
    return "HTTP_" + "".join(out)


def document_root(request: Request) -> str:
    """ap_document_root: the server's DocumentRoot, absolute, without a trailing slash."""
    root = str(request.server.get("DocumentRoot") or "")
    if not os.path.isabs(root):
        root = os.path.join(request.config.server_root, root)
    return root.rstrip("/") or "/"


_UNKNOWN = object()
_LIMIT = 256  # entries of each table below; a full table starts again (client-chosen keys)
# header name as sent -> (variable, whether a repeat joins with ", ") or None (not exported)
_HEADER_RULES: dict[str, tuple[str, bool] | None] = {}


def _header_rule(name: str) -> tuple[str, bool] | None:
    lowered = name.lower()
    if lowered == "content-type":
        rule: tuple[str, bool] | None = ("CONTENT_TYPE", False)
    elif lowered == "content-length":
        rule = ("CONTENT_LENGTH", False)
    elif lowered in _NOT_EXPORTED or (key := header_variable(name)) is None:
        rule = None
    else:
        rule = (key, True)
    return remember(_HEADER_RULES, name, rule, _LIMIT)


def add_header_variables(env: dict[str, str], request: Request) -> None:
    """HTTP_* for the request's headers (a repeated one joined with ", "), CONTENT_TYPE and
    CONTENT_LENGTH (the last one wins); each name's variable is worked out once per process."""
    rules, joined = _HEADER_RULES, {}
    for name, value in request.head.headers:
        rule = rules.get(name, _UNKNOWN)
        if rule is _UNKNOWN:
            rule = _header_rule(name)
        if rule is None:
            continue
        key, joins = rule  # type: ignore[misc]
        if key in joined:
            env[key] = f"{env[key]}, {value}"
        else:
            env[key] = value
            if joins:
                joined[key] = True


def _site_table(server: Settings) -> dict[tuple[Any, ...], dict[str, str]]:
    return {}


def site_variables(request: Request, server_software: str) -> dict[str, str]:
    """The server's variables, SERVER_SIGNATURE to SCRIPT_FILENAME in Apache's order, with "" for
    the request's own (REMOTE_*, CONTEXT_*, SCRIPT_FILENAME), for the caller to fill in.

    Everything they depend on is in the key (the server's settings own the table), so each
    server name, port and signature is worked out once, not for every request."""
    per_dir, host = request.per_dir, request.head.headers.get("Host")
    key = (
        per_dir.get("UseCanonicalName"),
        per_dir.get("ServerSignature"),
        host,
        request.local[0],
        request.notes.get("https"),
        server_software,
        request.config.server_root,
    )
    table = request.server.derived(_site_table)
    found = table.get(key)
    if found is None:
        found = {
            "SERVER_SIGNATURE": signature(request, server_software),
            "SERVER_SOFTWARE": server_software,
            "SERVER_NAME": server_name(request),
            "SERVER_ADDR": request.local[0],
            "SERVER_PORT": str(server_port(request)),
            "REMOTE_ADDR": "",
            "DOCUMENT_ROOT": document_root(request),
            "REQUEST_SCHEME": "http",
            "CONTEXT_PREFIX": "",
            "CONTEXT_DOCUMENT_ROOT": "",
            "SERVER_ADMIN": str(request.server.get("ServerAdmin") or DEFAULT_ADMIN),
            "SCRIPT_FILENAME": "",
            "REMOTE_PORT": "",
        }
        remember(table, key, found, _LIMIT)
    return found


def common_variables(request: Request, server_software: str, path: bool = True) -> dict[str, str]:
    """ap_add_common_vars: the request's environment, its headers, the server and the client
    (and PATH unless `path` is False: mod_wsgi leaves it out)."""
    env = dict(request.environment)
    add_header_variables(env, request)
    if path:
        env["PATH"] = os.environ.get("PATH", DEFAULT_PATH)
    site = site_variables(request, server_software)
    env.update(site)
    notes = request.notes
    env["REMOTE_ADDR"] = request.client[0]
    env["CONTEXT_PREFIX"] = str(notes.get(CONTEXT_PREFIX_NOTE, ""))
    env["CONTEXT_DOCUMENT_ROOT"] = str(notes.get(CONTEXT_ROOT_NOTE, site["DOCUMENT_ROOT"]))
    env["SCRIPT_FILENAME"] = request.filename or ""
    env["REMOTE_PORT"] = str(request.client[1])
    user = notes.get(USER_NOTE)
    if user:
        env["REMOTE_USER"] = str(user)
    kind = notes.get(AUTH_TYPE_NOTE)
    if kind:
        env["AUTH_TYPE"] = str(kind)
    return env


def original_uri(request: Request) -> str:
    """The URI of the request line (REQUEST_URI survives internal redirects, as in Apache)."""
    parts = request.head.request_line.split(" ")
    return parts[1] if len(parts) > 1 else request.head.target


def cgi_variables(request: Request) -> dict[str, str]:
    """ap_add_cgi_vars: the protocol, method, query, URI and the script / path-info split."""
    env = {
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_PROTOCOL": request.head.protocol,
        "REQUEST_METHOD": request.method,
        "QUERY_STRING": request.query,
        "REQUEST_URI": original_uri(request),
    }
    path_info = request.path_info
    uri = request.uri
    if path_info and uri.endswith(path_info):
        env["SCRIPT_NAME"] = uri[: len(uri) - len(path_info)]
    else:
        env["SCRIPT_NAME"] = uri
    if path_info:
        env["PATH_INFO"] = path_info
        looked_up = sub_request(request, path_info)
        if looked_up.filename:
            env["PATH_TRANSLATED"] = looked_up.filename + looked_up.path_info
    return env


def cgi_environment(request: Request, server_software: str) -> dict[str, str]:
    """Everything a CGI script receives, in Apache's order (later values win)."""
    return {**common_variables(request, server_software), **cgi_variables(request)}
