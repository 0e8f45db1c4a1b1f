"""mod_headers, mod_setenvif, mod_env, mod_expires, mod_remoteip and <If> against real sockets.

One `pyhttpd -X` serves every test; each feature lives under its own <Location>. The expected
headers and log fields are those Debian's apache2 2.4.71 gives for the same configuration (run
side by side while this was written), header order included where Apache's tables define it.
An access log line per request shows what the hooks left in the environment and request headers.
"""

from __future__ import annotations

import email.utils
import http.client
import os
import time
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest

from pyhttpd.config import load
from pyhttpd.errors import ConfigError
from pyhttpd.modules.registry import default_registry
from tests.harness.server import ServerRoot, running_server, wait_until

MODULES = ("headers", "setenvif", "env", "expires", "remoteip", "mime", "authz_core", "authz_host")
FUTURE = 10 * 24 * 3600  # the .png's mtime, ahead of now, so its max-age is positive
LOG_FORMAT = (
    '"%U" %h %a [%{X-Forwarded-For}i] [%{X-Forwarded-By}i] [%{X-Req}i] [%{FROMSETENV}e] '
    "[%{tool}e] [%{section}e] [%{remoteip-proxy-ip-list}n]"
)
LOG_LINE = 'LogFormat "' + LOG_FORMAT.replace('"', '\\"') + '" hooks'
CONFIG = (
    LOG_LINE
    + """
TypesConfig conf/mime.types
AddType text/html .html
AddType image/png .png
CustomLog logs/hooks_log hooks
RemoteIPHeader X-Forwarded-For
RemoteIPTrustedProxy 127.0.0.1
RemoteIPProxiesHeader X-Forwarded-By
SetEnv FROMSETENV configured
SetEnvIfNoCase User-Agent ^curl tool=yes
SetEnvIf Request_URI "^/(\\w+)/" section=$1
RequestHeader set X-Early early-value early
<Location /hdr>
  Header set X-Set one
  Header append X-Set two
  Header add X-Add a
  Header add X-Add b
  Header always set X-Always yes
  Header echo ^X-Echo
  Header edit X-Set "^(one)" "[$1]"
  Header merge X-Set two
  Header merge X-Set three
  Header setifempty X-Empty e
  Header set X-Env "%{section}e|%{NOPE}e|100%%"
  Header set X-Cond yes env=tool
  Header set X-NotCond yes env=!tool
  Header set X-Expr yes "expr=%{REQUEST_METHOD} == 'GET'"
  Header set X-Value "expr=%{REQUEST_URI}"
  Header echo X-Many
  Header edit* X-Many ^a b
  RequestHeader set X-Req from-config
  RequestHeader unset X-Drop
  Header echo X-Req
  Header echo X-Early
  Header echo X-Drop
</Location>
<Location /unset>
  UnsetEnv FROMSETENV
</Location>
<Location /exp>
  ExpiresActive On
  ExpiresByType text/html "access plus 1 hour"
  ExpiresDefault "modification plus 2 days"
</Location>
<Location /exp/override>
  Header set Cache-Control public
</Location>
<Location /admin>
  Require ip 203.0.113.0/24
</Location>
<If "%{QUERY_STRING} =~ /x/">
  Header set X-If matched
</If>
<ElseIf "%{QUERY_STRING} =~ /y/">
  Header set X-If elseif
</ElseIf>
<Else>
  Header set X-If else
  <If "%{QUERY_STRING} =~ /n/">
    Header set X-Nested yes
  </If>
</Else>
"""
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    server_root = ServerRoot(tmp_path_factory.mktemp("hooks"))
    (server_root.path / "conf").mkdir()
    (server_root.path / "conf" / "mime.types").write_text("")
    for directory in ("hdr", "exp/override", "admin", "unset", "plain"):
        (server_root.htdocs / directory).mkdir(parents=True)
    (server_root.htdocs / "hdr" / "index.html").write_text("hi\n")
    (server_root.htdocs / "exp" / "page.html").write_text("page\n")
    (server_root.htdocs / "exp" / "override" / "page.html").write_text("page\n")
    for name in ("admin", "unset", "plain"):
        (server_root.htdocs / name / "index.html").write_text(f"{name}\n")
    png = server_root.htdocs / "exp" / "pic.png"
    png.write_bytes(b"png")
    future = int(time.time()) + FUTURE
    os.utime(png, (future, future))
    server_root.write_config(CONFIG, modules=MODULES)
    with running_server(server_root):
        yield server_root


def get(root: ServerRoot, path: str, headers: dict[str, str] | None = None) -> tuple[int, Message]:
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.msg


def _log_lines(root: ServerRoot, path: str) -> list[str]:
    log = root.path / "logs" / "hooks_log"
    prefix = f'"{path}" '
    text = log.read_text() if log.exists() else ""
    return [line[len(prefix) :] for line in text.splitlines() if line.startswith(prefix)]


def get_logged(
    root: ServerRoot, path: str, headers: dict[str, str] | None = None
) -> tuple[int, Message, str]:
    """GET, then wait for the request's access-log line (written just after the response)."""
    before = len(_log_lines(root, path.split("?")[0]))
    status, message = get(root, path, headers)
    assert wait_until(lambda: len(_log_lines(root, path.split("?")[0])) > before, timeout=5)
    return status, message, _log_lines(root, path.split("?")[0])[before]


# --- mod_headers ---------------------------------------------------------------------------------


def test_header_actions_on_a_success(root: ServerRoot) -> None:
    status, headers = get(
        root,
        "/hdr/index.html",
        {"User-Agent": "curl/8", "X-Echo-One": "1", "X-Many": "aaa", "X-Drop": "gone"},
    )
    assert status == 200
    assert headers.get_all("X-Add") == ["a", "b"]
    assert headers["X-Set"] == "[one], two, three"  # set, append, edit, merge (twice)
    assert headers["X-Echo-One"] == "1" and headers["X-Empty"] == "e"
    assert headers["X-Env"] == "hdr|(null)|100%"
    assert headers["X-Cond"] == "yes" and "X-NotCond" not in headers
    assert headers["X-Expr"] == "yes" and headers["X-Value"] == "/hdr/index.html"
    assert headers["X-Many"] == "bbb"  # edit* re-anchors ^ after each replacement, as Apache
    assert headers["X-Req"] == "from-config" and headers["X-Early"] == "early-value"
    assert "X-Drop" not in headers
    assert headers["X-Always"] == "yes"
    names = [name for name, _ in headers.items()]
    assert names.index("X-Always") < names.index("Last-Modified")  # err_headers_out goes first


def test_onsuccess_headers_are_not_applied_to_an_error(root: ServerRoot) -> None:
    status, headers = get(root, "/hdr/missing", {"User-Agent": "curl/8"})
    assert status == 404
    assert headers["X-Always"] == "yes"
    for name in ("X-Set", "X-Add", "X-Cond", "X-Req", "X-If"):
        assert name not in headers


def test_request_header_reaches_the_log_and_the_env_condition(root: ServerRoot) -> None:
    status, headers, line = get_logged(root, "/hdr/index.html", {"User-Agent": "Mozilla/5.0"})
    assert status == 200 and headers["X-NotCond"] == "yes" and "X-Cond" not in headers
    assert "[from-config] [configured] [-] [hdr]" in line


# --- mod_setenvif and mod_env --------------------------------------------------------------------


def test_setenvif_and_setenv_in_the_log(root: ServerRoot) -> None:
    line = get_logged(root, "/plain/index.html", {"User-Agent": "CURL/7"})[2]
    assert line.endswith("[-] [configured] [yes] [plain] [-]")
    line = get_logged(root, "/unset/index.html", {"User-Agent": "wget"})[2]
    assert line.endswith("[-] [-] [-] [unset] [-]")


# --- mod_expires ---------------------------------------------------------------------------------


def _http_time(text: str | None) -> float:
    assert text is not None
    return email.utils.parsedate_to_datetime(text).timestamp()


def test_expires_by_type_from_access_time(root: ServerRoot) -> None:
    status, headers = get(root, "/exp/page.html")
    assert status == 200 and headers["Cache-Control"] == "max-age=3600"
    assert 3599 <= _http_time(headers["Expires"]) - _http_time(headers["Date"]) <= 3600


def test_expires_default_from_modification_time(root: ServerRoot) -> None:
    status, headers = get(root, "/exp/pic.png")
    mtime = int((root.htdocs / "exp" / "pic.png").stat().st_mtime)
    assert status == 200
    assert _http_time(headers["Expires"]) == mtime + 2 * 24 * 3600
    max_age = int(headers["Cache-Control"].removeprefix("max-age="))
    assert abs(max_age - (FUTURE + 2 * 24 * 3600)) <= 60


def test_expires_not_on_errors_and_header_runs_after_it(root: ServerRoot) -> None:
    status, headers = get(root, "/exp/missing.html")
    assert status == 404 and "Expires" not in headers and "Cache-Control" not in headers
    status, headers = get(root, "/exp/override/page.html")
    assert status == 200 and headers["Cache-Control"] == "public" and "Expires" in headers


# --- mod_remoteip --------------------------------------------------------------------------------


def test_remoteip_takes_the_client_from_a_trusted_proxy(root: ServerRoot) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.9, 203.0.113.7"}
    line = get_logged(root, "/plain/index.html", forwarded)[2]
    assert line.startswith("203.0.113.7 203.0.113.7 [198.51.100.9] [127.0.0.1] ")
    assert line.endswith("[127.0.0.1]")


def test_remoteip_refuses_a_private_address_from_a_trusted_proxy(root: ServerRoot) -> None:
    forwarded = {"X-Forwarded-For": "198.51.100.9, 10.0.0.1"}
    line = get_logged(root, "/plain/index.html", forwarded)[2]
    assert line.startswith("127.0.0.1 127.0.0.1 [198.51.100.9, 10.0.0.1] [-] ")


def test_require_ip_sees_the_remoteip_client(root: ServerRoot) -> None:
    assert get(root, "/admin/index.html")[0] == 403
    assert get(root, "/admin/index.html", {"X-Forwarded-For": "203.0.113.7"})[0] == 200


# --- <If> / <ElseIf> / <Else> --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "branch", "nested"),
    [("x", "matched", False), ("y", "elseif", False), ("z", "else", False), ("n", "else", True)],
)
def test_if_sections_per_request(root: ServerRoot, query: str, branch: str, nested: bool) -> None:
    status, headers = get(root, f"/plain/index.html?{query}")
    assert status == 200 and headers["X-If"] == branch
    assert ("X-Nested" in headers) is nested


# --- expressions are checked when the configuration is read --------------------------------------


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (
            'Header set X y "expr=%{FOO} == 1"',
            "Can't parse envclause/expression: Variable 'FOO' does not exist",
        ),
        ('Header set X "expr=%{FOO"', "Can't parse value expression : Unterminated string or "
         "variable"),
        ('Header edit X a "%Q"', "Unrecognized header format %Q"),
        (
            'SetEnvIfExpr "%{REQUEST_URI} =~ /(/" a',
            'Could not parse expression "%{REQUEST_URI} =~ /(/": Failed to compile regular '
            "expression",
        ),
        ("ExpiresByType text A1", "Invalid mimetype: should contain a slash"),
    ],
)  # fmt: skip
def test_bad_expressions_fail_at_start_up(tmp_path: Path, line: str, reason: str) -> None:
    config = tmp_path / "httpd.conf"
    loads = [f"LoadModule {m}_module modules/mod_{m}.so" for m in ("mpm_event", *MODULES)]
    config.write_text("\n".join([*loads, line]) + "\n")
    with pytest.raises(ConfigError) as raised:
        load(str(config), str(tmp_path), default_registry(), environment={})
    assert str(raised.value).endswith(f":\n{reason}")
