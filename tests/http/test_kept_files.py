"""The sender's kept small files (sending._kept_file): reused only while the file's identity is
the one the request's stat saw, and only once the file has been still for SETTLED seconds. Real
files, and a real socket pair for the Sender."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from pyhttpd.http import sending
from pyhttpd.http.request import FileBody, file_identity


def identity(path: Path) -> tuple[int, int, int, int, int]:
    return file_identity(os.stat(path))


def after_a_tick(path: Path) -> None:
    """Wait until the file system's clock (coarse: a kernel tick) has moved past `path`'s
    ctime, so that the test's next write is seen: polled on a scratch file, bounded."""
    scratch = path.with_suffix(".tick")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        scratch.write_bytes(b"")
        if os.stat(scratch).st_ctime_ns > os.stat(path).st_ctime_ns:
            return
    raise AssertionError("the file system clock did not move in 5 s")


@pytest.fixture(autouse=True)
def empty_table() -> None:
    sending._KEPT.clear()


@pytest.fixture
def settled_page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """page.html holding b"first", with files kept however recently they changed."""
    monkeypatch.setattr(sending, "SETTLED", 0.0)
    path = tmp_path / "page.html"
    path.write_bytes(b"first")
    return path


def test_a_settled_file_is_read_once_and_reused_for_the_same_identity(
    settled_page: Path,
) -> None:
    path = settled_page
    seen = identity(path)
    assert sending._kept_file(str(path), seen) == b"first"
    after_a_tick(path)
    path.write_bytes(b"later")  # in place: same inode, same size
    # asked with the identity the first read saw, the kept bytes come back (no read) ...
    assert sending._kept_file(str(path), seen) == b"first"
    # ... but a request's stat now sees another ctime, so it is read again
    assert identity(path) != seen
    assert sending._kept_file(str(path), identity(path)) == b"later"


def test_a_rewrite_that_restores_size_and_mtime_is_still_seen(settled_page: Path) -> None:
    path = settled_page
    before = os.stat(path)
    assert sending._kept_file(str(path), identity(path)) == b"first"
    after_a_tick(path)
    path.write_bytes(b"later")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as `touch -r` or rsync -t
    assert identity(path)[3] == before.st_mtime_ns
    assert sending._kept_file(str(path), identity(path)) == b"later"


def test_a_file_changed_just_now_is_not_kept(tmp_path: Path) -> None:
    """Its times may not move on a second write within the same clock tick."""
    path = tmp_path / "page.html"
    path.write_bytes(b"first")
    seen = identity(path)
    assert sending._kept_file(str(path), seen) == b"first"
    path.write_bytes(b"later")
    assert sending._kept_file(str(path), seen) == b"later"  # read again, not kept


def test_the_sender_sends_a_kept_file_with_its_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sending, "SETTLED", 0.0)
    path = tmp_path / "page.html"
    path.write_bytes(b"x" * 600)
    body = FileBody(str(path), 0, 600, identity=identity(path))
    ours, theirs = socket.socketpair()
    with ours, theirs:
        sender = sending.Sender(ours, 5.0, lambda where, error: None)
        for _ in range(2):  # read, then kept
            sender.write_file(b"HEAD\r\n\r\n", body)
            received = b""
            while len(received) < 608:
                received += theirs.recv(4096)
            assert received == b"HEAD\r\n\r\n" + b"x" * 600
    assert len(sending._KEPT) == 1
