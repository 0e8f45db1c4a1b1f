"""mod_auth_basic, mod_authn_core, mod_authn_file and mod_authz_user against real sockets.

Password files are written by Debian's htpasswd (apache2-utils) in every format it makes; one
`pyhttpd -X` serves every test, each case under its own <Location>. Statuses, headers, the 401
page and the error-log lines are those Debian's apache2 2.4.71 gives for the same configuration
(run side by side while this was written): a missing Authorization header logs nothing, a wrong
scheme AH01614, a wrong password AH01617, an unknown user AH01618, a refused user AH01631; plain
text passwords are refused on Unix; base64 is decoded leniently.
"""

from __future__ import annotations

import base64
import http.client
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pyhttpd.modules.authn_passwords import apr1_md5, validate
from pyhttpd.modules.mod_auth_basic import apr_base64_decode
from tests.harness.server import ServerRoot, running_server, wait_until

MODULES = ("authz_core", "authz_user", "authn_core", "authn_file", "auth_basic", "log_config")
FORMATS = {"bcrypt": "-B", "md5": "-m", "sha": "-s", "crypt": "-d", "plain": "-p"}
PASSWORD = "s3cret:pw"  # a colon inside the password is part of it


def _location(path: str, body: str) -> str:
    return f"<Location {path}>\n{body}\n</Location>"


def _config(root: Path) -> str:
    sections = [
        _location(
            f"/{name}/",
            f'AuthType Basic\nAuthName "{name} realm"\nAuthBasicProvider file\n'
            f"AuthUserFile {root}/{name}.pw\nRequire valid-user",
        )
        for name in FORMATS
    ]
    sections += [
        _location(
            "/only/",
            f"AuthType Basic\nAuthName Only\nAuthUserFile {root}/md5.pw\nRequire user alice bob",
        ),
        _location(
            "/open/",
            f"AuthType Basic\nAuthName Open\nAuthUserFile {root}/md5.pw\nRequire all granted",
        ),
        _location("/noreq/", f"AuthType Basic\nAuthName N\nAuthUserFile {root}/md5.pw"),
        _location("/noname/", f"AuthType Basic\nAuthUserFile {root}/md5.pw\nRequire valid-user"),
        _location("/notype/", "Require valid-user"),
        _location(
            "/nofile/",
            f"AuthType Basic\nAuthName F\nAuthUserFile {root}/missing\nRequire valid-user",
        ),
    ]
    return "\n".join(
        [
            "LogLevel info",
            'LogFormat "%u %>s %U" auth',
            "CustomLog logs/auth_log auth",
            *sections,
        ]
    )


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    server_root = ServerRoot(tmp_path_factory.mktemp("auth"))
    for name, flag in FORMATS.items():
        file = server_root.path / f"{name}.pw"
        for user in ("alice", "carol"):
            create = ["-c"] if user == "alice" else []
            subprocess.run(
                ["htpasswd", "-b", *create, flag, str(file), user, PASSWORD],
                check=True,
                capture_output=True,
            )
    for directory in (*FORMATS, "only", "open", "noreq", "noname", "notype", "nofile"):
        (server_root.htdocs / directory).mkdir()
        (server_root.htdocs / directory / "index.html").write_text(f"{directory}\n")
    server_root.write_config(_config(server_root.path), modules=(*MODULES, "dir"))
    with running_server(server_root):
        yield server_root


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def request(
    root: ServerRoot, path: str, authorization: str | None = None, method: str = "GET"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    headers = {"Authorization": authorization} if authorization is not None else {}
    connection.request(method, path, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response.msg, body


def error_line(root: ServerRoot, needle: str) -> str:
    """The error-log line holding `needle`, waiting for it to be written."""
    log = root.path / "logs" / "error_log"

    def found() -> list[str]:
        return [line for line in log.read_text().splitlines() if needle in line]

    assert wait_until(lambda: bool(found()), timeout=5), needle
    return found()[-1]


def access_lines(root: ServerRoot, path: str) -> list[str]:
    text = (root.path / "logs" / "auth_log").read_text()
    return [line for line in text.splitlines() if line.endswith(f" {path}")]


# --- every htpasswd format --------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bcrypt", "md5", "sha", "crypt"])
def test_each_htpasswd_format_lets_the_right_password_in(root: ServerRoot, name: str) -> None:
    status, _, body = request(root, f"/{name}/", _basic("alice", PASSWORD))
    assert (status, body) == (200, f"{name}\n".encode())
    wrong = "x" + PASSWORD  # differs in the first 8 characters, all that DES crypt reads
    status, headers, _ = request(root, f"/{name}/", _basic("carol", wrong))
    assert status == 401
    assert headers["WWW-Authenticate"] == f'Basic realm="{name} realm"'
    assert 'AH01617: user carol: authentication failure for "/' + name in error_line(
        root, f'"/{name}/": Password Mismatch'
    )


def test_plain_text_passwords_are_refused_as_apache_refuses_them_on_unix(root: ServerRoot) -> None:
    status, headers, _ = request(root, "/plain/", _basic("alice", PASSWORD))
    assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="plain realm"'
    assert "[auth_basic:error]" in error_line(root, 'failure for "/plain/": Password Mismatch')


def test_curl_sends_basic_credentials(root: ServerRoot) -> None:
    out = subprocess.run(
        ["curl", "-s", "-u", f"alice:{PASSWORD}", root.url("/bcrypt/")],
        capture_output=True,
        check=True,
        timeout=10,
    )
    assert out.stdout == b"bcrypt\n"


# --- failures: 401 with WWW-Authenticate and Apache's log lines ---------------------------------


def test_missing_header_is_401_with_the_challenge_and_apache_page(root: ServerRoot) -> None:
    status, headers, body = request(root, "/md5/")
    assert status == 401
    assert headers["WWW-Authenticate"] == 'Basic realm="md5 realm"'
    assert headers["Content-Length"] == "421"
    assert b"<title>401 Unauthorized</title>" in body
    assert b"credentials (e.g., bad password), or your\n" in body
    status, headers, body = request(root, "/md5/", method="HEAD")
    assert (status, body) == (401, b"")
    assert headers["WWW-Authenticate"] == 'Basic realm="md5 realm"'


def test_unknown_user_is_401_and_logged(root: ServerRoot) -> None:
    status, headers, _ = request(root, "/sha/", _basic("mallory", "x"))
    assert status == 401 and "WWW-Authenticate" in headers
    assert "AH01618: user mallory not found: /sha/" in error_line(root, "user mallory not found")


def test_wrong_scheme_is_401_and_logged(root: ServerRoot) -> None:
    status, headers, _ = request(root, "/crypt/", "Digest username=alice")
    assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="crypt realm"'
    assert "AH01614: client used wrong authentication scheme: /crypt/" in error_line(
        root, "wrong authentication scheme: /crypt/"
    )


def test_malformed_credentials_are_401_not_400(root: ServerRoot) -> None:
    for value in ("Basic !!!!", "Basic", "Basic " + base64.b64encode(b"alice").decode()):
        status, headers, _ = request(root, "/md5/", value)
        assert status == 401 and "WWW-Authenticate" in headers, value


def test_base64_is_decoded_leniently_and_the_scheme_case_insensitively(root: ServerRoot) -> None:
    token = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()
    for value in (f"basic {token}", f"Basic   {token}", f"Basic {token.rstrip('=')}"):
        assert request(root, "/md5/", value)[0] == 200, value


# --- authorization: Require user / valid-user ------------------------------------------------


def test_require_user_names_who_may_enter(root: ServerRoot) -> None:
    assert request(root, "/only/", _basic("alice", PASSWORD))[0] == 200
    status, headers, _ = request(root, "/only/", _basic("carol", PASSWORD))
    assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="Only"'
    line = error_line(root, "AH01631: user carol")
    assert line.endswith('AH01631: user carol: authorization failure for "/only/": ')
    assert "[authz_core:error]" in line


def test_require_all_granted_asks_for_no_credentials(root: ServerRoot) -> None:
    assert request(root, "/open/")[0] == 200


def test_configuration_errors_are_500_with_apache_messages(root: ServerRoot) -> None:
    assert request(root, "/noreq/")[0] == 500
    assert "AH01627: AuthType configured with no corresponding authorization directives" in (
        error_line(root, "AH01627")
    )
    assert request(root, "/noname/")[0] == 500
    assert "AH01615: need AuthName: /noname/" in error_line(root, "AH01615")
    assert request(root, "/notype/")[0] == 500
    assert "request not allowed without authentication for /notype/." in error_line(root, "AH00027")
    assert request(root, "/nofile/")[0] == 401  # no credentials: asked before the file is read
    assert request(root, "/nofile/", _basic("alice", PASSWORD))[0] == 500
    assert "(2)No such file or directory: AH01620: Could not open password file: " in (
        error_line(root, "AH01620")
    )


def test_the_access_log_shows_the_user_even_when_refused(root: ServerRoot) -> None:
    before = len(access_lines(root, "/sha/")), len(access_lines(root, "/sha/index.html"))
    request(root, "/sha/?log", _basic("alice", PASSWORD))
    request(root, "/sha/?log", _basic("alice", "bad"))
    request(root, "/sha/?log")
    request(root, "/sha/?log", "Basic !!!!")
    assert wait_until(
        lambda: (
            len(access_lines(root, "/sha/")) >= before[0] + 3
            and len(access_lines(root, "/sha/index.html")) > before[1]
        ),
        timeout=5,
    )
    assert access_lines(root, "/sha/index.html")[-1] == "alice 200 /sha/index.html"
    assert access_lines(root, "/sha/")[-3:] == ["alice 401 /sha/", "- 401 /sha/", '"" 401 /sha/']


def test_a_401_keeps_the_connection_for_the_retry(root: ServerRoot) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    try:
        connection.request("GET", "/md5/")
        first = connection.getresponse()
        first.read()
        connection.request("GET", "/md5/", headers={"Authorization": _basic("alice", PASSWORD)})
        second = connection.getresponse()
        assert (first.status, second.status, second.read()) == (401, 200, b"md5\n")
    finally:
        connection.close()


# --- the pure parts ----------------------------------------------------------------------------


def test_apr1_matches_htpasswd_and_sha_crypt_work(tmp_path: Path) -> None:
    file = tmp_path / "pw"
    subprocess.run(
        ["htpasswd", "-cbm", str(file), "u", "pässword"], check=True, capture_output=True
    )
    stored = file.read_bytes().strip().split(b":", 1)[1]
    assert apr1_md5("pässword".encode(), stored) == stored
    assert validate("pässword".encode(), stored) and not validate(b"password", stored)
    assert not validate(b"x", b"$2y$05$malformed")
    assert not validate(b"x", b"")


def test_apr_base64_decoding_stops_at_the_first_stranger() -> None:
    assert apr_base64_decode("YWxpY2U6cHc=junk") == b"alice:pw"
    assert apr_base64_decode("YWxpY2U6cHc") == b"alice:pw"
    assert apr_base64_decode("!!!!") == b""
    assert apr_base64_decode(base64.b64encode(b"a\0b").decode()) == b"a"
