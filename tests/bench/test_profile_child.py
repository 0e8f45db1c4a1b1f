"""scripts/profile_child.py's reading of py-spy's raw output: own samples per function (its
file, not its line), samples below each frame, idle threads left out."""

from __future__ import annotations

from scripts.profile_child import aggregate

RAW = """\
thread (7): listener;Listener.run (pyhttpd/mpm/threads.py:338);parse_head (pyhttpd/http/parser.py:95) 3
thread (7): listener;Listener.run (pyhttpd/mpm/threads.py:338);parse_head (pyhttpd/http/parser.py:112) 2
thread (7): listener;Listener.run (pyhttpd/mpm/threads.py:345) 5
thread (9): worker 1 4
not a sample line
"""


def test_own_samples_per_function_and_samples_below_each_frame() -> None:
    total, own, below = aggregate(RAW)
    assert total == 10  # the idle worker thread's 4 are not counted
    assert own["parse_head (pyhttpd/http/parser.py)"] == 5
    assert own["Listener.run (pyhttpd/mpm/threads.py)"] == 5
    assert below["Listener.run (pyhttpd/mpm/threads.py:338)"] == 5
    assert below["parse_head (pyhttpd/http/parser.py:95)"] == 3
