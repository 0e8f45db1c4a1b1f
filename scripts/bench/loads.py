"""wrk and ab: bounded runs (wrk -d, ab -n, a timeout on each) and the parsing of their output.

The parsers are pure functions of the tool's text, tested in tests/bench/test_loads.py. A run that
fails (tool error, timeout, nothing parsed) gives a result with `error` set, never an exception.
Runs in the bench process.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

_TIME = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}
_SIZE = {"B": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


@dataclass(frozen=True)
class WrkResult:
    requests_per_s: float = 0.0
    mib_per_s: float = 0.0
    p50_ms: float | None = None
    p99_ms: float | None = None
    requests: int = 0
    errors: int = 0
    error_kinds: str = ""  # the non-zero kinds of `errors`: "read 2, non-2xx 4"
    error: str = ""


@dataclass(frozen=True)
class AbResult:
    requests_per_s: float = 0.0
    complete: int = 0
    failed: int = 0
    non_2xx: int = 0
    wanted: int = 0
    error: str = ""

    @property
    def failures(self) -> int:
        """Failed or non-2xx answers (ab -r goes on after a socket error and counts it)."""
        return self.failed + self.non_2xx


def _millis(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * _TIME[match[2]]


def _bytes(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(B|KB|MB|GB|TB)", text)
    if not match:
        raise ValueError(f"not a wrk size: {text!r}")
    return float(match[1]) * _SIZE[match[2]]


def parse_wrk(text: str) -> WrkResult:
    """wrk --latency output: requests/s, MiB/s, p50 and p99 (ms), request and error counts."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    transfer = re.search(r"^Transfer/sec:\s+(\S+)", text, re.M)
    if not rate or not transfer:
        return WrkResult(error=text.strip().splitlines()[-1] if text.strip() else "no output")
    percentiles = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", text, re.M))
    total = re.search(r"^\s+(\d+) requests in", text, re.M)
    kinds: dict[str, int] = {}
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    if socket_errors:
        counts = map(int, socket_errors.groups())
        kinds.update(zip(("connect", "read", "write", "timeout"), counts, strict=True))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non_2xx:
        kinds["non-2xx"] = int(non_2xx[1])
    if total and int(total[1]) == 0:
        return WrkResult(error="no request answered during the run")
    return WrkResult(
        requests_per_s=float(rate[1]),
        mib_per_s=_bytes(transfer[1]) / (1 << 20),
        p50_ms=_millis(percentiles["50"]) if "50" in percentiles else None,
        p99_ms=_millis(percentiles["99"]) if "99" in percentiles else None,
        requests=int(total[1]) if total else 0,
        errors=sum(kinds.values()),
        error_kinds=", ".join(f"{kind} {count}" for kind, count in kinds.items() if count),
    )


def parse_ab(text: str, wanted: int) -> AbResult:
    """ab output: successful requests/s, complete, failed and non-2xx counts."""

    def number(label: str) -> float | None:
        match = re.search(rf"^{label}:\s+([\d.]+)", text, re.M)
        return float(match[1]) if match else None

    taken, complete = number("Time taken for tests"), number("Complete requests")
    if not taken or complete is None:
        last = text.strip().splitlines()[-1] if text.strip() else "no output"
        return AbResult(wanted=wanted, error=last)
    failed = int(number("Failed requests") or 0)
    non_2xx = int(number("Non-2xx responses") or 0)
    # ab's own rate counts failed requests too (a refused connection is very fast).
    good = max(0, int(complete) - failed - non_2xx)
    return AbResult(good / taken, int(complete), failed, non_2xx, wanted)


def _run(argv: list[str], timeout: float) -> tuple[str, str]:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout.decode() if isinstance(expired.stdout, bytes) else ""
        return out, f"timed out after {timeout:.0f} s"
    except OSError as exc:
        return "", str(exc)
    return done.stdout + done.stderr, ""


def wrk(url: str, threads: int, connections: int, seconds: int) -> WrkResult:
    """wrk with keep-alive for SECONDS; its own timeout is 2 s a request, ours the whole run."""
    argv = ["wrk", "--latency", f"-t{threads}", f"-c{connections}", f"-d{seconds}s"]
    text, error = _run([*argv, "--timeout", "2s", url], timeout=seconds + 20)
    result = parse_wrk(text)
    if error:
        return WrkResult(error=error)
    return result


def ab(url: str, concurrency: int, requests: int, time_limit: int) -> AbResult:
    """ab without keep-alive: -n requests, -t seconds at most, -s 5 s per request, -r to go on."""
    # -t before -n: ab's -t resets -n to 50000, a later -n sets it back.
    argv = ["ab", "-q", "-r", "-s", "5", f"-t{time_limit}", f"-c{concurrency}", f"-n{requests}"]
    text, error = _run([*argv, url], timeout=time_limit + 30)
    if error:
        return AbResult(wanted=requests, error=error)
    return parse_ab(text, requests)
