"""Golden peer case: backtesting.py's SmaCross(10, 30) on its bundled GOOG daily data.

Published figures (backtesting.py 0.6, ``Backtest(GOOG, SmaCross, cash=10_000, commission=0,
exclusive_orders=True, finalize_trades=True)``): 66 trades, final equity 51,422.99, Sharpe 0.58062.

Mapping of semantics, peer -> backgrid:
- ``crossover(sma1, sma2)`` at a close -> ``entries`` True on that bar; ``crossover(sma2, sma1)`` ->
  ``short_entries``. ``position.close(); buy()`` with ``exclusive_orders`` -> backgrid's reversal on an
  opposite entry. Orders fill at the next bar's open in both.
- ``buy()`` sizes at ``1 - sys.float_info.epsilon`` of available margin (backtesting.py 0.6's default) in
  whole shares, commission included -> ``size=1 - sys.float_info.epsilon, size_type="equity", lot_size=1``.
- SMA is backtesting.test.SMA (pandas rolling mean) -> backgrid's ``sma`` indicator (TA-Lib SMA).
- ``finalize_trades=True`` settles the trade still open at the end at the LAST BAR'S OPEN (the peer
  processes its closing order at the open of the bar it is on); backgrid marks an open trade at the last
  close and flags it. The equivalent in backgrid is an exit decided at the penultimate close, which fills
  at the last open: that is what this test does.
- Sharpe: backtesting.py reports annualised geometric return over compounded annual volatility of daily
  returns (252 days for weekday-only data), not empyrical's mean/std. backgrid's ``sharpe_ratio`` is
  empyrical's; the peer's figure is ``annual_return / annual_volatility_compounded`` of the same returns.
"""

import sys

import numpy as np
import pytest
from backtesting.test import GOOG

from backgrid import indicators
from backgrid.data.bars import Bars
from backgrid.engine import backtest
from backgrid.metrics import returns as rt

FULL = 1 - sys.float_info.epsilon  # backtesting.py's default order size: all of the available margin


@pytest.fixture(scope="module")
def result():
    bars = Bars.from_pandas(GOOG.rename(columns=str.lower), symbol="GOOG", timeframe="1d", calendar="us-equity")
    fast = indicators.compute("sma", bars, period=10)["sma"].to_numpy()
    slow = indicators.compute("sma", bars, period=30)["sma"].to_numpy()
    above = fast > slow
    below = fast < slow
    cross_up = above & np.r_[False, (fast <= slow)[:-1]]
    cross_down = below & np.r_[False, (fast >= slow)[:-1]]
    settle = np.zeros(len(bars), dtype=bool)
    settle[-2] = True  # the peer's finalize_trades: settle at the last bar's open
    return backtest(bars, entries=cross_up, short_entries=cross_down, exits=settle, short_exits=settle,
                    size=FULL, size_type="equity", lot_size=1, cash=10_000)


def test_same_trades_and_final_equity(result):
    trades = result.trades
    assert len(trades) == 66
    assert result.stats["final_equity"] == pytest.approx(51_422.99, rel=1e-6)
    first = trades.iloc[0]
    assert (first["side"], first["size"], first["entry_idx"], first["exit_idx"]) == ("short", 55, 70, 86)
    assert first["entry_price"] == 180.36
    assert first["exit_price"] == 186.31
    last = trades.iloc[-1]
    assert (last["side"], last["size"], last["entry_price"], last["exit_price"]) == ("long", 64, 695.0, 797.8)


def test_sharpe_as_the_peer_defines_it(result):
    returns = result.equity.pct_change().dropna().to_numpy()
    sharpe = rt.annual_return(returns, 252) / rt.annual_volatility_compounded(returns, 252)
    assert sharpe == pytest.approx(0.5806232244485349, rel=1e-6)


def test_every_trade_equals_the_peer_run():
    """The full trade list against backtesting.py itself, run here on the same data."""
    import warnings

    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):
        def init(self):
            self.sma1 = self.I(SMA, self.data.Close, 10)
            self.sma2 = self.I(SMA, self.data.Close, 30)

        def next(self):
            if crossover(self.sma1, self.sma2):
                self.position.close()
                self.buy()
            elif crossover(self.sma2, self.sma1):
                self.position.close()
                self.sell()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peer warns about progress bars and open trades
        peer = Backtest(GOOG, SmaCross, cash=10_000, commission=0, exclusive_orders=True,
                        finalize_trades=True).run()
    theirs = peer._trades
    bars = Bars.from_pandas(GOOG.rename(columns=str.lower), symbol="GOOG", timeframe="1d", calendar="us-equity")
    close = bars.to_pandas()["close"]
    fast, slow = close.rolling(10).mean().to_numpy(), close.rolling(30).mean().to_numpy()
    cross_up = (fast > slow) & np.r_[False, (fast <= slow)[:-1]]
    cross_down = (fast < slow) & np.r_[False, (fast >= slow)[:-1]]
    settle = np.zeros(len(bars), dtype=bool)
    settle[-2] = True
    ours = backtest(bars, entries=cross_up, short_entries=cross_down, exits=settle, short_exits=settle,
                    size=FULL, lot_size=1).trades
    np.testing.assert_array_equal(ours["entry_idx"], theirs["EntryBar"])
    np.testing.assert_array_equal(ours["exit_idx"], theirs["ExitBar"])
    np.testing.assert_array_equal(ours["size"] * np.where(ours["side"] == "long", 1, -1), theirs["Size"])
    np.testing.assert_allclose(ours["entry_price"], theirs["EntryPrice"], rtol=1e-12)
    np.testing.assert_allclose(ours["exit_price"], theirs["ExitPrice"], rtol=1e-12)
    np.testing.assert_allclose(ours["pnl"], theirs["PnL"], rtol=1e-9)
    assert peer["Equity Final [$]"] == pytest.approx(51_422.99, abs=0.005)
