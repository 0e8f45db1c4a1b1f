"""ap_expr (pyhttpd.http.expr), pure tier: parse and evaluate against a fake request.

Expected values were checked against Debian's Apache 2.4.71 where Apache can show them (a
`Header set X y "expr=..."` per expression, `apache2 -t` for the parse errors). The fake request
carries only the attributes the variable table reads.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pyhttpd.config.lookup import if_walk
from pyhttpd.config.model import Section, Settings
from pyhttpd.errors import DirectiveError
from pyhttpd.http.expr import (
    evaluate,
    evaluate_match,
    evaluator,
    ip_in,
    ip_subnet,
    parse,
    parse_string,
    regsub,
    render,
)
from pyhttpd.http.messages import Headers, RequestHead


def fake_request(**overrides: Any) -> SimpleNamespace:
    headers = Headers(
        [("Host", "ExAmple.com:81"), ("User-Agent", "curl/8.5"), ("X-Y", "a"), ("X-Y", "b")]
    )
    head = RequestHead("GET", "/index.html?q1", (1, 1), headers, "GET /index.html?q1 HTTP/1.1")
    values: dict[str, Any] = {
        "head": head,
        "uri": "/index.html",
        "query": "q1",
        "filename": "/nonexistent/index.html",
        "path_info": "",
        "client": ("127.0.0.1", 50123),
        "local": ("127.0.0.1", 8080),
        "server": {"ServerName": "localhost", "ServerAdmin": "admin@example.com"},
        "per_dir": {},
        "notes": {"user": "alice", "flag": "noted"},
        "environment": {"e": "1", "empty": ""},
        "headers_out": Headers([("X-Out", "q1")]),
        "status": 200,
        "content_type": "text/html",
        "handler": None,
        "stat": None,
        "config": None,
    }
    values.update(overrides)
    return SimpleNamespace(**values)


def check(text: str, **overrides: Any) -> bool:
    return evaluate(parse(text), fake_request(**overrides))


TRUE = [
    "true",
    "!false",
    "true && !false || false",
    "false || (true && true)",
    "! ! true",
    "%{QUERY_STRING} == 'q1'",
    "%{QUERY_STRING} = 'q1'",
    "%{REQUEST_URI} == '/index.html'",
    "%{REQUEST_METHOD} != 'POST'",
    "%{THE_REQUEST} == 'GET /index.html?q1 HTTP/1.1'",
    "%{SERVER_PROTOCOL} == 'HTTP/1.1'",
    "%{HTTP_HOST} == 'ExAmple.com:81'",
    "%{http_host} == 'ExAmple.com:81'",  # variable names are case-insensitive
    "%{HTTP_USER_AGENT} =~ /^curl/",
    "%{HTTP:X-Y} == 'a, b'",  # repeated request headers read as Apache merges them
    "%{req:x-y} == 'a, b' && %{http:X-Y} == 'a, b' && req('X-Y') == 'a, b'",
    "%{resp:X-Out} == 'q1'",
    "%{reqenv:e} == '1' && %{env:e} == '1' && -z %{reqenv:empty}",
    "%{note:flag} == 'noted' && %{REMOTE_USER} == 'alice'",
    "%{env:PATH} == %{osenv:PATH}",  # env() falls back to the process environment
    "%{SERVER_NAME} == 'example.com' && %{SERVER_PORT} -eq 81",
    "%{REMOTE_ADDR} == '127.0.0.1' && %{REMOTE_PORT} == '50123'",
    "%{HTTPS} == 'off' && %{REQUEST_SCHEME} == 'http' && %{IPV6} == 'off'",
    "%{REQUEST_STATUS} -eq 200 && %{CONTENT_TYPE} == 'text/html'",
    "%{HANDLER} == 'text/html'",  # no handler: Apache shows the content type
    "%{REQUEST_FILENAME} == '/nonexistent/index.html' && %{IS_SUBREQ} == 'false'",
    "%{API_VERSION} == '20120211'",
    "%{QUERY_STRING} =~ /(q)(\\d)/ && $1 == 'q' && $2 == 1",
    "%{QUERY_STRING} =~ m#Q#i",
    "%{QUERY_STRING} !~ /x/",
    "%{QUERY_STRING} in {'x', 'q1'}",
    "'abc' < 'abd' && 'b' > 'a' && 'a' <= 'a' && 'b' >= 'a'",
    "'10' < '9'",  # string comparison
    "10 -gt 9 && !(10 -lt 9) && 3 -le 3 && 4 -ge 3 && 2 -ne 3 && 5 eq 5",
    "'a1' -eq 0 && '1a' -eq 1 && ' 1' -eq 1",  # apr_atoi64 reads leading digits only
    "'x' -strmatch '?' && 'X' -strcmatch 'x' && 'a/b' -strmatch 'a*'",
    "!('a/b' -fnmatch 'a*') && 'a/b' -fnmatch 'a/*' && 'abc' -fnmatch '[a-c]b?'",
    "%{REMOTE_ADDR} -ipmatch '127.0.0.0/8' && -R '127.0.0.1' && !-R '10.1'",
    "-R '127.0.0.1/255.0.0.0'",
    "-T %{QUERY_STRING} && !-T 'off' && !-T 'No' && !-T '0' && !-T ''",
    "-n %{QUERY_STRING} && -z ''",
    "-d '/' && -e '/' && !-f '/' && !-f %{REQUEST_FILENAME}",
    "%{QUERY_STRING} . 'x' == 'q1x'",
    "'%{QUERY_STRING}x' == 'q1x'",
    "tolower(%{HTTP_HOST}) == 'example.com:81' && toupper('ab') == 'AB'",
    "escape('a b/') == 'a%20b/' && unescape('%41') == 'A'",
    "base64('ab') == 'YWI=' && unbase64('YWI=') == 'ab'",
    "md5('a') == '0cc175b9c0f1b6a831c399e269772661'",
    "sha1('a') == '86f7e437faa5a7fce15d1ddcb9eaeaea377667b8'",
    "'it\\'s' == \"it's\" && '\\101\\t' == 'A\t'",
]


@pytest.mark.parametrize("text", TRUE)
def test_true(text: str) -> None:
    assert check(text)


FALSE = [
    "false",
    "!true",
    "true && false",
    "%{QUERY_STRING} == 'Q1'",
    "%{QUERY_STRING} =~ /x/",
    "%{QUERY_STRING} in {'x', 'y'}",
    "%{REMOTE_ADDR} -ipmatch '10.0.0.0/8'",
    "-f '/'",
    "-n ''",
    "%{HTTP:X-Absent} != ''",
]


@pytest.mark.parametrize("text", FALSE)
def test_false(text: str) -> None:
    assert not check(text)


# Apache's reasons (apache2 -t on 2.4.71); bison's token names are approximated.
PARSE_ERRORS = [
    ("%{FOO} == 1", "Variable 'FOO' does not exist"),
    ("%{HTTP_X_FOO} == 1", "Variable 'HTTP_X_FOO' does not exist"),
    ("%{Foo:x} == 1", "Function 'Foo' does not exist"),
    ("sha256('a') == 1", "Function 'sha256' does not exist"),
    ("bogus", "syntax error, unexpected $end, expecting '('"),
    ("-q 'a'", "Unary operator '-q' does not exist"),
    ("'a' -foo 'b'", "Binary operator '-foo' does not exist"),
    ("%{QUERY_STRING} == 'a", "Unterminated string or variable"),
    ("true)", "syntax error, unexpected ')', expecting $end"),
    ("%{QUERY_STRING}", "syntax error, unexpected $end"),
    ("%{QUERY_STRING} in {}", "syntax error, unexpected '}'"),
    ("%{QUERY_STRING} =~ /(/", "Failed to compile regular expression"),
    ("%{QUERY_STRING} =~ /a/s", "syntax error, unexpected T_ID, expecting $end"),
    ("-R 'bad'", "parsing of subnet/netmask failed"),
    ("%{REMOTE_ADDR} -ipmatch 'x/33'", "parsing of subnet/netmask failed"),
    (
        "%{REMOTE_ADDR} -ipmatch %{QUERY_STRING}",
        "-ipmatch requires subnet/netmask as constant argument",
    ),
]


@pytest.mark.parametrize(("text", "reason"), PARSE_ERRORS)
def test_parse_errors(text: str, reason: str) -> None:
    with pytest.raises(DirectiveError) as raised:
        parse(text)
    assert str(raised.value) == f"Cannot parse condition clause: {reason}"


def test_parse_error_prefix_is_the_callers() -> None:
    with pytest.raises(DirectiveError, match="^Can't parse envclause/expression: Variable"):
        parse("%{FOO} ==", "Can't parse envclause/expression")
    with pytest.raises(DirectiveError) as raised:
        parse_string("%{FOO")
    assert str(raised.value) == "Can't parse value expression : Unterminated string or variable"


def test_string_expression_interpolates_variables_only() -> None:
    expression = parse_string("%{REQUEST_URI}|%{QUERY_STRING}|tolower(x)|%{req:X-Y}")
    assert render(expression, fake_request()) == "/index.html|q1|tolower(x)|a, b"


def test_backreferences_come_from_the_last_successful_match() -> None:
    assert check("'ab' =~ /(a)/ && 'zz' =~ /(z)/ && $1 == 'z'")
    assert check("'ab' =~ /(a)/ && !('zz' =~ /(y)/) && $1 == ''")  # a failed match clears them
    assert check("'ab' =~ /(a)/ && $5 == ''")
    matched, match = evaluate_match(parse("%{HTTP_USER_AGENT} =~ /^(\\w+)/"), fake_request())
    assert matched and match is not None and match.group(1) == "curl"


def test_document_root_is_ap_document_root() -> None:
    """Absolute (relative to ServerRoot) and without its trailing slash, as CGI's; an Alias's
    directory is CONTEXT_DOCUMENT_ROOT."""
    config = SimpleNamespace(server_root="/srv")
    server = {"DocumentRoot": "www/"}
    assert check("%{DOCUMENT_ROOT} == '/srv/www'", server=server, config=config)
    assert check("%{CONTEXT_DOCUMENT_ROOT} == '/srv/www'", server=server, config=config)
    notes = {"context_document_root": "/usr/lib/cgi-bin/"}
    assert check(
        "%{CONTEXT_DOCUMENT_ROOT} == '/usr/lib/cgi-bin/'", server=server, config=config, notes=notes
    )


def test_time_variables_are_local_time_digits() -> None:
    request = fake_request()
    stamp = render(parse_string("%{TIME}"), request)
    assert re.fullmatch(r"\d{14}", stamp) and stamp[:4] == time.strftime("%Y")
    assert re.fullmatch(r"[0-6]", render(parse_string("%{TIME_WDAY}"), request))
    assert re.fullmatch(r"\d\d", render(parse_string("%{TIME_HOUR}"), request))


def test_file_tests_and_functions(tmp_path: Path) -> None:
    full = tmp_path / "full.txt"
    full.write_text("content")
    (tmp_path / "empty.txt").write_text("")
    os.symlink(full, tmp_path / "link")
    request = fake_request(filename=str(full))
    root = str(tmp_path)
    assert evaluate(parse("-f %{REQUEST_FILENAME} && -s %{REQUEST_FILENAME}"), request)
    assert evaluate(parse(f"!-s '{root}/empty.txt' && -e '{root}/empty.txt'"), request)
    assert evaluate(
        parse(f"-L '{root}/link' && -h '{root}/link' && !-L '{root}/full.txt'"), request
    )
    assert evaluate(parse(f"-d '{root}' && !-x '{root}/full.txt'"), request)
    assert evaluate(parse("file(%{REQUEST_FILENAME}) == 'content'"), request)
    assert evaluate(parse("filesize(%{REQUEST_FILENAME}) -eq 7"), request)
    assert evaluate(parse(f"filesize('{root}/missing') -eq 0"), request)
    # an error while evaluating (file() of a missing file) makes the condition false
    assert not evaluate(parse(f"file('{root}/missing') == ''"), request)


def test_ipmatch_and_subnets() -> None:
    assert str(ip_subnet("10.1")) == "10.1.0.0/16"
    assert str(ip_subnet("192.168.1.0/255.255.255.0")) == "192.168.1.0/24"
    assert str(ip_subnet("2001:db8::/32")) == "2001:db8::/32"
    assert ip_subnet("300.1.1.1") is None and ip_subnet("10.0.0.0/40") is None
    network = ip_subnet("127.0.0.0/8")
    assert network is not None
    assert ip_in("::ffff:127.0.0.1", network) and not ip_in("::1", network)
    assert check("%{REMOTE_ADDR} -ipmatch '2001:db8::/32'", client=("2001:db8::5", 1))


def test_regsub_is_ap_pregsub() -> None:
    match = re.search("(a)", "bab")
    assert regsub(r"x&y\$1\&$1$0$9", match) == "x&y$1&aa"  # no '&'; backslash quotes
    assert regsub(r"\x\y", match) == "xy"
    assert regsub("$1", None) == ""


def test_evaluator_parses_once_and_refuses_bad_text() -> None:
    decide = evaluator(fake_request())
    assert decide("%{QUERY_STRING} =~ /q/") and not decide("%{QUERY_STRING} =~ /x/")
    assert not decide("%{NOT_A_VARIABLE} == 1")


def _section(kind: str, value: str, *children: Section) -> Section:
    return Section(kind, (), "t.conf", 1, value, Settings({}), children)


def test_if_walk_chains_and_nesting() -> None:
    """<If>/<ElseIf>/<Else> as ap_if_walk: a chain stops at its first true branch; <If>s nested
    in applied sections follow, one level at a time."""
    nested = _section("If", "yes-nested")
    chain = [
        _section("If", "no"),
        _section("ElseIf", "yes-a", nested),
        _section("ElseIf", "yes-b"),
        _section("Else", ""),
        _section("If", "yes-c"),
        _section("Else", ""),
    ]
    applied = if_walk(chain, lambda text: text.startswith("yes"))
    assert [s.value for s in applied] == ["yes-a", "yes-c", "yes-nested"]
    applied = if_walk(chain, lambda text: False)
    assert [(s.kind, s.value) for s in applied] == [("Else", ""), ("Else", "")]
