"""mod_mime, mod_dir, mod_autoindex and mod_alias at request time, against a real pyhttpd -X.

Expected statuses, headers and bodies were taken from Debian's Apache 2.4.71 run on the same tree
and configuration (pages byte for byte where Apache's output is deterministic).
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.server import (
    ServerRoot,
    free_port,
    port_open,
    raw_exchange,
    running_server,
    status_of,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]
PAGE_301 = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
    b"<html><head>\n<title>301 Moved Permanently</title>\n</head><body>\n"
    b'<h1>Moved Permanently</h1>\n<p>The document has moved <a href="%s">here</a>.</p>\n'
    b"</body></html>\n"
)
PAGE_410 = (
    b'<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
    b"<html><head>\n<title>410 Gone</title>\n</head><body>\n<h1>Gone</h1>\n"
    b"<p>The requested resource is no longer available on this server and there is no "
    b"forwarding address.\nPlease remove all references to this resource.</p>\n</body></html>\n"
)
MODULES = ("authz_core", "mime", "dir", "autoindex", "alias")


def _tree(root: ServerRoot) -> None:
    docs = root.htdocs
    (root.path / "conf").mkdir(exist_ok=True)
    shutil.copy(REPO / "conf" / "mime.types", root.path / "conf" / "mime.types")
    files = {
        "index.html": "<h1>home</h1>\n",
        "style.css": "a{}\n",
        "logo.png": "\x89PNG",
        "data.unknown": "?\n",
        "noext": "plain\n",
        "page.html.gz": "gz\n",
        "enc/page.html.gz": "gz\n",
        "notes.txt.utf8": "utf\n",
        "lang.en.html": "english\n",
        "doc.md": "# md\n",
        "forced/a.html": "forced\n",
        "override/b.css": "css\n",
        "idx/second.html": "second\n",
        "idx/third.html": "third\n",
        "dir/index.html": "dir index\n",
        "noslash/x.txt": "x\n",
        "noindex/x.txt": "x\n",
        "fallback/front.html": "front controller\n",
        "list/small.txt": "s",
        "list/medium.txt": "m" * 100,
        "list/large.txt": "l" * 5000,
        "list/hidden.tmp": "hidden\n",
        "gone.html": "custom gone page\n",
    }
    for name, text in files.items():
        path = docs / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("latin-1"))
    (docs / "list" / "sub").mkdir()
    for name in ("small.txt", "medium.txt", "large.txt", "hidden.tmp", "sub"):
        os.utime(docs / "list" / name, (1_700_000_000, 1_700_000_000))
    (root.path / "outside").mkdir()
    (root.path / "outside" / "o.txt").write_text("outside the document root\n")


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    server_root = ServerRoot(tmp_path_factory.mktemp("content"))
    _tree(server_root)
    docs, outside = server_root.htdocs, server_root.path / "outside"
    server_root.write_config(
        f"""
AddCharset UTF-8 .utf8
AddEncoding x-gzip .gz
AddLanguage en .en
AddType text/markdown .md
<Directory />
    Require all denied
</Directory>
<Directory {docs}>
    Require all granted
</Directory>
<Directory {docs}/enc>
    RemoveType .gz
</Directory>
<Directory {docs}/forced>
    ForceType application/x-forced
</Directory>
<Directory {docs}/override>
    AddType text/plain .css
</Directory>
<Directory {docs}/idx>
    DirectoryIndex missing.html second.html third.html
</Directory>
<Directory {docs}/noslash>
    DirectorySlash Off
</Directory>
<Directory {docs}/fallback>
    FallbackResource /fallback/front.html
</Directory>
<Directory {docs}/list>
    Options Indexes
    IndexOptions FancyIndexing HTMLTable
    IndexIgnore *.tmp
</Directory>
<Directory {outside}>
    Require all granted
</Directory>
Alias /ext {outside}
Redirect permanent /old http://example.com/new
RedirectMatch ^/match/(.*)$ http://example.com/m/$1
Redirect gone /gone
Redirect seeother /other http://example.com/o
ErrorDocument 410 /gone.html
""",
        modules=MODULES,
    )
    with running_server(server_root):
        yield server_root


def get(
    root: ServerRoot, path: str, method: str = "GET"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, response.headers, body


# --- mod_mime ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/index.html", "text/html"),
        ("/style.css", "text/css"),
        ("/logo.png", "image/png"),
        ("/doc.md", "text/markdown"),  # AddType adds a type mime.types lacks
        ("/override/b.css", "text/plain"),  # AddType in a <Directory> overrides mime.types
        ("/notes.txt.utf8", "text/plain; charset=utf-8"),  # AddCharset, lower-cased
        ("/forced/a.html", "application/x-forced"),  # ForceType in <Directory>
    ],
)
def test_content_type_from_extensions(root: ServerRoot, path: str, content_type: str) -> None:
    status, headers, _ = get(root, path)
    assert status == 200
    assert headers["Content-Type"] == content_type


@pytest.mark.parametrize("path", ["/data.unknown", "/noext"])
def test_unknown_type_sends_no_content_type(root: ServerRoot, path: str) -> None:
    status, headers, body = get(root, path)  # Apache 2.4 sends none (DefaultType is gone)
    assert status == 200 and body and "Content-Type" not in headers


def test_every_extension_counts_type_then_encoding(root: ServerRoot) -> None:
    status, headers, _ = get(root, "/enc/page.html.gz")  # RemoveType .gz: html gives the type
    assert status == 200
    assert headers["Content-Type"] == "text/html"
    assert headers["Content-Encoding"] == "x-gzip"


def test_later_extension_type_wins(root: ServerRoot) -> None:
    _, headers, _ = get(root, "/page.html.gz")  # mime.types maps gz too, and it comes last
    assert headers["Content-Type"] == "application/gzip"
    assert headers["Content-Encoding"] == "x-gzip"


def test_add_language_sets_content_language(root: ServerRoot) -> None:
    _, headers, _ = get(root, "/lang.en.html")
    assert headers["Content-Language"] == "en" and headers["Content-Type"] == "text/html"


def test_error_pages_drop_the_file_metadata(root: ServerRoot) -> None:
    status, headers, _ = get(root, "/missing.html.gz")
    assert status == 404 and "Content-Encoding" not in headers


# --- mod_dir -------------------------------------------------------------------------------


def test_root_serves_index_html(root: ServerRoot) -> None:
    status, headers, body = get(root, "/")
    assert (status, headers["Content-Type"], body) == (200, "text/html", b"<h1>home</h1>\n")


def test_directory_index_picks_the_first_existing(root: ServerRoot) -> None:
    status, _, body = get(root, "/idx/")
    assert (status, body) == (200, b"second\n")


def test_directory_without_slash_redirects_with_host_and_port(root: ServerRoot) -> None:
    status, headers, body = get(root, "/dir")
    location = f"http://127.0.0.1:{root.port}/dir/"
    assert status == 301
    assert headers["Location"] == location
    assert body == PAGE_301 % location.encode()


def test_slash_redirect_keeps_the_query_and_uses_the_host_header(root: ServerRoot) -> None:
    answer = raw_exchange(root.port, b"GET /dir?a=b HTTP/1.1\r\nHost: Example.ORG\r\n\r\n")
    assert status_of(answer) == 301
    assert b"\r\nLocation: http://example.org/dir/?a=b\r\n" in answer


def test_slash_redirect_without_host_uses_server_name(root: ServerRoot) -> None:
    answer = raw_exchange(root.port, b"GET /dir HTTP/1.0\r\n\r\n")
    assert b"\r\nLocation: http://localhost/dir/\r\n" in answer


def test_directory_slash_off_does_not_redirect(root: ServerRoot) -> None:
    status, headers, _ = get(root, "/noslash")
    assert status == 403 and "Location" not in headers


def test_fallback_resource_serves_missing_files(root: ServerRoot) -> None:
    assert get(root, "/fallback/no/such/page")[::2] == (200, b"front controller\n")
    assert get(root, "/fallback/front.html")[::2] == (200, b"front controller\n")


# --- mod_autoindex -------------------------------------------------------------------------


def _rows(body: bytes) -> list[str]:
    return [
        line.split('<a href="', 1)[1].split('"', 1)[0]
        for line in body.decode().splitlines()
        if line.startswith("<tr><td")
    ]


def test_listing_shows_files_and_hides_ignored(root: ServerRoot) -> None:
    status, headers, body = get(root, "/list/")
    assert status == 200 and headers["Content-Type"] == "text/html;charset=ISO-8859-1"
    assert _rows(body) == ["/", "large.txt", "medium.txt", "small.txt", "sub/"]
    assert b"hidden.tmp" not in body


def test_listing_sorted_by_size_descending_reverses_ascending(root: ServerRoot) -> None:
    ascending = _rows(get(root, "/list/?C=S;O=A")[2])
    descending = _rows(get(root, "/list/?C=S;O=D")[2])
    assert ascending == ["/", "sub/", "small.txt", "medium.txt", "large.txt"]
    assert descending == ["/", "large.txt", "medium.txt", "small.txt", "sub/"]


def test_listing_matches_apache_byte_for_byte(root: ServerRoot) -> None:
    stamp = time.strftime("%Y-%m-%d %H:%M", time.localtime(1_700_000_000))
    row = (
        '<tr><td valign="top">&nbsp;</td><td><a href="{0}">{0}</a>{pad}</td>'
        '<td align="right">{stamp}  </td><td align="right">{size}</td><td>&nbsp;</td></tr>\n'
    )
    expected = (
        '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">'
        "\n<html>\n <head>\n  <title>Index of /list</title>\n </head>\n <body>\n"
        "<h1>Index of /list</h1>\n  <table>\n"
        '   <tr><th valign="top">&nbsp;</th><th><a href="?C=N;O=A">Name</a></th>'
        '<th><a href="?C=M;O=A">Last modified</a></th><th><a href="?C=S;O=D">Size</a></th>'
        '<th><a href="?C=D;O=A">Description</a></th></tr>\n'
        '   <tr><th colspan="5"><hr></th></tr>\n'
        '<tr><td valign="top">&nbsp;</td><td><a href="/">Parent Directory</a>       </td>'
        '<td>&nbsp;</td><td align="right">  - </td><td>&nbsp;</td></tr>\n'
        + row.format("sub/", pad=" " * 19, stamp=stamp, size="  - ")
        + row.format("small.txt", pad=" " * 14, stamp=stamp, size="  1 ")
        + row.format("medium.txt", pad=" " * 13, stamp=stamp, size="100 ")
        + row.format("large.txt", pad=" " * 14, stamp=stamp, size="4.9K")
        + '   <tr><th colspan="5"><hr></th></tr>\n</table>\n</body></html>\n'
    )
    assert get(root, "/list/?C=S;O=A")[2].decode() == expected


def test_directory_without_indexes_is_forbidden(root: ServerRoot) -> None:
    assert get(root, "/noindex/")[0] == 403


# --- mod_alias -----------------------------------------------------------------------------


def test_alias_serves_a_directory_outside_the_document_root(root: ServerRoot) -> None:
    status, headers, body = get(root, "/ext/o.txt")
    assert (status, headers["Content-Type"]) == (200, "text/plain")
    assert body == b"outside the document root\n"


def test_alias_directory_gets_the_slash_redirect(root: ServerRoot) -> None:
    status, headers, _ = get(root, "/ext")
    assert (status, headers["Location"]) == (301, f"http://127.0.0.1:{root.port}/ext/")


def test_redirect_permanent(root: ServerRoot) -> None:
    status, headers, body = get(root, "/old")
    assert (status, headers["Location"]) == (301, "http://example.com/new")
    assert body == PAGE_301 % b"http://example.com/new"


def test_redirect_appends_the_rest_of_the_path_and_the_query(root: ServerRoot) -> None:
    status, headers, _ = get(root, "/old/a%20b.html?x=1")
    assert (status, headers["Location"]) == (301, "http://example.com/new/a%20b.html?x=1")
    assert get(root, "/older")[0] == 404  # a prefix matches whole segments only


def test_redirect_match_substitutes_groups(root: ServerRoot) -> None:
    status, headers, body = get(root, "/match/abc")
    assert (status, headers["Location"]) == (302, "http://example.com/m/abc")
    assert b"<title>302 Found</title>" in body


def test_redirect_see_other(root: ServerRoot) -> None:
    status, headers, body = get(root, "/other")
    assert (status, headers["Location"]) == (303, "http://example.com/o")
    assert b'The answer to your request is located <a href="http://example.com/o">' in body


def test_redirect_gone_uses_error_document(root: ServerRoot) -> None:
    status, headers, body = get(root, "/gone")
    assert (status, body) == (410, b"custom gone page\n")
    assert "Location" not in headers


def test_redirect_keeps_the_connection_alive(root: ServerRoot) -> None:
    with socket.create_connection(("127.0.0.1", root.port), timeout=10) as sock:
        sock.sendall(
            b"GET /old HTTP/1.1\r\nHost: x\r\n\r\nGET /index.html HTTP/1.1\r\nHost: x\r\n\r\n"
        )
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"<h1>home</h1>\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    first, _, _ = data.partition(b"HTTP/1.1 200")
    assert first.startswith(b"HTTP/1.1 301") and b"Connection: Keep-Alive" in first
    assert data.endswith(b"<h1>home</h1>\n")


def test_gone_page_without_error_document(tmp_path: Path) -> None:
    server_root = ServerRoot(tmp_path)
    (server_root.path / "conf").mkdir()
    shutil.copy(REPO / "conf" / "mime.types", server_root.path / "conf" / "mime.types")
    server_root.write_config("Redirect gone /gone\n", modules=("alias",))
    with running_server(server_root):
        answer = raw_exchange(server_root.port, b"GET /gone/x HTTP/1.0\r\n\r\n")
    assert status_of(answer) == 410 and answer.endswith(b"\r\n\r\n" + PAGE_410)


def test_missing_types_config_fails_the_start(tmp_path: Path) -> None:
    server_root = ServerRoot(tmp_path)
    server_root.write_config("", modules=("mime",))
    result = subprocess.run(
        [sys.executable, "-m", "pyhttpd", "-d", str(tmp_path), "-f", "httpd.conf", "-X"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert result.returncode == 1 and "AH00016: Configuration Failed" in result.stderr
    log = (tmp_path / "logs" / "error_log").read_text()
    assert "AH01597: could not open mime types config file" in log


# --- the repository's own site (`make run`) ----------------------------------------------


def test_default_site_serves_htdocs_index() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pyhttpd", "-d", str(REPO), "-X"]
        + ["-C", f"Define PYHTTPD_PORT {port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert wait_until(lambda: port_open(port) or process.poll() is not None)
        assert process.poll() is None, process.communicate()[1].decode()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/")
        response = connection.getresponse()
        body = response.read()
        connection.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    assert response.status == 200
    assert response.getheader("Content-Type") == "text/html"
    assert body == (REPO / "htdocs" / "index.html").read_bytes()
