"""`pyhttpdctl tune`'s report: the measurements, the arithmetic, the recommended settings as a
config block to paste, and what the same concurrency costs under the other MPMs. Pure text from
a Measurement and its Advice; runs in pyhttpdctl.
"""

from __future__ import annotations

from pyhttpd.status.advisor import Advice, Measurement
from pyhttpd.status.formats import mebibytes

MPM_MODULE = {"prefork": "mpm_prefork_module", "worker": "mpm_worker_module",
              "event": "mpm_event_module"}  # fmt: skip


def render_advice(m: Measurement, advice: Advice) -> list[str]:
    lines = [
        f"pyhttpd tuning advisor: MPM {m.mpm}, measured with psutil on this machine",
        "",
        f"Machine memory: {mebibytes(m.total_memory)} total, "
        f"{mebibytes(m.available_memory)} available, {m.cpu_count} CPU cores",
        f"Master: RSS {mebibytes(m.master_rss)}, unique {mebibytes(m.master_uss)}",
    ]
    for child in m.children:
        lines.append(
            f"Child pid {child.pid}: RSS {mebibytes(child.rss)}, unique {mebibytes(child.uss)}, "
            f"{child.threads} threads, CPU {child.cpu_seconds:.2f} s"
        )
    lines.append(f"One more worker thread (probed): {mebibytes(m.per_thread)}")
    lines.append(
        "(Children grow as they serve: measure after traffic for the figures that matter.)"
    )
    lines += ["", "Arithmetic:"] + [f"  {step}" for step in advice.steps]
    lines += ["", f"Recommended for {m.mpm}:", f"<IfModule {MPM_MODULE[m.mpm]}>"]
    lines += [f"    {name:<20} {value}" for name, value in advice.settings]
    lines += ["</IfModule>", "", "The same concurrency under each MPM:"]
    workers = advice.setting("MaxRequestWorkers")
    lines.append(
        f"  {m.mpm:<8} {workers} workers = {advice.setting('ServerLimit')} children x "
        f"{mebibytes(advice.child_cost)} = "
        f"{mebibytes(advice.setting('ServerLimit') * advice.child_cost)} (recommended above)"
    )
    for other in advice.alternatives:
        verdict = "fits" if other.fits else "does NOT fit"
        lines.append(
            f"  {other.mpm:<8} {other.workers} workers = {other.children} children x "
            f"{mebibytes(other.child_cost)} = {mebibytes(other.memory)} ({verdict} the "
            f"{mebibytes(advice.budget)} budget)"
        )
    lines += [
        "",
        f"Memory is one limit; CPU is the other: {m.cpu_count} cores run at most "
        f"{m.cpu_count} children's Python code at once.",
    ]
    return lines
