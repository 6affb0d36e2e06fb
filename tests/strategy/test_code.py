"""Code strategies: scikit-learn-style parameters, the same engine, sweeps as columns."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.data.sources.demo import demo_bars
from backgrid.errors import SpecError
from backgrid.strategy import run
from backgrid.strategy.code import CodeStrategy, Parameter
from backgrid.strategy.library import load_library


class SmaCross(CodeStrategy):
    """The sma-cross document, written in Python."""

    parameters = (Parameter(param="fast", default=10, min=5, max=50),
                  Parameter(param="slow", default=50, min=20, max=200))

    def signals(self, bars: Bars) -> dict[str, Any]:
        close = bars.to_pandas().close
        fast, slow = close.rolling(self.fast).mean(), close.rolling(self.slow).mean()
        return {"entries": (fast > slow) & (fast.shift() <= slow.shift()),
                "exits": (fast < slow) & (fast.shift() >= slow.shift())}


def test_constructor_only_stores_and_clones_vary() -> None:
    strategy = SmaCross(fast=7)
    assert strategy.get_params() == {"fast": 7, "slow": 50}
    assert strategy.set_params(slow=60).slow == 60
    assert repr(strategy) == "SmaCross(fast=7, slow=60)"
    SmaCross(fsat=3)  # stored, refused only when work starts
    with pytest.raises(SpecError, match="declares no parameter 'fsat'; did you mean 'fast'"):
        SmaCross(fsat=3).run(demo_bars("DEMO-SPY", "1d"))
    with pytest.raises(SpecError, match=r"fast: 500 is outside the declared range \[5, 50\]"):
        SmaCross(fast=500).run(demo_bars("DEMO-SPY", "1d"))


def test_equals_the_document_strategy() -> None:
    bars = demo_bars("DEMO-SPY", "1d")
    code = SmaCross().run(bars, costs={"commission": 0.0005})
    document = run(load_library("sma-cross"), bars)
    pd.testing.assert_frame_equal(code.trades, document.trades)
    pd.testing.assert_series_equal(code.stats, document.stats)


def test_sweep_runs_as_columns_and_equals_one_by_one() -> None:
    bars = demo_bars("DEMO-SPY", "1d")
    swept = SmaCross().run(bars, sweep={"fast": [5, 10], "slow": [30, 60]})
    assert swept.stats.shape[0] == 4
    for fast in (5, 10):
        for slow in (30, 60):
            one = SmaCross(fast=fast, slow=slow).run(bars)
            pd.testing.assert_series_equal(swept.stats.loc[(fast, slow)], one.stats.astype(float), check_names=False)


def test_signals_may_not_return_account_settings() -> None:
    class Bad(SmaCross):
        def signals(self, bars: Bars) -> dict[str, Any]:
            return {**super().signals(bars), "cash": 5}

    with pytest.raises(SpecError, match=r"Bad.signals: returned cash"):
        Bad().run(demo_bars("DEMO-SPY", "1d"))
