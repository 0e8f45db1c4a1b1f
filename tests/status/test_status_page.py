"""mod_status on a real event master: the HTML page against the scoreboard during real traffic,
?auto keys and value types, ?refresh and ?notable, Require guarding the location, pyhttpdctl
status|fullstatus, and headless Chromium rendering the page. One master serves the module."""

from __future__ import annotations

import contextlib
import http.client
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness.master import Running, master, pyhttpd, snapshot
from tests.harness.server import MIME_TYPES, ServerRoot, wait_until
from tests.status.page import StatusPage
from tests.status.test_views import APACHE_EVENT_KEYS, INTEGER_KEYS

STATUS_CONFIG = f"""TypesConfig {MIME_TYPES}
ServerLimit 4
StartServers 2
ThreadsPerChild 5
MaxRequestWorkers 10
MinSpareThreads 5
MaxSpareThreads 20
<Location /server-status>
    SetHandler server-status
    Require local
</Location>
<Location /status-elsewhere>
    SetHandler server-status
    Require ip 192.0.2.0/24
</Location>
"""
MODULES = ("status", "authz_core", "authz_host", "mime")


def status_root(path: Path, mpm: str, body: str = STATUS_CONFIG) -> ServerRoot:
    root = ServerRoot(path, mpm=mpm)
    (root.htdocs / "index.html").write_text("hello\n" * 100)
    root.write_config(body, modules=MODULES)
    return root


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    root = status_root(tmp_path_factory.mktemp("status"), "event")
    with master(root, idle=10) as running:
        yield running


def fetch(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path)
        response = connection.getresponse()
        body = response.read().decode("latin-1")
        return response.status, dict(response.getheaders()), body
    finally:
        connection.close()


def load(port: int, stop: threading.Event, counts: dict[str, int]) -> None:
    """GETs on fresh connections until told to stop: at most 400 of them and 20 s."""
    deadline = time.monotonic() + 20
    while not stop.is_set() and counts["sent"] < 400 and time.monotonic() < deadline:
        status, _, _ = fetch(port, "/index.html")
        counts["sent" if status == 200 else "failed"] += 1


def test_page_agrees_with_the_scoreboard_during_traffic(server: Running) -> None:
    port = server.root.port
    counts = {"sent": 0, "failed": 0}
    stop = threading.Event()
    loader = threading.Thread(target=load, args=(port, stop, counts))
    loader.start()
    try:
        assert wait_until(lambda: counts["sent"] >= 20, timeout=20)
        seen = []
        for _ in range(3):
            status, headers, body = fetch(port, "/server-status")
            assert status == 200 and headers["Content-Type"] == "text/html; charset=ISO-8859-1"
            page = StatusPage(body)
            board = snapshot(server.root)
            # one snapshot behind the whole page: its parts agree with each other
            assert len(page.pre) == 10 and set(page.pre) <= set("_SRWKDCLGI.")
            busy = page.number(r"^(\d+) requests currently being processed")
            idle = page.number(r"(\d+) idle workers$")
            assert idle == page.pre.count("_") and busy == 10 - idle - page.pre.count(".")
            accesses = page.number(r"^Total accesses: (\d+) ")
            rows = page.worker_rows()
            assert accesses == sum(int(row["Acc"].split("/")[2]) for row in rows)
            assert any(row["Request"] == "GET /server-status HTTP/1.1" for row in rows)
            # and with the scoreboard itself: the same children, counters that only grow
            live = {str(p.pid) for p in board.processes if p.pid}
            assert {row[1] for row in page.process_rows()[:-1]} == live
            assert {row["PID"] for row in rows} <= live
            assert board.total_accesses() >= accesses
            seen.append(accesses)
        assert seen == sorted(seen) and seen[-1] > seen[0]
    finally:
        stop.set()
        loader.join(timeout=30)
    assert counts["failed"] == 0
    status, _, body = fetch(port, "/server-status")
    accesses = StatusPage(body).number(r"^Total accesses: (\d+) ")
    assert accesses >= counts["sent"]
    assert wait_until(lambda: snapshot(server.root).total_accesses() == accesses + 1, timeout=5)


def test_auto_has_apaches_keys_and_value_types(server: Running) -> None:
    with socket.create_connection(("127.0.0.1", server.root.port), timeout=5) as kept:
        kept.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert kept.recv(65536).startswith(b"HTTP/1.1 200")

        def parked() -> bool:
            values = auto_values(fetch_auto(server))
            return int(values["ConnsAsyncKeepAlive"]) >= 1 and values["Uptime"] != "0"

        assert wait_until(parked, timeout=5)  # event parks it; rates need uptime
        lines = fetch_auto(server)
    assert lines[0] == "127.0.0.1"
    values = auto_values(lines)
    optional = {"CPULoad"} - values.keys()
    assert list(values) == [key for key in APACHE_EVENT_KEYS if key not in optional]
    for key in INTEGER_KEYS:
        assert values[key].isdigit(), (key, values[key])
    for key in ("ReqPerSec", "BytesPerSec", "BytesPerReq", "DurationPerReq", "Load1"):
        float(values[key])
    assert values["ServerMPM"] == "event" and values["Processes"] == "2"
    assert int(values["ConnsTotal"]) >= 1 and len(values["Scoreboard"]) == 10


def auto_values(lines: list[str]) -> dict[str, str]:
    """As monitoring reads ?auto: each line after the host split at its first colon."""
    return {key: value.strip() for key, _, value in (line.partition(":") for line in lines[1:])}


def fetch_auto(server: Running) -> list[str]:
    status, headers, body = fetch(server.root.port, "/server-status?auto")
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=ISO-8859-1"
    return body.splitlines()


def test_refresh_notable_head_and_require(server: Running) -> None:
    port = server.root.port
    assert fetch(port, "/server-status?refresh=3")[1]["Refresh"] == "3"
    assert fetch(port, "/server-status?refresh")[1]["Refresh"] == "10"
    status, _, body = fetch(port, "/server-status?notable")
    assert status == 200 and "<h2>Server Details</h2>" in body and "<table border" not in body
    status, headers, body = fetch(port, "/server-status", method="HEAD")
    assert status == 200 and body == "" and headers["Content-Type"].startswith("text/html")
    assert fetch(port, "/status-elsewhere")[0] == 403


def test_pyhttpdctl_status_and_fullstatus(server: Running) -> None:
    short = pyhttpd(server.root, "status", program="pyhttpdctl")
    assert short.returncode == 0, short.stderr
    lines = short.stdout.splitlines()
    assert "Server MPM: event" in lines and any(x.startswith("Scoreboard: ") for x in lines)
    assert any(line.startswith("Sum ") for line in lines) and "Srv" not in short.stdout
    # the last request its worker served (an earlier test's may have been overwritten since)
    assert fetch(server.root.port, "/index.html")[0] == 200
    full = pyhttpd(server.root, "fullstatus", program="pyhttpdctl")
    assert full.returncode == 0, full.stderr
    header = next(line for line in full.stdout.splitlines() if line.startswith("Srv "))
    assert header.split()[:4] == ["Srv", "PID", "Acc", "M"]
    assert "GET /index.html HTTP/1.1" in full.stdout


def test_pyhttpdctl_tune(server: Running) -> None:
    result = pyhttpd(server.root, "tune", "--memory=1G", program="pyhttpdctl")
    assert result.returncode == 0, result.stderr
    assert "<IfModule mpm_event_module>" in result.stdout and "Children that fit" in result.stdout
    bad = pyhttpd(server.root, "tune", "--memory", "lots", program="pyhttpdctl")
    assert bad.returncode == 1 and "cannot read the size 'lots'" in bad.stderr


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make tools)")
def test_headless_chromium_renders_the_page(server: Running, tmp_path: Path) -> None:
    assert CHROMIUM is not None
    shot = tmp_path / "status.png"
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={shot}", "--window-size=1200,900",
        f"http://127.0.0.1:{server.root.port}/server-status",
    ]  # fmt: skip
    with contextlib.suppress(subprocess.TimeoutExpired):
        subprocess.run(command, capture_output=True, timeout=60, cwd=tmp_path)
    assert shot.exists(), "chromium wrote no screenshot"
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    assert len(set(data[64:])) > 64  # not one flat colour
