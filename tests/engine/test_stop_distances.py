"""Hand-computed scenarios: stops as price distances (``stop_loss_distance``, ``take_profit_distance``,
``trailing_stop_distance``), numbers or per-bar arrays such as an ATR multiple.

Conventions of ``test_scenarios.py``: cash 10,000, no costs, all in (``size=1.0``), orders decided at a
close fill at the next open, daily bars from Monday 2024-01-01. Row notation ``(open, high, low, close)``.

The rules under test (the ``simulate_nb`` contract):
- a stop-loss / take-profit distance is read at the bar whose close decided the entry (known then: no
  look-ahead) and stays fixed for the trade; its level is the entry fill price -/+ the distance;
- a trailing distance at bar t sets the level tested in bar t + 1 (the trail checks its old level, then
  moves with the bar's extreme);
- NaN means no stop; a stop is given as a fraction or as a distance, never both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import EngineError, backtest

from .scenario_kit import check_equity, check_trade, exact, make_bars, mask, run

NAN = np.nan
FLAT = (100.0, 100.0, 100.0, 100.0)
QUIET = (100.0, 101.0, 99.0, 100.0)


# --- stop-loss and take-profit distances: read at the deciding bar, fixed for the trade ------------------------


def test_stop_loss_distance_is_the_one_at_the_deciding_bar_and_stays_fixed():
    rows = [FLAT,                    # 0: entry signal; distance 4 here -> the trade's stop sits 4 below its entry
            (100, 101, 97, 98),      # 1: buy 100 u @ 100; stop 96; low 97 safe (today's distance 1 would give 99)
            (98, 99, 95, 96),        # 2: low 95 <= 96, open above -> sell @ 96
            (96, 97, 95, 96)]
    r = run(rows, entries=[0], stop_loss_distance=np.array([4.0, 1.0, 1.0, 1.0]))
    check_trade(r, 0, entry_idx=1, exit_idx=2, entry_price=100, exit_price=96,
                pnl=-400,                # (96 - 100) x 100
                exit_reason="stop_loss", mae=-0.04)   # the fill at 96 (the bar's low comes after the exit)
    check_equity(r, [10_000, 9_800, 9_600, 9_600])


def test_short_take_profit_distance():
    rows = [QUIET,                   # 0: short signal; take-profit distance 7
            (100, 101, 95, 96),      # 1: sell 100 u @ 100; take at 93; low 95 not there; eq 20,000 - 9,600
            (96, 97, 92, 94),        # 2: low 92 <= 93 -> buy back @ 93
            (93, 94, 92, 93)]
    r = run(rows, short_entries=[0], take_profit_distance=np.array([7.0, 50.0, 50.0, 50.0]))
    check_trade(r, 0, side="short", entry_idx=1, exit_idx=2, exit_price=93,
                pnl=700,                 # (100 - 93) x 100
                exit_reason="take_profit")
    check_equity(r, [10_000, 10_400, 10_700, 10_700])


def test_a_number_is_the_same_distance_on_every_bar():
    rows = [FLAT, (100, 101, 97, 98), (98, 99, 95, 96), (96, 97, 95, 96)]
    by_number = run(rows, entries=[0], stop_loss_distance=4.0)
    by_array = run(rows, entries=[0], stop_loss_distance=np.full(4, 4.0))
    check_trade(by_number, 0, exit_idx=2, exit_price=96, exit_reason="stop_loss")
    assert by_number.trades.equals(by_array.trades)


def test_nan_at_the_deciding_bar_means_no_stop_for_that_trade():
    rows = [FLAT,                    # 0: entry signal; distance NaN -> no stop-loss for this trade
            (100, 101, 80, 85),      # 1: buy 100 u @ 100; a 3-point stop would have fired (distance at bar 1: 3)
            (85, 86, 70, 75),        # 2: still no stop
            (75, 76, 74, 75)]
    r = run(rows, entries=[0], stop_loss_distance=np.array([NAN, 3.0, 3.0, 3.0]))
    check_trade(r, 0, entry_idx=1, exit_idx=3, exit_reason="end", open=True, pnl=-2_500)  # (75 - 100) x 100


def test_the_next_trade_reads_its_own_deciding_bar():
    # units sizing keeps the numbers round: 10 u per trade, cash 10,000
    rows = [FLAT,                    # 0: entry; distance 5 -> stop 95 for trade 1
            (100, 101, 94, 95),      # 1: buy 10 u @ 100; low 94 <= 95 -> sold @ 95 in the entry bar
            (95, 96, 94, 95),        # 2: entry; distance 2 -> stop 93 for trade 2
            (95, 96, 94, 95),        # 3: buy 10 u @ 95; low 94 > 93: held
            (95, 95, 92, 93)]        # 4: low 92 <= 93 -> sold @ 93
    r = run(rows, entries=[0, 2], stop_loss_distance=np.array([5.0, 1.0, 2.0, 9.0, 9.0]), size=10,
            size_type="units")
    check_trade(r, 0, entry_idx=1, exit_idx=1, exit_price=95, pnl=-50)
    check_trade(r, 1, entry_idx=3, exit_idx=4, exit_price=93, pnl=-20)


@pytest.mark.parametrize(("side", "bar2", "exit_price"), [
    ("long", (90, 92, 88, 91), 90),     # stop 96 (100 - 4): the bar opens at 90, below it
    ("short", (110, 112, 108, 109), 110),  # stop 104 (100 + 4): opens at 110, above it
])
def test_a_gap_through_a_distance_stop_fills_at_the_open(side, bar2, exit_price):
    rows = [FLAT, (100, 102, 98, 100), bar2, FLAT]   # 100 u @ 100 at bar 1; stop 4 away, untouched
    signal = {"entries": [0]} if side == "long" else {"short_entries": [0]}
    r = run(rows, stop_loss_distance=4.0, **signal)
    check_trade(r, 0, exit_idx=2, exit_price=exit_price, exit_reason="stop_loss", pnl=-1_000)  # 10 x 100


def test_distance_levels_are_measured_from_the_fill_price_slippage_included():
    # slippage 1 %: buy fills at 100 x 1.01 = 101; distances 5 / 4 -> stop 96, take-profit 105
    rows = [FLAT,                    # 0: signal
            (100, 104, 97, 103),     # 1: buy 99 u (10,000 / 101 = 99.0099, lot 1) @ 101; neither level touched
            (103, 106, 102, 104),    # 2: high 106 >= 105 -> sell at 105 x 0.99 = 103.95
            (104, 104, 104, 104)]
    r = run(rows, entries=[0], stop_loss_distance=5.0, take_profit_distance=4.0, lot_size=1,
            costs={"slippage": 0.01})
    check_trade(r, 0, entry_price=101, size=99, exit_idx=2, exit_price=103.95, exit_reason="take_profit",
                pnl=(103.95 - 101) * 99)


def test_both_distances_in_one_bar_follow_the_stop_policy():
    rows = [FLAT, (100, 101, 99, 100),
            (100, 112, 88, 92),      # 2: stop 90 and take 110 both inside a down bar
            FLAT]
    first = run(rows, entries=[0], stop_loss_distance=10.0, take_profit_distance=10.0)
    path = run(rows, entries=[0], stop_loss_distance=10.0, take_profit_distance=10.0, stop_policy="ohlc_path")
    check_trade(first, 0, exit_idx=2, exit_price=90, exit_reason="stop_loss")      # pessimistic
    check_trade(path, 0, exit_idx=2, exit_price=110, exit_reason="take_profit")    # the high comes first


def test_a_percent_stop_and_a_take_profit_distance_combine():
    rows = [FLAT, (100, 101, 99, 100), (100, 108, 99, 107), FLAT]
    r = run(rows, entries=[0], stop_loss=0.05, take_profit_distance=7.5)   # stop 95, take 107.5
    check_trade(r, 0, exit_idx=2, exit_price=107.5, exit_reason="take_profit", pnl=750)


def test_same_close_fill_reads_the_distance_at_the_fill_bar():
    rows = [(100, 100, 80, 100),     # 0: buy 100 u @ 100 at this close; distance 3 -> stop 97
            (100, 101, 98, 99),      # 1: low 98 safe
            (99, 100, 96, 97)]       # 2: low 96 <= 97 -> sell @ 97
    r = run(rows, entries=[0], stop_loss_distance=np.array([3.0, 50.0, 50.0]), fill="same_close")
    check_trade(r, 0, entry_idx=0, exit_idx=2, exit_price=97, pnl=-300)


def test_risk_sizing_with_a_stop_distance_loses_the_risk_at_the_stop():
    # risk 2 % of 10,000 = 200 over a 5-point stop: 40 units; the stop at 95 loses 40 x 5 = 200
    rows = [FLAT, (100, 101, 99, 100), (100, 100, 94, 95), FLAT]
    r = run(rows, entries=[0], stop_loss_distance=5.0, size=0.02, size_type="risk")
    check_trade(r, 0, size=40, exit_price=95, pnl=-200)


def test_risk_sizing_without_a_distance_at_the_deciding_bar_refuses_the_entry():
    rows = [FLAT, QUIET, QUIET]
    r = run(rows, entries=[0], stop_loss_distance=np.array([NAN, 5.0, 5.0]), size=0.02, size_type="risk")
    assert r.trades.empty
    assert r.orders[["bar", "status", "reason"]].to_numpy().tolist() == [[1, "rejected", "size_zero"]]


# --- trailing distance: the distance at bar t sets the level tested in bar t + 1 --------------------------------


def test_trailing_distance_of_each_bar_applies_to_the_next_bar():
    rows = [FLAT,                    # 0: signal; distance 10 -> bar 1 tests 100 - 10 = 90
            (100, 105, 95, 104),     # 1: buy 100 u @ 100; low 95 > 90 held; best -> 105; distance 3 -> bar 2: 102
            (104, 106, 101.5, 105),  # 2: low 101.5 <= 102 -> sell @ 102 (bar 2's own distance, 20, plays no part)
            (105, 106, 104, 105)]
    r = run(rows, entries=[0], trailing_stop_distance=np.array([10.0, 3.0, 20.0, 20.0]))
    check_trade(r, 0, entry_idx=1, exit_idx=2, exit_price=102, exit_reason="trailing_stop",
                pnl=200)                 # (102 - 100) x 100


def test_trailing_distance_checks_its_old_level_before_moving():
    rows = [FLAT,                    # 0: distance 10
            (100, 100, 99, 100),     # 1: buy 100 u @ 100; level 90; best 100; distance 10 -> bar 2: 90
            (100, 160, 95, 150),     # 2: low 95 > 90 held (the high 160 may come after the low); best -> 160
            (150, 155, 140, 145)]    # 3: level 160 - 10 = 150; low 140 -> sell @ 150 (open 150 = level)
    r = run(rows, entries=[0], trailing_stop_distance=10.0)
    check_trade(r, 0, exit_idx=3, exit_price=150, exit_reason="trailing_stop", pnl=5_000)
    check_equity(r, [10_000, 10_000, 15_000, 15_000])


def test_short_trailing_distance_follows_the_low():
    rows = [QUIET,                   # 0: short signal; distance 8 -> bar 1 tests 100 + 8 = 108
            (100, 102, 90, 92),      # 1: sell 100 u @ 100; high 102 safe; best -> 90; distance 5 -> 95
            (92, 96, 85, 88),        # 2: high 96 >= 95 -> buy back @ 95
            QUIET]
    r = run(rows, short_entries=[0], trailing_stop_distance=np.array([8.0, 5.0, 5.0, 5.0]))
    check_trade(r, 0, side="short", exit_idx=2, exit_price=95, exit_reason="trailing_stop", pnl=500)


def test_a_nan_trailing_distance_skips_the_next_bars_test():
    rows = [FLAT,                    # 0: distance 2 -> bar 1 tests 98
            (100, 101, 99, 100),     # 1: buy 100 u @ 100; held; best 101; distance NaN -> no trail in bar 2
            (100, 100, 90, 95),      # 2: no test; best stays 101; distance 2 -> bar 3 tests 99
            (95, 96, 94, 95)]        # 3: the open 95 is below 99 -> sold at the open
    r = run(rows, entries=[0], trailing_stop_distance=np.array([2.0, NAN, 2.0, 2.0]))
    check_trade(r, 0, exit_idx=3, exit_price=95, exit_reason="trailing_stop", pnl=-500)


def test_trailing_distance_and_stop_loss_distance_the_tighter_level_wins():
    rows = [FLAT, (100, 100, 99, 100),
            (100, 140, 95, 135),     # 2: trail 100 - 20 = 80 and stop 90: neither touched; best -> 140
            (135, 136, 115, 118)]    # 3: trail 140 - 20 = 120 > stop 90 -> sell @ 120
    r = run(rows, entries=[0], stop_loss_distance=10.0, trailing_stop_distance=20.0)
    check_trade(r, 0, exit_idx=3, exit_price=120, exit_reason="trailing_stop", pnl=2_000)


# --- per column, per symbol, pandas input ----------------------------------------------------------------------


def test_one_distance_column_per_parameter_set():
    rows = [FLAT, (100, 101, 97, 98), (98, 99, 93, 94), FLAT]
    r = run(rows, entries=[0], stop_loss_distance=np.array([[2.0, 5.0]] * 4), size=10, size_type="units")
    t = r.trades
    assert t[["column", "exit_idx", "exit_price"]].to_numpy().tolist() == [[0, 1, 98.0], [1, 2, 95.0]]


def test_a_series_on_dates_is_aligned_to_the_bars():
    bars = make_bars([FLAT, (100, 101, 97, 98), (98, 99, 95, 96), (96, 97, 95, 96)])
    # given for the signal bar only: aligned by date, the absent bars read NaN
    distance = pd.Series([4.0], index=bars.index[:1])
    r = backtest(bars, entries=mask(4, [0]), stop_loss_distance=distance)
    check_trade(r, 0, exit_idx=2, exit_price=96, exit_reason="stop_loss")


def test_distances_per_symbol_in_a_portfolio():
    a = make_bars([FLAT, (100, 101, 97, 98), (98, 99, 95, 96)], symbol="A")
    b = make_bars([FLAT, (50, 51, 47, 48), (48, 49, 45, 46)], symbol="B")
    entries = pd.DataFrame({"A": mask(3, [0]), "B": mask(3, [0])}, index=a.index)
    distance = pd.DataFrame({"B": [2.5] * 3, "A": [4.0] * 3}, index=a.index)   # matched by name
    r = backtest(MultiBars([a, b]), entries=entries, stop_loss_distance=distance, size=10, size_type="units")
    t = r.trades.set_index("symbol")
    assert t.loc["A", "exit_price"] == exact(96)        # 100 - 4, bar 2
    assert t.loc["B", "exit_price"] == exact(47.5)      # 50 - 2.5, bar 1 (low 47)
    assert t.loc["B", "exit_idx"] == 1


# --- errors ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("percent", "distance"), [
    ("stop_loss", "stop_loss_distance"), ("take_profit", "take_profit_distance"),
    ("trailing_stop", "trailing_stop_distance"),
])
def test_percent_and_distance_forms_of_one_stop_are_refused(percent, distance):
    with pytest.raises(EngineError, match=f"{percent} .* and {distance} .* give one of them"):
        run([FLAT, QUIET], entries=[0], **{percent: 0.05, distance: 2.0})


@pytest.mark.parametrize(("value", "match"), [
    (-1.0, r"stop_loss_distance must be finite and > 0 \(price\), or NaN for none; got -1 at bar 0"),
    (np.array([1.0, 0.0, 1.0]), r"got 0 at bar 1"),
    (np.array([1.0, np.inf, 1.0]), r"got inf at bar 1"),
    (np.ones(4), r"stop_loss_distance has shape \(4, 1\); expected a number, \(3,\) or \(3, columns\)"),
    ("wide", r"stop_loss_distance must be a number or numbers per bar, got str"),
])
def test_bad_distances_are_refused_with_the_argument_named(value, match):
    with pytest.raises(EngineError, match=match):
        run([FLAT, QUIET, QUIET], entries=[0], stop_loss_distance=value)


def test_distance_columns_must_match_the_signal_columns():
    with pytest.raises(EngineError, match="every 2-D signal or per-bar value needs 3 columns"):
        run([FLAT, QUIET], entries=[0], stop_loss_distance=np.ones((2, 2)), size=[1.0, 1.0, 1.0])
