"""mod_log_config and the error log, through a real server and real log files."""

from __future__ import annotations

import re
from pathlib import Path

from tests.harness.server import ServerRoot, raw_exchange, running_server, wait_until


def lines_of(path: Path, count: int) -> list[str]:
    assert wait_until(lambda: path.exists() and len(path.read_text().splitlines()) >= count)
    return path.read_text().splitlines()


def test_custom_formats_and_nicknames(tmp_path: Path) -> None:
    root = ServerRoot(tmp_path)
    (root.htdocs / "a.html").write_text("0123456789")
    root.write_config(
        'LogFormat "%h|%l|%u|%>s|%b|%B|%m|%U|%q|%H|%p|%v|%{User-Agent}i|%{ETag}o|%%" piped\n'
        "CustomLog logs/custom_log piped\n"
        "CustomLog logs/combined_log combined\n"
        "TransferLog logs/transfer_log\n"
    )
    with running_server(root):
        raw_exchange(root.port, b'GET /a.html?x=1 HTTP/1.0\r\nUser-Agent: probe "q"\r\n\r\n')
        raw_exchange(root.port, b"HEAD /missing HTTP/1.0\r\n\r\n")
        custom = lines_of(root.path / "logs" / "custom_log", 2)
        combined = lines_of(root.path / "logs" / "combined_log", 2)
        transfer = lines_of(root.path / "logs" / "transfer_log", 2)
    fields = custom[0].split("|")
    assert fields[:13] == [
        "127.0.0.1", "-", "-", "200", "10", "10", "GET", "/a.html", "?x=1", "HTTP/1.0",
        str(root.port), "localhost", 'probe \\"q\\"',
    ]  # fmt: skip
    assert fields[13].startswith('\\"a-') and fields[14] == "%"  # quotes escaped, as Apache
    assert custom[1].split("|")[3:6] == ["404", "-", "0"]  # HEAD sends no body: %b is "-"
    common = re.compile(
        r"^127\.0\.0\.1 - - \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "
        r'"GET /a\.html\?x=1 HTTP/1\.0" 200 10'
    )
    assert common.match(combined[0]) and combined[0].endswith('"-" "probe \\"q\\""')
    assert common.match(transfer[0]) and transfer[0].endswith(" 200 10")


def test_error_log_line_format_and_per_module_level(tmp_path: Path) -> None:
    root = ServerRoot(tmp_path)
    root.write_config("LogLevel warn core:info\n")
    with running_server(root):
        raw_exchange(root.port, b"GET /missing HTTP/1.0\r\n\r\n")
        lines = lines_of(root.path / "logs" / "error_log", 1)
    line = next(entry for entry in lines if "AH00128" in entry)
    assert re.match(
        r"^\[\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2}\.\d{6} \d{4}\] \[core:info\] "
        r"\[pid \d+:tid \d+\] \[client 127\.0\.0\.1:\d+\] AH00128: File does not exist: "
        + re.escape(str(root.htdocs / "missing"))
        + "$",
        line,
    )


def test_info_lines_are_filtered_at_the_default_level(tmp_path: Path) -> None:
    root = ServerRoot(tmp_path)
    root.write_config("")
    with running_server(root):
        raw_exchange(root.port, b"GET /missing HTTP/1.0\r\n\r\n")
        assert raw_exchange(root.port, b"GET / HTTP/1.0\r\n\r\n")  # the server is still there
    log = root.path / "logs" / "error_log"
    assert "AH00128" not in (log.read_text() if log.exists() else "")
