"""The figures of a run: one value per server, test, metric and round; medians, spread and ratios.

A value of None is a failed measurement; a note on (server, test) says why a row has no figures
("n/a (no WSGI module yet)", "failed to start: ..."). The ratio to Apache event is taken round by
round (both measured in the same round, so machine drift cancels) and its median reported.
Pure: no I/O. Runs in the bench process.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

Key = tuple[str, str, str]  # (server, test, metric)


@dataclass(frozen=True)
class Summary:
    median: float
    low: float
    high: float
    rounds: tuple[float | None, ...]
    ratio: float | None = None


@dataclass
class Results:
    """Everything measured in one run, filled in as the rounds go."""

    rounds: int = 0
    values: dict[Key, dict[int, float | None]] = field(default_factory=dict)
    notes: dict[tuple[str, str], str] = field(default_factory=dict)

    def add(self, server: str, test: str, metric: str, round_no: int, value: float | None) -> None:
        self.values.setdefault((server, test, metric), {})[round_no] = value
        self.rounds = max(self.rounds, round_no + 1)

    def note(self, server: str, test: str, text: str) -> None:
        self.notes.setdefault((server, test), text)

    def series(self, server: str, test: str, metric: str) -> dict[int, float | None]:
        return self.values.get((server, test, metric), {})


def summarize(values: dict[int, float | None]) -> Summary | None:
    """Median, min and max of the rounds that measured something; None when none did."""
    measured = [value for value in values.values() if value is not None]
    if not measured:
        return None
    ordered = tuple(values.get(n) for n in range(max(values) + 1))
    return Summary(statistics.median(measured), min(measured), max(measured), ordered)


def round_ratios(
    values: dict[int, float | None], reference: dict[int, float | None]
) -> list[float]:
    """value / reference for each round where both were measured and the reference is not 0."""
    ratios = []
    for round_no, value in sorted(values.items()):
        base = reference.get(round_no)
        if value is not None and base:
            ratios.append(value / base)
    return ratios


def summary_with_ratio(
    values: dict[int, float | None], reference: dict[int, float | None]
) -> Summary | None:
    summary = summarize(values)
    if summary is None:
        return None
    ratios = round_ratios(values, reference)
    ratio = statistics.median(ratios) if ratios else None
    return Summary(summary.median, summary.low, summary.high, summary.rounds, ratio)


def percentile(values: list[float], q: float) -> float | None:
    """The nearest-rank Q-th percentile (0 < Q <= 100) of VALUES; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]
