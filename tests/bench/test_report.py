"""Medians, spread, per-round ratios to Apache event, the JSON document and the table: pure."""

from __future__ import annotations

import json

import pytest

from scripts.bench import report
from scripts.bench.stats import Results, percentile, round_ratios, summarize


def results() -> Results:
    runs = Results()
    for round_no, (apache, pyhttpd) in enumerate([(1000.0, 500.0), (800.0, 200.0), (900.0, None)]):
        runs.add("apache-event", "small_keepalive", "requests_per_s", round_no, apache)
        runs.add("pyhttpd-event", "small_keepalive", "requests_per_s", round_no, pyhttpd)
    runs.note("pyhttpd-event", "small_keepalive", "wrk: timed out after 21 s")
    runs.note("pyhttpd-event", "wsgi_hello", "n/a (no WSGI module yet)")
    runs.add("gunicorn-sync", "wsgi_hello", "requests_per_s", 0, 700.0)
    return runs


def test_summary_is_median_min_max_of_measured_rounds() -> None:
    summary = summarize({0: 3.0, 1: None, 2: 1.0, 3: 10.0})
    assert summary is not None
    assert (summary.median, summary.low, summary.high) == (3.0, 1.0, 10.0)
    assert summary.rounds == (3.0, None, 1.0, 10.0)
    assert summarize({0: None}) is None


def test_ratios_pair_values_of_the_same_round_only() -> None:
    ratios = round_ratios(
        {0: 500.0, 1: 200.0, 2: None, 3: 5.0}, {0: 1000.0, 1: 800.0, 2: 9.0, 3: 0.0}
    )
    assert ratios == [0.5, 0.25]


def test_percentile_is_nearest_rank() -> None:
    values = [float(n) for n in range(1, 101)]
    assert percentile(values, 99) == 99.0
    assert percentile(values, 50) == 50.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([], 99) is None


def test_document_has_median_min_max_and_ratio_per_server_and_test() -> None:
    servers = ["apache-event", "pyhttpd-event", "gunicorn-sync"]
    document = report.build(results(), servers, {"quick": True})
    assert document["meta"] == {"quick": True, "rounds": 3}
    pyhttpd = document["servers"]["pyhttpd-event"]
    figures = pyhttpd["small_keepalive"]["requests_per_s"]
    assert (figures["median"], figures["min"], figures["max"]) == (350.0, 200.0, 500.0)
    assert figures["rounds"] == [500.0, 200.0, None]
    assert figures["ratio_to_apache_event"] == pytest.approx((0.5 + 0.25) / 2)
    assert pyhttpd["small_keepalive"]["note"] == "wrk: timed out after 21 s"
    assert pyhttpd["wsgi_hello"] == {"note": "n/a (no WSGI module yet)"}
    apache = document["servers"]["apache-event"]["small_keepalive"]["requests_per_s"]
    assert apache["ratio_to_apache_event"] == 1.0
    gunicorn = document["servers"]["gunicorn-sync"]["wsgi_hello"]["requests_per_s"]
    assert gunicorn["ratio_to_apache_event"] is None
    json.dumps(document)


def test_table_shows_figures_ratios_and_notes() -> None:
    document = report.build(results(), ["apache-event", "pyhttpd-event", "gunicorn-sync"], {})
    text = report.table(document)
    assert report.TESTS["small_keepalive"] in text
    line = next(row for row in text.splitlines() if row.strip().startswith("pyhttpd-event"))
    assert "350 [200-500]" in line and "x0.38" in line and "timed out" in line
    assert "n/a (no WSGI module yet)" in text
    assert report.TESTS["idle_10000"] not in text
