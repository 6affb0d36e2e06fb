"""Benchmarks: buy and hold after the warm-up against hand-computed equity, benchmark statistics against
empyrical and the registry, the SMA-cross baseline against a direct backtest."""

from __future__ import annotations

import empyrical as ep
import numpy as np
import pandas as pd
import pytest

import backgrid
from backgrid.analysis.benchmarks import benchmark_stats, buy_and_hold, sma_cross_baseline, warmup
from backgrid.data.bars import Bars, MultiBars
from backgrid.errors import DataError, EngineError, IndicatorError
from backgrid.indicators.compute import compute

DAY = 86_400 * 10**9
T0 = 1_704_067_200 * 10**9


def bars_of(symbol: str, opens: list[float], closes: list[float], *, first: int = 0) -> Bars:
    o, c = np.array(opens), np.array(closes)
    ts = T0 + (first + np.arange(o.size, dtype=np.int64)) * DAY
    return Bars(symbol, "1d", ts, o, np.maximum(o, c), np.minimum(o, c), c, np.ones(o.size), calendar="crypto")


@pytest.fixture(scope="module")
def spy() -> Bars:
    return backgrid.demo_bars("DEMO-SPY", "1d")


def test_warmup_is_the_bars_before_every_input_has_a_value(spy: Bars) -> None:
    assert warmup(np.array([np.nan, np.nan, 1.0, 2.0]), np.array([np.nan, 1.0, 1.0, 1.0])) == 2
    assert warmup(np.array([1.0, 2.0])) == 0
    assert warmup(np.array([np.nan, np.nan])) == 2
    assert warmup(compute("sma", spy, period=50)) == 49  # a p-bar SMA: p - 1 bars
    assert warmup(pd.DataFrame({"a": [np.nan, 1.0, 1.0], "b": [1.0, np.nan, 1.0]})) == 2
    with pytest.raises(DataError, match="one row per bar"):
        warmup(np.ones(3), np.ones(4))
    with pytest.raises(DataError, match="at least one"):
        warmup()


def test_buy_and_hold_buys_at_the_first_possible_fill() -> None:
    bars = bars_of("A", [10, 11, 12, 13, 14], [10.5, 11.5, 12.5, 13.5, 14.5])
    # warm-up 1: the first decision is bar 1's close; next open: bought at bar 2's open, 12
    equity = buy_and_hold(bars, warmup=1, cash=1200.0)
    np.testing.assert_allclose(equity.to_numpy(), [1200, 1200, 1250, 1350, 1450])
    assert equity.index.equals(bars.index)
    # same close: bought at bar 1's close, 11.5
    at_close = buy_and_hold(bars, warmup=1, fill="same_close", cash=1150.0)
    np.testing.assert_allclose(at_close.to_numpy(), [1150, 1150, 1250, 1350, 1450])
    with pytest.raises(DataError, match="no bar to buy at"):
        buy_and_hold(bars, warmup=4)
    with pytest.raises(DataError, match="fill"):
        buy_and_hold(bars, fill="open")  # type: ignore[arg-type]


def test_a_basket_splits_the_cash_equally_and_waits_for_a_late_symbol() -> None:
    a = bars_of("A", [10, 10, 20, 20], [10, 10, 20, 40])
    b = bars_of("B", [50, 100, 100], [50, 100, 25], first=1)  # no bar on day 0
    equity = buy_and_hold(MultiBars([a, b]), cash=1000.0)
    # bar 1's open: A at 10 (50 units of 500), B at 50 (10 units of 500)
    np.testing.assert_allclose(equity.to_numpy(), [1000, 500 + 500, 1000 + 1000, 2000 + 250])
    late = buy_and_hold([a, b], warmup=1, cash=1000.0)  # a list of Bars is a basket too; bar 2's open
    np.testing.assert_allclose(late.to_numpy(), [1000, 1000, 500 + 500, 1000 + 125])


def test_buy_and_hold_from_the_first_bar_is_the_results_own(spy: Bars) -> None:
    result = sma_cross_baseline(spy)
    equity = buy_and_hold(spy, fill="same_close")
    assert equity.iloc[-1] / 10_000 - 1 == pytest.approx(result.stats["buy_and_hold_return"], rel=1e-12)
    stats = benchmark_stats(result, equity)
    for key, metric in (("alpha", "alpha"), ("beta", "beta"), ("benchmark_return", "buy_and_hold_return"),
                        ("total_return", "total_return")):
        assert stats[key] == pytest.approx(result.stats[metric], rel=1e-9), key


def test_benchmark_stats_after_the_warm_up_match_empyrical(spy: Bars) -> None:
    result = sma_cross_baseline(spy, fast=10, slow=50)
    equity = buy_and_hold(spy, warmup=49)
    stats = benchmark_stats(result, equity)
    values = result.equity.to_numpy()
    r = np.diff(np.r_[10_000.0, values]) / np.r_[10_000.0, values[:-1]]
    b = equity.pct_change().fillna(0.0).to_numpy()
    alpha, beta = ep.alpha_beta(r[1:], b[1:], annualization=252)  # DEMO-SPY: a session market, 252 a year
    assert stats["alpha"] == pytest.approx(alpha, rel=1e-9)
    assert stats["beta"] == pytest.approx(beta, rel=1e-9)
    # the ratios against the benchmark: empyrical's, the information ratio annualised (empyrical's is per bar)
    assert stats["information_ratio"] == pytest.approx(ep.excess_sharpe(r[1:], b[1:]) * np.sqrt(252), rel=1e-9)
    assert stats["tracking_error"] == pytest.approx(np.std(r[1:] - b[1:], ddof=1) * np.sqrt(252), rel=1e-12)
    assert stats["up_capture"] == pytest.approx(ep.up_capture(r[1:], b[1:], period="daily"), rel=1e-9)
    assert stats["down_capture"] == pytest.approx(ep.down_capture(r[1:], b[1:], period="daily"), rel=1e-9)
    assert stats["benchmark_return"] == pytest.approx(spy.close[-1] / spy.open[50] - 1, rel=1e-12)
    # issue #327: the warm-up changes what the strategy is compared with
    assert stats["benchmark_return"] != pytest.approx(result.stats["buy_and_hold_return"], abs=0.01)


def test_a_benchmark_that_starts_later_compares_the_bars_it_covers(spy: Bars) -> None:
    result = sma_cross_baseline(spy)
    later = pd.Series(spy.close[500:], index=spy.index[500:])  # a stored series with half the history
    stats = benchmark_stats(result, later)
    values = result.equity.to_numpy()
    assert stats["total_return"] == pytest.approx(values[-1] / values[499] - 1, rel=1e-12)
    assert stats["benchmark_return"] == pytest.approx(spy.close[-1] / spy.close[500] - 1, rel=1e-12)
    with pytest.raises(DataError, match="fewer than two"):
        benchmark_stats(result, later.iloc[-1:])
    with pytest.raises(DataError, match="DatetimeIndex"):
        benchmark_stats(result, later.reset_index(drop=True))


def test_the_sma_cross_baseline_is_a_direct_backtest_of_the_cross(spy: Bars) -> None:
    baseline = sma_cross_baseline(spy, fast=5, slow=20, commission=0.001)
    fast = compute("sma", spy, period=5)["sma"]
    slow = compute("sma", spy, period=20)["sma"]
    direct = backgrid.backtest(spy, entries=fast > slow, exits=fast < slow, commission=0.001)
    assert baseline.records.size > 10
    np.testing.assert_array_equal(baseline.records, direct.records)
    pd.testing.assert_series_equal(baseline.stats, direct.stats)
    assert baseline.records["entry_idx"].min() >= 20  # no entry before the slow SMA's first value decides
    with pytest.raises(IndicatorError, match="fast < slow"):
        sma_cross_baseline(spy, fast=20, slow=20)
    with pytest.raises(EngineError, match="entries"):
        sma_cross_baseline(spy, entries=fast > slow)


def test_a_basket_from_the_first_bar_is_a_portfolios_own_buy_and_hold() -> None:
    group = MultiBars([backgrid.demo_bars("DEMO-BTC", "1d"), backgrid.demo_bars("DEMO-ETH", "1d")])
    _, closes = group.align()
    entries = np.zeros(closes.shape, dtype=np.bool_)
    exits = np.zeros(closes.shape, dtype=np.bool_)
    entries[5::40], exits[20::40] = True, True
    result = backgrid.backtest(group, entries=entries, exits=exits, size=0.5)
    stats = benchmark_stats(result, buy_and_hold(group, fill="same_close"))
    for key, metric in (("alpha", "alpha"), ("beta", "beta"), ("benchmark_return", "buy_and_hold_return")):
        assert stats[key] == pytest.approx(result.stats[metric], rel=1e-9), key
