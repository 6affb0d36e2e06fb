"""Corporate actions in the engine: splits and dividends applied at the ex-bar's open, worked out by hand.

The rules under test (step 0 of the ``simulate_nb`` contract): on a ``"raw"`` series a split of ratio r at bar
i multiplies the units held by r and divides the entry price and every level by r, before bar i's fills, with
no cash moving (with ``lot_size`` the fraction of a unit is paid as cash in lieu at bar i's open); a dividend
D at bar i pays units x D to the position held over bar i-1's close (a short pays it), on the trade's
``dividends`` and in its PnL. ``"splits"`` series get the dividends only, ``"total"`` series nothing, and
``corporate_actions=False`` turns both off.

Unless a test says otherwise: cash 10,000, no costs, orders decided at a close fill at the next open, daily
bars from Monday 2024-01-01. Rows are ``(open, high, low, close)``; "eq" is cash + units x close.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from backgrid.data.bars import Bars, MultiBars
from backgrid.engine import EngineConfig, Result, backtest
from backgrid.engine.options import json_schema
from backgrid.errors import EngineError, OptionError
from backgrid.testing import random_bars

from .scenario_kit import check_equity, check_trade, exact, make_bars, mask

UNITS = {"size_type": "units"}


def _bars(rows: list[tuple[float, ...]], *, split: dict[int, float] | None = None,
          dividend: dict[int, float] | None = None, adjustment: str = "raw", symbol: str = "TEST") -> Bars:
    """Bars of ``rows`` with a split ratio and a dividend on the bars given (none elsewhere)."""
    bars = make_bars(rows, symbol=symbol)
    n = len(bars)
    ratios, cash = np.ones(n), np.zeros(n)
    for i, r in (split or {}).items():
        ratios[i] = r
    for i, d in (dividend or {}).items():
        cash[i] = d
    return replace(bars, split_factor=ratios, dividend=cash, adjustment=adjustment)


def _run(bars: Bars, *, entries: tuple[int, ...] = (), exits: tuple[int, ...] = (),
         short_entries: tuple[int, ...] = (), short_exits: tuple[int, ...] = (), **options: Any) -> Result:
    n = len(bars)
    return backtest(bars, entries=mask(n, entries), exits=mask(n, exits), short_entries=mask(n, short_entries),
                    short_exits=mask(n, short_exits), **options)


# --- splits ---------------------------------------------------------------------------------------------------

SPLIT_ROWS = [(100, 100, 100, 100),  # 0: signal at the close
              (100, 101, 99, 100),   # 1: 10 u filled @ 100 (commission 0.001 x 1,000 = 1)
              (50, 51, 49, 50),      # 2: 2-for-1 at the open: 20 u, entry 50; signal to close
              (52, 53, 51, 52),      # 3: 20 u filled @ 52 (commission 0.001 x 1,040 = 1.04)
              (52, 52, 52, 52)]      # 4


def test_a_long_position_is_split_and_closed_at_the_adjusted_entry():
    bars = _bars(SPLIT_ROWS, split={2: 2.0})
    r = _run(bars, entries=(0,), exits=(2,), size=10, **UNITS, costs={"commission": 0.001})
    check_trade(r, 0, side="long", entry_idx=1, exit_idx=3, size=20,  # 10 x 2
                entry_price=50,          # 100 / 2
                exit_price=52,
                pnl=37.96,               # 20 x (52 - 50) = 40, less commissions 1 + 1.04
                commission=2.04,
                **{"return": 0.03796},   # 37.96 / (50 x 20)
                dividends=0,
                mfe=0.04,                # best: bar 1's high 101 / 2 = 50.5, bar 2's 51, the exit 52 -> 52 / 50 - 1
                mae=-0.02)               # worst: bar 1's low 99 / 2 = 49.5, bar 2's 49 -> 49 / 50 - 1
    # cash 10,000 - 1,000 - 1 = 8,999: bar 1 eq 8,999 + 10 x 100; bar 2 the same value, 8,999 + 20 x 50 (the
    # split moves no cash); bar 3 cash 8,999 + 20 x 52 - 1.04 = 10,037.96
    check_equity(r, [10_000, 9_999, 9_999, 10_037.96, 10_037.96])


def test_a_short_position_is_split_and_covered_at_the_adjusted_entry():
    bars = _bars(SPLIT_ROWS, split={2: 2.0})
    r = _run(bars, short_entries=(0,), short_exits=(2,), size=10, **UNITS, costs={"commission": 0.001})
    check_trade(r, 0, side="short", size=20, entry_price=50, exit_price=52,
                pnl=-42.04,              # 20 x (50 - 52) = -40, less commissions 1 + 1.04
                mfe=0.02,                # best (lowest): bar 2's low 49 -> 1 - 49 / 50
                mae=-0.04)               # worst (highest): the exit 52 -> -(52 / 50 - 1)
    # cash 10,000 + 1,000 - 1 = 10,999: eq 10,999 - 10 x 100 = 9,999 = 10,999 - 20 x 50; covered: 10,999 - 1,040
    # - 1.04 = 9,957.96
    check_equity(r, [10_000, 9_999, 9_999, 9_957.96, 9_957.96])


def test_a_split_divides_the_stop_loss_level():
    rows = [(100, 100, 100, 100),  # 0: signal
            (100, 101, 99, 100),   # 1: 10 u @ 100, stop-loss at 95
            (50, 51, 48, 50),      # 2: 2-for-1: 20 u, stop at 47.5 (low 48 safe; 95 unadjusted would fill)
            (49, 50, 47, 48),      # 3: low 47 <= 47.5 -> sold @ 47.5
            (48, 48, 48, 48)]
    r = _run(_bars(rows, split={2: 2.0}), entries=(0,), size=10, **UNITS, stop_loss=0.05)
    check_trade(r, 0, exit_idx=3, size=20, entry_price=50, exit_price=47.5, exit_reason="stop_loss",
                pnl=-50)  # 20 x (47.5 - 50)
    check_equity(r, [10_000, 10_000, 10_000, 9_950, 9_950])  # bar 2: 9,000 + 20 x 50


def test_a_split_moves_the_trailing_stop_and_its_best_price():
    rows = [(100, 100, 100, 100),  # 0: signal
            (100, 110, 99, 108),   # 1: 10 u @ 100; best 110 -> trail 99
            (54, 56, 50, 55),      # 2: 2-for-1: best 55, trail 49.5 (low 50 safe); best -> 56, trail 50.4
            (52, 53, 50, 51),      # 3: low 50 <= 50.4 -> sold @ 50.4
            (51, 51, 51, 51)]
    r = _run(_bars(rows, split={2: 2.0}), entries=(0,), size=10, **UNITS, trailing_stop=0.1)
    check_trade(r, 0, exit_idx=3, size=20, entry_price=50, exit_price=50.4, exit_reason="trailing_stop",
                pnl=8)  # 20 x (50.4 - 50)


def test_a_split_divides_the_price_of_a_working_limit_order():
    rows = [(100, 100, 100, 100),  # 0: buy limit at 90, working 3 bars
            (100, 100, 95, 98),    # 1: low 95 > 90
            (49, 50, 46, 48),      # 2: 2-for-1: the limit is 45 (low 46 > 45; 90 unadjusted would fill @ 49)
            (46, 47, 44, 45),      # 3: low 44 <= 45 -> 10 u @ 45
            (45, 45, 45, 45)]
    bars = _bars(rows, split={2: 2.0})
    r = _run(bars, entries=(0,), size=10, **UNITS, entry_type="limit", entry_price=np.full(5, 90.0),
             entry_expiry=3)
    check_trade(r, 0, entry_idx=3, entry_price=45, size=10, open=True)


def test_a_split_divides_the_stop_distance_an_entry_waiting_for_the_ex_open_was_decided_with():
    rows = [(100, 100, 100, 100),  # 0: signal, stop-loss distance 10 (in the prices before the split)
            (50, 51, 46, 48),      # 1: 2-for-1, then 10 u @ 50: stop at 50 - 10 / 2 = 45 (low 46 safe)
            (47, 48, 44, 45),      # 2: low 44 <= 45 -> sold @ 45 (the distance unadjusted: 40, not touched)
            (45, 45, 45, 45)]
    r = _run(_bars(rows, split={1: 2.0}), entries=(0,), size=10, **UNITS,
             stop_loss_distance=np.array([10.0, np.nan, np.nan, np.nan]))
    check_trade(r, 0, entry_idx=1, exit_idx=2, size=10, entry_price=50, exit_price=45, exit_reason="stop_loss",
                pnl=-50)  # 10 x (45 - 50): the position opened after the split is not split
    check_equity(r, [10_000, 9_980, 9_950, 9_950])  # 9,500 + 10 x 48, then 9,500 + 450


@pytest.mark.parametrize(("side", "trade", "final"), [
    # long 7 @ 100; 3-for-2: 10.5 u -> 10 u and 0.5 u paid at bar 2's open 66 (cash in lieu 33); entry 100 / 1.5
    # = 66.67; sold 10 @ 70: 10 x (70 - 66.67) = 33.33, plus the fraction's 0.5 x (66 - 66.67) = -0.33 -> 33;
    # cash 10,000 - 700 + 33 + 700 = 10,033
    ("long", {"pnl": 33.0, "return": 33.0 / 666.6666666666667}, 10_033),
    # short 7 @ 100: -10.5 -> -10 u and the 0.5 u paid for at 66 (-33); bought back 10 @ 70: 10 x (66.67 - 70)
    # = -33.33, plus the fraction's -0.5 x (66 - 66.67) = +0.33 -> -33; cash 10,000 + 700 - 33 - 700 = 9,967
    ("short", {"pnl": -33.0}, 9_967),
])
def test_an_odd_whole_unit_position_gets_cash_in_lieu_of_the_fraction(side, trade, final):
    rows = [(100, 100, 100, 100),  # 0: signal
            (100, 100, 99, 99),    # 1: 7 u @ 100
            (66, 67, 65, 66),      # 2: 3-for-2 at the open; signal to close
            (70, 70, 70, 70),      # 3: 10 u filled @ 70
            (70, 70, 70, 70)]
    bars = _bars(rows, split={2: 1.5})
    signals = {"entries": (0,), "exits": (2,)} if side == "long" else {"short_entries": (0,), "short_exits": (2,)}
    r = _run(bars, **signals, size=7, **UNITS, lot_size=1.0)
    check_trade(r, 0, size=10, entry_price=100 / 1.5, exit_price=70, **trade)
    units = 7 if side == "long" else -7
    lieu = (units * 1.5 - np.sign(units) * 10) * 66  # +33 long, -33 short
    cash = 10_000 - units * 100 + lieu
    # bar 1 eq: cash + 7 u x 99; bar 2: the value at the open is kept (10.5 u x 66 = 10 u x 66 + 33), then the
    # close: cash + 10 u x 66
    check_equity(r, [10_000, 10_000 - units * 100 + units * 99, cash + np.sign(units) * 10 * 66, final, final])


def test_a_split_keeps_whole_shares_beyond_the_lot():
    # lots of 100: 100 u bought; a 3-for-2 split makes them 150 whole shares, all kept (a broker pays cash only
    # for a fraction of a share); eq at bar 2's open: 150 u x 66 = 9,900 = 100 u x 99, no cash moved
    rows = [(100, 100, 100, 100), (100, 100, 99, 99), (66, 66, 66, 66), (66, 66, 66, 66)]
    r = _run(_bars(rows, split={2: 1.5}), entries=(0,), size=100, **UNITS, lot_size=100.0)
    check_trade(r, 0, size=150, entry_price=100 / 1.5, open=True)
    check_equity(r, [10_000, 10_000 - 100 * 100 + 100 * 99, 10_000 - 100 * 100 + 150 * 66,
                     10_000 - 100 * 100 + 150 * 66])


def test_whole_lots_stay_whole_up_to_float_rounding():
    rows = [(10, 10, 10, 10), (10, 10, 10, 10), (5, 5, 5, 5), (5, 5, 5, 5)]
    # 0.295 u in lots of 0.01: 29 lots = 0.29 u; x 2 = 0.58 u, which is 57.99999999999999 lots in floats:
    # 58 lots, not 57 and cash for the rest
    r = _run(_bars(rows, split={2: 2.0}), entries=(0,), size=0.295, **UNITS, lot_size=0.01)
    check_trade(r, 0, size=0.58, entry_price=5, open=True)
    check_equity(r, [10_000] * 4)


# --- dividends ------------------------------------------------------------------------------------------------

DIV_ROWS = [(100, 100, 100, 100),  # 0: signal
            (100, 100, 100, 100),  # 1: 10 u @ 100
            (99, 99, 99, 99),      # 2: ex-dividend 2 at the open; signal to close
            (99, 99, 99, 99)]      # 3: 10 u filled @ 99


def test_a_long_position_receives_the_dividend_on_the_ex_bar():
    r = _run(_bars(DIV_ROWS, dividend={2: 2.0}), entries=(0,), exits=(2,), size=10, **UNITS)
    check_trade(r, 0, size=10, exit_price=99,
                dividends=20,  # 10 u x 2
                pnl=10)        # 10 x (99 - 100) + 20
    # cash 9,000 after the buy, 9,020 from bar 2's open: eq 9,020 + 10 x 99 = 10,010; without the dividend it
    # would be 9,990, the cash jumping by 10 x 2 = 20 on the ex bar
    check_equity(r, [10_000, 10_000, 10_010, 10_010])
    assert r.ledger()["cash"].tolist() == [exact(v) for v in (10_000, 9_000, 9_020, 10_010)]
    assert r.summary[0, 0] == exact(10_010)
    without_curve = _run(_bars(DIV_ROWS, dividend={2: 2.0}), entries=(0,), exits=(2,), size=10, **UNITS,
                         keep_equity=False)
    assert without_curve.summary[0, 0] == exact(10_010)
    assert without_curve.metrics(["total_return"])["total_return"].tolist() == [exact(0.001)]  # 10 / 10,000


def test_a_short_position_pays_the_dividend():
    r = _run(_bars(DIV_ROWS, dividend={2: 2.0}), short_entries=(0,), short_exits=(2,), size=10, **UNITS)
    check_trade(r, 0, side="short", dividends=-20,  # -10 u x 2
                pnl=-10)                            # 10 x (100 - 99) - 20
    # cash 11,000 after the sale, 10,980 from bar 2's open: eq 10,980 - 990 = 9,990; covered: 10,980 - 990
    check_equity(r, [10_000, 10_000, 9_990, 9_990])


def test_a_position_closed_at_the_ex_open_gets_the_dividend_and_one_opened_there_does_not():
    rows = [(100, 100, 100, 100),  # 0: long signal
            (100, 100, 100, 100),  # 1: 10 u long @ 100; short signal: a reversal at the next open
            (99, 99, 99, 99),      # 2: ex-dividend 2 (held over bar 1's close: the long gets 20), then the
                                   #    long is sold @ 99 and 10 u sold short @ 99 (no dividend); signal to cover
            (97, 97, 97, 97)]      # 3: covered @ 97
    r = _run(_bars(rows, dividend={2: 2.0}), entries=(0,), short_entries=(1,), short_exits=(2,), size=10, **UNITS)
    check_trade(r, 0, side="long", entry_idx=1, exit_idx=2, dividends=20, pnl=10)   # 10 x (99 - 100) + 20
    check_trade(r, 1, side="short", entry_idx=2, exit_idx=3, dividends=0, pnl=20)   # 10 x (99 - 97)
    # cash: 9,000 -> +20 -> +990 (sale) -> +990 (short) = 11,000: eq 11,000 - 990 = 10,010; covered 11,000 - 970
    check_equity(r, [10_000, 10_000, 10_010, 10_030])


def test_same_close_fills_hold_over_the_close_before_the_ex_bar():
    # filled at bar 1's close, the position is held over it and gets bar 2's dividend; sold at bar 2's close
    r = _run(_bars(DIV_ROWS, dividend={2: 2.0}), entries=(1,), exits=(2,), size=10, **UNITS, fill="same_close")
    check_trade(r, 0, entry_idx=1, exit_idx=2, dividends=20, pnl=10)  # 10 x (99 - 100) + 20


# --- which actions apply --------------------------------------------------------------------------------------

ACTION_ROWS = [(100, 100, 100, 100),  # 0: signal
               (100, 100, 100, 100),  # 1: 10 u @ 100
               (99, 99, 99, 99),      # 2: a split ratio 2 and a dividend 2 on the columns; signal to close
               (99, 99, 99, 99)]      # 3: sold @ 99


@pytest.mark.parametrize(("adjustment", "options", "size", "dividends"), [
    ("raw", {}, 20, 40),                             # split first: 20 u, then 20 u x 2 of dividend
    ("splits", {}, 10, 20),                          # prices split-adjusted already: the dividend only, 10 u x 2
    ("total", {}, 10, 0),                            # both in the prices: nothing
    ("raw", {"corporate_actions": False}, 10, 0),    # turned off
])
def test_the_adjustment_and_the_option_decide_what_applies(adjustment, options, size, dividends):
    bars = _bars(ACTION_ROWS, split={2: 2.0}, dividend={2: 2.0}, adjustment=adjustment)
    r = _run(bars, entries=(0,), exits=(2,), size=10, **UNITS, **options)
    entry = 100 * 10 / size  # 50 after the split, else 100
    pnl = size * (99 - entry) + dividends  # raw: 20 x (99 - 50) + 40 = 1,020 (the rows' prices are not halved)
    check_trade(r, 0, size=size, entry_price=entry, dividends=dividends, pnl=pnl)
    # bar 2: cash 10,000 - 1,000 + dividends, plus size x 99; sold @ 99 at bar 3
    check_equity(r, [10_000, 10_000, 9_000 + dividends + size * 99, 10_000 + pnl])


def test_a_dataframe_input_carries_no_corporate_actions():
    bars = _bars(ACTION_ROWS, split={2: 2.0}, dividend={2: 2.0})
    frame = bars.to_pandas()
    assert {"split_factor", "dividend"} <= set(frame.columns)
    r = _run(bars, entries=(0,), exits=(2,), size=10, **UNITS)
    n = len(bars)
    plain = backtest(frame, entries=mask(n, (0,)), exits=mask(n, (2,)), size=10, **UNITS)
    assert r.trades["size"].tolist() == [20]
    check_trade(plain, 0, size=10, dividends=0, pnl=-10)  # 10 x (99 - 100)


def test_the_option_is_declared_once_and_checked():
    assert EngineConfig().corporate_actions is True
    assert EngineConfig(corporate_actions=False).to_dict()["corporate_actions"] is False
    assert json_schema()["properties"]["corporate_actions"]["type"] == "boolean"
    with pytest.raises(OptionError, match="corporate_actions must be True or False"):
        EngineConfig(corporate_actions=1)


@pytest.mark.parametrize(("column", "value", "message"), [
    ("split", 0.0, r"TEST: split_factor must be a ratio > 0 \(1 for none\), got 0 at bar 2"),
    ("dividend", -1.0, r"TEST: dividend must be cash per share >= 0 \(0 for none\), got -1 at bar 2"),
])
def test_a_bad_action_names_the_symbol_the_column_and_the_bar(column, value, message):
    bars = _bars(ACTION_ROWS, **{column: {2: value}})
    with pytest.raises(EngineError, match=message):
        _run(bars, entries=(0,))


# --- a portfolio ----------------------------------------------------------------------------------------------

def test_a_portfolio_applies_each_symbols_actions_to_one_cash_account():
    a = _bars([(100, 100, 100, 100),   # 0: signal
               (100, 100, 100, 100),   # 1: 10 u @ 100
               (50, 51, 50, 51),       # 2: 2-for-1: 20 u, entry 50; signal to close
               (52, 52, 52, 52)],      # 3: 20 u sold @ 52
              split={2: 2.0}, symbol="A")
    b = _bars([(40, 40, 40, 40),       # 0: signal
               (40, 40, 40, 40),       # 1: 5 u @ 40
               (39, 39, 39, 39),       # 2: ex-dividend 1: +5; signal to close
               (39, 39, 39, 39)],      # 3: 5 u sold @ 39
              dividend={2: 1.0}, symbol="B")
    n = 4
    r = backtest(MultiBars([a, b]), entries=np.column_stack([mask(n, (0,))] * 2),
                 exits=np.column_stack([mask(n, (2,))] * 2), size=[10, 5], **UNITS)
    trades = r.trades.set_index("symbol")
    assert trades.loc["A", "size"] == 20
    assert trades.loc["A", "entry_price"] == exact(50)
    assert trades.loc["A", "pnl"] == exact(40)        # 20 x (52 - 50)
    assert trades.loc["B", "dividends"] == exact(5)   # 5 u x 1
    assert trades.loc["B", "pnl"] == exact(0)         # 5 x (39 - 40) + 5
    # cash 10,000 - 1,000 - 200 = 8,800 (bar 1 eq 8,800 + 1,000 + 200); bar 2: 8,805 + 20 x 51 + 5 x 39 = 10,020;
    # bar 3: 8,805 + 20 x 52 + 5 x 39 = 10,040
    check_equity(r, [10_000, 10_000, 10_020, 10_040])
    assert r.ledger()["position_value"].tolist() == [exact(v) for v in (0, 1_200, 1_215, 0)]


# --- a raw series traded like its split-adjusted twin -------------------------------------------------------

def _twins(n: int, split_at: int, seed: int, symbol: str = "RANDOM") -> tuple[Bars, Bars]:
    """A split-adjusted random series and its raw twin: prices before ``split_at`` doubled, a 2-for-1 there."""
    adjusted = random_bars(n, timeframe="1d", seed=seed, symbol=symbol)
    scale = np.where(np.arange(n) < split_at, 2.0, 1.0)
    ratio = np.ones(n)
    ratio[split_at] = 2.0
    raw = replace(adjusted, open=adjusted.open * scale, high=adjusted.high * scale, low=adjusted.low * scale,
                  close=adjusted.close * scale, split_factor=ratio)
    return raw, replace(adjusted, split_factor=ratio, adjustment="splits")  # its split column is ignored


@pytest.mark.parametrize("seed", range(3))
def test_a_raw_series_with_a_split_trades_like_its_split_adjusted_twin(seed):
    # sized on equity with any fraction of a unit, the raw run holds half the units at twice the price before the
    # split and the same units after it: every equity value agrees (a ratio of 2 divides exactly)
    rng = np.random.default_rng(seed)
    signals = {name: rng.random(300) < 0.08 for name in ("entries", "exits", "short_entries", "short_exits")}
    options = {"stop_loss": 0.03, "trailing_stop": 0.05, "costs": {"commission": 0.001, "slippage": 0.0005,
                                                                   "borrow_rate": 0.05}}
    # the split falls inside the longest trade (the adjusted run ignores its split column: it trades the same)
    longest = backtest(_twins(300, 1, seed)[1], **signals, **options).trades.sort_values("bars_held").iloc[-1]
    split_at = int(longest["entry_idx"]) + 1
    assert split_at <= longest["exit_idx"]
    raw, adjusted = _twins(300, split_at, seed)
    r_raw, r_adj = backtest(raw, **signals, **options), backtest(adjusted, **signals, **options)
    assert r_raw.equity.tolist() == [exact(v) for v in r_adj.equity.tolist()]
    assert r_raw.trades["pnl"].tolist() == [exact(v) for v in r_adj.trades["pnl"].tolist()]
    assert r_raw.trades["exit_reason"].tolist() == r_adj.trades["exit_reason"].tolist()
    # the trades after the split hold the adjusted run's units, the one across it too; those before it half
    before = r_raw.trades["exit_idx"] < split_at
    assert r_raw.trades["size"][~before].tolist() == [exact(v) for v in r_adj.trades["size"][~before].tolist()]
    assert (r_raw.trades["size"][before] * 2).tolist() == [exact(v) for v in r_adj.trades["size"][before].tolist()]
    assert r_raw.ledger()["cash"].tolist() == [exact(v) for v in r_adj.ledger()["cash"].tolist()]


def test_a_portfolio_with_a_raw_split_trades_like_its_split_adjusted_twin():
    raw, adjusted = _twins(200, 90, 5, symbol="A")
    other = random_bars(200, timeframe="1d", seed=9, symbol="B")
    rng = np.random.default_rng(3)
    signals = {name: rng.random((200, 2)) < 0.08 for name in ("entries", "exits")}
    r_raw = backtest(MultiBars([raw, other]), **signals, size=0.4, stop_loss=0.04)
    r_adj = backtest(MultiBars([adjusted, other]), **signals, size=0.4, stop_loss=0.04)
    assert r_raw.equity.tolist() == [exact(v) for v in r_adj.equity.tolist()]
