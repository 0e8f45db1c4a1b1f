"""Apache's number, size and time formats as mod_status prints them (pure functions).

APR's `%g` drops the leading zero of a fraction (`.148904`, `u.1`); C's `(float)` casts round to
single precision before printing. `byte_size` is format_byte_out, `kbyte_size` format_kbyte_out,
`uptime_words` show_time (each part with a leading space), `status_time` Apache's
DEFAULT_TIME_FORMAT in local time. Runs wherever a status page is rendered.
"""

from __future__ import annotations

import struct
import time

KBYTE = 1024
MBYTE = 1048576
GBYTE = 1073741824


def single(value: float) -> float:
    """C's (float) cast: the value rounded to IEEE single precision."""
    return float(struct.unpack("<f", struct.pack("<f", value))[0])


def apr_g(value: float, precision: int = 6) -> str:
    """apr_snprintf's %g (and %.Ng): as C, without the leading zero of a pure fraction."""
    text = f"{value:.{precision}g}"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def byte_size(count: float) -> str:
    """format_byte_out: `N B` below 5 kB, then kB, MB, GB with one decimal."""
    if count < 5 * KBYTE:
        return f"{int(count)} B"
    if count < MBYTE / 2:
        return f"{single(count / KBYTE):.1f} kB"
    if count < GBYTE / 2:
        return f"{single(count / MBYTE):.1f} MB"
    return f"{single(count / GBYTE):.1f} GB"


def kbyte_size(kbytes: int) -> str:
    """format_kbyte_out: kB below 1 MB, then MB, GB with one decimal."""
    if kbytes < KBYTE:
        return f"{kbytes} kB"
    if kbytes < MBYTE:
        return f"{single(kbytes / KBYTE):.1f} MB"
    return f"{single(kbytes / MBYTE):.1f} GB"


def uptime_words(seconds: int) -> str:
    """show_time: ` 2 days 3 hours 1 second`, each part with its leading space; zero parts and a
    zero uptime print nothing."""
    minutes, secs = divmod(max(0, seconds), 60)
    hours, mins = divmod(minutes, 60)
    days, hrs = divmod(hours, 24)
    words = ""
    for count, name in ((days, "day"), (hrs, "hour"), (mins, "minute"), (secs, "second")):
        if count:
            words += f" {count} {name}{'' if count == 1 else 's'}"
    return words


def status_time(moment: float) -> str:
    """Apache's DEFAULT_TIME_FORMAT in local time: `Monday, 23-Nov-2026 08:12:40 UTC`."""
    return time.strftime("%A, %d-%b-%Y %H:%M:%S %Z", time.localtime(moment))


def mebibytes(count: float) -> str:
    """Sizes for the tuning advisor: MiB below 1 GiB, then GiB, two decimals at most."""
    if abs(count) >= GBYTE:
        return f"{count / GBYTE:.2f} GiB"
    return f"{count / MBYTE:.1f} MiB"
