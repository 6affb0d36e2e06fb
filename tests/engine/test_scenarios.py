"""Hand-computed regression scenarios for ``backgrid.backtest``.

Every scenario is a few daily bars with round prices; the expected trades and
equity are worked out by hand in the comments. Unless a test says otherwise:
cash 10,000, no costs, ``size=1.0`` of equity (all in), orders decided at a close
fill at the next bar's open, bars start on Monday 2024-01-01 (00:00 UTC, one day
long, so a bar "closes" at the next midnight for borrow accrual).

Row notation: ``(open, high, low, close)``. "eq" is the equity marked at a close:
cash + position x close. For a short, entering adds the sale proceeds to cash.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.engine import backtest

from .scenario_kit import NAN, check_books, check_equity, check_trade, exact, make_bars, mask, run

FLAT = (100.0, 100.0, 100.0, 100.0)
QUIET = (100.0, 101.0, 99.0, 100.0)
DAY = 365.25  # days in the engine's borrow year


# --- shorts ------------------------------------------------------------------------------------------------


def test_short_profits_in_a_falling_market():
    rows = [QUIET,                   # 0: short signal at the close
            (100, 100, 95, 96),      # 1: sell 100 u @ 100 (10,000 / 100); cash 20,000; eq 20,000 - 9,600 = 10,400
            (96, 96, 90, 90),        # 2: eq 20,000 - 9,000 = 11,000; short exit signal
            (90, 92, 88, 91)]        # 3: buy back 100 u @ 90 (open); cash 11,000
    r = run(rows, short_entries=[0], short_exits=[2])
    check_trade(r, 0,
                side="short", entry_idx=1, exit_idx=3,  # filled at the opens after the signals
                entry_price=100, exit_price=90, size=100,
                pnl=1_000,          # (100 - 90) x 100
                **{"return": 0.1},  # 1,000 / (100 x 100)
                exit_reason="signal", bars_held=2,
                mfe=0.10,           # lowest low while held: 90 (bar 2) -> 10 % in favour
                mae=0.0,            # highest high while held: 100 = entry -> never against
                open=False)
    check_equity(r, [10_000, 10_400, 11_000, 11_000])
    check_books(r, 91)


def test_short_stop_loss_on_a_price_rise():
    rows = [QUIET,                   # 0: short signal
            (100, 103, 98, 102),     # 1: sell 100 u @ 100; stop at 100 x 1.05 = 105 not reached (103); eq 9,800
            (102, 108, 101, 107),    # 2: high 108 >= 105, open 102 below it -> buy back @ 105
            (107, 108, 106, 107)]    # 3: flat
    r = run(rows, short_entries=[0], stop_loss=0.05)
    check_trade(r, 0, side="short", entry_idx=1, exit_idx=2, exit_price=105,
                pnl=-500,             # (100 - 105) x 100
                exit_reason="stop_loss", bars_held=1,
                mfe=0.02,             # low 98 on bar 1
                mae=-0.05)            # the stop fill at 105
    check_equity(r, [10_000, 9_800, 9_500, 9_500])  # bar 2: 20,000 - 10,500


def test_short_trailing_stop_follows_the_low():
    # trailing 25 %: the stop sits at best low x 1.25 and only moves down.
    rows = [QUIET,                   # 0: short signal
            (100, 102, 90, 92),      # 1: sell 100 u @ 100; level 125 (high 102 safe); best -> 90 (level 112.5)
            (92, 95, 72, 76),        # 2: level 112.5 safe; best -> 72 (level 90); eq 20,000 - 7,600 = 12,400
            (76, 92, 75, 91)]        # 3: high 92 >= 90, open 76 below -> buy back @ 90
    r = run(rows, short_entries=[0], trailing_stop=0.25)
    check_trade(r, 0, side="short", entry_idx=1, exit_idx=3, exit_price=90,
                pnl=1_000,            # (100 - 90) x 100: the trail locked in a profit
                exit_reason="trailing_stop",
                mfe=0.28,             # low 72
                mae=-0.02)            # high 102 on bar 1
    check_equity(r, [10_000, 10_800, 12_400, 11_000])


@pytest.mark.parametrize(("bar2", "exit_price"), [
    ((96, 97, 88, 89), 90),   # low 88 <= 90 with the open above: filled at the level
    ((85, 86, 84, 85), 85),   # opens below 90: a gap through the take-profit fills at the (better) open
])
def test_short_take_profit(bar2, exit_price):
    rows = [QUIET,                   # 0: short signal
            (100, 101, 95, 96),      # 1: sell 100 u @ 100; take-profit at 100 x 0.9 = 90; eq 10,400
            bar2,                    # 2: buy back at the take-profit
            (90, 91, 89, 90)]
    r = run(rows, short_entries=[0], take_profit=0.1)
    pnl = (100 - exit_price) * 100   # 1,000 at the level, 1,500 on the gap
    check_trade(r, 0, side="short", entry_idx=1, exit_idx=2, exit_price=exit_price, pnl=pnl,
                exit_reason="take_profit", mae=-0.01)  # high 101 on bar 1
    check_equity(r, [10_000, 10_400, 10_000 + pnl, 10_000 + pnl])


# --- gaps and intrabar stops -------------------------------------------------------------------------------


@pytest.mark.parametrize(("side", "bar2"), [
    ("long", (90, 93, 88, 92)),      # stop 95; opens at 90, below it
    ("short", (110, 112, 108, 109)),  # stop 105; opens at 110, above it
])
def test_gap_through_a_stop_fills_at_the_open(side, bar2):
    rows = [FLAT,                        # 0: signal
            (100, 102, 98, 100),         # 1: 100 u @ 100, stop 5 % away (95 / 105), untouched
            bar2,                        # 2: the open is already past the stop -> filled at the open
            (100, 100, 100, 100)]
    signal = {"entries": [0]} if side == "long" else {"short_entries": [0]}
    r = run(rows, stop_loss=0.05, **signal)
    check_trade(r, 0, side=side, entry_idx=1, exit_idx=2,
                exit_price=bar2[0],      # 90 / 110, not the level 95 / 105
                pnl=-1_000,              # 10 x 100 against the position
                exit_reason="stop_loss",
                mae=-0.10)               # the fill at the open is the worst price
    check_equity(r, [10_000, 10_000, 9_000, 9_000])


UP_BAR = (100, 112, 88, 108)     # close >= open: ohlc_path reads open -> low -> high -> close
DOWN_BAR = (100, 112, 88, 92)    # close < open: open -> high -> low -> close


@pytest.mark.parametrize(("side", "policy", "bar2", "exit_price", "reason"), [
    # long: stop 90, take 110, both inside the bar
    ("long", "stop_first", UP_BAR, 90, "stop_loss"),      # pessimistic
    ("long", "stop_first", DOWN_BAR, 90, "stop_loss"),
    ("long", "ohlc_path", UP_BAR, 90, "stop_loss"),       # the low (88) comes first
    ("long", "ohlc_path", DOWN_BAR, 110, "take_profit"),  # the high (112) comes first
    # short: stop 110, take 90
    ("short", "stop_first", UP_BAR, 110, "stop_loss"),
    ("short", "stop_first", DOWN_BAR, 110, "stop_loss"),
    ("short", "ohlc_path", UP_BAR, 90, "take_profit"),    # the low first: the short's target
    ("short", "ohlc_path", DOWN_BAR, 110, "stop_loss"),   # the high first: the short's stop
], ids=[f"{side}-{policy}-{bar}" for side in ("long", "short") for policy in ("stop_first", "ohlc_path")
        for bar in ("up", "down")])
def test_stop_and_take_profit_in_one_bar(side, policy, bar2, exit_price, reason):
    rows = [FLAT,                    # 0: signal
            (100, 101, 99, 100),     # 1: 100 u @ 100; stop and take 10 % away, untouched
            bar2,                    # 2: both levels inside the bar
            FLAT]
    signal = {"entries": [0]} if side == "long" else {"short_entries": [0]}
    r = run(rows, stop_loss=0.1, take_profit=0.1, stop_policy=policy, **signal)
    pnl = 1_000 if reason == "take_profit" else -1_000   # 10 x 100 either way
    check_trade(r, 0, side=side, exit_idx=2, exit_price=exit_price, exit_reason=reason, pnl=pnl)
    check_equity(r, [10_000, 10_000, 10_000 + pnl, 10_000 + pnl])


@pytest.mark.parametrize(("side", "policy", "bar2", "exit_price", "reason"), [
    # long, stop 90, take 110; the bar opens at 88, below the stop: the stop is hit before anything else
    ("long", "stop_first", (88, 112, 85, 111), 88, "stop_loss"),
    ("long", "stop_first", (88, 112, 85, 86), 88, "stop_loss"),
    ("long", "ohlc_path", (88, 112, 85, 111), 88, "stop_loss"),
    ("long", "ohlc_path", (88, 112, 85, 86), 88, "stop_loss"),
    # long; the bar opens at 112, above the take-profit: it fills at the open
    ("long", "stop_first", (112, 113, 88, 113), 112, "take_profit"),
    ("long", "stop_first", (112, 113, 88, 89), 112, "take_profit"),
    ("long", "ohlc_path", (112, 113, 88, 113), 112, "take_profit"),
    ("long", "ohlc_path", (112, 113, 88, 89), 112, "take_profit"),
    # short, stop 110, take 90; opens at 112, above the stop
    ("short", "stop_first", (112, 115, 88, 113), 112, "stop_loss"),
    ("short", "stop_first", (112, 115, 88, 89), 112, "stop_loss"),
    ("short", "ohlc_path", (112, 115, 88, 113), 112, "stop_loss"),
    ("short", "ohlc_path", (112, 115, 88, 89), 112, "stop_loss"),
    # short; opens at 88, below the take-profit
    ("short", "stop_first", (88, 112, 85, 111), 88, "take_profit"),
    ("short", "stop_first", (88, 112, 85, 86), 88, "take_profit"),
    ("short", "ohlc_path", (88, 112, 85, 111), 88, "take_profit"),
    ("short", "ohlc_path", (88, 112, 85, 86), 88, "take_profit"),
], ids=[f"{side}-opens-beyond-{level}-{policy}-{bar}" for side, level in
        (("long", "stop"), ("long", "take"), ("short", "stop"), ("short", "take"))
        for policy in ("stop_first", "ohlc_path") for bar in ("up", "down")])
def test_a_level_the_bar_opens_beyond_fills_at_the_open(side, policy, bar2, exit_price, reason):
    """The open is the first price of every path, so whichever level it is already past fills there.

    The stop policy only decides the order of the two levels *inside* the bar; it cannot move the
    open. A gap through a stop fills at the open (contract), and so does a gap through a take-profit.
    """
    rows = [FLAT, (100, 101, 99, 100), bar2, FLAT]   # 100 u @ 100 at bar 1; stop / take 10 % away
    signal = {"entries": [0]} if side == "long" else {"short_entries": [0]}
    r = run(rows, stop_loss=0.1, take_profit=0.1, stop_policy=policy, **signal)
    direction = 1 if side == "long" else -1
    check_trade(r, 0, side=side, exit_idx=2, exit_price=exit_price, exit_reason=reason,
                pnl=direction * (exit_price - 100) * 100)


@pytest.mark.parametrize(("bar1", "exit_price", "reason"), [
    ((100, 101, 94, 96), 95, "stop_loss"),      # stop 100 x 0.95 = 95, low 94
    ((100, 106, 99, 104), 105, "take_profit"),  # take 100 x 1.05 = 105, high 106
])
def test_exit_on_the_entry_bar(bar1, exit_price, reason):
    rows = [FLAT,                    # 0: entry signal
            bar1,                    # 1: buy 100 u @ 100 at the open, then the bar reaches a level
            (96, 97, 95, 96)]        # 2: flat
    r = run(rows, entries=[0], stop_loss=0.05, take_profit=0.05)
    pnl = (exit_price - 100) * 100   # -500 / +500
    check_trade(r, 0, entry_idx=1, exit_idx=1, bars_held=0, entry_price=100, exit_price=exit_price,
                exit_reason=reason, pnl=pnl)
    check_equity(r, [10_000, 10_000 + pnl, 10_000 + pnl])


def test_trailing_stop_checks_its_old_level_before_moving():
    # trailing 25 %. Bar 2's high lifts the trail to 160 x 0.75 = 120 and its low (80) is below 120 but
    # above the old level 75: the bar must not exit (the high may have come after the low).
    rows = [FLAT,                    # 0: entry signal
            (100, 100, 99, 100),     # 1: buy 100 u @ 100; best 100 -> level 75
            (100, 160, 80, 150),     # 2: low 80 > 75: held; best -> 160, level -> 120; eq 15,000
            (150, 155, 110, 115)]    # 3: low 110 <= 120, open 150 above -> sell @ 120
    r = run(rows, entries=[0], trailing_stop=0.25)
    check_trade(r, 0, entry_idx=1, exit_idx=3, exit_price=120,
                pnl=2_000,             # (120 - 100) x 100
                exit_reason="trailing_stop",
                mfe=0.6,               # high 160
                mae=-0.2)              # low 80
    check_equity(r, [10_000, 10_000, 15_000, 12_000])


@pytest.mark.parametrize(("bar2", "bar3", "exit_price", "reason"), [
    # trail 25 % behind the best high, fixed stop 10 % below the entry (90): the higher level rules
    ((100, 140, 95, 135), (135, 136, 100, 102), 105, "trailing_stop"),  # trail 140 x 0.75 = 105 > 90
    ((100, 104, 89, 95), (95, 96, 94, 95), 90, "stop_loss"),           # trail 75 < 90: the fixed stop
])
def test_trailing_and_fixed_stop_the_tighter_level_wins(bar2, bar3, exit_price, reason):
    rows = [FLAT, (100, 100, 99, 100), bar2, bar3]   # buy 100 u @ 100 at bar 1 (best 100)
    r = run(rows, entries=[0], stop_loss=0.1, trailing_stop=0.25)
    check_trade(r, 0, entry_idx=1, exit_price=exit_price, exit_reason=reason,
                pnl=(exit_price - 100) * 100)   # +500 / -1,000


# --- lifecycle: end of data, reversals, re-entries ----------------------------------------------------------


def test_position_still_open_at_the_end_is_marked_at_the_last_close():
    rows = [FLAT,                    # 0: entry signal
            (100, 104, 99, 103),     # 1: buy 100 u @ 100; eq 10,300
            (103, 111, 102, 110)]    # 2: last bar; eq 11,000
    r = run(rows, entries=[0])
    check_trade(r, 0, entry_idx=1, exit_idx=2,  # the last bar
                exit_price=110,                  # marked at the last close
                pnl=1_000, **{"return": 0.1},
                exit_reason="end", open=True, bars_held=1,
                mfe=0.11,                        # high 111
                mae=-0.01)                       # low 99
    check_equity(r, [10_000, 10_300, 11_000])
    assert r.stats["trades"] == 1                # the open trade counts as a trade...
    assert r.stats["closed_trades"] == 0         # ...but not as a closed one
    assert r.stats["final_equity"] == exact(11_000)


def test_reversal_long_to_short():
    rows = [FLAT,                    # 0: long signal
            (100, 101, 99, 100),     # 1: buy 100 u @ 100; eq 10,000
            (100, 111, 100, 110),    # 2: eq 11,000; short signal
            (110, 111, 104, 105),    # 3: sell 100 u @ 110 (pnl +1,000, cash 11,000), then short 11,000 / 110 =
                                     #    100 u @ 110: cash 22,000; eq 22,000 - 10,500 = 11,500
            (105, 106, 99, 100)]     # 4: eq 22,000 - 10,000 = 12,000
    r = run(rows, entries=[0], short_entries=[2])
    assert len(r.trades) == 2
    check_trade(r, 0, side="long", entry_idx=1, exit_idx=3, exit_price=110, pnl=1_000, exit_reason="signal")
    check_trade(r, 1, side="short", entry_idx=3, exit_idx=4, entry_price=110, size=100,
                exit_price=100, pnl=1_000, exit_reason="end", open=True)
    check_equity(r, [10_000, 10_000, 11_000, 11_500, 12_000])
    check_books(r, 100)


def test_reversal_short_to_long_is_sized_on_the_equity_after_the_exit():
    rows = [FLAT,                    # 0: short signal
            (100, 101, 99, 100),     # 1: sell 100 u @ 100; cash 20,000; eq 10,000
            (100, 100, 79, 80),      # 2: eq 12,000; long signal
            (80, 85, 79, 84),        # 3: buy back @ 80 (pnl +2,000, cash 12,000), buy 12,000 / 80 = 150 u;
                                     #    cash 0; eq 150 x 84 = 12,600
            (84, 90, 84, 88)]        # 4: eq 150 x 88 = 13,200
    r = run(rows, short_entries=[0], entries=[2])
    check_trade(r, 0, side="short", exit_idx=3, exit_price=80, pnl=2_000, exit_reason="signal")
    check_trade(r, 1, side="long", entry_idx=3, entry_price=80, size=150, pnl=1_200, open=True)  # 8 x 150
    check_equity(r, [10_000, 10_000, 12_000, 12_600, 13_200])


def test_stopped_out_position_re_enters_on_a_standing_entry_signal():
    # units sizing (100 u) and cash 20,000 keep the numbers round; the entry signal fires on every bar
    rows = [FLAT,                    # 0: entry signal
            (100, 101, 99, 100),     # 1: buy 100 u @ 100 (cash 10,000); the signal while long is ignored
            (100, 100, 85, 88),      # 2: stop 90 hit -> sell @ 90 (cash 19,000); flat at the close + signal
            (88, 92, 87, 90),        # 3: buy 100 u @ 88 (cash 10,200; new stop 79.2); eq 10,200 + 9,000
            (90, 96, 90, 95)]        # 4: eq 10,200 + 9,500 = 19,700
    r = run(rows, entries=range(5), stop_loss=0.1, size=100, size_type="units", cash=20_000)
    assert len(r.trades) == 2
    check_trade(r, 0, entry_idx=1, exit_idx=2, exit_price=90, pnl=-1_000, exit_reason="stop_loss")
    check_trade(r, 1, entry_idx=3, entry_price=88, pnl=700, exit_reason="end", open=True)  # (95 - 88) x 100
    check_equity(r, [20_000, 20_000, 19_000, 19_200, 19_700])


def test_entry_signals_while_in_a_position_do_not_add_to_it():
    rows = [FLAT, QUIET, QUIET, (100, 105, 100, 105)]
    r = run(rows, entries=[0, 1, 2])   # 100 u @ 100 at bar 1; later entries: already long, nothing
    assert len(r.trades) == 1
    check_trade(r, 0, entry_idx=1, size=100, pnl=500, open=True)
    check_equity(r, [10_000, 10_000, 10_000, 10_500])


def test_an_entry_on_the_last_bar_never_fills():
    r = run([FLAT, QUIET, QUIET], entries=[2])   # no bar after the signal to fill at
    assert r.trades.empty
    check_equity(r, [10_000, 10_000, 10_000])


# --- time: max_bars and the same-close fill ----------------------------------------------------------------


def test_max_bars_exits_after_n_bars_held():
    rows = [FLAT,                    # 0: entry signal
            (100, 101, 99, 100),     # 1: buy 100 u @ 100 (held 1 bar at this close)
            (100, 103, 99, 102),     # 2: held 2 bars = max_bars -> exit ordered; eq 10,200
            (104, 105, 103, 104),    # 3: sell @ 104 (open)
            (104, 104, 104, 104)]
    r = run(rows, entries=[0], max_bars=2)
    check_trade(r, 0, entry_idx=1, exit_idx=3, bars_held=2, exit_price=104, pnl=400, exit_reason="time")
    check_equity(r, [10_000, 10_000, 10_200, 10_400, 10_400])


def test_max_bars_counts_bars_held_with_the_same_close_fill():
    rows = [FLAT,                    # 0: entry signal -> buy 100 u @ 100 at this close (held 0 bars)
            (100, 103, 99, 102),     # 1: held 1 bar; the engine already exits here (bars_held 1)
            (102, 105, 101, 104),    # 2: held 2 bars = max_bars -> sell @ 104 at this close
            (104, 104, 104, 104)]
    r = run(rows, entries=[0], max_bars=2, fill="same_close")
    check_trade(r, 0, entry_idx=0, exit_idx=2, bars_held=2, exit_price=104, pnl=400, exit_reason="time")


def test_same_close_fill():
    rows = [QUIET,                   # 0: entry signal -> buy 100 u @ 100 at this close
            (100, 106, 99, 105),     # 1: eq 10,500
            (105, 111, 104, 110),    # 2: exit signal -> sell @ 110 at this close; eq 11,000
            (110, 112, 108, 109)]    # 3: flat
    r = run(rows, entries=[0], exits=[2], fill="same_close")
    check_trade(r, 0, entry_idx=0, exit_idx=2, entry_price=100, exit_price=110, pnl=1_000, bars_held=2,
                mfe=0.11,   # from bar 1 on (bar 0's range was before the fill): high 111
                mae=-0.01)  # low 99 on bar 1
    check_equity(r, [10_000, 10_500, 11_000, 11_000])


def test_same_close_entry_is_not_stopped_by_its_own_bar():
    rows = [(100, 100, 80, 100),     # 0: buy 100 u @ 100 at the close; the low 80 came before the fill
            (100, 101, 99, 100),     # 1: stop 90 untouched
            (100, 100, 89, 92)]      # 2: low 89 -> sell @ 90
    r = run(rows, entries=[0], stop_loss=0.1, fill="same_close")
    check_trade(r, 0, entry_idx=0, exit_idx=2, exit_price=90, pnl=-1_000, exit_reason="stop_loss")


# --- costs ---------------------------------------------------------------------------------------------------


def test_borrow_over_a_weekend_same_close():
    # Friday's close to Monday's close is 3 calendar days: rate x value x 3 / 365.25
    dates = ["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]   # Thu, Fri, Mon, Tue
    rows = [FLAT,                    # Thu
            QUIET,                   # Fri: short 100 u @ 100 at the close (Sat 00:00)
            QUIET,                   # Mon: borrow Sat 00:00 -> Tue 00:00 at the close 100; cover @ 100
            QUIET]                   # Tue: flat
    r = run(rows, dates=dates, short_entries=[1], short_exits=[2], fill="same_close",
            costs={"borrow_rate": 0.1})
    borrow = 0.1 * 100 * 100 * 3 / DAY   # 8.2135...
    check_trade(r, 0, side="short", entry_idx=1, exit_idx=2, borrow=borrow,
                pnl=-borrow)             # no price change: the borrow is the whole loss
    check_equity(r, [10_000, 10_000, 10_000 - borrow, 10_000 - borrow])


def test_borrow_accrues_by_calendar_time_at_each_close():
    dates = ["2024-01-04", "2024-01-05", "2024-01-08", "2024-01-09"]   # Thu, Fri, Mon, Tue
    fri = 0.1 * 100 * 100 * 1 / DAY      # Fri 00:00 (open fill) -> Sat 00:00, valued at Friday's close 100
    mon = 0.1 * 100 * 80 * 3 / DAY       # Sat 00:00 -> Tue 00:00, valued at Monday's close 80
    rows = [FLAT,                    # Thu: short signal
            QUIET,                   # Fri: sell 100 u @ 100; eq 20,000 - 10,000 - fri
            (100, 101, 79, 80),      # Mon: eq 20,000 - 8,000 - fri - mon; exit signal
            (80, 81, 79, 80)]        # Tue: buy back @ 80 at Tue 00:00, nothing more to accrue
    r = run(rows, dates=dates, short_entries=[0], short_exits=[2], costs={"borrow_rate": 0.1})
    check_trade(r, 0, exit_idx=3, exit_price=80, borrow=fri + mon, pnl=2_000 - fri - mon)
    check_equity(r, [10_000, 10_000 - fri, 12_000 - fri - mon, 12_000 - fri - mon])


def test_borrow_on_a_stopped_short_accrues_to_mid_bar():
    # rate 0.36525 a year = 0.1 % a day, so 100 u x 100 costs 10 a day
    rows = [FLAT,                    # 0: short signal
            QUIET,                   # 1: sell 100 u @ 100 at 00:00; 1 day to the close at 100 -> 10; eq 9,990
            (100, 106, 99, 104),     # 2: stop 105 hit; borrow to 12:00 at 105: 100 x 105 x 0.001 x 0.5 = 5.25
            QUIET]
    r = run(rows, short_entries=[0], stop_loss=0.05, costs={"borrow_rate": 0.36525})
    check_trade(r, 0, exit_idx=2, exit_price=105, exit_reason="stop_loss",
                borrow=15.25,          # 10 + 5.25
                pnl=-515.25)           # (100 - 105) x 100 - 15.25
    check_equity(r, [10_000, 9_990, 9_484.75, 9_484.75])


def test_borrow_across_a_missing_bar_is_charged_for_the_elapsed_time():
    rows = [FLAT,                    # 0: short signal
            QUIET,                   # 1: sell 100 u @ 100; day 1 -> day 2 at 100: 10; eq 9,990
            NAN,                     # 2: no bar: nothing charged, equity unchanged
            QUIET]                   # 3: day 2 -> day 4 (2 days) at 100: 20; eq 9,970
    r = run(rows, short_entries=[0], costs={"borrow_rate": 0.36525})
    check_trade(r, 0, borrow=30, pnl=-30, open=True)
    check_equity(r, [10_000, 9_990, 9_990, 9_970])


def test_no_borrow_on_longs():
    rows = [FLAT, QUIET, (100, 106, 99, 105)]
    r = run(rows, entries=[0], costs={"borrow_rate": 0.1})
    check_trade(r, 0, borrow=0, pnl=500)


def test_fixed_plus_percent_commission():
    # 100 u (units sizing), cash 20,000; commission 5 + 0.1 % per fill
    rows = [FLAT,                    # 0: entry signal
            QUIET,                   # 1: buy 100 u @ 100: 5 + 10 = 15; cash 9,985; eq 19,985
            (100, 111, 100, 110),    # 2: eq 9,985 + 11,000 = 20,985; exit signal
            (110, 112, 109, 111)]    # 3: sell @ 110: 5 + 11 = 16; cash 9,985 + 11,000 - 16 = 20,969
    r = run(rows, entries=[0], exits=[2], size=100, size_type="units", cash=20_000,
            costs={"commission": 0.001, "commission_fixed": 5})
    check_trade(r, 0, commission=31,                 # 15 + 16
                pnl=969,                             # 1,000 - 31
                **{"return": 0.0969})                # 969 / 10,000
    check_equity(r, [20_000, 19_985, 20_985, 20_969])
    assert r.stats["commission_paid"] == exact(31)


@pytest.mark.parametrize(("costs", "entry_fee", "exit_fee"), [
    ({"commission": 0.001, "commission_min": 12}, 12, 13),                     # max(12, 10); max(12, 13)
    ({"commission": 0.001, "commission_fixed": 1, "commission_min": 12}, 12, 14),  # max(12, 1 + 10); 1 + 13
])
def test_commission_minimum(costs, entry_fee, exit_fee):
    rows = [FLAT,                    # 0: entry signal
            QUIET,                   # 1: buy 100 u @ 100 (value 10,000)
            (100, 131, 100, 130),    # 2: exit signal
            (130, 131, 129, 130)]    # 3: sell @ 130 (value 13,000)
    r = run(rows, entries=[0], exits=[2], size=100, size_type="units", cash=20_000, costs=costs)
    check_trade(r, 0, commission=entry_fee + exit_fee, pnl=3_000 - entry_fee - exit_fee)
    check_equity(r, [20_000, 20_000 - entry_fee, 23_000 - entry_fee, 23_000 - entry_fee - exit_fee])


def test_percent_sizing_pays_the_commission_out_of_the_stake():
    # all in with 1 % commission: u x 100 x 1.01 = 10,000 -> u = 10,000 / 101; the fee is u x 100 x 0.01 = u
    units = 10_000 / 101
    rows = [FLAT, QUIET, QUIET]
    r = run(rows, entries=[0], costs={"commission": 0.01})
    check_trade(r, 0, size=units, commission=units, pnl=-units, open=True)   # still open: entry fee only
    assert r.state["cash"][0] == exact(0.0)                                  # every cent used
    check_equity(r, [10_000, 100 * units, 100 * units])                      # 9,900.99...


def test_slippage_is_adverse_on_both_fills():
    # 50 u, slippage 1 %: buy @ 101, sell @ 110 x 0.99 = 108.9
    rows = [FLAT,                    # 0: entry signal
            QUIET,                   # 1: buy 50 u @ 101: cash 10,000 - 5,050 = 4,950; eq 4,950 + 5,000
            (100, 111, 100, 110),    # 2: eq 4,950 + 5,500 = 10,450; exit signal
            (110, 112, 109, 111)]    # 3: sell @ 108.9: cash 4,950 + 5,445 = 10,395
    r = run(rows, entries=[0], exits=[2], size=50, size_type="units", costs={"slippage": 0.01})
    check_trade(r, 0, entry_price=101, exit_price=108.9,
                slippage=105,          # 50 x 1 + 50 x 1.1, in cash
                pnl=395)               # (108.9 - 101) x 50 = 500 - 105
    check_equity(r, [10_000, 9_950, 10_450, 10_395])


def test_spread_is_paid_half_on_each_fill_of_a_short():
    # spread 2 %: half (1 %) against each fill. Sell @ 99, buy back @ 90 x 1.01 = 90.9
    rows = [FLAT,                    # 0: short signal
            QUIET,                   # 1: sell 50 u @ 99: cash 14,950; eq 14,950 - 5,000 = 9,950
            (100, 100, 89, 90),      # 2: eq 14,950 - 4,500 = 10,450; short exit signal
            (90, 91, 89, 90)]        # 3: buy back @ 90.9: cash 14,950 - 4,545 = 10,405
    r = run(rows, short_entries=[0], short_exits=[2], size=50, size_type="units", costs={"spread": 0.02})
    check_trade(r, 0, side="short", entry_price=99, exit_price=90.9,
                slippage=95,           # 50 x 1 + 50 x 0.9
                pnl=405)               # (99 - 90.9) x 50 = 500 - 95
    check_equity(r, [10_000, 9_950, 10_450, 10_405])


def test_slippage_and_spread_add_up():
    # slippage 0.5 % + half of a 1 % spread = 1 % per fill: the same numbers as slippage 1 % alone
    rows = [FLAT, QUIET, (100, 111, 100, 110), (110, 112, 109, 111)]
    r = run(rows, entries=[0], exits=[2], size=50, size_type="units",
            costs={"slippage": 0.005, "spread": 0.01})
    check_trade(r, 0, entry_price=101, exit_price=108.9, slippage=105, pnl=395)


def test_slippage_on_a_stop_fill():
    # the stop is 10 % below the entry fill (101 x 0.9 = 90.9); the stop fill slips too: 90.9 x 0.99
    rows = [FLAT,                    # 0: entry signal
            QUIET,                   # 1: buy 50 u @ 101: cash 4,950
            (95, 96, 85, 88),        # 2: low 85 -> sell @ 89.991: cash 4,950 + 4,499.55 = 9,449.55
            QUIET]
    r = run(rows, entries=[0], size=50, size_type="units", stop_loss=0.1, costs={"slippage": 0.01})
    check_trade(r, 0, exit_idx=2, exit_price=89.991, exit_reason="stop_loss",
                slippage=95.45,        # 50 x 1 + 50 x 0.909
                pnl=-550.45)           # (89.991 - 101) x 50
    check_equity(r, [10_000, 9_950, 9_449.55, 9_449.55])


# --- sizing ------------------------------------------------------------------------------------------------

SIZING_ROWS = [FLAT,                    # 0: entry signal
               QUIET,                   # 1: buy @ 100
               (100, 111, 100, 110),    # 2: exit signal
               (110, 112, 109, 111)]    # 3: sell @ 110: pnl = 10 x units


@pytest.mark.parametrize(("size", "size_type", "units"), [
    (10, "units", 10),        # 10 units
    (5_000, "cash", 50),      # 5,000 / 100
    (0.5, "equity", 50),     # 0.5 x 10,000 / 100
    (1.0, "equity", 100),    # all in
])
def test_size_types(size, size_type, units):
    r = run(SIZING_ROWS, entries=[0], exits=[2], size=size, size_type=size_type)
    check_trade(r, 0, size=units, pnl=10 * units)
    assert r.stats["final_equity"] == exact(10_000 + 10 * units)


@pytest.mark.parametrize(("bar2", "exit_price", "loss"), [
    ((99, 100, 94, 95), 95, 200),   # stop filled at the level: loses exactly 2 % of 10,000
    ((90, 92, 89, 91), 90, 400),    # a gap through the stop loses more: 40 u x 10
])
def test_risk_sizing_loses_the_risk_at_the_stop(bar2, exit_price, loss):
    # risk 2 % with a 5 % stop: units = 10,000 x 0.02 / (100 x 0.05) = 40
    rows = [FLAT, QUIET, bar2, FLAT]
    r = run(rows, entries=[0], size=0.02, size_type="risk", stop_loss=0.05)
    check_trade(r, 0, size=40, exit_price=exit_price, exit_reason="stop_loss", pnl=-loss)
    check_equity(r, [10_000, 10_000, 10_000 - loss, 10_000 - loss])


@pytest.mark.parametrize(("lot_size", "units", "final"), [
    (0, 10_000 / 30, 11_000),   # fractional: 333.33 u; pnl 3 x 333.33 = 1,000
    (1, 333, 10_999),           # whole shares: 333 u, 10 cash left; 10 + 333 x 33
    (10, 330, 10_990),          # lots of 10: 330 u; 100 + 330 x 33
])
def test_integer_versus_fractional_sizes(lot_size, units, final):
    rows = [(30, 30, 30, 30),       # 0: entry signal
            (30, 31, 29, 30),       # 1: buy @ 30; exit signal
            (33, 34, 32, 33)]       # 2: sell @ 33
    r = run(rows, entries=[0], exits=[1], lot_size=lot_size)
    check_trade(r, 0, size=units, pnl=3 * units)
    check_equity(r, [10_000, 10_000, final])


def test_leverage_lets_percent_sizing_exceed_the_cash():
    rows = [FLAT,                    # 0: entry signal
            QUIET,                   # 1: buy 2 x 10,000 / 100 = 200 u: cash -10,000; eq 10,000
            (100, 106, 99, 105)]     # 2: eq -10,000 + 21,000 = 11,000
    r = run(rows, entries=[0], size=2.0, leverage=2.0)
    check_trade(r, 0, size=200, pnl=1_000, **{"return": 0.05})   # 1,000 / 20,000 of position value
    check_equity(r, [10_000, 10_000, 11_000])


# --- orders that cannot be filled --------------------------------------------------------------------------


@pytest.mark.parametrize("options", [
    {"size": 20_000, "size_type": "cash"},                          # spend 20,000 of 10,000
    {"size": 101, "size_type": "units"},                            # 101 x 100 = 10,100 > 10,000
    {"size": 100, "size_type": "units", "costs": {"commission_fixed": 1}},  # 10,000 + 1 > 10,000
])
def test_an_order_cash_cannot_cover_is_rejected(options):
    r = run([FLAT, QUIET, QUIET], entries=[0], **options)
    assert r.trades.empty                        # no trade
    assert r.state["rejected"][0] == 1           # one refused order
    check_equity(r, [10_000, 10_000, 10_000])    # nothing moved


def test_an_order_exactly_covered_is_filled():
    r = run([FLAT, QUIET, QUIET], entries=[0], size=100, size_type="units")   # 100 x 100 = 10,000 = cash
    assert r.state["rejected"][0] == 0
    check_trade(r, 0, size=100)
    assert r.state["cash"][0] == exact(0.0)


def test_whole_shares_too_expensive_are_rejected():
    price = (20_000, 20_000, 20_000, 20_000)   # all in: 0.5 u, rounded down to 0 whole shares
    r = run([price, price, price], entries=[0], lot_size=1)
    assert r.trades.empty
    assert r.state["rejected"][0] == 1


def test_a_rejected_order_does_not_block_a_later_one():
    rows = [(150, 150, 150, 150),    # 0: entry signal
            (150, 151, 149, 150),    # 1: 100 u x 150 = 15,000 > 10,000: rejected
            (150, 150, 50, 50),      # 2: entry signal again
            (50, 51, 49, 50),        # 3: 100 u x 50 = 5,000: filled; cash 5,000; eq 10,000
            (50, 61, 50, 60)]        # 4: eq 5,000 + 6,000 = 11,000
    r = run(rows, entries=[0, 2], size=100, size_type="units")
    assert r.state["rejected"][0] == 1
    assert len(r.trades) == 1
    check_trade(r, 0, entry_idx=3, entry_price=50, pnl=1_000, open=True)
    check_equity(r, [10_000, 10_000, 10_000, 10_000, 11_000])


# --- signals on the same bar, missing bars -----------------------------------------------------------------


@pytest.mark.parametrize("signals", [
    {"entries": [0], "exits": [0]},                  # a long entry with a long exit: ignored
    {"short_entries": [0], "short_exits": [0]},      # same for shorts
    {"entries": [0], "short_entries": [0]},          # long and short entries: cancel
])
def test_conflicting_signals_while_flat_do_nothing(signals):
    r = run([FLAT, QUIET, QUIET], **signals)
    assert r.trades.empty
    assert r.state["rejected"][0] == 0
    check_equity(r, [10_000, 10_000, 10_000])


def test_entry_and_exit_on_one_bar_while_long_still_exits():
    # the entry is ignored, the exit is not
    rows = [FLAT, QUIET, (100, 106, 99, 105), (104, 105, 103, 104), FLAT]
    r = run(rows, entries=[0, 2], exits=[2])
    assert len(r.trades) == 1
    check_trade(r, 0, entry_idx=1, exit_idx=3, exit_price=104, pnl=400, exit_reason="signal")


@pytest.mark.parametrize("signals", [
    {"entries": [0, 2], "short_entries": [2]},     # long + short entries cancel: no reversal
    {"short_entries": [2], "short_exits": [2]},    # a short entry with a short exit is ignored: no reversal
])
def test_conflicting_entries_while_long_keep_the_position(signals):
    rows = [FLAT, QUIET, QUIET, (100, 106, 99, 105)]
    r = run(rows, **{"entries": [0], **signals})
    assert len(r.trades) == 1
    check_trade(r, 0, side="long", entry_idx=1, exit_reason="end", open=True, pnl=500)


def test_a_missing_bar_neither_trades_nor_changes_equity():
    rows = [FLAT,                    # 0: entry signal
            QUIET,                   # 1: buy 100 u @ 100; eq 10,000
            NAN,                     # 2: no bar; an exit signal here is not acted on; eq stays 10,000
            (104, 106, 103, 105)]    # 3: eq 10,500
    r = run(rows, entries=[0], exits=[2])
    check_trade(r, 0, entry_idx=1, exit_idx=3, exit_price=105, pnl=500, exit_reason="end", open=True)
    check_equity(r, [10_000, 10_000, 10_000, 10_500])


def test_an_order_waits_over_a_missing_bar():
    rows = [FLAT,
            QUIET,                   # 1: entry signal
            NAN,                     # 2: no bar to fill at
            (104, 106, 103, 105),    # 3: buy 50 u @ 104: cash 4,800; eq 4,800 + 5,250 = 10,050
            (105, 110, 105, 110)]    # 4: eq 4,800 + 5,500 = 10,300
    r = run(rows, entries=[1], size=50, size_type="units")
    check_trade(r, 0, entry_idx=3, entry_price=104, pnl=300, open=True)
    check_equity(r, [10_000, 10_000, 10_000, 10_050, 10_300])


# --- accounts and statistics ------------------------------------------------------------------------------


def test_max_drawdown_of_a_short_only_run():
    rows = [FLAT,                    # 0: short signal
            QUIET,                   # 1: sell 100 u @ 100; cash 20,000; eq 10,000
            (100, 111, 100, 110),    # 2: eq 9,000: 10 % under the peak 10,000
            (110, 110, 104, 105),    # 3: eq 9,500
            (105, 105, 89, 90),      # 4: eq 11,000: new peak
            (90, 100, 90, 99)]       # 5: eq 10,100: 1 - 10,100 / 11,000 = 8.2 % under
    r = run(rows, short_entries=[0])
    check_equity(r, [10_000, 10_000, 9_000, 9_500, 11_000, 10_100])
    assert r.stats["max_drawdown"] == exact(-0.1)       # the deeper of -10 % and -8.2 %
    assert r.summary[0, 1] == exact(0.1)                # the kernel's figure, a positive fraction
    assert r.stats["max_drawdown_duration"] == 2        # bars 2 and 3 under 10,000
    assert r.stats["total_return"] == exact(0.01)       # 10,100 / 10,000 - 1


def test_drawdown_counts_from_the_starting_cash():
    # same-close entry at bar 0 with a fixed fee of 100: (10,000 - 100) / 100 = 99 u; eq 9,900 at bar 0
    rows = [FLAT, FLAT, (100, 111, 100, 110)]   # eq 9,900; 9,900; 99 x 110 = 10,890
    r = run(rows, entries=[0], fill="same_close", costs={"commission_fixed": 100})
    check_equity(r, [9_900, 9_900, 10_890])
    assert r.summary[0, 1] == exact(0.01)          # 1 - 9,900 / 10,000
    assert r.stats["max_drawdown"] == exact(-0.01)


def test_mixed_long_and_short():
    rows = [FLAT,                    # 0: long signal
            QUIET,                   # 1: buy 100 u @ 100; eq 10,000
            (100, 121, 100, 120),    # 2: eq 12,000; exit signal
            (120, 121, 119, 120),    # 3: sell @ 120: +2,000, cash 12,000; short signal
            (120, 121, 95, 96),      # 4: sell 12,000 / 120 = 100 u @ 120; cash 24,000; eq 14,400; cover signal
            (96, 97, 89, 90)]        # 5: buy back @ 96: +2,400; cash 14,400
    r = run(rows, entries=[0], exits=[2], short_entries=[3], short_exits=[4])
    check_trade(r, 0, side="long", entry_idx=1, exit_idx=3, pnl=2_000)
    check_trade(r, 1, side="short", entry_idx=4, exit_idx=5, entry_price=120, exit_price=96, pnl=2_400,
                mfe=25 / 120,          # low 95 on bar 4
                mae=-1 / 120)          # high 121 on bar 4
    check_equity(r, [10_000, 10_000, 12_000, 12_000, 14_400, 14_400])
    stats = r.stats
    assert (stats["long_trades"], stats["short_trades"], stats["win_rate"]) == (1, 1, 1.0)
    assert (stats["long_pnl"], stats["short_pnl"]) == (exact(2_000), exact(2_400))
    assert stats["total_return"] == exact(0.44)


def test_parameter_sets_run_side_by_side():
    rows = [FLAT,                    # 0: entry signal
            QUIET,                   # 1: both columns buy 100 u @ 100
            (100, 100, 90, 92),      # 2: column 0 (stop 5 %) sells @ 95; column 1 (stop 20 %, at 80) holds
            (92, 93, 91, 92)]
    r = run(rows, entries=[0], stop_loss=[0.05, 0.2])
    assert len(r.trades) == 2
    first, second = r.trades.iloc[0], r.trades.iloc[1]
    assert (first["column"], first["exit_reason"], first["pnl"]) == (0, "stop_loss", exact(-500))
    assert (second["column"], second["exit_reason"], second["pnl"]) == (1, "end", exact(-800))
    assert r.equity[0].tolist() == [exact(v) for v in (10_000, 10_000, 9_500, 9_500)]
    assert r.equity[1].tolist() == [exact(v) for v in (10_000, 10_000, 9_200, 9_200)]


def test_a_dataframe_gives_the_same_run_as_bars():
    rows = [QUIET, (100, 100, 95, 96), (96, 96, 90, 90), (90, 92, 88, 91)]
    bars = make_bars(rows)
    signals = {"short_entries": mask(4, [0]), "short_exits": mask(4, [2])}
    from_bars = backtest(bars, **signals)
    from_frame = backtest(bars.to_pandas(), **signals)
    pd.testing.assert_frame_equal(from_frame.trades, from_bars.trades)
    assert from_frame.equity.tolist() == from_bars.equity.tolist() == [10_000, 10_400, 11_000, 11_000]


@pytest.mark.parametrize(("open2", "field", "expected"), [
    (90, "mae", -0.10),    # the trade lost 10 %: its adverse excursion is at least that
    (110, "mfe", 0.10),    # the trade made 10 %: its favourable excursion is at least that
])
def test_excursions_include_an_exit_at_a_gapped_open(open2, field, expected):
    rows = [FLAT,                    # 0: entry signal
            (100, 102, 98, 100),     # 1: buy 100 u @ 100 (range 98..102: +-2 %); exit signal
            (open2, open2 + 2, open2 - 1, open2 + 1)]   # 2: sell at the open, 10 % away
    r = run(rows, entries=[0], exits=[1])
    check_trade(r, 0, exit_price=open2, **{field: expected})   # the engine records -0.02 / 0.02


def test_several_symbols_compete_for_shared_cash():
    # One account, cash 10,000; each symbol wants 60 % of equity. At bar 1's open A (first column) buys
    # 0.6 x 10,000 / 100 = 60 u (cash 4,000); B is then sized on equity 10,000 -> 6,000 / 50 = 120 u,
    # which 4,000 of cash cannot cover: rejected.
    a = make_bars([FLAT, FLAT, (100, 111, 100, 110)], symbol="A")
    b = make_bars([(50, 50, 50, 50)] * 3, symbol="B")
    entries = pd.DataFrame({"A": mask(3, [0]), "B": mask(3, [0])}, index=a.index)
    data: dict[str, Bars] = {"A": a, "B": b}
    r = backtest(data, entries=entries, size=0.6, size_type="equity")  # several Bars: one shared account
    assert int(np.sum(r.state["rejected"])) == 1     # B's order
    assert len(r.trades) == 1
    check_trade(r, 0, entry_idx=1, size=60, entry_price=100, pnl=600, open=True)   # 60 x (110 - 100)
    check_equity(r, [10_000, 10_000, 10_600])        # 4,000 + 60 x 110 at the end
