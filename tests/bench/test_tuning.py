"""The servers' configuration texts (scripts/bench/tuning.py): Apache and pyhttpd tuned alike."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.bench import tuning
from scripts.bench.holder import _complete

ROOT = Path("/tmp/bench-root")


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_apache_and_pyhttpd_share_the_mpm_and_keepalive_settings(mpm: str) -> None:
    shape = tuning.one_child(10, 5)
    apache = tuning.apache_conf(ROOT, 8001, mpm, shape, wsgi=False)
    pyhttpd = tuning.pyhttpd_conf(ROOT, 8002, mpm, shape, wsgi=False)
    for text in (apache, pyhttpd):
        assert shape.mpm_block(mpm) in text and shape.keepalive_block() in text
        assert f"mod_mpm_{mpm}.so" in text and "wsgi" not in text.lower()
    assert "Listen 127.0.0.1:8001" in apache and "Listen 127.0.0.1:8002" in pyhttpd


def test_one_child_shape_allows_exactly_one_child() -> None:
    block = tuning.one_child(10, 5, async_factor=1000).mpm_block("event")
    for line in ("StartServers 1", "ServerLimit 1", "ThreadsPerChild 10", "MaxRequestWorkers 10"):
        assert line in block.splitlines()
    assert "AsyncRequestWorkerFactor 1000" in block


def test_wsgi_module_and_alias_only_when_asked() -> None:
    pyhttpd = tuning.pyhttpd_conf(ROOT, 8002, "event", tuning.DEFAULT, wsgi=True)
    assert "LoadModule wsgi_module modules/mod_wsgi.so" in pyhttpd
    assert f"WSGIScriptAlias /hello {ROOT / 'hello.wsgi'}" in pyhttpd
    apache = tuning.apache_conf(ROOT, 8001, "event", tuning.DEFAULT, wsgi=True)
    assert f"LoadModule wsgi_module {tuning.APACHE_WSGI}" in apache


def test_a_response_is_complete_once_its_content_length_arrived() -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    assert not _complete(head[:-2])
    assert not _complete(head + b"hell")
    assert _complete(head + b"hello")
    assert _complete(b"HTTP/1.1 304 Not Modified\r\nETag: x\r\n\r\n")
