"""mod_reqtimeout's deadline arithmetic, pure: when a read of the request head or body must end.

A stage (`header=20-40,MinRate=500`) starts a Deadline when its reading begins: `timeout` seconds
from then, pushed back by one second per `min_rate` bytes received, never past `max_timeout`
seconds from the start (0: no ceiling). `socket_wait` is how long one recv may block: what is
left of the deadline, at least one second as in mod_reqtimeout's check_time_left, and never more
than the core Timeout; without a stage each recv simply waits Timeout, as Apache does without the
module.

Knows no socket, no clock (callers pass `now`, a time.monotonic() value) and no module: the
engine converts the RequestReadTimeout setting with `ReadTimeouts.from_setting`, which reads the
setting's `header` and `body` attributes. Used by the thread serving a connection.
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_WAIT = 1.0  # mod_reqtimeout never arms the socket for less than a second


@dataclass(frozen=True)
class Stage:
    """One RequestReadTimeout stage: initial seconds (0 disables), ceiling (0: none), bytes/s."""

    timeout: float
    max_timeout: float = 0.0
    min_rate: int = 0

    @classmethod
    def of(cls, value: object) -> Stage | None:
        """Copy any object with timeout / max_timeout / min_rate (mod_reqtimeout's Stage)."""
        if value is None:
            return None
        return cls(
            float(getattr(value, "timeout", 0) or 0),
            float(getattr(value, "max_timeout", 0) or 0),
            int(getattr(value, "min_rate", 0) or 0),
        )


# mod_reqtimeout's defaults, used for a stage the configuration never set.
DEFAULT_HEADER = Stage(20, 40, 500)
DEFAULT_BODY = Stage(20, 0, 500)


@dataclass(frozen=True)
class ReadTimeouts:
    """The header and body stages in force; a stage of None (or timeout 0) is not limited."""

    header: Stage | None = DEFAULT_HEADER
    body: Stage | None = DEFAULT_BODY

    @classmethod
    def from_setting(cls, setting: object) -> ReadTimeouts:
        """The RequestReadTimeout value (None when unset): each unset stage takes the default."""
        header = Stage.of(getattr(setting, "header", None)) or DEFAULT_HEADER
        body = Stage.of(getattr(setting, "body", None)) or DEFAULT_BODY
        return cls(header, body)


class Deadline:
    """A running stage: the moment the read must end, moved back as bytes arrive."""

    __slots__ = ("timeout_at", "max_at", "seconds_per_byte")

    def __init__(self, stage: Stage, now: float) -> None:
        self.timeout_at = now + stage.timeout
        self.max_at = now + stage.max_timeout if stage.max_timeout > 0 else None
        self.seconds_per_byte = 1.0 / stage.min_rate if stage.min_rate > 0 else 0.0

    def received(self, count: int) -> None:
        """mod_reqtimeout's extend_timeout: `count` more bytes arrived."""
        if count <= 0 or not self.seconds_per_byte:
            return
        extended = self.timeout_at + count * self.seconds_per_byte
        self.timeout_at = min(extended, self.max_at) if self.max_at is not None else extended

    def left(self, now: float) -> float:
        return self.timeout_at - now

    def expired(self, now: float) -> bool:
        return self.left(now) <= 0


def start(stage: Stage | None, now: float) -> Deadline | None:
    """The stage's deadline from `now`, or None when the stage is absent or disabled (0)."""
    if stage is None or stage.timeout <= 0:
        return None
    return Deadline(stage, now)


def socket_wait(deadline: Deadline | None, now: float, timeout: float) -> float:
    """How long the next recv may block: the deadline's remainder (>= 1 s), at most Timeout."""
    if deadline is None:
        return timeout
    return min(max(deadline.left(now), MIN_WAIT), timeout)
