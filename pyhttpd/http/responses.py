"""Status lines, reason phrases and Apache's built-in error pages.

The error bodies follow Debian's Apache 2.4.71 byte for byte where checked (HTML 4.01 doctype, a
title with the status, an h1 and Apache's sentence), so clients and tests that look for Apache's text
see it. Sans-I/O; pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from http import HTTPStatus
from typing import Any

# Python's reason phrases, with Apache's where they differ: one lookup per response
# (HTTPStatus(code) is two Python calls through the enum machinery)
_REASONS: dict[int, str] = {status.value: status.phrase for status in HTTPStatus} | {
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    416: "Requested Range Not Satisfiable",
}

# Apache's explanatory sentence for its own error pages (http_protocol.c get_canned_error_string).
_SENTENCES: dict[int, str] = {
    301: 'The document has moved <a href="{location}">here</a>.',
    302: 'The document has moved <a href="{location}">here</a>.',
    303: 'The answer to your request is located <a href="{location}">here</a>.',
    307: 'The document has moved <a href="{location}">here</a>.',
    308: 'The document has moved <a href="{location}">here</a>.',
    400: "Your browser sent a request that this server could not understand.",
    401: "This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required.",
    403: "You don't have permission to access this resource.",
    404: "The requested URL was not found on this server.",
    405: "The requested method {method} is not allowed for this URL.",
    408: "Server timeout waiting for the HTTP request from the client.",
    410: "The requested resource is no longer available on this server and there is no forwarding address.\nPlease remove all references to this resource.",
    411: "A request of the requested method {method} requires a valid Content-length.",
    412: "The precondition on the request for this URL evaluated to false.",
    413: "The requested resource does not allow request data with {method} requests, or the amount of data provided in the request exceeds the capacity limit.",
    414: "The requested URL's length exceeds the capacity\nlimit for this server.",
    416: "None of the range-specifier values in the Range request-header field overlap the current extent of the selected resource.",
    417: "The expectation given in the Expect request-header field could not be met by this server.",
    500: "The server encountered an internal error or misconfiguration and was unable to complete your request.",
    501: "{method} not supported for current URL.",
    502: "The proxy server received an invalid response from an upstream server.",
    503: "The server is temporarily unable to service your request due to maintenance downtime or capacity problems. Please try again later.",
    504: "The gateway did not receive a timely response from the upstream server or application.",
    505: "The server does not support the HTTP protocol version used in the request.",
}


# Statuses whose sentence Apache closes with a plain </p> (the rest end with "<br />\n</p>").
_PLAIN_ENDING = frozenset(
    {301, 302, 303, 307, 308, 401, 403, 410, 404, 405, 408, 412, 416, 503, 504}
)


def reason_phrase(status: int) -> str:
    return _REASONS.get(status, "Unknown Reason")


def status_line(status: int, version: str = "HTTP/1.1") -> str:
    line = _STATUS_LINES.get((status, version))
    if line is None:
        line = f"{version} {status} {reason_phrase(status)}"
        if len(_STATUS_LINES) < 4096:  # (the statuses and versions an engine sends are few)
            _STATUS_LINES[(status, version)] = line
    return line


_STATUS_LINES: dict[tuple[int, str], str] = {}


def error_page(status: int, method: str = "GET", signature: str = "", location: str = "") -> bytes:
    """Apache's canned error document for `status`."""
    title = f"{status} {reason_phrase(status)}"
    sentence = _SENTENCES.get(status, "The server encountered an error.").format(
        method=escape(method), location=escape(location)
    )
    ending = "</p>" if status in _PLAIN_ENDING else "<br />\n</p>"
    body = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
        f"<html><head>\n<title>{title}</title>\n</head><body>\n"
        f"<h1>{escape(reason_phrase(status))}</h1>\n<p>{sentence}{ending}\n"
    )
    if signature:
        body += f"<hr>\n{signature}\n"
    body += "</body></html>\n"
    return body.encode("latin-1", "replace")


def error_document(per_dir: Mapping[str, Any], status: int) -> str | None:
    """The ErrorDocument configured for `status` in this request's merged settings, if any."""
    for document in reversed(per_dir.get("ErrorDocument") or ()):
        if document.status == status:
            return str(document.target)
    return None
