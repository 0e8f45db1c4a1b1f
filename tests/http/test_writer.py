"""Response heads (writer.py) and status lines, reason phrases and error pages (responses.py)."""

from __future__ import annotations

import calendar
import re
import time

import pytest

from pyhttpd.http.messages import Headers
from pyhttpd.http.responses import error_page, reason_phrase, status_line
from pyhttpd.http.writer import http_date, response_head

# RFC 9110 §5.6.7 IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
IMF_FIXDATE = re.compile(
    r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$"
)


def _lines(head: bytes) -> list[str]:
    assert head.endswith(b"\r\n\r\n")
    return head[:-4].decode("latin-1").split("\r\n")


def test_response_head_layout() -> None:
    headers = Headers([("Content-Type", "text/html"), ("Content-Length", "12")])
    lines = _lines(response_head(200, headers, server="Apache/2.4.62 (Unix)"))
    assert lines[0] == "HTTP/1.1 200 OK"
    assert lines[1].startswith("Date: ")
    assert IMF_FIXDATE.match(lines[1].removeprefix("Date: ")), lines[1]
    assert lines[2] == "Server: Apache/2.4.62 (Unix)"
    assert lines[3:] == ["Content-Type: text/html", "Content-Length: 12"]


def test_response_head_has_no_bare_lf() -> None:
    head = response_head(404, Headers([("X", "1")]), server="pyhttpd")
    assert head.count(b"\n") == head.count(b"\r\n")


def test_response_head_without_server() -> None:
    lines = _lines(response_head(204, Headers(), server=""))
    assert lines[0] == "HTTP/1.1 204 No Content"
    assert not any(line.startswith("Server:") for line in lines)
    assert len(lines) == 2


def test_response_head_keeps_repeated_fields_in_order() -> None:
    headers = Headers([("Set-Cookie", "a=1"), ("Vary", "Accept"), ("Set-Cookie", "b=2")])
    lines = _lines(response_head(200, headers, server="s"))
    assert lines[3:] == ["Set-Cookie: a=1", "Vary: Accept", "Set-Cookie: b=2"]


def test_response_head_http10_status_line() -> None:
    head = response_head(413, Headers(), server="s", version="HTTP/1.0")
    assert head.startswith(b"HTTP/1.0 413 Request Entity Too Large\r\n")


def test_response_head_encodes_latin1_and_replaces_the_rest() -> None:
    head = response_head(200, Headers([("X-A", "caf\xe9"), ("X-B", "snow\u2603")]), server="s")
    assert b"X-A: caf\xe9\r\n" in head
    assert b"X-B: snow?\r\n" in head


def test_http_date_of_the_epoch() -> None:
    assert http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT"
    assert http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"


def test_http_date_truncates_to_the_second() -> None:
    assert http_date(784111777.999) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert http_date(784111778.0) == "Sun, 06 Nov 1994 08:49:38 GMT"


def test_http_date_now_is_imf_fixdate() -> None:
    before = time.time()
    text = http_date()
    assert IMF_FIXDATE.match(text)
    stamp = calendar.timegm(time.strptime(text, "%a, %d %b %Y %H:%M:%S GMT"))
    assert abs(stamp - before) < 3600  # the current date, not a cached or local-time one


@pytest.mark.parametrize(
    ("status", "phrase"),
    [
        (200, "OK"),
        (304, "Not Modified"),
        (400, "Bad Request"),
        (404, "Not Found"),
        (413, "Request Entity Too Large"),
        (414, "Request-URI Too Long"),
        (416, "Requested Range Not Satisfiable"),
        (500, "Internal Server Error"),
        (501, "Not Implemented"),
        (505, "HTTP Version Not Supported"),
    ],
)
def test_reason_phrase(status: int, phrase: str) -> None:
    assert reason_phrase(status) == phrase


def test_reason_phrase_unknown_status() -> None:
    assert reason_phrase(799) == "Unknown Reason"


def test_status_line() -> None:
    assert status_line(414) == "HTTP/1.1 414 Request-URI Too Long"
    assert status_line(200, "HTTP/1.0") == "HTTP/1.0 200 OK"


def test_error_pages_are_byte_for_byte_apaches() -> None:
    # Captured from Debian's Apache/2.4.71.
    doctype = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
    assert (
        error_page(404)
        == (
            doctype
            + "<html><head>\n<title>404 Not Found</title>\n</head><body>\n<h1>Not Found</h1>\n"
            "<p>The requested URL was not found on this server.</p>\n</body></html>\n"
        ).encode()
    )
    assert (
        error_page(400)
        == (
            doctype + "<html><head>\n<title>400 Bad Request</title>\n</head><body>\n"
            "<h1>Bad Request</h1>\n<p>Your browser sent a request that this server could not "
            "understand.<br />\n</p>\n</body></html>\n"
        ).encode()
    )
    assert len(error_page(405, "PUT")) == 260 and len(error_page(501, "FOO")) == 242
    assert len(error_page(414)) == 288


@pytest.mark.parametrize(
    ("status", "text"),
    [
        (400, "Your browser sent a request that this server could not understand."),
        (403, "You don't have permission to access this resource."),
        (413, "Request Entity Too Large"),
        (414, "<title>414 Request-URI Too Long</title>"),
        (500, "<title>500 Internal Server Error</title>"),
        (505, "<h1>HTTP Version Not Supported</h1>"),
    ],
)
def test_error_page_texts(status: int, text: str) -> None:
    assert text in error_page(status).decode("latin-1")


def test_error_page_names_and_escapes_the_method() -> None:
    assert (
        "The requested method POST is not allowed for this URL." in error_page(405, "POST").decode()
    )
    page = error_page(501, "<script>").decode()
    assert "<script>" not in page
    assert "&lt;script&gt;" in page


def test_error_page_signature() -> None:
    signature = "<address>Apache/2.4.62 Server at localhost Port 80</address>"
    page = error_page(404, signature=signature).decode()
    assert f"<hr>\n{signature}\n</body></html>\n" in page
    assert "<hr>" not in error_page(404).decode()


def test_error_page_for_an_unknown_status_still_renders() -> None:
    page = error_page(799).decode()
    assert "<title>799 Unknown Reason</title>" in page
