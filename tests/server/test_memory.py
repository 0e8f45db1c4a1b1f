"""What keeps the children's memory shared: a frozen heap before forking, no ssl without mod_ssl."""

from __future__ import annotations

import gc
import linecache
import subprocess
import sys

from pyhttpd.http.tls_errors import want_read, want_write
from pyhttpd.server.children import freeze_heap


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


def test_the_tls_errors_are_ssl_s_once_ssl_is_imported() -> None:
    import ssl

    assert want_read() is ssl.SSLWantReadError
    assert want_write() is ssl.SSLWantWriteError
