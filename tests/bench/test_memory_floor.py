"""scripts/memory_floor.py forks real trees: more children and a bigger import set cost more,
and every child it forked is gone when it returns."""

from __future__ import annotations

import os
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


def test_more_children_and_more_imports_cost_more_and_no_child_is_left() -> None:
    before = {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}
    threaded = _tree_kib("2,25")
    assert 0 < threaded < _tree_kib("2,25", "email.mime.text", "http.cookiejar")
    assert threaded < _tree_kib("50,0")
    after = {child.pid for child in psutil.Process(os.getpid()).children(recursive=True)}
    assert after <= before


def test_the_report_names_each_shape() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "json"], capture_output=True, text=True, timeout=60,
        check=True,
    )  # fmt: skip
    assert "threaded (2 children x 25 threads)" in done.stdout
    assert "prefork (50 children)" in done.stdout
    assert "json" in done.stdout
