"""The parsing of wrk and ab output (scripts/bench/loads.py): pure, from captured text."""

from __future__ import annotations

import pytest

from scripts.bench.loads import parse_ab, parse_wrk

WRK = """Running 1s test @ http://127.0.0.1:34685/
  2 threads and 10 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    10.20ms    7.41ms  66.48ms   80.95%
    Req/Sec   296.55     62.63   403.00     75.00%
  Latency Distribution
     50%  850.00us
     75%   14.00ms
     90%   17.68ms
     99%    1.20s
  622 requests in 1.07s, 622.04MB read
{errors}Requests/sec:    580.22
Transfer/sec:    580.26MB
"""

AB = """Concurrency Level:      10
Time taken for tests:   0.500 seconds
Complete requests:      200
Failed requests:        {failed}
Total transferred:      135600 bytes
{non_2xx}Requests per second:    400.00 [#/sec] (mean)
"""


def test_wrk_rate_transfer_and_percentiles_in_their_units() -> None:
    result = parse_wrk(WRK.format(errors=""))
    assert result.requests_per_s == 580.22
    assert result.mib_per_s == pytest.approx(580.26)
    assert result.p50_ms == pytest.approx(0.85)
    assert result.p99_ms == pytest.approx(1200.0)
    assert (result.requests, result.errors, result.error) == (622, 0, "")


def test_wrk_socket_errors_and_non_2xx_are_counted() -> None:
    errors = (
        "  Socket errors: connect 1, read 2, write 0, timeout 3\n  Non-2xx or 3xx responses: 4\n"
    )
    result = parse_wrk(WRK.format(errors=errors))
    assert result.errors == 10
    assert result.error_kinds == "connect 1, read 2, timeout 3, non-2xx 4"


def test_wrk_without_figures_is_an_error_not_an_exception() -> None:
    result = parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")
    assert result.error == "unable to connect to 127.0.0.1:1 Connection refused"
    assert result.requests_per_s == 0.0 and result.p99_ms is None
    assert parse_wrk("").error == "no output"


def test_wrk_run_without_a_single_answer_is_an_error() -> None:
    text = WRK.format(errors="").replace("622 requests in", "0 requests in")
    assert parse_wrk(text).error == "no request answered during the run"


def test_wrk_transfer_in_kilobytes() -> None:
    text = WRK.format(errors="").replace("580.26MB", "512.00KB")
    assert parse_wrk(text).mib_per_s == pytest.approx(0.5)


def test_ab_rate_counts_only_successful_requests() -> None:
    clean = parse_ab(AB.format(failed=0, non_2xx=""), wanted=200)
    assert (clean.requests_per_s, clean.failures, clean.error) == (400.0, 0, "")
    non_2xx = "Non-2xx responses:      20\n"
    mixed = parse_ab(AB.format(failed=30, non_2xx=non_2xx), wanted=200)
    assert mixed.failures == 50
    assert mixed.requests_per_s == pytest.approx(300.0)


def test_ab_failures_beyond_completed_give_no_negative_rate() -> None:
    result = parse_ab(AB.format(failed=300, non_2xx=""), wanted=200)
    assert result.requests_per_s == 0.0 and result.failures == 300


def test_ab_that_aborted_reports_its_last_words() -> None:
    text = "Benchmarking 127.0.0.1 (be patient)\napr_socket_recv: Connection reset by peer (104)\n"
    result = parse_ab(text, wanted=500)
    assert result.error == "apr_socket_recv: Connection reset by peer (104)"
    assert result.wanted == 500
