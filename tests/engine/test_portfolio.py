"""Several symbols sharing one cash account."""

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars, MultiBars
from backgrid.engine import EngineError, backtest
from backgrid.testing import random_bars

DAY = 86_400 * 10**9
T0 = 1_704_067_200 * 10**9  # 2024-01-01


def flat_bars(symbol, prices, start=0):
    """Bars whose open = high = low = close = the given price (so fills are easy to compute by hand)."""
    p = np.asarray(prices, dtype=float)
    ts = T0 + (start + np.arange(p.size, dtype=np.int64)) * DAY
    return Bars(symbol, "1d", ts, p, p, p, p, np.ones(p.size), calendar="crypto")


def test_one_symbol_portfolio_equals_the_single_account_run():
    bars = random_bars(400, timeframe="1d", seed=3, symbol="A")
    close = bars.to_pandas().close
    fast, slow = close.rolling(5).mean(), close.rolling(20).mean()
    single = backtest(bars, entries=fast > slow, exits=fast < slow, stop_loss=0.03, costs={"commission": 0.001})
    multi = backtest(MultiBars([bars]), entries=(fast > slow).to_frame("A"), exits=(fast < slow).to_frame("A"),
                     stop_loss=0.03, costs={"commission": 0.001})
    np.testing.assert_array_equal(multi.equity.to_numpy(), single.equity.to_numpy())
    np.testing.assert_array_equal(multi.records["pnl"], single.records["pnl"])


def test_symbols_compete_for_cash_in_symbol_order():
    # A and B both signal on day 0 and fill at day 1's open (price 100 each). Each asks for 60 % of equity
    # (10,000): A gets 60 units (6,000), leaving 4,000 cash: B's 60 units (6,000) cannot be covered -> refused.
    a, b = flat_bars("A", [100, 100, 110, 110]), flat_bars("B", [100, 100, 90, 90])
    entries = pd.DataFrame({"A": [True, False, False, False], "B": [True, False, False, False]}, index=a.index)
    result = backtest([a, b], entries=entries, size=0.6)
    trades = result.trades
    assert trades["symbol"].tolist() == ["A"]
    assert trades["size"].tolist() == [60.0]
    assert result.state["rejected"].tolist() == [0, 1]
    # equity: 4,000 cash + 60 x 110 = 10,600 on days 2 and 3
    assert result.equity.iloc[-1] == pytest.approx(10_600.0)


def test_exits_free_cash_before_entries_on_the_same_open():
    # A is held from day 1; on day 2's close A exits and B enters: at day 3's open A's sale funds B.
    a, b = flat_bars("A", [100, 100, 100, 120, 120]), flat_bars("B", [50, 50, 50, 50, 60])
    idx = a.index
    entries = pd.DataFrame({"A": [True, False, False, False, False], "B": [False, False, True, False, False]},
                           index=idx)
    exits = pd.DataFrame({"A": [False, False, True, False, False], "B": [False] * 5}, index=idx)
    result = backtest({"A": a, "B": b}, entries=entries, exits=exits, size=1.0)
    trades = result.trades.sort_values("entry_idx")
    # A: 100 units at 100, sold at 120 (day 3 open) -> cash 12,000; B: 240 units at 50 -> 12,000; day 4: 240 x 60
    assert trades["size"].tolist() == [100.0, 240.0]
    assert result.equity.iloc[-1] == pytest.approx(14_400.0)


def test_max_positions_caps_open_positions():
    symbols = [flat_bars(s, [10, 10, 10]) for s in "ABC"]
    entries = pd.DataFrame({s: [True, False, False] for s in "ABC"}, index=symbols[0].index)
    result = backtest(symbols, entries=entries, size=0.1, max_positions=2)
    assert sorted(result.trades["symbol"]) == ["A", "B"]
    assert result.state["rejected"].tolist() == [0, 0, 1]
    with pytest.raises(EngineError, match=r"max_positions must be a whole number \(count\) with 1 <= x"):
        backtest(symbols, entries=entries, max_positions=0)


def test_calendars_are_united_and_absent_bars_neither_trade_nor_move():
    # B exists from day 2 only. Its signal on day 0 falls where it has no bar: no decision is taken there.
    # Its signal on day 2 (its first bar) fills at day 3's open: 50 % of 10,000 at 20 = 250 units.
    a = flat_bars("A", [100, 100, 100, 100, 100])
    b = flat_bars("B", [20, 20, 30], start=2)
    entries = pd.DataFrame({"A": [False] * 5, "B": [True, False, True, False, False]}, index=a.index)
    result = backtest([a, b], entries=entries, size=0.5)
    assert len(result.trades) == 1
    trade = result.trades.iloc[0]
    assert (trade["symbol"], trade["entry_idx"], trade["size"]) == ("B", 3, 250.0)
    assert result.equity.tolist() == [10_000.0, 10_000.0, 10_000.0, 10_000.0, 12_500.0]


def test_signal_columns_must_name_every_symbol():
    a, b = flat_bars("A", [1, 1]), flat_bars("B", [1, 1])
    with pytest.raises(EngineError, match="no column for symbol"):
        backtest([a, b], entries=pd.DataFrame({"A": [True, False]}, index=a.index))


def test_periods_per_year_override_reaches_the_stats():
    bars = random_bars(300, timeframe="1d", seed=4)
    close = bars.to_pandas().close
    entries = close > close.rolling(20).mean()
    default = backtest(bars, entries=entries, exits=~entries).stats
    weekly = backtest(bars, entries=entries, exits=~entries, periods_per_year=52).stats
    # the same returns, annualised over 52 instead of 365 periods: Sharpe scales by sqrt(52 / 365)
    assert weekly["sharpe_ratio"] == pytest.approx(default["sharpe_ratio"] * np.sqrt(52 / 365), rel=1e-12)


@pytest.mark.parametrize("shape", [(1, 2), (65, 3), (130, 129), (7, 64)])
def test_column_major_copy_equals_numpy(shape):
    from backgrid.engine.inputs import _column_major

    values = np.random.default_rng(sum(shape)).random(shape) < 0.3
    out = _column_major(values)
    assert out.flags.f_contiguous
    np.testing.assert_array_equal(out, values)
