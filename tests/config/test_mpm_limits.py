"""The MPMs' start-up corrections (Apache's check_config hooks), in Apache's order, and defaults.

Pure tier: configs loaded with `pyhttpd.config.load`, then the warnings and corrected settings are
compared with what Debian's apache2 -t prints for the same lines (worker AH00300-AH00322, event
AH00497-AH00519, prefork AH00175-AH00186). Corrections are never errors.
"""

from __future__ import annotations

import pytest

from pyhttpd.mpm.limits import EVENT_TAGS, WORKER_TAGS, check_prefork, check_threaded

THREADED = ["worker", "event"]
# The AH numbers of each correction, by MPM: the event MPM's are shifted but in the same order.
NUMBERS = {
    "worker": {
        "server_limit_high": "AH00300",
        "server_limit_low": "AH00302",
        "thread_limit_high": "AH00305",
        "thread_limit_low": "AH00307",
        "threads_high": "AH00310",
        "threads_low": "AH00312",
        "below_threads": "AH00314",
        "not_multiple": "AH00316",
        "over_limit": "AH00318",
        "start_low": "AH00320",
        "min_spare_low": "AH00322",
    },
    "event": {
        "server_limit_high": "AH00497",
        "server_limit_low": "AH00499",
        "thread_limit_high": "AH00502",
        "thread_limit_low": "AH00504",
        "threads_high": "AH00507",
        "threads_low": "AH00509",
        "below_threads": "AH00511",
        "not_multiple": "AH00513",
        "over_limit": "AH00515",
        "start_low": "AH00517",
        "min_spare_low": "AH00519",
    },
}


def ah(mpm: str, which: str) -> str:
    return f"{NUMBERS[mpm][which]}: WARNING: "


# --- worker and event ---------------------------------------------------------------------------


@pytest.mark.parametrize("mpm", THREADED)
def test_threads_per_child_above_thread_limit_then_not_a_multiple(load_config, mpm: str) -> None:
    config = load_config("ThreadsPerChild 100\n", mpm=mpm)
    assert config.warnings == (
        f"{ah(mpm, 'threads_high')}ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, "
        "decreasing to 64. To increase, please see the ThreadLimit directive.",
        f"{ah(mpm, 'not_multiple')}MaxRequestWorkers of 400 is not an integer multiple of "
        "ThreadsPerChild of 64, decreasing to nearest multiple 384, for a maximum of 6 servers.",
    )
    assert config.get("ThreadsPerChild") == 64
    assert config.get("MaxRequestWorkers") == 384
    assert config.get("ProcessLimit") == 6


def test_event_numbers_for_threads_per_child_100(load_config) -> None:
    warnings = load_config("ThreadsPerChild 100\n", mpm="event").warnings
    assert [w.split(":")[0] for w in warnings] == ["AH00507", "AH00513"]


def test_worker_numbers_for_threads_per_child_100(load_config) -> None:
    warnings = load_config("ThreadsPerChild 100\n", mpm="worker").warnings
    assert [w.split(":")[0] for w in warnings] == ["AH00310", "AH00316"]


@pytest.mark.parametrize("mpm", THREADED)
def test_threads_per_child_zero_then_too_many_servers(load_config, mpm: str) -> None:
    config = load_config("ThreadsPerChild 0\n", mpm=mpm)
    assert config.warnings == (
        f"{ah(mpm, 'threads_low')}ThreadsPerChild of 0 not allowed, increasing to 1.",
        f"{ah(mpm, 'over_limit')}MaxRequestWorkers of 400 would require 400 servers and would "
        "exceed ServerLimit of 16, decreasing to 16. To increase, please see the ServerLimit "
        "directive.",
    )
    assert (config.get("ThreadsPerChild"), config.get("MaxRequestWorkers")) == (1, 16)
    assert config.get("ProcessLimit") == 16


def test_worker_threads_per_child_zero_numbers(load_config) -> None:
    warnings = load_config("ThreadsPerChild abc\n", mpm="worker").warnings
    assert [w.split(":")[0] for w in warnings] == ["AH00312", "AH00318"]


@pytest.mark.parametrize("mpm", THREADED)
def test_max_request_workers_over_server_limit(load_config, mpm: str) -> None:
    config = load_config("MaxRequestWorkers 500\nServerLimit 16\n", mpm=mpm)
    assert config.warnings == (
        f"{ah(mpm, 'over_limit')}MaxRequestWorkers of 500 would require 20 servers and would "
        "exceed ServerLimit of 16, decreasing to 400. To increase, please see the ServerLimit "
        "directive.",
    )
    assert config.get("MaxRequestWorkers") == 400
    assert config.get("ProcessLimit") == 16


def test_worker_max_request_workers_500_is_ah00318(load_config) -> None:
    warnings = load_config("MaxRequestWorkers 500\nServerLimit 16\n", mpm="worker").warnings
    assert warnings == (
        "AH00318: WARNING: MaxRequestWorkers of 500 would require 20 servers and would exceed "
        "ServerLimit of 16, decreasing to 400. To increase, please see the ServerLimit directive.",
    )


@pytest.mark.parametrize("mpm", THREADED)
def test_not_a_multiple_rounds_down(load_config, mpm: str) -> None:
    config = load_config("MaxRequestWorkers 130\n", mpm=mpm)
    assert config.warnings == (
        f"{ah(mpm, 'not_multiple')}MaxRequestWorkers of 130 is not an integer multiple of "
        "ThreadsPerChild of 25, decreasing to nearest multiple 125, for a maximum of 5 servers.",
    )
    assert config.get("MaxRequestWorkers") == 125


@pytest.mark.parametrize("mpm", THREADED)
def test_below_threads_then_start_and_min_spare(load_config, mpm: str) -> None:
    config = load_config("MaxRequestWorkers 10\nStartServers 0\nMinSpareThreads 0\n", mpm=mpm)
    assert config.warnings == (
        f"{ah(mpm, 'below_threads')}MaxRequestWorkers of 10 is less than ThreadsPerChild of 25, "
        "increasing to 25. MaxRequestWorkers must be at least as large as the number of threads "
        "in a single server.",
        f"{ah(mpm, 'start_low')}StartServers of 0 not allowed, increasing to 1.",
        f"{ah(mpm, 'min_spare_low')}MinSpareThreads of 0 not allowed, increasing to 1 to avoid "
        "almost certain server failure. Please read the documentation.",
    )
    assert config.get("MaxRequestWorkers") == 25
    assert config.get("StartServers") == 1
    assert config.get("MinSpareThreads") == 1


@pytest.mark.parametrize("mpm", THREADED)
def test_limits_below_one(load_config, mpm: str) -> None:
    config = load_config("ServerLimit 0\nThreadLimit 0\n", mpm=mpm)
    assert config.warnings == (
        f"{ah(mpm, 'server_limit_low')}ServerLimit of 0 not allowed, increasing to 1.",
        f"{ah(mpm, 'thread_limit_low')}ThreadLimit of 0 not allowed, increasing to 1.",
        f"{ah(mpm, 'threads_high')}ThreadsPerChild of 25 exceeds ThreadLimit of 1 threads, "
        "decreasing to 1. To increase, please see the ThreadLimit directive.",
        f"{ah(mpm, 'over_limit')}MaxRequestWorkers of 400 would require 400 servers and would "
        "exceed ServerLimit of 1, decreasing to 1. To increase, please see the ServerLimit "
        "directive.",
    )


@pytest.mark.parametrize(("mpm", "thread_max"), [("worker", 20000), ("event", 100000)])
def test_compile_time_limits(load_config, mpm: str, thread_max: int) -> None:
    config = load_config("ServerLimit 300000\nThreadLimit 300000\n", mpm=mpm)
    assert config.warnings == (
        f"{ah(mpm, 'server_limit_high')}ServerLimit of 300000 exceeds compile-time limit of "
        "20000 servers, decreasing to 20000.",
        f"{ah(mpm, 'thread_limit_high')}ThreadLimit of 300000 exceeds compile-time limit of "
        f"{thread_max} threads, decreasing to {thread_max}.",
    )
    assert config.get("ServerLimit") == 20000
    assert config.get("ThreadLimit") == thread_max


@pytest.mark.parametrize("mpm", THREADED)
def test_start_servers_is_capped_at_the_process_limit(load_config, mpm: str) -> None:
    config = load_config("StartServers 50\n", mpm=mpm)
    assert config.warnings == ()
    assert config.get("StartServers") == 16


@pytest.mark.parametrize("mpm", THREADED)
def test_max_spare_threads_is_raised_silently(load_config, mpm: str) -> None:
    config = load_config("MinSpareThreads 100\nMaxSpareThreads 100\n", mpm=mpm)
    assert config.warnings == ()
    assert config.get("MaxSpareThreads") == 100 + 25 + 1


@pytest.mark.parametrize("mpm", THREADED)
def test_threaded_defaults(load_config, mpm: str) -> None:
    config = load_config("ServerName x\n", mpm=mpm)
    assert config.warnings == ()
    got = {
        key: config.get(key)
        for key in (
            "StartServers",
            "MinSpareThreads",
            "MaxSpareThreads",
            "ThreadsPerChild",
            "ThreadLimit",
            "ServerLimit",
            "MaxRequestWorkers",
            "MaxConnectionsPerChild",
        )
    }
    assert got == {
        "StartServers": 3,
        "MinSpareThreads": 75,
        "MaxSpareThreads": 250,
        "ThreadsPerChild": 25,
        "ThreadLimit": 64,
        "ServerLimit": 16,
        "MaxRequestWorkers": 400,
        "MaxConnectionsPerChild": 0,
    }
    assert config.get("ProcessLimit") == 16


def test_event_async_request_worker_factor_default(load_config) -> None:
    assert load_config("ServerName x\n", mpm="event").get("AsyncRequestWorkerFactor") == 2


def test_debian_shipped_event_values_need_no_correction(load_config) -> None:
    config = load_config(
        "<IfModule mpm_event_module>\nStartServers 2\nMinSpareThreads 25\nMaxSpareThreads 75\n"
        "ThreadLimit 64\nThreadsPerChild 25\nMaxRequestWorkers 150\nMaxConnectionsPerChild 0\n"
        "</IfModule>\n"
    )
    assert config.warnings == ()
    assert config.get("MaxRequestWorkers") == 150
    assert config.get("ProcessLimit") == 6


# --- prefork ------------------------------------------------------------------------------------


def test_prefork_max_request_workers_over_server_limit(load_config) -> None:
    config = load_config("MaxRequestWorkers 300\n", mpm="prefork")
    assert config.warnings == (
        "AH00180: WARNING: MaxRequestWorkers of 300 exceeds ServerLimit value of 256 servers, "
        "decreasing MaxRequestWorkers to 256. To increase, please see the ServerLimit directive.",
    )
    assert config.get("MaxRequestWorkers") == 256


def test_prefork_values_below_one(load_config) -> None:
    config = load_config("MaxRequestWorkers 0\nStartServers 0\nMinSpareServers 0\n", mpm="prefork")
    assert config.warnings == (
        "AH00182: WARNING: MaxRequestWorkers of 0 not allowed, increasing to 1.",
        "AH00184: WARNING: StartServers of 0 not allowed, increasing to 1.",
        "AH00186: WARNING: MinSpareServers of 0 not allowed, increasing to 1 to avoid almost "
        "certain server failure. Please read the documentation.",
    )


def test_prefork_server_limit_below_one_then_workers(load_config) -> None:
    config = load_config("ServerLimit 0\n", mpm="prefork")
    assert config.warnings == (
        "AH00177: WARNING: ServerLimit of 0 not allowed, increasing to 1.",
        "AH00180: WARNING: MaxRequestWorkers of 256 exceeds ServerLimit value of 1 servers, "
        "decreasing MaxRequestWorkers to 1. To increase, please see the ServerLimit directive.",
    )


def test_prefork_server_limit_compile_time_limit(load_config) -> None:
    config = load_config("ServerLimit 300000\n", mpm="prefork")
    assert config.warnings == (
        "AH00175: WARNING: ServerLimit of 300000 exceeds compile-time limit of 200000 servers, "
        "decreasing to 200000.",
    )


def test_prefork_silent_adjustments(load_config) -> None:
    config = load_config(
        "MaxRequestWorkers 4\nStartServers 10\nMinSpareServers 8\nMaxSpareServers 2\n",
        mpm="prefork",
    )
    assert config.warnings == ()
    assert config.get("StartServers") == 4
    assert config.get("MaxSpareServers") == 9


def test_prefork_defaults(load_config) -> None:
    config = load_config("ServerName x\n", mpm="prefork")
    assert config.warnings == ()
    got = {
        key: config.get(key)
        for key in (
            "StartServers",
            "MinSpareServers",
            "MaxSpareServers",
            "ServerLimit",
            "MaxRequestWorkers",
        )
    }
    assert got == {
        "StartServers": 5,
        "MinSpareServers": 5,
        "MaxSpareServers": 10,
        "ServerLimit": 256,
        "MaxRequestWorkers": 256,
    }


# --- old names ----------------------------------------------------------------------------------


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_max_clients_is_the_old_name_of_max_request_workers(load_config, mpm: str) -> None:
    config = load_config("MaxClients 200\n", mpm=mpm)
    assert config.get("MaxRequestWorkers") == 200
    assert "MaxClients" not in config.main


def test_max_clients_meets_the_same_corrections(load_config) -> None:
    config = load_config("MaxClients 300\n", mpm="prefork")
    assert config.get("MaxRequestWorkers") == 256
    assert config.warnings[0].startswith("AH00180: WARNING: MaxRequestWorkers of 300 exceeds")


def test_the_later_of_max_clients_and_max_request_workers_wins(load_config) -> None:
    config = load_config("MaxRequestWorkers 100\nMaxClients 50\n")
    assert config.get("MaxRequestWorkers") == 50


def test_max_requests_per_child_is_the_old_name_of_max_connections_per_child(
    load_config,
) -> None:
    config = load_config("MaxRequestsPerChild 1000\n")
    assert config.get("MaxConnectionsPerChild") == 1000
    assert "MaxRequestsPerChild" not in config.main


# --- the check functions directly ---------------------------------------------------------------


def test_check_threaded_on_plain_settings() -> None:
    settings = {
        "ServerLimit": 16,
        "ThreadLimit": 64,
        "ThreadsPerChild": 25,
        "MaxRequestWorkers": 400,
        "StartServers": 3,
        "MinSpareThreads": 75,
        "MaxSpareThreads": 250,
    }
    for tags in (WORKER_TAGS, EVENT_TAGS):
        check = check_threaded(settings, tags)
        assert check.warnings == ()
        assert check.corrections["ProcessLimit"] == 16


def test_check_prefork_on_plain_settings() -> None:
    settings = {
        "ServerLimit": 256,
        "MaxRequestWorkers": 150,
        "StartServers": 5,
        "MinSpareServers": 5,
        "MaxSpareServers": 10,
    }
    check = check_prefork(settings)
    assert check.warnings == ()
    assert check.corrections["ProcessLimit"] == 150
