"""mod_status under `pyhttpd -X`: one process keeps a one-slot scoreboard, as Apache -X does,
so the page and ?auto show it serving (with SeeRequestTail, the end of a long request line);
the file goes away when it stops."""

from __future__ import annotations

from pathlib import Path

from tests.harness.server import MIME_TYPES, running_server
from tests.status.test_status_page import auto_values, fetch, status_root

LOCATION = (
    f"TypesConfig {MIME_TYPES}\n<Location /server-status>\nSetHandler server-status\n</Location>\n"
)


def test_single_process_status(tmp_path: Path) -> None:
    root = status_root(tmp_path, "event", LOCATION + "SeeRequestTail On\n")
    board = root.path / "logs" / "apache_runtime_status"
    with running_server(root):
        assert fetch(root.port, "/index.html")[0] == 200
        status, _, body = fetch(root.port, "/server-status?auto")
        values = auto_values(body.splitlines())
        assert status == 200 and values["Scoreboard"] == "W" and values["Processes"] == "1"
        assert values["Total Accesses"] == "1" and values["BusyWorkers"] == "1"
        status, _, page = fetch(root.port, "/server-status")
        assert status == 200 and "<td>0/2/2</td>" in page and "GET /server-status HTTP" in page
        status, _, page = fetch(root.port, "/server-status?" + "x" * 80)
        request = page.split("<td nowrap>")[-1].split("</td>")[0]  # the last row's Request
        assert status == 200 and request == "x" * 54 + " HTTP/1.1"  # its last 63 bytes
        assert board.exists()
    assert not board.exists()
