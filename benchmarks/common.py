"""Timing helpers shared by the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_time(fn: Callable[[], Any], repeat: int, *, warm: bool = True) -> tuple[float, Any]:
    """Median wall time of ``repeat`` calls (after one warm-up call when ``warm``), and the last result."""
    result = fn() if warm else None
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def interleaved(calls: dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]], repeat: int,
                ) -> dict[str, tuple[float, Any]]:
    """Median wall time of each ``(run, digest)`` call over ``repeat`` rounds, and its digested last result.

    Each round runs every call once in turn, after a warm-up round, so a shared machine's changing load falls
    on all of them alike and their ratios stay fair. ``digest`` (untimed) keeps what the caller checks, so
    large results are dropped between calls.
    """
    digests = {name: digest(run()) for name, (run, digest) in calls.items()}
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(repeat):
        for name, (run, digest) in calls.items():
            start = time.perf_counter()
            result = run()
            times[name].append(time.perf_counter() - start)
            digests[name] = digest(result)
            del result
    return {name: (statistics.median(times[name]), digests[name]) for name in calls}


def table(rows: list[tuple[str, str, str, str]]) -> str:
    """Format ``(workload, backgrid, peer, ratio)`` rows as an aligned text table."""
    header = ("workload", "backgrid", "peer", "peer / backgrid")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
