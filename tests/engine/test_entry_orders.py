"""Hand-computed scenarios: limit and stop entry orders (``entry_type``, ``entry_price``, ``entry_expiry``).

Conventions of ``test_scenarios.py`` (no costs, daily bars from Monday 2024-01-01, rows
``(open, high, low, close)``), except that scenarios start with 20,000 of cash and size 100 units
(``size=100``, ``size_type="units"``) unless they say otherwise, so that fills at a limit price keep round
numbers and every entry is covered. ``px(n, {bar: price})`` gives
the entry price of the signal at each bar (NaN elsewhere).

The rules under test (the ``simulate_nb`` contract):
- the order is priced at the signal bar's close and works from the next bar for ``entry_expiry`` bars;
- a buy limit fills once the low reaches it, at min(open, limit); a buy stop once the high reaches it, at
  max(open, stop); sells mirrored; an order left unfilled expires after its last bar;
- an exit signal of its side or a new entry signal cancels a working order (a same-side one replaces it);
- the stops of a position opened inside a bar see only the part of the bar after the fill: the adverse
  extreme is assumed to follow the fill, the favourable one only for a stop entry (the price passed the
  stop on its way there; for a limit entry only the close is known to follow), and when both levels are
  touched the stop-loss fills whatever ``stop_policy``. An order filled at the open (the bar opened
  beyond its price) sees the whole bar, like a market entry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import EngineError, Result, backtest

from .scenario_kit import NAN, check_equity, check_trade, exact, make_bars, mask
from .scenario_kit import run as run_kit

FLAT = (100.0, 100.0, 100.0, 100.0)
QUIET = (100.0, 101.0, 99.0, 100.0)


def px(n: int, prices: dict[int, float]) -> np.ndarray:
    """Entry prices: ``prices[bar]`` at the given bars, NaN elsewhere."""
    out = np.full(n, np.nan)
    for bar, price in prices.items():
        out[bar] = price
    return out


def run(rows: list[Any], **options: Any) -> Result:
    """``scenario_kit.run`` with 20,000 of cash and 100 units per entry unless the test says otherwise."""
    options.setdefault("cash", 20_000)
    options.setdefault("size", 100)
    options.setdefault("size_type", "units")
    return run_kit(rows, **options)


def orders(result: Result, *columns: str) -> list[list[Any]]:
    """The order records as lists of ``columns`` (default: bar, side, type, status, reason, price)."""
    picked = list(columns or ("bar", "side", "type", "status", "reason", "price"))
    return result.orders[picked].astype(object).where(result.orders[picked].notna(), None).to_numpy().tolist()


# --- fills ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("entry_type", "side", "price", "bar1", "fill"), [
    # buy limit 95: the low reaches it -> at the limit; the bar opens below it -> at the (better) open
    ("limit", "long", 95, (100, 101, 94, 96), 95),
    ("limit", "long", 95, (93, 97, 92, 96), 93),
    # buy stop 105: the high reaches it -> at the stop; the bar opens above it -> at the (worse) open
    ("stop", "long", 105, (100, 106, 99, 104), 105),
    ("stop", "long", 105, (107, 108, 104, 106), 107),
    # sell limit 105: the high reaches it -> at the limit; opens above -> at the open
    ("limit", "short", 105, (100, 106, 99, 104), 105),
    ("limit", "short", 105, (107, 108, 104, 106), 107),
    # sell stop 95: the low reaches it -> at the stop; opens below -> at the open
    ("stop", "short", 95, (100, 101, 94, 96), 95),
    ("stop", "short", 95, (93, 97, 92, 96), 93),
], ids=["buy-limit", "buy-limit-gap", "buy-stop", "buy-stop-gap", "sell-limit", "sell-limit-gap", "sell-stop",
        "sell-stop-gap"])
def test_limit_and_stop_orders_fill_at_their_price_or_a_gapped_open(entry_type, side, price, bar1, fill):
    rows = [FLAT,                    # 0: signal at the close: the order is priced here
            bar1,                    # 1: the order works in this bar
            (96, 97, 95, 96)]
    signal = {"entries": [0]} if side == "long" else {"short_entries": [0]}
    r = run(rows, entry_type=entry_type, entry_price=px(3, {0: price}), **signal)
    check_trade(r, 0, side=side, entry_idx=1, entry_price=fill, size=100, open=True)
    buy_or_sell = "buy" if side == "long" else "sell"
    assert orders(r, "bar", "side", "type", "status", "price", "order_price") == [
        [1, buy_or_sell, entry_type, "filled", fill, price]]
    direction = 1 if side == "long" else -1
    check_equity(r, [20_000, 20_000 + direction * (bar1[3] - fill) * 100, 20_000 + direction * (96 - fill) * 100])


@pytest.mark.parametrize(("expiry", "filled"), [(2, False), (3, True)])
def test_an_order_works_for_entry_expiry_bars(expiry, filled):
    rows = [FLAT,                    # 0: buy limit 95
            (100, 101, 96, 99),      # 1: low 96 > 95: not filled (one bar of its expiry used)
            (99, 100, 95.5, 99),     # 2: not filled; with entry_expiry=2 it expires here
            (99, 99, 90, 92),        # 3: reaches 95: filled only if still working
            (92, 93, 91, 92)]
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(5, {0: 95}), entry_expiry=expiry)
    if filled:
        check_trade(r, 0, entry_idx=3, entry_price=95)
        assert orders(r) == [[3, "buy", "limit", "filled", None, 95.0]]
    else:
        assert r.trades.empty
        assert orders(r, "bar", "type", "status", "reason", "order_price") == [
            [2, "limit", "rejected", "expired", 95.0]]


def test_the_default_expiry_is_one_bar():
    rows = [FLAT, (100, 101, 96, 99), (99, 99, 90, 92)]   # bar 1 misses 95; bar 2 would reach it
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(3, {0: 95}))
    assert r.trades.empty
    assert orders(r, "bar", "reason") == [[1, "expired"]]


def test_a_missing_bar_does_not_count_towards_the_expiry():
    rows = [FLAT, NAN, (100, 101, 94, 96)]   # bar 1: no bar; bar 2 is the order's first (and only) bar
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(3, {0: 95}))
    check_trade(r, 0, entry_idx=2, entry_price=95)


def test_percent_sizing_is_worked_out_at_the_limit_price():
    rows = [FLAT, (100, 100, 79, 85), (85, 86, 84, 85)]
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(3, {0: 80}), size=1.0, size_type="equity",
            cash=10_000)
    check_trade(r, 0, entry_price=80, size=125)              # 10,000 / 80
    check_equity(r, [10_000, 10_625, 10_625])               # 125 x 85


def test_an_order_cash_cannot_cover_at_its_fill_is_refused_and_dropped():
    rows = [FLAT,
            (100, 101, 94, 96),      # 1: reaches 95: 300 u x 95 = 28,500 > 20,000 -> refused
            (96, 97, 90, 92)]        # 2: reaches 95 again: the order is gone (entry_expiry 2 notwithstanding)
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(3, {0: 95}), entry_expiry=2, size=300)
    assert r.trades.empty
    assert orders(r, "bar", "status", "reason", "requested", "order_price") == [
        [1, "rejected", "no_cash", 300.0, 95.0]]
    assert r.state["rejected"][0] == 1


def test_a_short_entered_inside_the_bar_accrues_borrow_from_mid_bar():
    # rate 0.36525 a year = 0.1 % a day
    rows = [FLAT,                    # 0: short signal, sell limit 105
            (100, 106, 99, 104),     # 1: sell 100 u @ 105 at mid-bar; half a day at the close 104: 5.2
            (104, 105, 103, 104)]    # 2: a whole day at 104: 10.4
    r = run(rows, short_entries=[0], entry_type="limit", entry_price=px(3, {0: 105}),
            costs={"borrow_rate": 0.36525})
    check_trade(r, 0, side="short", entry_idx=1, entry_price=105, borrow=15.6, open=True)
    # cash 20,000 + 10,500 - 5.2 = 30,494.8; eq 30,494.8 - 10,400; then 10.4 more
    check_equity(r, [20_000, 20_094.8, 20_084.4])


def test_max_bars_counts_from_the_fill_bar():
    rows = [FLAT, (100, 101, 94, 96),   # 1: filled @ 95 (held 1 bar at this close)
            (96, 98, 95, 97),           # 2: held 2 bars = max_bars -> exit at the next open
            (98, 99, 97, 98), FLAT]
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(5, {0: 95}), max_bars=2)
    check_trade(r, 0, entry_idx=1, exit_idx=3, entry_price=95, exit_price=98, exit_reason="time", pnl=300)


def test_orders_still_working_when_the_data_ends_are_not_recorded():
    r = run([FLAT, QUIET, QUIET], entries=[2], entry_type="limit", entry_price=px(3, {2: 95}))
    assert r.trades.empty
    assert r.orders.empty


# --- cancelling and replacing ------------------------------------------------------------------------------------


def test_an_exit_signal_of_its_side_cancels_a_working_order():
    rows = [FLAT,                    # 0: buy limit 90, working 3 bars
            (100, 101, 95, 99),      # 1: not reached; exit signal at the close -> cancelled
            (99, 100, 89, 92),       # 2: would have reached 90
            FLAT]
    r = run(rows, entries=[0], exits=[1], entry_type="limit", entry_price=px(4, {0: 90}), entry_expiry=3)
    assert r.trades.empty
    assert orders(r, "bar", "side", "status", "reason", "order_price") == [[1, "buy", "rejected", "cancelled", 90.0]]


def test_an_exit_signal_of_the_other_side_leaves_it_working():
    rows = [FLAT, (100, 101, 95, 99), (99, 100, 89, 92), FLAT]
    r = run(rows, entries=[0], short_exits=[1], entry_type="limit", entry_price=px(4, {0: 90}), entry_expiry=3)
    check_trade(r, 0, entry_idx=2, entry_price=90)


def test_an_opposite_entry_cancels_the_order_and_places_its_own():
    rows = [FLAT,                    # 0: buy limit 90 (3 bars)
            (100, 101, 95, 99),      # 1: not reached; short signal, sell limit 110 -> buy cancelled
            (100, 111, 89, 100),     # 2: sell limit reached (high 111) -> short 100 u @ 110; 89 would have bought
            FLAT]
    r = run(rows, entries=[0], short_entries=[1], entry_type="limit", entry_price=px(4, {0: 90, 1: 110}),
            entry_expiry=3)
    check_trade(r, 0, side="short", entry_idx=2, entry_price=110)
    assert orders(r, "bar", "side", "status", "reason", "order_price") == [
        [1, "buy", "rejected", "cancelled", 90.0], [2, "sell", "filled", None, 110.0]]


def test_a_new_entry_signal_of_the_same_side_replaces_the_order():
    rows = [FLAT,                    # 0: buy limit 90 (3 bars)
            (100, 101, 95, 99),      # 1: not reached; new signal with limit 95 -> the 90 order is replaced
            (100, 100, 94, 96),      # 2: 95 reached (90 would not have been)
            FLAT]
    r = run(rows, entries=[0, 1], entry_type="limit", entry_price=px(4, {0: 90, 1: 95}), entry_expiry=3)
    check_trade(r, 0, entry_idx=2, entry_price=95)
    assert orders(r, "bar", "status", "reason", "order_price") == [
        [1, "rejected", "cancelled", 90.0], [2, "filled", None, 95.0]]


def test_an_entry_signal_without_a_price_is_refused():
    rows = [FLAT, (100, 101, 94, 96), (96, 97, 90, 91), (91, 92, 90, 91)]
    r = run(rows, entries=[0, 1], entry_type="limit", entry_price=px(4, {1: 92}))   # NaN at bar 0
    assert orders(r, "bar", "status", "reason", "order_price") == [
        [0, "rejected", "no_price", None], [2, "filled", None, 92.0]]
    check_trade(r, 0, entry_idx=2, entry_price=92)


def test_a_reversal_exits_at_the_open_and_works_the_new_entry_from_that_bar():
    rows = [FLAT,                    # 0: buy limit 100
            (100, 101, 99, 100),     # 1: opens at the limit -> long 100 u @ 100
            (100, 103, 99, 102),     # 2: short signal, sell limit 105
            (102, 106, 101, 104),    # 3: the long is sold at the open (102), then the sell limit fills @ 105
            (104, 105, 103, 104)]
    r = run(rows, entries=[0], short_entries=[2], entry_type="limit", entry_price=px(5, {0: 100, 2: 105}))
    check_trade(r, 0, side="long", entry_idx=1, exit_idx=3, exit_price=102, exit_reason="signal", pnl=200)
    check_trade(r, 1, side="short", entry_idx=3, entry_price=105, open=True)
    assert orders(r, "bar", "side", "type", "price") == [
        [1, "buy", "limit", 100.0], [3, "sell", "signal_exit", 102.0], [3, "sell", "limit", 105.0]]


# --- stops in the bar of the fill: only the part of the bar after the fill ---------------------------------------


def test_buy_limit_stop_loss_in_the_fill_bar():
    # the low after a limit fill certainly comes after it: the price passed the limit on its way down
    rows = [FLAT,                    # 0: buy limit 95, stop 3 below the fill
            (100, 101, 91, 93),      # 1: filled @ 95, stop 92; low 91 -> sold @ 92 in the same bar
            (93, 94, 92, 93)]
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(3, {0: 95}), stop_loss_distance=3.0)
    check_trade(r, 0, entry_idx=1, exit_idx=1, entry_price=95, exit_price=92, exit_reason="stop_loss", pnl=-300)


@pytest.mark.parametrize(("bar1", "exit_idx"), [
    ((100, 102, 94, 97), 2),   # the high 102 may have come before the dip to 95; the close 97 < 100: held
    ((100, 102, 94, 101), 1),  # the close 101 follows the fill: the price crossed 100 on its way -> exit @ 100
])
def test_buy_limit_take_profit_in_the_fill_bar_needs_the_close(bar1, exit_idx):
    rows = [FLAT,                    # 0: buy limit 95, take-profit 5 above the fill (100)
            bar1,                    # 1: filled @ 95
            (99, 101, 96, 100),      # 2: high 101 -> take-profit @ 100
            FLAT]
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(4, {0: 95}), take_profit_distance=5.0)
    check_trade(r, 0, entry_idx=1, exit_idx=exit_idx, exit_price=100, exit_reason="take_profit", pnl=500)


def test_buy_stop_take_profit_in_the_fill_bar():
    # the high after a buy stop fill comes after it: the price passed the stop on its way up
    rows = [FLAT,                    # 0: buy stop 105, take-profit 5 above the fill (110)
            (100, 111, 99, 108),     # 1: filled @ 105; high 111 -> sold @ 110 in the same bar
            (108, 109, 107, 108)]
    r = run(rows, entries=[0], entry_type="stop", entry_price=px(3, {0: 105}), take_profit_distance=5.0)
    check_trade(r, 0, entry_idx=1, exit_idx=1, entry_price=105, exit_price=110, exit_reason="take_profit", pnl=500)


def test_buy_stop_stop_loss_in_the_fill_bar_is_assumed_hit():
    # conservative: the low (100) may have come before the stop entry, but it is assumed to follow it
    rows = [FLAT,                    # 0: buy stop 105, stop-loss 4 below the fill (101)
            (102, 106, 100, 104),    # 1: filled @ 105; low 100 <= 101 -> sold @ 101
            (104, 105, 103, 104)]
    r = run(rows, entries=[0], entry_type="stop", entry_price=px(3, {0: 105}), stop_loss_distance=4.0)
    check_trade(r, 0, entry_idx=1, exit_idx=1, exit_price=101, exit_reason="stop_loss", pnl=-400)


@pytest.mark.parametrize("policy", ["stop_first", "ohlc_path"])
def test_both_levels_in_the_fill_bar_fill_the_stop_whatever_the_policy(policy):
    # a down bar: for a market entry at its open, ohlc_path would take the high (the take-profit) first
    rows = [FLAT,                    # 0: buy stop 105; stop 101, take 110
            (104, 111, 100, 102),    # 1: filled @ 105; both levels inside the rest of the bar -> stop @ 101
            (102, 103, 101, 102)]
    r = run(rows, entries=[0], entry_type="stop", entry_price=px(3, {0: 105}), stop_loss_distance=4.0,
            take_profit_distance=5.0, stop_policy=policy)
    check_trade(r, 0, exit_idx=1, exit_price=101, exit_reason="stop_loss")


@pytest.mark.parametrize(("policy", "exit_price", "reason"), [
    ("stop_first", 90, "stop_loss"),
    ("ohlc_path", 100, "take_profit"),   # down bar: open -> high -> low; the high comes first
])
def test_an_order_filled_at_the_open_sees_the_whole_bar(policy, exit_price, reason):
    rows = [FLAT,                    # 0: buy limit 95
            (94, 101, 89, 92),       # 1: opens below 95 -> filled @ 94; stop 90, take 100, both in the bar
            (92, 93, 91, 92)]
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(3, {0: 95}), stop_loss_distance=4.0,
            take_profit_distance=6.0, stop_policy=policy)
    check_trade(r, 0, entry_idx=1, exit_idx=1, entry_price=94, exit_price=exit_price, exit_reason=reason)


def test_the_trail_moves_with_the_part_of_the_fill_bar_after_the_fill():
    rows = [FLAT,                    # 0: buy limit 100, trailing stop 10 %
            (105, 110, 99, 104),     # 1: filled @ 100; level 90 safe; best -> max(100, close 104) = 104, not
                                     #    the high 110 (it may have come before the dip)
            (104, 104, 93, 95),      # 2: level 104 x 0.9 = 93.6; low 93 -> sold @ 93.6 (not 110 x 0.9 = 99)
            (95, 96, 94, 95)]
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(4, {0: 100}), trailing_stop=0.1)
    check_trade(r, 0, entry_idx=1, exit_idx=2, exit_price=93.6, exit_reason="trailing_stop",
                mfe=0.04,                # 104 / 100 - 1: the rest of bar 1 only
                mae=-0.064)              # the exit at 93.6


# --- portfolio ---------------------------------------------------------------------------------------------------


def test_limit_orders_in_a_shared_cash_portfolio_respect_max_positions():
    a = make_bars([FLAT, (100, 101, 94, 96), (96, 97, 95, 96)], symbol="A")
    b = make_bars([FLAT, (50, 51, 44, 46), (46, 47, 45, 46)], symbol="B")
    entries = pd.DataFrame({"A": mask(3, [0]), "B": mask(3, [0])}, index=a.index)
    prices = pd.DataFrame({"A": [95.0, np.nan, np.nan], "B": [45.0, np.nan, np.nan]}, index=a.index)
    r = backtest(MultiBars([a, b]), entries=entries, entry_type="limit", entry_price=prices, size=10,
                 size_type="units", max_positions=1)
    # bar 1: A's limit fills first (column order) @ 95; B's limit is reached too but one position is the cap
    assert r.trades[["symbol", "entry_idx", "entry_price"]].to_numpy().tolist() == [["A", 1, 95.0]]
    assert orders(r, "symbol", "bar", "status", "reason") == [
        ["A", 1, "filled", None], ["B", 1, "rejected", "max_positions"]]
    assert r.equity.iloc[-1] == exact(10_000 + 10 * (96 - 95))


def test_limit_orders_in_a_portfolio_share_the_cash():
    a = make_bars([FLAT, (100, 101, 94, 96), (96, 97, 95, 96)], symbol="A")
    b = make_bars([FLAT, (50, 51, 44, 46), (46, 47, 45, 46)], symbol="B")
    entries = pd.DataFrame({"A": mask(3, [0]), "B": mask(3, [0])}, index=a.index)
    prices = pd.DataFrame({"A": [95.0] * 3, "B": [45.0] * 3}, index=a.index)
    # 60 % of equity each: A takes 60 % of 10,000 at 95 (63.157... u, 6,000); B asks 60 % of equity
    # (4,000 cash + A marked at its open 100 x 63.157 = 10,315.8) = 6,189.5 > 4,000 cash -> refused
    r = backtest(MultiBars([a, b]), entries=entries, entry_type="limit", entry_price=prices, size=0.6)
    assert r.trades["symbol"].tolist() == ["A"]
    assert r.trades["size"].iloc[0] == exact(6_000 / 95)
    assert orders(r, "symbol", "reason") == [["A", None], ["B", "no_cash"]]


# --- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "match"), [
    ({"entry_type": "limit"}, "entry_type='limit' needs entry_price"),
    ({"entry_type": "stop"}, "entry_type='stop' needs entry_price"),
    ({"entry_type": "market", "entry_price": 95.0}, "entry_price applies to limit and stop entries"),
    ({"entry_expiry": 3}, "entry_expiry applies to limit and stop entries"),
    ({"entry_type": "best"}, "entry_type must be one of 'market', 'limit', 'stop', got 'best'"),
    ({"entry_type": "limit", "entry_price": 95.0, "fill": "same_close"}, "needs fill='next_open'"),
    ({"entry_type": "limit", "entry_price": 95.0, "entry_expiry": 1.5}, "entry_expiry must be a whole number"),
    ({"entry_type": "limit", "entry_price": 95.0, "entry_expiry": 0},
     r"entry_expiry must be a whole number \(bars\) with 1 <= x, got 0"),
    ({"entry_type": "limit", "entry_price": -5.0}, r"entry_price must be finite and > 0 \(price\)"),
])
def test_bad_entry_options_are_refused_with_the_argument_named(options, match):
    with pytest.raises(EngineError, match=match):
        run([FLAT, QUIET], entries=[0], **options)


def test_entry_expiry_per_column():
    rows = [FLAT, (100, 101, 96, 99), (99, 99, 90, 92), FLAT]
    r = run(rows, entries=[0], entry_type="limit", entry_price=px(4, {0: 95}), entry_expiry=[1, 2])
    assert r.trades[["column", "entry_idx"]].to_numpy().tolist() == [[1, 2]]   # only the 2-bar order lives to bar 2
    assert orders(r, "column", "bar", "reason") == [
        [0, 1, "expired"], [1, 2, None]]
