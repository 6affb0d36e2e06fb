"""How much memory and time a sweep takes, worked out before it runs.

A sweep of ``m`` parameter sets on ``n`` bars is one engine call with ``m`` columns. What it allocates grows
with ``n x m``, from shapes known before anything runs:

* each signal (entries, exits, short entries, short exits) the rules produce: ``n`` bools per set, held twice
  at the peak (the per-set arrays and the stacked ``(n, m)`` frame while compiling; the frame and the engine's
  column-major copy while running);
* each per-bar value (a stop distance from an ATR, a volatility): ``n`` float64 per set, held twice the same
  way;
* the bars and the indicators: ``n`` float64 per bar field and per indicator output, for each distinct value of
  the swept parameters (an upper bound: an indicator that no swept parameter changes is computed once);
* the equity curve: ``n x m`` float64;
* the trade and order buffers: per column, one trade row per entry signal plus one, and two order rows per
  trade row (``records.TRADE`` and ``records.ORDER`` bytes each).

:func:`estimate` compiles one parameter set to learn which signals and per-bar values the strategy has and how
often it enters, then scales those shapes to the whole grid. Compiling that set takes the time the estimate
of the sweep's time is scaled from.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from backgrid.data.bars import OHLCV, Bars, MultiBars
from backgrid.engine.records import ORDER, TRADE
from backgrid.errors import BackgridError
from backgrid.indicators.registry import REGISTRY
from backgrid.strategy.columns import PER_BAR, SIGNALS
from backgrid.strategy.compiler import compile_strategy
from backgrid.strategy.spec import Strategy

__all__ = ["COPIES", "Footprint", "SweepTooLargeError", "available_memory", "estimate", "parse_bytes"]

#: How many copies of each per-set signal or per-bar array are alive at the peak (see the module docstring).
COPIES = 2
_UNITS = {"": 1, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30, "t": 2**40,
          "tb": 2**40}


class SweepTooLargeError(BackgridError, MemoryError):
    """A sweep whose estimated memory exceeds what the machine has (or ``--max-memory``)."""


@dataclass(frozen=True)
class Footprint:
    """The estimated peak memory (bytes) and time (seconds) of a run, and what they are made of."""

    bars: int
    sets: int
    #: bytes by what holds them: signals, per_bar, equity, buffers
    parts: dict[str, int]
    seconds: float

    @property
    def bytes(self) -> int:
        """The estimated peak, in bytes."""
        return sum(self.parts.values())

    @property
    def per_set(self) -> float:
        """Bytes each parameter set adds."""
        return self.bytes / self.sets

    def describe(self) -> str:
        """One line: the estimate and its parts.

        >>> Footprint(bars=1000, sets=10, parts={"signals": 60_000, "equity": 80_000}, seconds=2.0).describe()
        '10 parameter set(s) on 1,000 bars: about 137 KiB (signals 58.6 KiB, equity 78.1 KiB) and 2.0 s'
        """
        parts = ", ".join(f"{name} {human(size)}" for name, size in self.parts.items() if size)
        return (f"{self.sets:,} parameter set(s) on {self.bars:,} bars: about {human(self.bytes)} ({parts}) "
                f"and {self.seconds:,.1f} s")

    def check(self, limit: int, *, source: str) -> None:
        """Raise :class:`SweepTooLargeError` when the estimate exceeds ``limit`` bytes, saying how to cut it.

        ``source`` says where the limit comes from (``MemAvailable``, ``--max-memory``).
        """
        if self.bytes <= limit:
            return
        fits = int(limit // self.per_set) if self.per_set else 0
        msg = (f"this sweep will not fit in memory: {self.describe()}; {human(limit)} is available ({source}). "
               f"Cut it to at most {fits:,} parameter set(s) (fewer --sweep values or a coarser step), or run "
               f"fewer bars (--from / --to, or a higher --timeframe); --max-memory overrides the limit")
        raise SweepTooLargeError(msg)


def human(size: float) -> str:
    """Bytes in binary units.

    >>> human(512), human(3 * 2**30)
    ('512 B', '3 GiB')
    """
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:.3g} {unit}"
        size /= 1024
    return f"{size:,.3g} TiB"


def parse_bytes(text: str) -> int:
    """A size such as ``8G``, ``512MB`` or ``1000000`` in bytes (binary units).

    >>> parse_bytes("8G"), parse_bytes("512 MB"), parse_bytes("100")
    (8589934592, 536870912, 100)
    """
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    unit = match.group(2).lower() if match else ""
    if match is None or unit not in _UNITS:
        msg = f"expected a size such as 8G, 512M or a number of bytes, got {text!r}"
        raise ValueError(msg)
    return int(float(match.group(1)) * _UNITS[unit])


def available_memory(meminfo: Path = Path("/proc/meminfo")) -> int:
    """Bytes the system can give a new process without swapping: ``MemAvailable``, else free pages."""
    try:
        for line in meminfo.read_text(encoding="ascii").splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024  # the kernel writes kB
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))


def estimate(strategy: Strategy, data: Bars | MultiBars | Mapping[str, Bars],
             sweep: Mapping[str, Sequence[Any]] | None = None) -> Footprint:
    """Estimate the peak memory and the time of ``compile_strategy(strategy, data, sweep).run()``.

    Compiles the first parameter set only (see the module docstring).
    """
    sweep = dict(sweep or {})
    sets = int(np.prod([len(values) for values in sweep.values()])) if sweep else 1
    first = {name: [next(iter(values))] for name, values in sweep.items()}
    compile_strategy(strategy, data, first)  # once to compile the kernels, then timed
    began = time.perf_counter()
    compiled = compile_strategy(strategy, data, first)
    seconds = (time.perf_counter() - began) * sets
    one, n = compiled.kwargs, len(compiled.data)
    outputs = sum(len(REGISTRY.get(ind.id).outputs) for ind in strategy.indicators.values())
    distinct = 1 + sum(len(set(values)) - 1 for values in sweep.values())
    signals = [np.asarray(one[k]) for k in SIGNALS if k in one and one[k] is not None]
    per_bar = [k for k in PER_BAR if isinstance(one.get(k), np.ndarray)]
    entries = sum(int(np.asarray(one[k]).sum()) for k in ("entries", "short_entries") if k in one)
    rows = entries + 1
    parts = {
        "data": (len(OHLCV) + outputs * distinct) * n * 8,
        "signals": COPIES * len(signals) * n * sets,
        "per_bar": COPIES * len(per_bar) * n * 8 * sets,
        "equity": n * 8 * sets,
        "buffers": rows * (TRADE.itemsize + 2 * ORDER.itemsize) * sets,
    }
    return Footprint(bars=n, sets=sets, parts=parts, seconds=seconds)
