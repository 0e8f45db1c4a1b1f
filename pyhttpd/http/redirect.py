"""Sub-requests, internal redirects and self-referring URLs: Apache's request.c and util.c helpers.

`sub_request` is ap_sub_req_lookup_uri / ap_sub_req_lookup_dirent: a copy of a request for another
URL (or another file of the same directory) run through the phases from translate_name (or
map_to_storage) to fixups, without a handler; its `status` tells whether it would succeed.
`fast_redirect` is ap_internal_fast_redirect (the request becomes the sub-request, as mod_dir does
with an index file), `internal_redirect` the two together. `construct_url` is ap_construct_url
(Location headers built from Host or ServerName and the port, per UseCanonicalName),
`escape_path` ap_os_escape_path and `signature` ap_psignature. Modules reach each other only
through these and the hook table, never by import. Runs in the thread serving the request.
"""

from __future__ import annotations

import dataclasses
import stat as stat_module
from html import escape

from pyhttpd.errors import HttpError
from pyhttpd.http.messages import Headers
from pyhttpd.http.phases import DONE, Phase
from pyhttpd.http.request import Request

# ap_process_request_internal's phases; header_parser runs only for the main request.
_LOOKUP_PHASES = (
    Phase.TRANSLATE_NAME,
    Phase.MAP_TO_STORAGE,
    Phase.ACCESS_CHECKER,
    Phase.AUTH_CHECKER,
    Phase.TYPE_CHECKER,
    Phase.FIXUPS,
)
# Characters ap_os_escape_path leaves alone (besides letters and digits).
_PATH_SAFE = frozenset(b"$-_.+!*'(),:;@&=~/")
MAX_DEPTH = 10  # Apache's LimitInternalRecursion default


def escape_path(path: str, partial: bool = True) -> str:
    """ap_os_escape_path: %-escape all but unreserved characters, in lower-case hex.

    Without `partial`, a first segment holding ':' gets a './' prefix so that it cannot read
    as a URL scheme (as mod_autoindex's links need).
    """
    data = path.encode("utf-8", "surrogateescape")
    out = "".join(
        chr(byte) if chr(byte).isalnum() and byte < 128 or byte in _PATH_SAFE else f"%{byte:02x}"
        for byte in data
    )
    if not partial and ":" in out.split("/", 1)[0]:
        out = "./" + out
    return out


def server_name(request: Request) -> str:
    """ap_get_server_name: the Host header's name (UseCanonicalName Off) or the ServerName."""
    canonical = str(request.per_dir.get("UseCanonicalName") or "off").lower()
    host = request.head.headers.get("Host")
    if canonical != "on" and host:
        name = host.strip()
        if name.startswith("["):
            return name[: name.find("]") + 1].lower()
        return name.rsplit(":", 1)[0].lower().rstrip(".")
    configured = str(request.server.get("ServerName") or "")
    if configured.startswith("["):
        return configured[: configured.find("]") + 1]
    return configured.rsplit(":", 1)[0] if configured else request.local[0]


def server_port(request: Request) -> int:
    """ap_get_server_port: the Host header's port, else ServerName's, else 80."""
    canonical = str(request.per_dir.get("UseCanonicalName") or "off").lower()
    host = (request.head.headers.get("Host") or "").strip()
    if canonical != "on":
        tail = host[host.find("]") + 1 :] if host.startswith("[") else host
        if ":" in tail and tail.rsplit(":", 1)[1].isdigit():
            return int(tail.rsplit(":", 1)[1])
    configured = str(request.server.get("ServerName") or "")
    tail = configured[configured.find("]") + 1 :] if configured.startswith("[") else configured
    if ":" in tail and tail.rsplit(":", 1)[1].isdigit():
        return int(tail.rsplit(":", 1)[1])
    return 443 if request.notes.get("https") else 80


def construct_url(request: Request, path: str) -> str:
    """ap_construct_url: an absolute URL for a path on this server, https on a TLS connection
    (mod_ssl notes it); the scheme's default port is omitted."""
    host, port = server_name(request), server_port(request)
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    scheme, default = ("https", 443) if request.notes.get("https") else ("http", 80)
    return f"{scheme}://{host}{path}" if port == default else f"{scheme}://{host}:{port}{path}"


def signature(request: Request, banner: str) -> str:
    """ap_psignature: the `<address>` line ServerSignature On or EMail adds to generated pages."""
    mode = str(request.per_dir.get("ServerSignature") or "off").lower()
    if mode not in ("on", "email"):
        return ""
    name, port = escape(server_name(request), quote=False), server_port(request)
    if mode == "email":
        admin = str(request.server.get("ServerAdmin") or "")
        scheme = "" if ":" in admin.split("/", 1)[0] else "mailto:"
        name = f'<a href="{scheme}{escape(admin)}">{name}</a>'
    return f"<address>{banner} Server at {name} Port {port}</address>\n"


def sub_request(request: Request, uri: str, *, filename: str | None = None) -> Request:
    """Look a URL up as Apache's sub-requests do; `uri` may be relative to the request's dir.

    With `filename` (a directory entry; `uri` is then its decoded name, without a query),
    translate_name is skipped. The result carries the phases' outcome in `status` (200 when
    every phase passed) and the error that stopped them in notes["error"]. A request that
    looked another URL up is not replayed: its response depends on that lookup too.
    """
    request.replayable = False
    path, _, query = uri.partition("?") if filename is None else (uri, "", "")
    if not path.startswith("/"):
        path = request.uri[: request.uri.rfind("/") + 1] + path
    depth = int(request.notes.get("depth", 0)) + 1
    sub = dataclasses.replace(
        request,
        uri=path,
        query=query,
        per_dir=request.server,
        filename=filename,
        path_info="",
        stat=None,
        content_type=None,
        handler=None,
        status=200,
        headers_out=Headers(),
        body=b"",
        notes={"main": request.notes.get("main", request), "depth": depth},
        environment=dict(request.environment),
    )
    if depth > MAX_DEPTH:
        sub.status = 500
        sub.notes["error"] = HttpError(
            500,
            f"Request exceeded the limit of {MAX_DEPTH} subrequest nesting levels due to probable "
            "configuration error. Use 'LimitInternalRecursion' to increase the limit if "
            "necessary. Use 'LogLevel debug' to get a backtrace.",
            "AH00125",
            close=False,
        )
        return sub
    phases = _LOOKUP_PHASES[1:] if filename is not None else _LOOKUP_PHASES
    try:
        for phase in phases:
            if request.hooks.run(phase, sub) == DONE:
                sub.status = 0
                break
    except HttpError as error:
        sub.status = error.status
        sub.notes["error"] = error
    return sub


def fast_redirect(sub: Request, request: Request) -> None:
    """ap_internal_fast_redirect: the request takes over the sub-request's URL, file and type."""
    request.uri, request.query = sub.uri, sub.query
    request.filename, request.path_info, request.stat = sub.filename, sub.path_info, sub.stat
    request.handler, request.content_type = sub.handler, sub.content_type
    request.per_dir = sub.per_dir
    request.notes = {**request.notes, **{k: v for k, v in sub.notes.items() if k != "main"}}
    request.notes["depth"] = sub.notes.get("depth", 0)
    request.headers_out = Headers([*sub.headers_out, *request.headers_out])
    request.environment = {**request.environment, **sub.environment}


def internal_redirect(request: Request, new_uri: str) -> int:
    """Re-run the lookup phases for `new_uri` and, if they pass, make the request serve it.

    Returns the sub-request's status: 200 when the request now points at the new URL.
    """
    sub = sub_request(request, new_uri)
    if sub.status == 200:
        fast_redirect(sub, request)
    return sub.status


def is_regular(request: Request) -> bool:
    """True when the lookup found a regular file (what mod_dir insists an index is)."""
    return request.stat is not None and stat_module.S_ISREG(request.stat.st_mode)
