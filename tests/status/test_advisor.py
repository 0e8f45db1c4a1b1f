"""The tuning advisor's arithmetic on fixed measurements: the budget, the child cost model, the
settings per MPM, and that its answers move the right way when ThreadsPerChild or the memory
limit changes. Pure: no processes, no psutil."""

from __future__ import annotations

import dataclasses

import pytest

from pyhttpd.cli.tune import parse_size, split_options
from pyhttpd.errors import StartupError
from pyhttpd.status.advisor import ChildSample, Measurement, advise, child_cost
from pyhttpd.status.tune_text import render_advice

MIB = 1024 * 1024


def measured(mpm: str = "event", threads: int = 25, **changes: object) -> Measurement:
    """Two children of 20 MiB unique memory; threaded ones run TPC workers + listener + main."""
    count = 1 if mpm == "prefork" else threads + 2
    children = tuple(ChildSample(100 + i, 40 * MIB, 20 * MIB, count, 1.0) for i in range(2))
    base = Measurement(
        mpm=mpm, threads_per_child=threads, master_rss=50 * MIB, master_uss=10 * MIB,
        children=children, total_memory=8192 * MIB, available_memory=4096 * MIB,
        per_thread=MIB // 4, memory_limit=None, headroom=0.5,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_prefork_arithmetic_shown_step_by_step() -> None:
    advice = advise(measured("prefork"))
    # budget = (4096 available + 2 x 20 held) x 0.5 = 2068 MiB; child = its 20 MiB USS
    assert advice.budget == 2068 * MIB and advice.child_cost == 20 * MIB
    assert advice.setting("MaxRequestWorkers") == 103 == advice.setting("ServerLimit")
    assert advice.setting("MinSpareServers") == 5 and advice.setting("MaxSpareServers") == 10
    assert any("Children that fit = " in step and step.endswith("= 103") for step in advice.steps)
    prefork_as_event = next(p for p in advice.alternatives if p.mpm == "event")
    assert prefork_as_event.threads_per_child == 25 and prefork_as_event.children == 5


def test_threaded_arithmetic() -> None:
    advice = advise(measured("event", 25))
    # base = 20 MiB - 26 extra threads x 0.25 = 13.5 MiB; child = 13.5 + 26 x 0.25 = 20 MiB
    assert advice.base == int(13.5 * MIB) and advice.child_cost == 20 * MIB
    assert advice.setting("ServerLimit") == 103 and advice.setting("MaxRequestWorkers") == 2575
    assert advice.setting("ThreadLimit") == 25 == advice.setting("ThreadsPerChild")
    low, high = advice.setting("MinSpareThreads"), advice.setting("MaxSpareThreads")
    assert low % 25 == 0 and high >= low + 25
    prefork = next(p for p in advice.alternatives if p.mpm == "prefork")
    assert prefork.children == 2575 and not prefork.fits  # 2575 x 13.5 MiB > 2068 MiB


def test_more_threads_per_child_fit_more_workers_in_fewer_children() -> None:
    small, large = (
        advise(measured("worker", 10)),
        advise(measured("worker", 10, threads_per_child=50)),
    )
    assert large.setting("MaxRequestWorkers") > small.setting("MaxRequestWorkers")
    assert large.setting("ServerLimit") < small.setting("ServerLimit")


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_a_larger_memory_limit_allows_more_workers(mpm: str) -> None:
    tight = advise(measured(mpm, memory_limit=512 * MIB))
    roomy = advise(measured(mpm, memory_limit=2048 * MIB))
    assert roomy.setting("MaxRequestWorkers") > tight.setting("MaxRequestWorkers")
    assert tight.budget == int((512 - 50) * MIB * 0.5)


def test_nothing_fits_still_recommends_one_child() -> None:
    advice = advise(measured("event", memory_limit=60 * MIB))
    assert advice.setting("ServerLimit") == 1
    assert any("Not even one child fits" in step for step in advice.steps)


def test_child_cost_model() -> None:
    assert child_cost("prefork", 10, 1, 25) == 10
    assert child_cost("event", 10, 1, 25) == 36


def test_report_text_has_the_config_block() -> None:
    m = measured("event")
    lines = render_advice(m, advise(m))
    assert "<IfModule mpm_event_module>" in lines and "</IfModule>" in lines
    assert any(line.split() == ["MaxRequestWorkers", "2575"] for line in lines)
    assert any(line.strip().startswith("prefork ") and "does NOT fit" in line for line in lines)


def test_size_and_option_parsing() -> None:
    assert parse_size("512M") == 512 * MIB and parse_size("2g") == 2048 * MIB
    assert parse_size("1.5GiB") == 1536 * MIB and parse_size("4096") == 4096
    with pytest.raises(StartupError):
        parse_size("lots")
    options, rest = split_options(["--memory", "1G", "-d", "/srv", "--threads-per-child=10"])
    assert options == {"--memory": "1G", "--threads-per-child": "10"} and rest == ["-d", "/srv"]
