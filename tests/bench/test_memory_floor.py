"""scripts/memory_floor.py forks real trees: more children and a bigger import set cost more,
and every child it forked has exited when it returns."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import psutil

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "memory_floor.py"


def _tree_kib(shape: str, *modules: str) -> int:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--child", shape, *modules],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return int(done.stdout)


def _trees_alive() -> list[int]:
    """Processes still running a tree of the script (its children keep its command line)."""
    alive = []
    for process in psutil.process_iter(["cmdline"]):
        line = process.info["cmdline"] or []
        if str(SCRIPT) in line and "--child" in line:
            alive.append(process.pid)
    return alive


def test_more_children_and_more_imports_cost_more_and_no_child_is_left() -> None:
    threaded = _tree_kib("2,25")
    assert 0 < threaded < _tree_kib("2,25", "email.mime.text", "http.cookiejar")
    assert threaded < _tree_kib("50,0")
    assert _trees_alive() == []


def test_the_report_names_each_shape() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "json"], capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    assert "threaded (2 children x 25 threads)" in done.stdout
    assert "prefork (50 children)" in done.stdout
    assert "json" in done.stdout
