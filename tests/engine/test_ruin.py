"""Ruin: at a close where the account's equity (positions marked at that close) is <= 0, every position is
closed at that close (exit reason ``ruin``), working and pending orders are cancelled and the account
stops. The equity curve is 0 from that close on; what the close-out left below zero is the deficit
(``state["deficit"]``), the bar is ``state["ruin_bar"]``. Trades keep their real PnL, so the starting cash
plus the trades' PnL is the deficit.

Hand-computed scenarios, then backtesting.py's ruin on its own GOOG data.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.engine import backtest
from backgrid.indicators.compute import compute
from tests.engine.scenario_kit import check_equity, check_trade, exact, run

DAY = 86_400 * 10**9
T0 = 1_704_067_200 * 10**9  # 2024-01-01

LEVERED_LONG = [
    (100, 100, 100, 100),  # 0: entry signal
    (100, 101, 99, 100),   # 1: bought 200 at 100 with leverage 2: cash -10,000, equity 10,000
    (60, 62, 44, 45),      # 2: gap down; equity -10,000 + 200 x 45 = -1,000 <= 0: sold at this close, deficit -1,000
    (46, 50, 45, 49),      # 3: the account has stopped: the entry signal of bar 2 is ignored
    (49, 52, 48, 51),
]


def test_a_levered_long_gapping_down_is_closed_out_at_the_close_and_the_account_stops():
    r = run(LEVERED_LONG, entries=[0, 2, 3], size=200, size_type="units", leverage=2.0)
    assert len(r.trades) == 1
    check_trade(r, 0, side="long", entry_idx=1, exit_idx=2, size=200, entry_price=100, exit_price=45,
                pnl=-11_000, exit_reason="ruin")
    check_equity(r, [10_000, 10_000, 0, 0, 0])
    assert r.state["ruin_bar"].tolist() == [2]
    assert r.state["deficit"][0] == exact(-1_000)
    assert r.state["cash"][0] == 0.0
    assert r.summary[0].tolist() == [0.0, 1.0]  # final equity, maximum drawdown
    assert r.orders[["bar", "side", "type", "status"]].to_numpy().tolist() == [[1, "buy", "market", "filled"],
                                                                          [2, "sell", "ruin", "filled"]]
    assert r.warnings == [("the account was ruined at the close of 2024-01-03 00:00:00+00:00 (bar 2): its equity "
                          "reached zero, every position was closed there and it stopped trading; the close-out "
                          "left a deficit of 1,000.00")]


@pytest.mark.parametrize(("close", "ruined"), [(50.0, True), (50.01, False)])
def test_equity_exactly_zero_is_ruin_with_no_deficit(close, ruined):
    rows = [*LEVERED_LONG[:2], (60, 62, 50, close), (51, 52, 50, 51)]  # -10,000 + 200 x 50 = 0
    r = run(rows, entries=[0], size=200, size_type="units", leverage=2.0)
    check_trade(r, 0, exit_idx=2 if ruined else 3, exit_reason="ruin" if ruined else "end")
    assert r.state["ruin_bar"].tolist() == [2 if ruined else -1]
    assert r.state["deficit"][0] == 0.0
    if ruined:
        check_equity(r, [10_000, 10_000, 0, 0])


def test_a_short_squeeze_leaves_a_deficit_and_the_trade_its_whole_loss():
    rows = [
        (100, 100, 100, 100),  # 0: short signal
        (100, 101, 99, 100),   # 1: sold 100 at 100: cash 20,000, equity 10,000
        (120, 150, 118, 150),  # 2: equity 20,000 - 15,000 = 5,000
        (210, 235, 205, 230),  # 3: equity 20,000 - 23,000 = -3,000: bought back at 230, deficit -3,000
        (200, 210, 190, 195),  # 4: the short signal of bar 3 is ignored
    ]
    r = run(rows, short_entries=[0, 3], size=100, size_type="units")
    assert len(r.trades) == 1
    check_trade(r, 0, side="short", entry_idx=1, exit_idx=3, exit_price=230, pnl=-13_000, exit_reason="ruin")
    check_equity(r, [10_000, 10_000, 5_000, 0, 0])
    assert r.state["deficit"][0] == exact(-3_000)
    assert 10_000 + r.records["pnl"].sum() == exact(r.state["deficit"][0])


def test_a_stop_gapped_through_can_ruin_a_flat_account():
    rows = [
        (100, 100, 100, 100),  # 0: short signal
        (100, 101, 99, 100),   # 1: sold 100 at 100 (stop-loss 10 %: 110); cash 20,000
        (250, 260, 240, 240),  # 2: gap over the stop: bought back at the open, 250; cash -5,000, no position
        (240, 245, 235, 240),  # 3: nothing trades any more
    ]
    r = run(rows, short_entries=[0, 2], size=100, size_type="units", stop_loss=0.1)
    assert len(r.trades) == 1
    check_trade(r, 0, exit_idx=2, exit_price=250, pnl=-15_000, exit_reason="stop_loss")
    check_equity(r, [10_000, 10_000, 0, 0])
    assert r.state["ruin_bar"].tolist() == [2]
    assert r.state["deficit"][0] == exact(-5_000)


def test_nothing_trades_after_ruin_and_other_columns_carry_on():
    n = len(LEVERED_LONG)
    entries = np.zeros((n, 2), dtype=bool)
    entries[[0, 3], :] = True  # column 1 buys 100 units only: it survives the gap
    shorts = np.zeros((n, 2), dtype=bool)
    shorts[2, :] = True  # a reversal signal at the ruin's close, and entries after it: all ignored by column 0
    bars = _bars(LEVERED_LONG)
    r = backtest(bars, entries=entries, short_entries=shorts, size=[200, 100], size_type="units", leverage=2.0)
    ruined = r.records[r.records["col"] == 0]
    assert ruined[["entry_idx", "exit_idx"]].tolist() == [(1, 2)]
    assert r.order_records[r.order_records["col"] == 0]["bar"].tolist() == [1, 2]
    assert r.equity[0].tolist()[2:] == [0.0, 0.0, 0.0]
    assert r.state["ruin_bar"].tolist() == [2, -1]
    survived = r.records[r.records["col"] == 1]  # reversals at bar 2's and bar 3's closes
    assert survived[["entry_idx", "exit_idx", "side"]].tolist() == [(1, 3, 1), (3, 4, -1), (4, 4, 1)]


def test_same_close_fills_see_the_ruin_first():
    r = run(LEVERED_LONG, entries=[0, 2, 3], size=200, size_type="units", leverage=2.0, fill="same_close")
    # bought at bar 0's close (100); ruined at bar 2's close before its entry signal is read
    assert r.records[["entry_idx", "exit_idx", "exit_reason"]].tolist() == [(0, 2, 8)]
    check_equity(r, [10_000, 10_000, 0, 0, 0])


def _bars(rows, symbol="TEST", days=None):
    prices = np.array(rows, dtype=np.float64)
    days = np.arange(len(rows)) if days is None else np.asarray(days)
    return Bars(symbol, "1d", T0 + days.astype(np.int64) * DAY, *prices.T, np.ones(len(rows)), calendar="crypto")


def _rows(orders, *columns):
    """The order table's ``columns`` as lists, a missing value as "-"."""
    return orders[list(columns)].astype(object).fillna("-").to_numpy().tolist()


def _flat(symbol, prices, days=None):
    return _bars([(p, p, p, p) for p in prices], symbol, days)


def test_a_portfolio_is_ruined_as_one_account():
    # A: 50 units long at 100; B: 40 units short at 100: cash 10,000 - 5,000 + 4,000 = 9,000.
    # Day 2: equity 9,000 + 50 x 40 - 40 x 300 = -1,000: both closed at their close, deficit -1,000.
    a, b = _flat("A", [100, 100, 40, 40]), _flat("B", [100, 100, 300, 300])
    index = a.index
    entries = pd.DataFrame({"A": [True, False, False, True], "B": False}, index=index)
    shorts = pd.DataFrame({"A": False, "B": [True, False, True, False]}, index=index)
    r = backtest([a, b], entries=entries, short_entries=shorts, size=[50, 40], size_type="units")
    t = r.trades
    assert t[["symbol", "side", "entry_idx", "exit_idx", "exit_price", "pnl", "exit_reason"]].to_numpy().tolist() == [
        ["A", "long", 1, 2, 40.0, -3_000.0, "ruin"], ["B", "short", 1, 2, 300.0, -8_000.0, "ruin"]]
    check_equity(r, [10_000, 10_000, 0, 0])
    assert r.state["ruin_bar"].tolist() == [2, 2]
    assert r.state["deficit"].tolist() == [exact(-1_000)] * 2
    assert r.ledger()["cash"].tolist()[2:] == [0.0, 0.0]


def test_ruin_cancels_a_portfolio_entry_waiting_for_its_asset_open():
    # C's entry (decided at day 1's close) waits: C has no bar on day 2, where A ruins the account.
    a = _flat("A", [100, 100, 45, 45])  # 200 units long at 100 with leverage 2: -10,000 + 9,000 < 0 on day 2
    c = _flat("C", [100, 100, 100], days=[0, 1, 3])
    index = a.index
    entries = pd.DataFrame({"A": [True, False, False, False], "C": [False, True, False, False]}, index=index)
    r = backtest([a, c], entries=entries, size=[200, 10], size_type="units", leverage=2.0)
    assert _rows(r.orders, "symbol", "bar", "side", "type", "status", "reason") == [
        ["A", 1, "buy", "market", "filled", "-"], ["A", 2, "sell", "ruin", "filled", "-"],
        ["C", 2, "buy", "market", "rejected", "cancelled"]]
    assert r.state["deficit"][0] == exact(-1_000)


def test_ruin_cancels_working_limit_orders():
    # A's limit buy at 100 fills on day 1 (200 units, leverage 2); B's limit buy at 50 (decided on day 1)
    # works from day 2 for 5 bars, untouched; A's gap ruins the account on day 2: B's order is cancelled.
    a, b = _flat("A", [100, 100, 45, 45, 45]), _flat("B", [100, 100, 100, 40, 40])
    index = a.index
    entries = pd.DataFrame({"A": [True, False, False, False, False], "B": [False, True, False, False, False]},
                           index=index)
    prices = pd.DataFrame({"A": 100.0, "B": 50.0}, index=index)
    r = backtest([a, b], entries=entries, entry_type="limit", entry_price=prices, entry_expiry=5, size=[200, 10],
                 size_type="units", leverage=2.0)
    assert _rows(r.orders, "symbol", "bar", "type", "status", "reason", "order_price") == [
        ["A", 1, "limit", "filled", "-", 100.0], ["A", 2, "ruin", "filled", "-", "-"],
        ["B", 2, "limit", "rejected", "cancelled", 50.0]]
    check_equity(r, [10_000, 10_000, 0, 0, 0])


def test_backtesting_py_ruin_on_goog_rsi_long_short():
    """backtesting.py's GOOG, RSI(14), all in, reversing: long when the RSI crosses below 30, short when it
    crosses above 70. The first signal shorts 85 shares at 116.95 (bar 21); GOOG climbs until the close
    of bar 188 (239.16), where the equity is 10,000 - 85 x (239.16 - 116.95) < 0: both engines close the
    short there and stop, the equity 0 from then on."""
    backtesting = pytest.importorskip("backtesting")
    from backtesting.test import GOOG

    frame = GOOG.rename(columns=str.lower)
    rsi = compute("rsi", frame, period=14)["rsi"].to_numpy()
    before = np.r_[np.nan, rsi[:-1]]
    long_in = (before >= 30) & (rsi < 30)
    short_in = (before <= 70) & (rsi > 70)
    longs, shorts = set(np.flatnonzero(long_in).tolist()), set(np.flatnonzero(short_in).tolist())
    fraction = 1 - sys.float_info.epsilon

    class RsiReversal(backtesting.Strategy):
        def init(self) -> None:
            pass

        def next(self) -> None:
            i = len(self.data) - 1
            if i in longs and not self.position.is_long:
                self.buy(size=fraction)
            elif i in shorts and not self.position.is_short:
                self.sell(size=fraction)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the peer's progress bar and its out-of-money stop
        stats = backtesting.Backtest(GOOG, RsiReversal, cash=10_000, commission=0, exclusive_orders=True,
                                     finalize_trades=False).run()
    peer = stats["_trades"]
    ours = backtest(frame, entries=long_in, short_entries=short_in, size=fraction, lot_size=1, cash=10_000)
    t = ours.records
    assert len(peer) == t.size == 1
    assert t["entry_idx"].tolist() == peer["EntryBar"].tolist() == [21]
    assert t["exit_idx"].tolist() == peer["ExitBar"].tolist() == [188]
    assert (t["side"] * t["size"]).tolist() == peer["Size"].tolist() == [-85]
    assert t["entry_price"].tolist() == peer["EntryPrice"].tolist()
    assert t["exit_price"].tolist() == peer["ExitPrice"].tolist()
    assert t["pnl"].tolist() == [exact(v) for v in peer["PnL"]]
    assert ours.summary[0, 0] == stats["Equity Final [$]"] == 0.0
    np.testing.assert_allclose(ours.equity.to_numpy(), stats["_equity_curve"]["Equity"].to_numpy(), rtol=1e-12)
    assert ours.state["ruin_bar"].tolist() == [188]
    assert ours.state["deficit"][0] == exact(10_000 + peer["PnL"].sum())
