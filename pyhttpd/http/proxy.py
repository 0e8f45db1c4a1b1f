"""Reverse proxying, the part shared by mod_proxy and its scheme modules (mod_proxy_http).

Modules never import each other: mod_proxy's translate_name leaves the backend URL of a request
in request.notes[PROXY_URL_NOTE] (with the handler `proxy-server`), and a scheme module's handler
takes the requests whose URL has its scheme; the typed configuration values (ProxyPass and
ProxyPassReverse rows) live here so that both read the same records. Also here: the hop-by-hop
fields no proxy forwards, ProxyPassReverse's rewriting of Location-like response fields
(ap_proxy_location_reverse_map) and ap_proxyerror's page. Runs in the thread serving a request.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from pyhttpd.http.redirect import construct_url
from pyhttpd.http.request import Request

PROXY_HANDLER = "proxy-server"
PROXY_URL_NOTE = "proxy_url"  # the backend URL chosen by ProxyPass (Apache's r->filename)
PROXY_ROUTE_NOTE = "proxy_route"  # the ProxyRoute that chose it (its timeout= key)
PROXY_REVERSE_NOTE = "proxy_reverse"  # the ProxyPassReverse rows in force, paths resolved

# RFC 9110 7.6.1 plus the old Keep-Alive and Proxy-Connection; fields a Connection header names
# are hop-by-hop too.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
REVERSE_MAPPED = ("Location", "Content-Location", "URI")


@dataclass(frozen=True)
class ProxyRoute:
    """One ProxyPass: URL-path prefix -> backend URL; `url` None for `ProxyPass /path !`."""

    path: str
    url: str | None
    timeout: float | None = None  # the timeout= key, overriding ProxyTimeout


@dataclass(frozen=True)
class ReverseRoute:
    """One ProxyPassReverse: a backend URL prefix and the local path it stands for."""

    path: str
    url: str


def hop_by_hop(connection_header: str | None) -> frozenset[str]:
    """The lower-case names not to forward: the fixed set and those the Connection field lists."""
    named = {t.strip().lower() for t in (connection_header or "").split(",") if t.strip()}
    return HOP_BY_HOP | named


def reverse_map(request: Request, routes: tuple[ReverseRoute, ...], value: str) -> str:
    """ap_proxy_location_reverse_map: a backend URL becomes this server's absolute URL."""
    for route in routes:
        if value.startswith(route.url):
            return construct_url(request, route.path + value[len(route.url) :])
    return value


def proxy_error_page(status: int, reason: str) -> bytes:
    """The page ap_proxyerror leaves for ap_die (Apache 2.4.71's text, byte for byte)."""
    lead = ""
    if status == 502:  # http_protocol.c writes this sentence with CRLFs
        lead = "The proxy server received an invalid\r\nresponse from an upstream server.<br />\r\n"
    return (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" '
        '"http://www.w3.org/TR/html4/strict.dtd">\n'
        f"<html><head>\n<title>{status} Proxy Error</title>\n</head><body>\n"
        f"<h1>Proxy Error</h1>\n<p>{lead}The proxy server could not handle the request"
        f"<p>Reason: <strong>{escape(reason)}</strong></p></p>\n</body></html>\n"
    ).encode("latin-1", "replace")
