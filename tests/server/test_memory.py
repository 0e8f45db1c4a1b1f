"""What keeps the children's memory shared: a frozen heap before forking, no ssl without mod_ssl,
no OpenSSL libcrypto (hashlib) until a request needs a digest."""

from __future__ import annotations

import gc
import linecache
import subprocess
import sys
from pathlib import Path

from pyhttpd import digests
from pyhttpd.http.tls_errors import want_read, want_write
from pyhttpd.server.children import freeze_heap

REPO = Path(__file__).resolve().parents[2]


def test_freeze_heap_freezes_what_is_left_and_empties_linecache() -> None:
    linecache.getline(__file__, 1)
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 0
        assert __file__ not in linecache.cache
    finally:
        gc.unfreeze()


def test_a_server_without_mod_ssl_does_not_import_ssl() -> None:
    code = (
        "import sys\n"
        "import pyhttpd.cli.httpd, pyhttpd.server.master\n"
        "import pyhttpd.mpm.event, pyhttpd.mpm.worker, pyhttpd.mpm.prefork\n"
        "print('ssl' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "False", done.stderr


def test_a_generation_of_the_default_config_does_not_load_hashlib() -> None:
    """Every module of the registry and the shipped config, built as the master builds it."""
    code = (
        "import os, sys\n"
        "import pyhttpd.cli.httpd, pyhttpd.server.master\n"
        "from pyhttpd.config import load\n"
        "from pyhttpd.modules.registry import default_registry\n"
        "from pyhttpd.server.generation import build_generation\n"
        "build_generation(load('conf/httpd.conf', os.getcwd(), default_registry()))\n"
        "print(sorted({'_hashlib', 'hashlib', 'hmac'} & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert done.stdout.strip() == "[]", done.stderr


def test_digests_load_hashlib_when_used() -> None:
    assert digests.hex_digest("md5", b"abc") == "900150983cd24fb0d6963f7d28e17f72"
    assert digests.compare_digest(b"x", b"x") and not digests.compare_digest(b"x", b"y")


def test_the_tls_errors_are_ssl_s_once_ssl_is_imported() -> None:
    import ssl

    assert want_read() is ssl.SSLWantReadError
    assert want_write() is ssl.SSLWantWriteError
