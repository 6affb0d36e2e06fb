"""A two-parameter SMA crossover document and a code strategy twin, on small random bars."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.strategy.code import CodeStrategy, Parameter
from backgrid.strategy.document import parse
from backgrid.strategy.spec import Strategy
from tests.conftest import random_bars

DOC: dict[str, Any] = {
    "schema_version": 3, "name": "sma-cross", "market": {"symbols": ["TEST"], "timeframe": "1h"},
    "parameters": [{"param": "fast", "default": 10, "min": 2, "max": 40, "step": 2},
                   {"param": "slow", "default": 30, "min": 10, "max": 120, "step": 10}],
    "indicators": {"f": {"id": "sma", "params": {"period": "$fast"}},
                   "s": {"id": "sma", "params": {"period": "$slow"}}},
    "entries": {"long": {"crosses_above": ["f", "s"]}},
    "exits": {"long": {"crosses_below": ["f", "s"]}},
    "costs": {"commission_percent": 0.1},
}


class SmaCross(CodeStrategy):
    """Long from a fast SMA crossing above a slow one until it crosses back (pandas, independent of documents)."""

    parameters = (Parameter(param="fast", default=10, min=2, max=40), Parameter(param="slow", default=30, min=10,
                                                                                 max=120))

    def signals(self, bars: Bars) -> dict[str, Any]:
        close = bars.to_pandas().close
        fast, slow = close.rolling(self.fast).mean(), close.rolling(self.slow).mean()
        above = fast > slow
        was = above.shift(1, fill_value=False) & fast.shift(1).notna() & slow.shift(1).notna()
        below = fast < slow
        return {"entries": pd.Series(above & ~was & slow.notna(), index=close.index),
                "exits": pd.Series(below & (fast.shift(1) >= slow.shift(1)), index=close.index)}


@pytest.fixture
def strategy() -> Strategy:
    return parse(DOC)


@pytest.fixture
def bars() -> Bars:
    return random_bars(1500, timeframe="1h", seed=3)
