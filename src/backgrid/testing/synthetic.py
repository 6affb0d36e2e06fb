"""Small synthetic bar series for tests (not the demo market: no regimes, just a valid random walk)."""

from __future__ import annotations

import numpy as np

from backgrid.data.bars import Bars
from backgrid.data.calendar import get_calendar
from backgrid.data.timeframe import Timeframe

__all__ = ["random_bars"]


def random_bars(n: int = 1000, *, timeframe: str = "1h", seed: int = 0, start: str = "2024-01-01",
                calendar: str = "crypto", symbol: str = "RANDOM") -> Bars:
    """A valid random-walk OHLCV series of ``n`` bars, every timeframe from ``start`` (UTC).

    >>> len(random_bars(10))
    10
    """
    rng = np.random.default_rng(seed)
    step = Timeframe.parse(timeframe).nanos
    first = int(np.datetime64(start, "ns").astype(np.int64))
    ts = first + np.arange(n, dtype=np.int64) * step
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    open_ = np.r_[100.0, close[:-1]] * np.exp(rng.normal(0, 0.002, n))
    high = np.maximum(open_, close) * np.exp(np.abs(rng.normal(0, 0.004, n)))
    low = np.minimum(open_, close) * np.exp(-np.abs(rng.normal(0, 0.004, n)))
    volume = np.round(rng.lognormal(8, 0.5, n))
    return Bars(symbol, Timeframe.parse(timeframe), ts, open_, high, low, close, volume,
                calendar=get_calendar(calendar), synthetic=True)
