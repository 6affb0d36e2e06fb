"""Helpers for the hand-computed engine scenarios: tiny bar series, signal masks, exact checks.

A scenario is a handful of ``(open, high, low, close)`` rows with round prices, signals
given as the bar numbers where they fire, and expectations worked out by hand. The
checks compare at ``rel=1e-12``: the only slack is float rounding, never semantics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.data.timeframe import Timeframe
from backgrid.engine import Result, backtest

__all__ = ["NAN", "check_books", "check_equity", "check_trade", "exact", "make_bars", "mask", "run"]

#: A bar the symbol does not have (every price NaN).
NAN = (math.nan, math.nan, math.nan, math.nan)
#: 2024-01-01 was a Monday; daily scenarios start there unless they give dates.
START = "2024-01-01"


def exact(value: float) -> Any:
    """``value`` up to float rounding (relative 1e-12, absolute 1e-9 around zero)."""
    return pytest.approx(value, rel=1e-12, abs=1e-9)


def make_bars(rows: Sequence[Sequence[float]], *, timeframe: str = "1d", start: str = START,
              dates: Sequence[str] | None = None, symbol: str = "TEST") -> Bars:
    """Bars from ``(open, high, low, close)`` rows, one per ``timeframe`` from ``start`` or at ``dates`` (UTC)."""
    prices = np.array(rows, dtype=np.float64).reshape(-1, 4)
    n = prices.shape[0]
    if dates is None:
        first = pd.Timestamp(start, tz="UTC").value
        ts = first + np.arange(n, dtype=np.int64) * Timeframe.parse(timeframe).nanos
    else:
        ts = np.asarray(pd.DatetimeIndex(dates, tz="UTC").as_unit("ns").asi8, dtype=np.int64)
    return Bars(symbol, timeframe, ts, prices[:, 0], prices[:, 1], prices[:, 2], prices[:, 3],
                np.full(n, 1_000.0))


def mask(n: int, bars: Iterable[int]) -> np.ndarray:
    """A length-``n`` boolean signal, True on ``bars``."""
    out = np.zeros(n, dtype=np.bool_)
    out[list(bars)] = True
    return out


def run(rows: Sequence[Sequence[float]], *, entries: Iterable[int] = (), exits: Iterable[int] = (),
        short_entries: Iterable[int] = (), short_exits: Iterable[int] = (), dates: Sequence[str] | None = None,
        **options: Any) -> Result:
    """Backtest ``rows`` with signals firing at the given bar numbers; ``options`` go to ``backtest``."""
    data = make_bars(rows, dates=dates)
    n = len(data)
    return backtest(data, entries=mask(n, entries), exits=mask(n, exits), short_entries=mask(n, short_entries),
                    short_exits=mask(n, short_exits), **options)


def check_trade(result: Result, i: int, **expected: Any) -> None:
    """Trade ``i`` (in entry order) has every field in ``expected``; numbers compared with :func:`exact`."""
    row = result.trades.iloc[i]
    for field, want in expected.items():
        got = row[field]
        if isinstance(want, str | bool):
            assert got == want, f"trade {i} {field}: expected {want!r}, got {got!r}"
        else:
            assert got == exact(want), f"trade {i} {field}: expected {want!r}, got {got!r}"


def check_equity(result: Result, expected: Sequence[float]) -> None:
    """The equity curve (one column) equals ``expected`` bar by bar."""
    got = result.equity.to_numpy()
    assert got.tolist() == [exact(v) for v in expected], f"equity: expected {list(expected)}, got {got.tolist()}"


def check_books(result: Result, last_close: float) -> None:
    """Cash + position x last close = the final equity, and the summary agrees with the curve."""
    state = result.state[0]
    final = float(state["cash"] + state["pos"] * last_close)
    assert result.summary[0, 0] == exact(final)
    assert result.equity.to_numpy()[-1] == exact(final)
