"""What keeps the children's memory shared: a frozen heap before forking."""

from __future__ import annotations

import gc
import linecache

from pyhttpd.server.children import freeze_heap


def test_freeze_heap_freezes_what_is_left_and_empties_linecache() -> None:
    linecache.getline(__file__, 1)
    try:
        freeze_heap()
        assert gc.get_freeze_count() > 0
        assert __file__ not in linecache.cache
    finally:
        gc.unfreeze()
