"""mod_reqtimeout's arithmetic: initial timeout, MinRate extension, ceiling, socket waits."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from pyhttpd.http.deadlines import (
    DEFAULT_BODY,
    DEFAULT_HEADER,
    MIN_WAIT,
    Deadline,
    ReadTimeouts,
    Stage,
    socket_wait,
    start,
)
from pyhttpd.modules.mod_reqtimeout import request_read_timeout


def test_a_stage_starts_with_its_initial_timeout() -> None:
    deadline = Deadline(Stage(20, 40, 500), now=100.0)
    assert deadline.left(100.0) == 20
    assert not deadline.expired(119.9)
    assert deadline.expired(120.0)


def test_min_rate_pushes_the_deadline_back_one_second_per_rate_bytes() -> None:
    deadline = Deadline(Stage(20, 40, 500), now=0.0)
    deadline.received(500)
    assert deadline.timeout_at == pytest.approx(21.0)
    deadline.received(250)
    assert deadline.timeout_at == pytest.approx(21.5)


def test_the_extension_stops_at_the_maximum() -> None:
    deadline = Deadline(Stage(20, 40, 500), now=10.0)
    deadline.received(1_000_000)
    assert deadline.timeout_at == 50.0


def test_no_maximum_means_no_ceiling() -> None:
    deadline = Deadline(Stage(20, 0, 500), now=0.0)
    deadline.received(50_000)
    assert deadline.timeout_at == pytest.approx(120.0)


def test_without_min_rate_the_deadline_is_fixed() -> None:
    deadline = Deadline(Stage(5), now=0.0)
    deadline.received(10_000)
    assert deadline.timeout_at == 5.0


@pytest.mark.parametrize("count", [0, -3])
def test_nothing_received_changes_nothing(count: int) -> None:
    deadline = Deadline(Stage(5, 10, 100), now=0.0)
    deadline.received(count)
    assert deadline.timeout_at == 5.0


def test_a_disabled_or_absent_stage_has_no_deadline() -> None:
    assert start(None, 0.0) is None
    assert start(Stage(0), 0.0) is None
    started = start(Stage(1, 2, 100), 7.0)
    assert started is not None and started.timeout_at == 8.0


def test_socket_wait_is_the_remainder_bounded_by_timeout() -> None:
    deadline = Deadline(Stage(20, 40, 500), now=0.0)
    assert socket_wait(deadline, 5.0, 60.0) == 15.0
    assert socket_wait(deadline, 5.0, 3.0) == 3.0  # Timeout is still the bound of one wait


def test_socket_wait_is_never_below_a_second_as_in_mod_reqtimeout() -> None:
    deadline = Deadline(Stage(2), now=0.0)
    assert socket_wait(deadline, 1.9, 60.0) == MIN_WAIT


def test_without_a_deadline_each_wait_is_timeout() -> None:
    assert socket_wait(None, 123.0, 60.0) == 60.0


def test_defaults_are_mod_reqtimeouts() -> None:
    assert DEFAULT_HEADER == Stage(20, 40, 500)
    assert DEFAULT_BODY == Stage(20, 0, 500)
    assert ReadTimeouts.from_setting(None) == ReadTimeouts(DEFAULT_HEADER, DEFAULT_BODY)


@dataclass(frozen=True)
class _Command:
    """The little of a directive Command that request_read_timeout reads."""

    scope: dict[str, object]


def test_from_setting_reads_the_parsed_directive_and_defaults_unset_stages() -> None:
    value = request_read_timeout(_Command({}), "header=1-2,MinRate=100")  # type: ignore[arg-type]
    timeouts = ReadTimeouts.from_setting(value)
    assert timeouts.header == Stage(1, 2, 100)
    assert timeouts.body == DEFAULT_BODY


def test_from_setting_keeps_a_disabled_stage_disabled() -> None:
    value = request_read_timeout(_Command({}), "header=0 body=0")  # type: ignore[arg-type]
    timeouts = ReadTimeouts.from_setting(value)
    assert start(timeouts.header, 0.0) is None and start(timeouts.body, 0.0) is None
