"""FileETag, MaxRanges and EnableSendfile, per directory, through a real server."""

from __future__ import annotations

import http.client
import os
from collections.abc import Iterator

import pytest

from tests.harness.server import ServerRoot, running_server


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerRoot]:
    server_root = ServerRoot(tmp_path_factory.mktemp("fileopts"))
    for name in ("plain", "inode", "none", "ranges", "norange", "copy", "zerocopy"):
        (server_root.htdocs / name).mkdir()
        (server_root.htdocs / name / "f.bin").write_bytes(os.urandom(200_000))
    server_root.write_config(
        """
<Directory htdocs/inode>
    FileETag INode MTime Size
</Directory>
<Directory htdocs/none>
    FileETag None
</Directory>
<Directory htdocs/ranges>
    MaxRanges 2
</Directory>
<Directory htdocs/norange>
    MaxRanges none
</Directory>
<Directory htdocs/zerocopy>
    EnableSendfile On
</Directory>
"""
    )
    with running_server(server_root):
        yield server_root


def fetch(root: ServerRoot, path: str, headers: dict[str, str] | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", root.port, timeout=10)
    connection.request("GET", path, headers=headers or {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response, body


def test_file_etag_components(root: ServerRoot) -> None:
    stat = (root.htdocs / "inode" / "f.bin").stat()
    response, _ = fetch(root, "/inode/f.bin")
    assert response.getheader("ETag") == (
        f'"{stat.st_ino:x}-{stat.st_size:x}-{stat.st_mtime_ns // 1000:x}"'
    )
    plain, _ = fetch(root, "/plain/f.bin")
    assert plain.getheader("ETag", "").count("-") == 1
    none, _ = fetch(root, "/none/f.bin")
    assert none.getheader("ETag") is None


def test_max_ranges(root: ServerRoot) -> None:
    two, _ = fetch(root, "/ranges/f.bin", {"Range": "bytes=0-1,5-6"})
    three, body = fetch(root, "/ranges/f.bin", {"Range": "bytes=0-1,5-6,9-10"})
    assert two.status == 206
    assert three.status == 200 and len(body) == 200_000  # over MaxRanges: the whole file
    ignored, _ = fetch(root, "/norange/f.bin", {"Range": "bytes=0-1"})
    assert ignored.status == 200


@pytest.mark.parametrize("directory", ["copy", "zerocopy"])
def test_large_files_are_exact_with_and_without_sendfile(root: ServerRoot, directory: str) -> None:
    _, body = fetch(root, f"/{directory}/f.bin")
    assert body == (root.htdocs / directory / "f.bin").read_bytes()
