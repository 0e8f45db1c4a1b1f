"""proxy_module (mod_proxy.c): the reverse-proxy configuration and the URL mapping.

Directive table on top: ProxyPass (server form `ProxyPass /path url|!` and the <Location> form
`ProxyPass url`), ProxyPassReverse, ProxyPreserveHost, ProxyTimeout, ProxyAddHeaders and
ProxyRequests (Off; forward proxying is not implemented, the flag is validated). Hooks at the
bottom: translate_name (run first) maps a matching URL to its backend URL and the `proxy-server`
handler (pyhttpd.http.proxy notes; the <Location> form first, then the server's rows in order,
`!` excluding), leaving no filename so that only <Location> sections apply, as Apache's
proxy_map_location; a handler of last resort answers a URL no scheme module took with AH01144.
The scheme modules (mod_proxy_http) read the same settings and notes. Directive handlers run
while a configuration is processed; hooks in the thread serving a request.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from pyhttpd.config.directives import (
    ACCESS_CONF,
    RSRC_CONF,
    ArgShape,
    Command,
    Context,
    DirectiveSpec,
    Merge,
    take_flag,
)
from pyhttpd.config.lookup import sections_for
from pyhttpd.config.module import Module
from pyhttpd.errors import DirectiveError, HttpError
from pyhttpd.http.phases import DECLINED, OK, HookContext, Hooks, Order, Phase
from pyhttpd.http.proxy import (
    PROXY_HANDLER,
    PROXY_REVERSE_NOTE,
    PROXY_ROUTE_NOTE,
    PROXY_URL_NOTE,
    ProxyRoute,
    ReverseRoute,
)
from pyhttpd.http.request import Request

_PASS_ERROR = "ProxyPass|ProxyPassMatch"
_SAFE = "/:@&=+$,;!~*'()"  # what ap_proxy_canonenc leaves unescaped in a path


def _in_location(cmd: Command) -> bool:
    return any(name.lower() in ("<location", "<locationmatch") for name in cmd.section_path)


def proxy_pass(cmd: Command, *words: str) -> ProxyRoute:
    """ProxyPass [path] !|url [key=value ...]; the <Location> form has no path."""
    in_location = _in_location(cmd)
    positional = [w for w in words if "=" not in w or w.startswith(("http:", "https:"))]
    keys = words[len(positional) :]
    if in_location and len(positional) > 1:
        raise DirectiveError(f"{_PASS_ERROR} can not have a path when defined in a location.")
    if not in_location and len(positional) < 2:
        raise DirectiveError(f"{_PASS_ERROR} needs a path when not defined in a location")
    if len(positional) > 2 or any("=" not in key for key in keys):
        raise DirectiveError(
            f"Invalid {_PASS_ERROR} parameter. Parameter must be in the form 'key=value'."
        )
    path, url = ("", positional[0]) if in_location else (positional[0], positional[1])
    if url == "!":
        return ProxyRoute(path, None)
    if "://" not in url:
        raise DirectiveError(f"ProxyPass URL must be absolute!: {url}")
    timeout = None
    for key in keys:
        name, _, value = key.partition("=")
        if name.lower() == "timeout":
            timeout = float(value) if value.isdigit() else None
    return ProxyRoute(path, url, timeout)


def proxy_pass_reverse(cmd: Command, *words: str) -> ReverseRoute:
    in_location = _in_location(cmd)
    if in_location and len(words) > 1 and words[1].lower() != "interpolate":
        raise DirectiveError("ProxyPassReverse can not have a path when defined in a location")
    if not in_location and len(words) < 2:
        raise DirectiveError("ProxyPassReverse needs a path when not defined in a location")
    if not words:
        raise DirectiveError("ProxyPassReverse takes one, two or three arguments")
    return ReverseRoute("", words[0]) if in_location else ReverseRoute(words[0], words[1])


def proxy_timeout(cmd: Command, value: str) -> float:
    digits = value.strip()
    if not digits.isdigit() or int(digits) < 1:
        raise DirectiveError("Proxy Timeout must be at least 1 second.")
    return float(digits)


def _flag(name: str, contexts: Context, help: str, default: bool) -> DirectiveSpec:
    return DirectiveSpec(name, ArgShape.FLAG, contexts, take_flag, help, default=default)


DIRECTIVES: tuple[DirectiveSpec, ...] = (
    DirectiveSpec(
        "ProxyPass",
        ArgShape.TAKE_ARGV,
        RSRC_CONF | ACCESS_CONF,
        proxy_pass,
        "a virtual path and a URL",
        merge=Merge.APPEND,
    ),
    DirectiveSpec(
        "ProxyPassReverse",
        ArgShape.TAKE_ARGV,
        RSRC_CONF | ACCESS_CONF,
        proxy_pass_reverse,
        "a virtual path and a URL for reverse proxy behaviour",
        merge=Merge.APPEND,
    ),
    _flag(
        "ProxyPreserveHost",
        RSRC_CONF | ACCESS_CONF,
        "on if we should preserve host header while proxying",
        False,
    ),
    _flag(
        "ProxyAddHeaders",
        RSRC_CONF | ACCESS_CONF,
        "on if X-Forwarded-* headers should be added or completed",
        True,
    ),
    _flag("ProxyRequests", RSRC_CONF, "on if the true proxy requests should be accepted", False),
    DirectiveSpec(
        "ProxyTimeout",
        ArgShape.TAKE1,
        RSRC_CONF,
        proxy_timeout,
        "Set the timeout (in seconds) for a proxied connection. This overrides the server timeout",
    ),
)

# --- hooks ---------------------------------------------------------------------------------------


def _backend_url(route: ProxyRoute, request: Request, matched: int) -> str:
    assert route.url is not None
    url = route.url + quote(request.uri[matched:], safe=_SAFE)
    return f"{url}?{request.query}" if request.query else url


def _locations(request: Request, key: str) -> list[tuple[str, Any]]:
    """(the <Location>'s path, its last own value of `key`) for each matching <Location>."""
    found = []
    for section in sections_for(request.config, request.vhost, None, request.uri):
        own = section.settings.values.get(key) or ()
        if own and section.kind.lower().lstrip("<") == "location":
            found.append((section.value.pattern, own[-1]))
    return found


def _location_route(request: Request) -> tuple[ProxyRoute, int] | None:
    """The <Location> form: the last matching section with its own ProxyPass."""
    for prefix, route in reversed(_locations(request, "ProxyPass")):
        matched = len(prefix) if request.uri.startswith(prefix) else len(request.uri)
        return route, matched
    return None


def _reverse_routes(request: Request) -> tuple[ReverseRoute, ...]:
    own = [ReverseRoute(p, r.url) for p, r in _locations(request, "ProxyPassReverse")]
    return (*own, *(r for r in request.server.get("ProxyPassReverse") or () if r.path))


def _server_route(request: Request) -> tuple[ProxyRoute, int] | None:
    for route in tuple(request.server.get("ProxyPass") or ()):
        if route.path and request.uri.startswith(route.path):
            return route, len(route.path)
    return None


def proxy_trans(request: Request) -> int:
    if not request.uri.startswith("/"):
        return DECLINED
    hit = _location_route(request) or _server_route(request)
    if hit is None or hit[0].url is None:
        return DECLINED
    route, matched = hit
    request.notes[PROXY_URL_NOTE] = _backend_url(route, request, matched)
    request.notes[PROXY_ROUTE_NOTE] = route
    request.notes[PROXY_REVERSE_NOTE] = _reverse_routes(request)
    request.handler = PROXY_HANDLER
    request.filename = None
    return OK


def no_scheme_handler(request: Request) -> int:
    """proxy_handler when no scheme module took the URL (its module is not loaded)."""
    url = request.notes.get(PROXY_URL_NOTE)
    if request.handler != PROXY_HANDLER or url is None:
        return DECLINED
    scheme = str(url).split(":", 1)[0]
    raise HttpError(
        500,
        f"No protocol handler was valid for the URL {request.uri} (scheme '{scheme}'). If you "
        "are using a DSO version of mod_proxy, make sure the proxy submodules are included in "
        "the configuration using LoadModule.",
        "AH01144",
        close=False,
    )


def register(hooks: Hooks, context: HookContext) -> None:
    hooks.add(Phase.TRANSLATE_NAME, proxy_trans, Order.FIRST)
    hooks.add(Phase.HANDLER, no_scheme_handler)  # after the scheme modules' (run first)


MODULE = Module(
    name="proxy_module",
    source="mod_proxy.c",
    directives=DIRECTIVES,
    description="reverse proxying: ProxyPass, ProxyPassReverse and the proxy-server handler",
    register_hooks=register,
)
