"""`pyhttpdctl tune` and ?auto on a running master of each MPM: the advisor measures real
children, shows its arithmetic, and its recommendations move the right way when the memory
limit or ThreadsPerChild changes; prefork and worker pages carry no event-only keys."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pyhttpd.cli.httpd import load_from_args
from pyhttpd.cli.tune import tune_lines
from tests.harness.master import Running, master
from tests.harness.server import MIME_TYPES
from tests.status.test_status_page import auto_values, fetch, status_root

CONFIGS = {
    "prefork": "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 6\n"
    "ExtendedStatus Off\n",
    "worker": "StartServers 2\nThreadsPerChild 4\nServerLimit 3\nMaxRequestWorkers 12\n"
    "MinSpareThreads 4\nMaxSpareThreads 12\n",
    "event": "StartServers 2\nThreadsPerChild 4\nServerLimit 3\nMaxRequestWorkers 12\n"
    "MinSpareThreads 4\nMaxSpareThreads 12\n",
}
LOCATION = (
    f"TypesConfig {MIME_TYPES}\n<Location /server-status>\nSetHandler server-status\n</Location>\n"
)


@pytest.fixture(scope="module", params=sorted(CONFIGS))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    mpm = request.param
    root = status_root(tmp_path_factory.mktemp(mpm), mpm, LOCATION + CONFIGS[mpm])
    with master(root, idle=2) as running:
        for _ in range(5):
            assert fetch(root.port, "/index.html")[0] == 200
        yield running


def recommended(lines: list[str]) -> dict[str, int]:
    start = next(i for i, line in enumerate(lines) if line.startswith("<IfModule mpm_"))
    end = lines.index("</IfModule>", start)
    return {name: int(value) for name, value in (line.split() for line in lines[start + 1 : end])}


def tune(running: Running, **options: str) -> list[str]:
    """What `pyhttpdctl tune --OPTION VALUE…` prints, called in this process (the command line
    itself is tested once, in test_status_page)."""
    config = load_from_args(["-d", str(running.root.path), "-f", "httpd.conf"])
    named = {f"--{key.replace('_', '-')}": value for key, value in options.items()}
    return tune_lines(config, running.pid, named)


def advise(running: Running, **options: str) -> dict[str, int]:
    return recommended(tune(running, **options))


def test_tune_measures_the_running_server(server: Running) -> None:
    mpm = server.root.mpm
    out = "\n".join(tune(server, memory="512M"))
    assert f"MPM {mpm}, measured with psutil" in out
    assert out.count("Child pid ") == 2 and "Budget = (512.0 MiB limit - master RSS" in out
    assert "Children that fit = " in out and f"<IfModule mpm_{mpm}_module>" in out
    settings = recommended(out.splitlines())
    others = [name for name in CONFIGS if name != mpm]
    assert all(f"  {other} " in out for other in others)
    if mpm == "prefork":
        assert settings["ServerLimit"] == settings["MaxRequestWorkers"] >= 1
    else:
        assert settings["ThreadsPerChild"] == 4 == settings["ThreadLimit"]
        assert settings["MaxRequestWorkers"] == settings["ServerLimit"] * 4


def test_more_memory_means_more_workers(server: Running) -> None:
    tight, roomy = advise(server, memory="256M"), advise(server, memory="1G")
    assert roomy["MaxRequestWorkers"] > tight["MaxRequestWorkers"]
    assert roomy["ServerLimit"] > tight["ServerLimit"]


def test_more_threads_per_child_means_more_workers_in_fewer_children(server: Running) -> None:
    few = advise(server, memory="1G", threads_per_child="4")
    many = advise(server, memory="1G", threads_per_child="64")
    if server.root.mpm == "prefork":  # one thread per child whatever is asked
        assert few == many and "ThreadsPerChild" not in many
        return
    assert many["MaxRequestWorkers"] > few["MaxRequestWorkers"]
    assert many["ServerLimit"] < few["ServerLimit"] and many["ThreadsPerChild"] == 64


def test_auto_for_this_mpm(server: Running) -> None:
    status, _, body = fetch(server.root.port, "/server-status?auto")
    values = auto_values(body.splitlines())
    assert status == 200 and values["ServerMPM"] == server.root.mpm
    assert len(values["Scoreboard"]) == (6 if server.root.mpm == "prefork" else 12)
    if server.root.mpm == "prefork":  # ExtendedStatus Off: no counters
        assert "Total Accesses" not in values and values["BusyWorkers"] == "1"
    else:
        assert int(values["Total Accesses"]) >= 5
    assert ("ConnsTotal" in values) == (server.root.mpm == "event")
