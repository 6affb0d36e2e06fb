"""``compare``: each column is that result's own statistics, counts kept as ints, a sweep's sets named."""

from __future__ import annotations

import numpy as np
import pytest

import backgrid
from backgrid.analysis import compare
from backgrid.errors import AnalysisError


def test_columns_are_each_results_stats():
    bars = backgrid.demo_bars("DEMO-SPY", "1d")
    i = np.arange(len(bars))
    one = backgrid.backtest(bars, entries=i % 20 == 0, exits=i % 20 == 10)
    sweep = backgrid.backtest(bars, entries=i % 30 == 0, exits=i % 30 == 10, stop_loss=[0.02, 0.05])
    table = compare({"plain": one, "stops": sweep})
    assert list(table.columns) == ["plain", "stops: column=0", "stops: column=1"]  # a backtest numbers its columns
    assert list(table.index) == list(one.stats.index)
    for name, value in one.stats.items():
        assert table.loc[name, "plain"] == value or (np.isnan(value) and np.isnan(table.loc[name, "plain"])), name
    assert type(table.loc["trades", "plain"]) is int
    alone = backgrid.backtest(bars, entries=i % 30 == 0, exits=i % 30 == 10, stop_loss=0.05)
    assert table.loc["sharpe_ratio", "stops: column=1"] == alone.stats["sharpe_ratio"]
    picked = compare([one, alone], metrics=["total_return", "trades"])
    assert list(picked.index) == ["total_return", "trades"]
    assert list(picked.columns) == [0, 1]


def test_bad_input_is_named():
    with pytest.raises(AnalysisError, match="at least one"):
        compare([])
    with pytest.raises(AnalysisError, match=r"results\['x'\]: expected a backgrid Result, got int"):
        compare({"x": 3})


def test_a_result_gives_its_insights_and_regimes():
    from backgrid.analysis import insights, regime_stats, trend_regime

    bars = backgrid.demo_bars("DEMO-SPY", "1d")
    i = np.arange(len(bars))
    run = backgrid.backtest(bars, entries=i % 20 == 0, exits=i % 20 == 10)
    assert run.insights(plain=True) == insights(run, plain=True)
    table = run.regimes(bars, adx_period=10)
    expected = regime_stats(run, trend_regime(bars, adx_period=10))
    assert table.equals(expected)
    with pytest.raises(AnalysisError, match="method: expected one of trend, volatility, hmm, events"):
        run.regimes(bars, method="moon")
