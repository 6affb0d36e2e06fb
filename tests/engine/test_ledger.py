"""Per-bar ledger (cash, position value, equity, exposure, drawdown) and slippage in ticks."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backgrid.data.bars import Bars
from backgrid.engine import EngineError, backtest
from tests.engine.generated import random_market
from tests.engine.scenario_kit import make_bars, mask


def test_ledger_by_hand():
    # Bars (open, high, low, close): entry decided at bar 0, filled at bar 1's open 100; exit decided at bar 2,
    # filled at bar 3's open 120. Size: 50 units (units sizing); commission 0.1 % of value.
    bars = make_bars([(100, 100, 100, 100), (100, 105, 95, 104), (104, 112, 103, 110), (120, 121, 119, 120)])
    r = backtest(bars, entries=mask(4, [0]), exits=mask(4, [2]), size=50, size_type="units",
                 costs={"commission": 0.001})
    ledger = r.ledger()
    # bar 1: paid 50 x 100 = 5,000 + 5 commission -> cash 4,995; position 50 x 104 = 5,200; equity 10,195
    # bar 2: cash 4,995; position 50 x 110 = 5,500; equity 10,495
    # bar 3: sold 50 x 120 = 6,000 - 6 commission -> cash 10,989; flat
    np.testing.assert_allclose(ledger["cash"], [10_000, 4_995, 4_995, 10_989])
    np.testing.assert_allclose(ledger["position_value"], [0, 5_200, 5_500, 0])
    np.testing.assert_allclose(ledger["equity"], [10_000, 10_195, 10_495, 10_989])
    np.testing.assert_allclose(ledger["exposure"], [0, 5_200 / 10_195, 5_500 / 10_495, 0])
    np.testing.assert_allclose(ledger["drawdown"], [0, 0, 0, 0])


def test_positions_by_hand():
    # long 50 units from bar 1's open to bar 3's open (held at the closes of bars 1 and 2), then short 50 units
    # from bar 4's open, still open at the end
    bars = make_bars([(100, 100, 100, 100), (100, 105, 95, 104), (104, 112, 103, 110), (120, 121, 119, 120),
                      (118, 119, 117, 118), (117, 118, 116, 117)])
    r = backtest(bars, entries=mask(6, [0]), exits=mask(6, [2]), short_entries=mask(6, [3]), size=50,
                 size_type="units")
    held = r.positions()
    assert list(held.columns) == ["units"]
    np.testing.assert_array_equal(held["units"], [0, 50, 50, 0, -50, -50])


def test_short_exposure_and_drawdown_from_starting_cash():
    # short 10 units at bar 1's open 100; the price rises: equity 10,000 - 10 x (close - 100)
    bars = make_bars([(100, 100, 100, 100), (100, 101, 99, 101), (101, 106, 100, 105), (105, 105, 100, 102)])
    ledger = backtest(bars, short_entries=mask(4, [0]), size=10, size_type="units").ledger()
    np.testing.assert_allclose(ledger["position_value"], [0, -1_010, -1_050, -1_020])
    np.testing.assert_allclose(ledger["cash"], [10_000, 11_000, 11_000, 11_000])  # the sale's proceeds
    np.testing.assert_allclose(ledger["exposure"], [0, 1_010 / 9_990, 1_050 / 9_950, 1_020 / 9_980])
    np.testing.assert_allclose(ledger["drawdown"], [0, -0.001, -0.005, -0.002])


def test_slippage_in_ticks_is_adverse_on_both_fills():
    # 2 ticks of 0.05: buy at 100 + 0.10, sell at 120 - 0.10; the trade's slippage cost is 2 x 50 x 0.10 = 10
    bars = make_bars([(100, 100, 100, 100), (100, 105, 95, 104), (104, 112, 103, 110), (120, 121, 119, 120)])
    r = backtest(bars, entries=mask(4, [0]), exits=mask(4, [2]), size=50, size_type="units",
                 costs={"slippage_ticks": 2, "tick_size": 0.05})
    trade = r.trades.iloc[0]
    assert trade["entry_price"] == pytest.approx(100.10)
    assert trade["exit_price"] == pytest.approx(119.90)
    assert trade["slippage"] == pytest.approx(10.0)
    assert trade["pnl"] == pytest.approx(50 * (119.90 - 100.10))
    with pytest.raises(EngineError, match=r"slippage_ticks \(1\) needs tick_size > 0"):
        backtest(bars, entries=mask(4, [0]), costs={"slippage_ticks": 1})


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(30, 120))
def test_portfolio_ledger_matches_its_fills(seed, n):
    rng = np.random.default_rng(seed)
    (a, sa), (b, sb) = random_market(rng, n, 0.1), random_market(rng, n, 0.1)
    b = Bars("Q", "1d", b.ts, b.open, b.high, b.low, b.close, b.volume, calendar="crypto")
    entries = pd.DataFrame({"P": sa["entries"], "Q": sb["entries"]}, index=a.index)
    exits = pd.DataFrame({"P": sa["exits"], "Q": sb["exits"]}, index=a.index)
    r = backtest([a, b], entries=entries, exits=exits, size=0.4, costs={"commission": 0.002})
    ledger = r.ledger()
    fills = r.orders[r.orders["status"] == "filled"]
    # cash moves only on bars with a fill. The ledger's cash is equity less position value, summed in another
    # order than the kernel's mark, so "does not move" is measured at 1e-12 of equity (rounding is ~1e-16)
    quiet = ~ledger.index.isin(fills["time"])
    moved = np.r_[False, np.abs(np.diff(ledger["cash"].to_numpy())) > 1e-12 * ledger["equity"].to_numpy()[1:]]
    assert not (moved & quiet).any()
    np.testing.assert_allclose(ledger["cash"] + ledger["position_value"], ledger["equity"], rtol=1e-12)
    assert (ledger["exposure"] >= 0).all()
    assert (ledger["drawdown"] <= 1e-12).all()
