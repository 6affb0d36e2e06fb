"""Margin calls: with ``maintenance_margin`` = mm a position is liquidated inside the bar where the account's
equity falls to mm x its gross position value, tested like a stop at the price P* where that happens: a long
of u units on cash C < 0 at P* = -C / (u (1 - mm)), a short of u units at P* = C / (u (1 + mm)). The fill is
at P* (the open on a gap), reason ``margin_call``; against a stop-loss touched in the same bar the nearer
level fills. The account trades on afterwards. A portfolio is one account: a call closes every position.

Every scenario is worked out by hand in its comments.
"""

from __future__ import annotations

import numpy as np
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import EngineError, backtest
from tests.engine.scenario_kit import check_equity, check_trade, exact, make_bars, run

# 200 units bought at 100 with leverage 2: cash 10,000 - 20,000 = -10,000. With mm = 0.2 the call comes
# where -10,000 + 200 P = 0.2 x 200 P: P* = 10,000 / (200 x 0.8) = 62.5 (equity there 2,500 = 0.2 x 12,500).
OPENED = [(100, 100, 100, 100), (100, 101, 99, 100)]
LONG = {"size": 200, "size_type": "units", "leverage": 2.0, "maintenance_margin": 0.2}


def test_a_levered_long_is_called_at_its_margin_level():
    rows = [*OPENED,
            (90, 92, 60, 70),     # 2: the low 60 passes 62.5: sold 200 at 62.5, cash -10,000 + 12,500 = 2,500
            (70, 71, 69, 70)]
    r = run(rows, entries=[0], **LONG)
    check_trade(r, 0, side="long", entry_idx=1, exit_idx=2, exit_price=62.5, pnl=-7_500, exit_reason="margin_call")
    check_equity(r, [10_000, 10_000, 2_500, 2_500])
    assert r.orders[["bar", "side", "type"]].to_numpy().tolist() == [[1, "buy", "market"],
                                                                    [2, "sell", "margin_call"]]
    assert r.orders["order_price"].tolist()[1] == 62.5
    assert r.state["ruin_bar"].tolist() == [-1]


def test_after_a_call_the_next_entry_fills():
    rows = [*OPENED, (90, 92, 60, 70), (70, 71, 69, 70), (70, 75, 70, 75)]
    # called at bar 2 (cash 2,500); the entry signal at bar 2's close buys at bar 3's open: the size is the
    # percent of equity 1.0 x leverage 2 -> 2,500 x 2 / 70 = 71 whole units (4,970), cash 2,500 - 4,970 = -2,470
    r = run(rows, entries=[0, 2], size=2.0, size_type="equity", lot_size=1, leverage=2.0, maintenance_margin=0.2)
    check_trade(r, 0, entry_idx=1, exit_idx=2, size=200, exit_price=62.5, exit_reason="margin_call")
    check_trade(r, 1, entry_idx=3, size=71, entry_price=70, exit_reason="end")
    check_equity(r, [10_000, 10_000, 2_500, 2_500, 2_500 + 71 * 5])


def test_a_short_is_called_where_the_price_rises_to_its_level():
    # short 100 at 100 (leverage 1): cash 20,000. mm = 0.25: 20,000 - 100 P = 0.25 x 100 P at P* = 160
    rows = [*OPENED, (120, 170, 118, 150), (150, 151, 149, 150)]
    r = run(rows, short_entries=[0], size=100, size_type="units", maintenance_margin=0.25)
    check_trade(r, 0, side="short", exit_idx=2, exit_price=160, pnl=-6_000, exit_reason="margin_call")
    check_equity(r, [10_000, 10_000, 4_000, 4_000])  # 4,000 = 0.25 x 100 x 160


def test_a_gap_through_the_level_fills_at_the_open():
    rows = [*OPENED, (55, 60, 50, 58)]  # opens below 62.5: sold at 55, cash -10,000 + 11,000 = 1,000
    r = run(rows, entries=[0], **LONG)
    check_trade(r, 0, exit_idx=2, exit_price=55, pnl=-9_000, exit_reason="margin_call")
    check_equity(r, [10_000, 10_000, 1_000])


@pytest.mark.parametrize(("stop_loss", "price", "reason"), [
    (0.3, 70.0, "stop_loss"),     # the stop at 70 is nearer the open (90) than 62.5: it is touched first
    (0.4, 62.5, "margin_call"),   # the stop at 60 lies beyond the margin level
])
def test_the_nearer_of_margin_level_and_stop_loss_fills(stop_loss, price, reason):
    rows = [*OPENED, (90, 92, 55, 70)]  # the low 55 touches both levels
    r = run(rows, entries=[0], stop_loss=stop_loss, **LONG)
    check_trade(r, 0, exit_idx=2, exit_price=price, exit_reason=reason)


@pytest.mark.parametrize(("low", "options"), [
    (62.51, LONG),                                                            # above 62.5
    (20.0, {**LONG, "maintenance_margin": None}),                             # no margin calls
    (1.0, {"size": 100, "size_type": "units", "maintenance_margin": 0.5}),   # a long on its own cash has no level
])
def test_no_call_while_the_maintenance_margin_holds(low, options):
    r = run([*OPENED, (90, 92, low, 70)], entries=[0], **options)  # equity at the close 70 stays above 0
    check_trade(r, 0, exit_idx=2, exit_reason="end")


def _pair(a_rows, b_rows):
    return MultiBars([make_bars(a_rows, symbol="A"), make_bars(b_rows, symbol="B")])


@pytest.mark.parametrize(("rates", "level", "cash"), [
    # A: 50 units bought at 100 (cash 5,000), then B: 100 units at 100 with leverage 2 (budget 5,000 x 2):
    # cash -5,000. On day 2 A opens at 90, B at 80. Testing A, B at its open adds 100 x 80 x (1 - 0.2) = 6,400
    # beyond its own margin: -5,000 + 6,400 + 50 P = 0.2 x 50 P has no positive root, no level. Testing B,
    # A adds 50 x 90 x 0.8 = 3,600: -1,400 + 100 P = 0.2 x 100 P at P* = 17.5. B's low 10 reaches it: B is
    # sold at 17.5 and A at its open 90: cash -5,000 + 1,750 + 4,500 = 1,250 (= 0.2 x (4,500 + 1,750)).
    ((0.2, 0.2), 17.5, 1_250.0),
    # A's rate 0.1: it adds 4,050, P* = 950 / 80 = 11.875; cash -5,000 + 1,187.5 + 4,500 = 687.5
    ((0.1, 0.2), 11.875, 687.5),
])
def test_a_call_in_a_portfolio_closes_every_position(rates, level, cash):
    data = _pair([*OPENED, (90, 95, 85, 92), (92, 92, 92, 92)], [*OPENED, (80, 80, 10, 30), (30, 30, 30, 30)])
    entries = np.array([[True, True], [False, False], [False, False], [False, False]])
    r = backtest(data, entries=entries, size=[50, 100], size_type="units", leverage=2.0,
                 maintenance_margin=list(rates))
    t = r.trades
    assert t[["symbol", "exit_idx", "exit_price", "exit_reason"]].to_numpy().tolist() == [
        ["A", 2, 90.0, "margin_call"], ["B", 2, level, "margin_call"]]
    check_equity(r, [10_000, 10_000, cash, cash])
    assert r.ledger()["margin_used"].tolist() == [0.0, 7_500.0, 0.0, 0.0]


def test_the_ledger_shows_margin_used_and_free():
    rows = [*OPENED, (90, 92, 80, 80), (80, 81, 60, 70)]
    r = run(rows, entries=[0], **LONG)
    ledger = r.ledger()
    # bar 1: 200 x 100 = 20,000 gross over leverage 2: 10,000 used; equity 10,000: none free
    # bar 2: 200 x 80 = 16,000 -> 8,000 used; equity -10,000 + 16,000 = 6,000: -2,000 free (below the
    # initial margin, above the maintenance margin 0.2 x 16,000 = 3,200). Bar 3: called at 62.5, flat
    assert ledger["margin_used"].tolist() == [exact(v) for v in (0, 10_000, 8_000, 0)]
    assert ledger["margin_free"].tolist() == [exact(v) for v in (10_000, 0, -2_000, 2_500)]


@pytest.mark.parametrize(("options", "message"), [
    ({"maintenance_margin": 0.5, "leverage": 2.0}, "below the initial margin 1 / leverage = 0.5"),
    ({"maintenance_margin": 0.0}, r"maintenance_margin must be a number \(fraction\) with 0 < x < 1"),
    ({"maintenance_margin": 1.0, "leverage": 0.5, "size": 0.5},
     r"maintenance_margin must be a number \(fraction\) with 0 < x < 1"),
    ({"maintenance_margin": 0.1, "leverage": 0.0, "size": 1, "size_type": "units"},
     r"leverage must be a number \(multiple\) with 0 < x <= 1000, got 0.0"),
])
def test_maintenance_margin_is_validated(options, message):
    with pytest.raises(EngineError, match=message):
        run(OPENED, entries=[0], **options)
    with pytest.raises(EngineError, match=r"maintenance_margin has 3 values, but the run has 2 symbols \(one value"):
        backtest(_pair(OPENED, OPENED), maintenance_margin=[0.1, 0.2, 0.3])
