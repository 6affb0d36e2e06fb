"""The built-in demo source: SYNTHETIC markets from :mod:`backgrid.data.demo`, at any timeframe."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from backgrid.data.demo import DEMO_SYMBOLS, generate_minutes
from backgrid.data.resample import resample
from backgrid.data.timeframe import Timeframe

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.data.bars import Bars

__all__ = ["DEMO_SYMBOLS", "DemoSource", "demo_bars", "demo_minutes"]


@lru_cache(maxsize=4)
def demo_minutes(symbol: str, seed: int = 7) -> Bars:
    """The whole default span of ``symbol`` in 1-minute bars (cached per process)."""
    return generate_minutes(symbol, seed=seed)


def demo_bars(symbol: str = "DEMO-BTC", timeframe: str | Timeframe = "1h", *, start: Any = None, end: Any = None,
              seed: int = 7) -> Bars:
    """Return SYNTHETIC demo bars of ``symbol`` at ``timeframe``, optionally cut to ``[start, end)``.

    >>> demo_bars("DEMO-SPY", "1d").synthetic
    True
    """
    return resample(demo_minutes(symbol, seed), Timeframe.parse(timeframe)).slice(start, end)


class DemoSource:
    """The demo markets as a :class:`~backgrid.data.sources.base.DataSource`."""

    name = "demo"

    def __init__(self, seed: int = 7) -> None:
        self.seed = seed

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """Return ``symbol`` at ``timeframe`` in ``[start, end)``."""
        return demo_bars(symbol, timeframe, start=start, end=end, seed=self.seed)
