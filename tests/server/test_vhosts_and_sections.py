"""Name-based virtual hosts, section merge order and ErrorDocument, through real sockets."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.harness.server import ServerRoot, raw_exchange, running_server, status_of


def get(port: int, path: str, host: str = "localhost") -> bytes:
    return raw_exchange(
        port, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    )


def body_of(response: bytes) -> bytes:
    return response.split(b"\r\n\r\n", 1)[1]


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    server_root = ServerRoot(tmp_path_factory.mktemp("vhosts"))
    for site in ("first", "second"):
        (server_root.path / site).mkdir()
        (server_root.path / site / "index.html").write_text(f"{site} site\n")
    (server_root.htdocs / "main.html").write_text("main\n")
    (server_root.htdocs / "docs").mkdir()
    (server_root.htdocs / "docs" / "deep").mkdir()
    (server_root.htdocs / "oops.html").write_text("custom 404 page\n")
    port = server_root.port
    server_root.write_config(
        f"""
<VirtualHost *:{port}>
    ServerName first.example
    ServerAlias www.first.example *.wild.example
    DocumentRoot first
</VirtualHost>
<VirtualHost *:{port}>
    ServerName second.example
    DocumentRoot second
    ErrorDocument 404 "second says no"
</VirtualHost>
ErrorDocument 404 "main says no"
"""
    )
    with running_server(server_root):
        yield server_root


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("first.example", b"first site\n"),
        ("www.first.example", b"first site\n"),
        ("a.wild.example", b"first site\n"),
        ("SECOND.example.", b"second site\n"),
        ("unknown.example", b"first site\n"),  # the first-listed vhost is the default
        ("127.0.0.1", b"first site\n"),
    ],
)
def test_name_based_virtual_hosts(root: ServerRoot, host: str, expected: bytes) -> None:
    assert body_of(get(root.port, "/index.html", host)) == expected


def test_vhost_settings_override_the_main_server(root: ServerRoot) -> None:
    assert body_of(get(root.port, "/nope", "second.example")) == b"second says no"
    assert body_of(get(root.port, "/nope", "first.example")) == b"main says no"


@pytest.fixture(scope="module")
def sections(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    server_root = ServerRoot(tmp_path_factory.mktemp("sections"))
    (server_root.htdocs / "docs" / "deep").mkdir(parents=True)
    (server_root.htdocs / "oops.html").write_text("custom 404 page\n")
    server_root.write_config(
        """
ErrorDocument 404 "main says no"
<Directory htdocs/docs/deep>
    ErrorDocument 404 "directory deep"
</Directory>
<Directory htdocs/docs>
    ErrorDocument 404 "directory docs"
</Directory>
<DirectoryMatch "/deep/$">
    ErrorDocument 404 "directorymatch deep"
</DirectoryMatch>
<Files "*.txt">
    ErrorDocument 404 "files txt"
</Files>
<Location /docs/deep/loc>
    ErrorDocument 404 "location wins"
</Location>
<Location /redirected>
    ErrorDocument 404 http://example.com/missing
</Location>
<Location /local>
    ErrorDocument 404 /oops.html
</Location>
"""
    )
    with running_server(server_root):
        yield server_root


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/nope", b"main says no"),
        ("/docs/nope", b"directory docs"),
        # The deeper <Directory> wins over the shallower whatever their order in the file; the
        # DirectoryMatch "/deep/$" does not apply to a missing file, as in Apache 2.4.71.
        ("/docs/deep/nope", b"directory deep"),
        ("/docs/deep/nope.txt", b"files txt"),  # Files after the directories
        ("/docs/deep/loc", b"location wins"),  # Location last
    ],
)
def test_sections_merge_in_apaches_order(sections: ServerRoot, path: str, expected: bytes) -> None:
    response = get(sections.port, path)
    assert status_of(response) == 404
    assert body_of(response) == expected


def test_error_document_redirect_and_local_path(sections: ServerRoot) -> None:
    response = get(sections.port, "/redirected")
    assert status_of(response) == 302
    assert b"Location: http://example.com/missing" in response
    response = get(sections.port, "/local")
    assert status_of(response) == 404
    assert body_of(response) == b"custom 404 page\n"
