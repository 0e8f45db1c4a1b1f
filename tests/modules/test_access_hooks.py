"""Access control against real sockets: Require, Order/Allow/Deny, symbolic links and .htaccess.

Each group runs one `pyhttpd -X` on a temporary ServerRoot. Expected statuses and error-log lines
are those Debian's apache2 2.4 gives for the same configuration (checked side by side while this
was written): AH01630 from authz_core, AH01797 from access_compat, AH00037 for a refused symbolic
link, and `[core:alert] /path/.htaccess: reason` (status 500) for an access file that does not
parse or holds a directive its AllowOverride does not grant.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.harness.server import REPO, ServerRoot, raw_exchange, running_server, status_of

ACCESS_MODULES = ("authz_core", "authz_host", "access_compat")


def status(root: ServerRoot, path: str, method: str = "GET") -> int:
    body = b"a=b" if method == "POST" else b""
    head = f"{method} {path} HTTP/1.0\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    return status_of(raw_exchange(root.port, head + body))


def error_log(root: ServerRoot) -> str:
    path = root.path / "logs" / "error_log"
    return path.read_text() if path.exists() else ""


def make_dirs(root: ServerRoot, *names: str) -> str:
    for name in names:
        (root.htdocs / name).mkdir(parents=True, exist_ok=True)
        (root.htdocs / name / "x.txt").write_text("x\n")
    return str(root.htdocs)


def directory(path: str, *lines: str) -> str:
    return "\n".join([f"<Directory {path}>", *lines, "</Directory>"])


# --- Require and Order/Allow/Deny --------------------------------------------------------------

ACCESS_SECTIONS = {
    "granted": ["Require all granted"],
    "denied": ["Require all denied"],
    "open": [],
    "ip-local": ["Require ip 127.0.0.1"],
    "ip-ten": ["Require ip 10.0.0.0/8"],
    "not-local-ip": ["<RequireAll>", "Require all granted", "Require not ip 127.0.0.1",
                     "</RequireAll>"],
    "not-ten": ["<RequireAll>", "Require all granted", "Require not ip 10.0.0.0/8",
                "</RequireAll>"],
    "any": ["<RequireAny>", "Require ip 10.0.0.0/8", "Require ip 127.0", "</RequireAny>"],
    "none": ["<RequireAll>", "Require all granted", "<RequireNone>", "Require ip 127.0.0.1",
             "</RequireNone>", "</RequireAll>"],
    "local": ["Require local"],
    "not-local": ["<RequireAll>", "Require all granted", "Require not local", "</RequireAll>"],
    "host": ["Require host localhost"],
    "host-other": ["Require host example.com"],
    "forward": ["Require forward-dns localhost"],
    "method": ["Require method POST"],
    "merge": ["Require all denied"],
    "merge/and": ["AuthMerging And", "Require all granted"],
    "merge/or": ["AuthMerging Or", "Require all granted"],
    "merge/off": ["Require all granted"],
    "merge/inherit": ["Options None"],
    "limit": ["<Limit POST>", "Require all denied", "</Limit>"],
    "deny-all": ["Order deny,allow", "Deny from all"],
    "allow-local": ["Order deny,allow", "Deny from all", "Allow from 127.0.0.1"],
    "allow-deny": ["Order allow,deny"],
    "compat-child": ["Deny from all"],
    "compat-child/inherit": ["Options None"],
    "compat-child/replace": ["Allow from 10.0.0.1"],
    "satisfy-any": ["Order deny,allow", "Deny from all", "Satisfy any", "Require all granted"],
    "satisfy-any-denied": ["Deny from all", "Satisfy any", "Require all denied"],
    "satisfy-any-host": ["Order allow,deny", "Allow from 127.0.0.1", "Satisfy any",
                         "Require all denied"],
    "satisfy-all": ["Order allow,deny", "Allow from 127.0.0.1", "Require all denied"],
}  # fmt: skip


@pytest.fixture(scope="module")
def access(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("access"))
    docs = make_dirs(root, *ACCESS_SECTIONS, "location")
    body = [directory(f"{docs}/{name}", *lines) for name, lines in ACCESS_SECTIONS.items()]
    body.append("<Location /location>\nRequire all denied\n</Location>")
    root.write_config("\n".join(body), modules=ACCESS_MODULES)
    with running_server(root):
        yield root


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("granted", 200), ("denied", 403), ("open", 200), ("ip-local", 200), ("ip-ten", 403),
        ("not-local-ip", 403), ("not-ten", 200), ("any", 200), ("none", 403), ("local", 200),
        ("not-local", 403), ("host", 200), ("host-other", 403), ("forward", 200), ("method", 403),
        ("merge", 403), ("merge/and", 403), ("merge/or", 200), ("merge/off", 200),
        ("merge/inherit", 403), ("limit", 200), ("location", 403),
        ("deny-all", 403), ("allow-local", 200), ("allow-deny", 403), ("compat-child", 403),
        ("compat-child/inherit", 403), ("compat-child/replace", 200), ("satisfy-any", 200),
        ("satisfy-any-denied", 403), ("satisfy-any-host", 200), ("satisfy-all", 403),
    ],
)  # fmt: skip
def test_access_decisions_match_apache(access: ServerRoot, name: str, expected: int) -> None:
    assert status(access, f"/{name}/x.txt") == expected


def test_denial_logs_ah01630_with_the_filename(access: ServerRoot) -> None:
    assert status(access, "/denied/x.txt") == 403
    line = f"AH01630: client denied by server configuration: {access.htdocs}/denied/x.txt"
    assert "[authz_core:error]" in error_log(access) and line in error_log(access)
    assert "[client 127.0.0.1:" in error_log(access)


def test_deny_from_logs_ah01797(access: ServerRoot) -> None:
    assert status(access, "/deny-all/x.txt") == 403
    line = f"AH01797: client denied by server configuration: {access.htdocs}/deny-all/x.txt"
    assert "[access_compat:error]" in error_log(access) and line in error_log(access)


def test_method_rules_follow_the_request_method(access: ServerRoot) -> None:
    assert status(access, "/method/x.txt", "POST") == 200
    assert status(access, "/limit/x.txt", "POST") == 403
    assert status(access, "/limit/x.txt", "HEAD") == 200


def test_missing_file_is_denied_before_it_is_missing(access: ServerRoot) -> None:
    assert status(access, "/denied/nope.txt") == 403
    assert status(access, "/granted/nope.txt") == 404


# --- symbolic links -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("links"))
    docs = make_dirs(root, "follow", "nolinks", "owner", "relative", "relative/again")
    outside = root.path / "outside"
    outside.mkdir()
    (outside / "out.txt").write_text("out\n")
    for name in ("follow", "nolinks", "owner", "relative", "relative/again"):
        os.symlink("x.txt", root.htdocs / name / "link-in")
        os.symlink(outside / "out.txt", root.htdocs / name / "link-out")
        os.symlink(outside, root.htdocs / name / "linkdir")
        os.symlink("missing.txt", root.htdocs / name / "dangling")
    if os.geteuid() == 0:
        (root.htdocs / "owner" / "theirs.txt").write_text("theirs\n")
        os.chown(root.htdocs / "owner" / "theirs.txt", 65534, 65534)
        os.symlink("theirs.txt", root.htdocs / "owner" / "link-theirs")
    body = [
        directory(f"{docs}/nolinks", "Options None"),
        directory(f"{docs}/owner", "Options SymLinksIfOwnerMatch"),
        directory(f"{docs}/relative", "Options -FollowSymLinks"),
        directory(f"{docs}/relative/again", "Options +FollowSymLinks"),
    ]
    root.write_config("\n".join(body))
    with running_server(root):
        yield root


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/follow/link-in", 200), ("/follow/link-out", 200), ("/follow/linkdir/out.txt", 200),
        ("/follow/dangling", 403), ("/nolinks/x.txt", 200), ("/nolinks/link-in", 403),
        ("/nolinks/link-out", 403), ("/nolinks/linkdir/out.txt", 403), ("/owner/link-in", 200),
        ("/owner/link-out", 200), ("/owner/linkdir/out.txt", 200), ("/relative/link-in", 403),
        ("/relative/again/link-in", 200), ("/relative/again/link-out", 200),
    ],
)  # fmt: skip
def test_symlinks_follow_options(links: ServerRoot, path: str, expected: int) -> None:
    assert status(links, path) == expected


def test_refused_symlink_logs_ah00037(links: ServerRoot) -> None:
    assert status(links, "/nolinks/linkdir/out.txt") == 403
    text = f"AH00037: Symbolic link not allowed or link target not accessible: {links.htdocs}"
    assert "[core:error]" in error_log(links)
    assert f"{text}/nolinks/linkdir\n" in error_log(links)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a file another owner")
def test_symlinks_if_owner_match_refuses_another_owner(links: ServerRoot) -> None:
    assert status(links, "/owner/theirs.txt") == 200
    assert status(links, "/owner/link-theirs") == 403


def test_a_file_replaced_by_a_link_after_it_was_served(tmp_path: pytest.TempPathFactory) -> None:
    """The walk of a served file is remembered (AllowOverride None, FollowSymLinks): a file
    replaced by a link afterwards is still judged by Options, as on the first request."""
    root = ServerRoot(tmp_path)
    docs = make_dirs(root, "follow", "nolinks")
    outside = root.path / "outside.txt"
    outside.write_text("outside\n")
    body = [
        directory("/", "AllowOverride None"),
        directory(f"{docs}/nolinks", "Options None"),
    ]
    root.write_config("\n".join(body))
    with running_server(root):
        assert [status(root, f"/{name}/x.txt") for name in ("follow", "nolinks")] == [200, 200]
        for name in ("follow", "nolinks"):
            (root.htdocs / name / "x.txt").unlink()
            os.symlink(outside, root.htdocs / name / "x.txt")
        assert status(root, "/nolinks/x.txt") == 403  # Options None: the link is refused
        assert status(root, "/follow/x.txt") == 200
        (root.htdocs / "follow" / "x.txt").unlink()
        os.symlink("missing.txt", root.htdocs / "follow" / "x.txt")
        assert status(root, "/follow/x.txt") == 403  # a dangling link: AH00037
    assert error_log(root).count("AH00037") == 2


def test_an_access_file_that_appears_after_a_file_was_served(
    tmp_path: pytest.TempPathFactory,
) -> None:
    """A remembered walk checks that the access files it looked for are still absent."""
    root = ServerRoot(tmp_path)
    docs = make_dirs(root, "later", "later/deeper")
    root.write_config(directory(f"{docs}/later", "AllowOverride AuthConfig"), ACCESS_MODULES)
    with running_server(root):
        assert [status(root, "/later/deeper/x.txt") for _ in range(2)] == [200, 200]
        (root.htdocs / "later" / ".htaccess").write_text("Require all denied\n")
        assert status(root, "/later/deeper/x.txt") == 403
        (root.htdocs / "later" / ".htaccess").unlink()
        assert status(root, "/later/deeper/x.txt") == 200
        (root.htdocs / "later" / "deeper" / "x.txt").unlink()
        (root.htdocs / "later" / "deeper" / "x.txt").mkdir()
        assert status(root, "/later/deeper/x.txt") == 404  # now a directory (no index)


# --- .htaccess ---------------------------------------------------------------------------------

HTACCESS_OVERRIDES = {
    "authconfig": "AllowOverride AuthConfig",
    "all": "AllowOverride All",
    "none": "AllowOverride None",
    "limit": "AllowOverride Limit",
    "unset": None,  # no AllowOverride at all: Apache still reads the file, granting nothing
    "bogus": "AllowOverride All",
    "files": "AllowOverride AuthConfig",
    "compat": "AllowOverride Limit",
    "options": "AllowOverride Options",
    "nonfatal": "AllowOverride Limit Nonfatal=All",
    "provider": "AllowOverride AuthConfig",
    "bad-ip": "AllowOverride AuthConfig",
}
HTACCESS_TEXT = {
    "bogus": "Bogus directive\n",
    "files": "<Files x.txt>\nRequire all denied\n</Files>\n",
    "compat": "Order allow,deny\nAllow from 10.0.0.1\n",
    "options": "Options -FollowSymLinks\n",
    "nonfatal": "Require all denied\nNoSuchThing here\n",
    "provider": "Require nosuch provider\n",
    "bad-ip": "Require ip 300.1.1.1\n",
}


@pytest.fixture(scope="module")
def htaccess(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("htaccess"))
    docs = make_dirs(root, *HTACCESS_OVERRIDES, "cache", "nested/deeper")
    for name in HTACCESS_OVERRIDES:
        text = HTACCESS_TEXT.get(name, "Require all denied\n")
        (root.htdocs / name / ".htaccess").write_text(text)
    (root.htdocs / "files" / "y.txt").write_text("y\n")
    os.symlink("x.txt", root.htdocs / "options" / "link")
    (root.htdocs / "nested" / ".htaccess").write_text("Require all denied\n")
    (root.htdocs / "nested" / "deeper" / ".htaccess").write_text("Require all granted\n")
    body = []
    for name, line in HTACCESS_OVERRIDES.items():
        body.append(directory(f"{docs}/{name}", line or "", "Require all granted"))
    body.append(directory(f"{docs}/cache", "AllowOverride AuthConfig"))
    body.append(directory(f"{docs}/nested", "AllowOverride AuthConfig"))
    body.append('<FilesMatch "^\\.ht">\nRequire all denied\n</FilesMatch>')
    root.write_config("\n".join(body), modules=ACCESS_MODULES)
    with running_server(root):
        yield root


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/authconfig/x.txt", 403), ("/all/x.txt", 403), ("/none/x.txt", 200),
        ("/limit/x.txt", 500), ("/unset/x.txt", 500), ("/bogus/x.txt", 500),
        ("/files/x.txt", 403), ("/files/y.txt", 200), ("/compat/x.txt", 403),
        ("/options/x.txt", 200), ("/options/link", 403), ("/nonfatal/x.txt", 200),
        ("/nested/x.txt", 403), ("/nested/deeper/x.txt", 200), ("/provider/x.txt", 500),
        ("/bad-ip/x.txt", 500),
    ],
)  # fmt: skip
def test_htaccess_is_honoured_as_allow_override_says(
    htaccess: ServerRoot, path: str, expected: int
) -> None:
    assert status(htaccess, path) == expected


def test_forbidden_directive_in_htaccess_logs_apaches_alert(htaccess: ServerRoot) -> None:
    assert status(htaccess, "/limit/x.txt") == 500
    log = error_log(htaccess)
    assert "[core:alert]" in log
    assert f"] {htaccess.htdocs}/limit/.htaccess: Require not allowed here\n" in log


def test_unknown_directive_in_htaccess_is_invalid_command(htaccess: ServerRoot) -> None:
    assert status(htaccess, "/bogus/x.txt") == 500
    assert (
        f"{htaccess.htdocs}/bogus/.htaccess: Invalid command 'Bogus', perhaps misspelled or "
        "defined by a module not included in the server configuration"
    ) in error_log(htaccess)


def test_unknown_provider_in_htaccess_is_apaches_alert(htaccess: ServerRoot) -> None:
    """httpd.conf refuses it at start-up (tests/modules/test_module_tables.py); a .htaccess
    line fails its request as any bad access-file line does."""
    assert status(htaccess, "/provider/x.txt") == 500
    assert status(htaccess, "/bad-ip/x.txt") == 500
    log = error_log(htaccess)
    assert "[core:alert]" in log
    assert f"] {htaccess.htdocs}/provider/.htaccess: Unknown Authz provider: nosuch\n" in log
    assert (
        f"] {htaccess.htdocs}/bad-ip/.htaccess: ip address '300.1.1.1' appears to be invalid: "
        "The specified IP address is invalid.\n"
    ) in log


def test_htaccess_itself_is_not_served(htaccess: ServerRoot) -> None:
    assert status(htaccess, "/none/.htaccess") == 403
    assert status(htaccess, "/.htaccess") == 403


def test_htaccess_change_is_seen_on_the_next_request(htaccess: ServerRoot) -> None:
    access_file = htaccess.htdocs / "cache" / ".htaccess"
    assert status(htaccess, "/cache/x.txt") == 200
    access_file.write_text("Require all denied\n")
    assert status(htaccess, "/cache/x.txt") == 403
    access_file.write_text("Require all granted\n\n")
    assert status(htaccess, "/cache/x.txt") == 200
    access_file.unlink()
    assert status(htaccess, "/cache/x.txt") == 200


def test_nonfatal_override_warns_and_goes_on(htaccess: ServerRoot) -> None:
    assert status(htaccess, "/nonfatal/x.txt") == 200
    log = error_log(htaccess)
    assert "AH02295: Require in .htaccess forbidden by AllowOverride" in log
    assert "AH02296: Unknown directive nosuchthing" in log


# --- the repository's default configuration ------------------------------------------------------


@pytest.fixture(scope="module")
def default_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    root = ServerRoot(tmp_path_factory.mktemp("default"))
    (root.path / "conf").mkdir()
    shutil.copy(REPO / "conf" / "mime.types", root.path / "conf" / "mime.types")
    shutil.copytree(REPO / "mods-available", root.path / "mods-available")
    (root.path / "mods-enabled").mkdir()
    for link in sorted((REPO / "mods-enabled").iterdir()):
        os.symlink(f"../mods-available/{link.name}", root.path / "mods-enabled" / link.name)
    text = (REPO / "conf" / "httpd.conf").read_text()
    (root.path / "httpd.conf").write_text(f"Define PYHTTPD_PORT {root.port}\n{text}")
    (root.htdocs / "index.html").write_text("<h1>hello</h1>\n")
    (root.htdocs / ".htaccess").write_text("Require all denied\n")
    (root.htdocs / ".htpasswd").write_text("user:secret\n")
    with running_server(root):
        yield root


def test_default_config_refuses_ht_files(default_config: ServerRoot) -> None:
    assert status(default_config, "/index.html") == 200  # AllowOverride None: .htaccess unread
    assert status(default_config, "/.htaccess") == 403
    assert status(default_config, "/.htpasswd") == 403
    assert f"AH01630: client denied by server configuration: {default_config.htdocs}/.htaccess" in (
        error_log(default_config)
    )
