"""mod_wsgi and cgi_env keep tables across requests; what each request sends must still count.

cgi_env keeps the server variables per server settings and Host, mod_wsgi a Plan per settings
and alias, and start_response the status lines and header pairs it has checked. Served
in-process (tests/harness/engine.py, one real loopback connection a request): a request whose
Host, alias or headers differ from the one before gets its own values, a bad value after good
ones is still refused, and a one-item body is cut to, or closes short of, its Content-Length.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from pyhttpd.http.cgi_env import cgi_environment
from pyhttpd.http.generation import Generation
from pyhttpd.http.phases import DECLINED, OK, Phase
from pyhttpd.http.request import Request
from tests.harness.engine import engine_generation, serve_once
from tests.harness.server import ServerRoot, status_of

APP = """
import json
from urllib.parse import unquote

KEYS = ("SERVER_NAME", "SERVER_PORT", "SERVER_SIGNATURE", "HTTP_AUTHORIZATION",
        "mod_wsgi.application_group", "mod_wsgi.callable_object")

def application(environ, start_response):
    path, query = environ["PATH_INFO"], unquote(environ["QUERY_STRING"])
    if path == "/status":
        start_response(query, [])
    elif path == "/header":
        start_response("200 OK", [("X-Value", query)])
    elif path in ("/short", "/long"):
        start_response("200 OK", [("Content-Length", "10" if path == "/short" else "3")])
        return [b"12345"]
    else:
        body = json.dumps({key: environ.get(key) for key in KEYS}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]
    return [b"answered"]

other = application
"""


def _cgi_environment(request: Request) -> int:
    """mod_cgi's environment of the request, as JSON, for /cgi."""
    if request.uri != "/cgi":
        return DECLINED
    request.body = json.dumps(cgi_environment(request, "Apache")).encode()
    return OK


@pytest.fixture(scope="module")
def generation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Generation]:
    root = ServerRoot(tmp_path_factory.mktemp("wsgi-tables"))
    script = root.path / "app.wsgi"
    script.write_text(APP)
    config = (
        f"LoadModule wsgi_module modules/mod_wsgi.so\nWSGIScriptAlias /app {script}\n"
        f"WSGIScriptAlias /global {script} application-group=%{{GLOBAL}} "
        "callable-object=other pass-authorization=On\n"
        "<Location /app/signed>\nServerSignature On\n</Location>\n"
    )
    saved = sys.stdout, sys.stderr  # the first script points them at the error log
    try:
        with engine_generation(root, {Phase.HANDLER: _cgi_environment}, config) as made:
            yield made[0]
    finally:
        sys.stdout, sys.stderr = saved


def _get(generation: Generation, path: str, *fields: str) -> tuple[int, bytes]:
    head = "".join(f"{field}\r\n" for field in fields)
    request = f"GET {path} HTTP/1.1\r\n{head}Connection: close\r\n\r\n".encode()
    answer, _ = serve_once(generation, request)
    return status_of(answer), answer.partition(b"\r\n\r\n")[2]


def test_each_request_gets_the_server_variables_of_its_own_host(generation: Generation) -> None:
    seen = []
    for host in ("a.example:81", "b.example", "a.example:81", "[::1]:82"):
        environ = json.loads(_get(generation, "/app/signed", f"Host: {host}")[1])
        seen.append((environ["SERVER_NAME"], environ["SERVER_PORT"]))
        assert environ["SERVER_SIGNATURE"].endswith(
            f"Server at {seen[-1][0]} Port {seen[-1][1]}</address>\n"
        )
    assert seen == [("a.example", "81"), ("b.example", "80"), ("a.example", "81"), ("[::1]", "82")]
    unsigned = json.loads(_get(generation, "/app/plain", "Host: a.example:81")[1])
    assert unsigned["SERVER_SIGNATURE"] == ""
    for host, name in (("c.example:83", "c.example"), ("d.example", "d.example")):
        cgi = json.loads(_get(generation, "/cgi", f"Host: {host}", "X-A: 1", "x-a: 2")[1])
        assert (cgi["SERVER_NAME"], cgi["HTTP_X_A"]) == (name, "1, 2")


def test_each_alias_keeps_its_own_options(generation: Generation) -> None:
    credentials = "Authorization: Basic dTpw"
    plain = json.loads(_get(generation, "/app", "Host: h", credentials)[1])
    passed = json.loads(_get(generation, "/global", "Host: h", credentials)[1])
    assert plain["mod_wsgi.application_group"].endswith("|/app")
    assert plain["mod_wsgi.callable_object"] == "application"
    assert plain["HTTP_AUTHORIZATION"] is None
    assert passed["mod_wsgi.application_group"] == ""
    assert passed["mod_wsgi.callable_object"] == "other"
    assert passed["HTTP_AUTHORIZATION"] == "Basic dTpw"


def test_a_bad_status_or_header_is_refused_after_good_ones(generation: Generation) -> None:
    for _ in range(2):  # the second time, the good ones have been checked before
        assert _get(generation, "/app/status?201%20Made", "Host: h")[0] == 201
        assert _get(generation, "/app/header?fine", "Host: h")[0] == 200
    assert _get(generation, "/app/status?20x%20Made", "Host: h")[0] == 500
    assert _get(generation, "/app/status?201%20Made%0A", "Host: h")[0] == 500
    assert _get(generation, "/app/header?fine%0Anot", "Host: h")[0] == 500
    assert _get(generation, "/app/header?%E2%82%AC", "Host: h")[0] == 500  # not latin-1


def test_a_one_item_body_is_cut_to_or_closes_short_of_its_length(generation: Generation) -> None:
    status, body = _get(generation, "/app/long", "Host: h")
    assert (status, body) == (200, b"123")
    then = b"GET /app HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"
    answer, _ = serve_once(generation, b"GET /app/short HTTP/1.1\r\nHost: h\r\n\r\n" + then)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Length: 10" in head and body == b"12345"  # and nothing after: closed
