"""The PNG chart of a run: one bar panel per headline figure, medians with min-max whiskers.

matplotlib is an optional bench dependency (`pip install -e '.[bench]'`): without it `draw` says so
and returns None. Runs in the bench process.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PANELS = (
    ("small_keepalive", "requests_per_s", "1. 612 B keep-alive, req/s"),
    ("small_close", "requests_per_s", "2. 612 B no keep-alive, req/s"),
    ("large_keepalive", "mib_per_s", "3. 1 MiB keep-alive, MiB/s"),
    ("wsgi_hello", "requests_per_s", "4. WSGI hello, req/s"),
    ("memory", "load_pss_mib", "5. PSS under load, MiB"),
    ("keepalive_fresh", "max_ms", "6. fresh request behind idle conns, max ms"),
)

COLORS = {"apache": "tab:red", "pyhttpd": "tab:blue", "python": "tab:green"}


def draw(document: dict[str, Any], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    figure, axes = plt.subplots(2, 3, figsize=(18, 9))
    for axis, (test, metric, title) in zip(axes.flat, PANELS, strict=True):
        names, medians, below, above = [], [], [], []
        for server, tests in document["servers"].items():
            figures = tests.get(test, {}).get(metric)
            if figures:
                names.append(server)
                medians.append(figures["median"])
                below.append(figures["median"] - figures["min"])
                above.append(figures["max"] - figures["median"])
        axis.set_title(title, fontsize=10)
        if not names:
            axis.text(0.5, 0.5, "no figures", ha="center", transform=axis.transAxes)
            continue
        colors = [COLORS.get(n.split("-")[0], "tab:gray") for n in names]
        axis.barh(names, medians, xerr=[below, above], color=colors, capsize=3)
        if test == "keepalive_fresh":
            axis.set_xscale("log")  # worker waits out a KeepAliveTimeout, event does not
        axis.invert_yaxis()
        axis.tick_params(labelsize=8)
    meta = document.get("meta", {})
    figure.suptitle(
        f"pyhttpd bench {meta.get('started', '')} - {meta.get('rounds', '?')} rounds, "
        f"{'quick' if meta.get('quick') else 'full'} mode, medians with min-max"
    )
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
