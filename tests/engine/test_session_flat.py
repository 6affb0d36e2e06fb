"""``flat_at``: at the close of a flagged bar (a session's last) every position is closed, and nothing is decided.

The close comes after that bar's stops; the trade's exit reason and the order's type are ``session``; an
entry signal at that close is ignored, a working limit / stop entry is cancelled, and no order waits for
the next open. Hand-computed scenarios, then the rule against a slow reference.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backgrid.data.bars import MultiBars
from backgrid.data.calendar import session_days
from backgrid.engine import EngineError, backtest
from tests.engine.guard_reference import assert_matches, hourly_market, reference
from tests.engine.scenario_kit import check_equity, check_trade, exact, make_bars, mask, run

UNITS = {"size": 10, "size_type": "units"}
ROWS = [
    (100, 101, 99, 100),  # 0: entry signal
    (100, 104, 99, 103),  # 1: bought 10 at 100; flat_at: sold at the close 103. Its entry signal is ignored
    (103, 105, 102, 104),  # 2: entry signal: bought at bar 3's open
    (104, 106, 103, 105),
    (105, 107, 104, 106),
]


def test_the_position_is_closed_at_the_close_of_the_flagged_bar():
    r = run(ROWS, entries=[0, 1, 2], flat_at=mask(5, [1]), **UNITS)
    assert len(r.trades) == 2
    check_trade(r, 0, entry_idx=1, exit_idx=1, entry_price=100.0, exit_price=103.0, pnl=30.0, exit_reason="session")
    check_trade(r, 1, entry_idx=3, entry_price=104.0, exit_reason="end", open=True)
    check_equity(r, [10_000, 10_030, 10_030, 10_040, 10_050])
    sale = r.orders.iloc[1]
    assert (sale["bar"], sale["side"], sale["type"], sale["status"], sale["price"]) == (1, "sell", "session",
                                                                                       "filled", 103.0)
    assert np.isnan(sale["order_price"])


def test_commission_is_charged_on_the_session_exit():
    r = run(ROWS, entries=[0], flat_at=mask(5, [1]), costs={"commission": 0.001}, **UNITS)
    # 30 gained, less 1.00 at the entry and 1.03 at the exit
    check_trade(r, 0, exit_price=103.0, commission=2.03, pnl=27.97, exit_reason="session")


def test_stops_of_the_flagged_bar_come_first():
    rows = [ROWS[0], (100, 101, 97, 103), *ROWS[2:]]
    r = run(rows, entries=[0], flat_at=mask(5, [1]), stop_loss=0.02, **UNITS)
    assert len(r.trades) == 1
    check_trade(r, 0, exit_idx=1, exit_price=98.0, exit_reason="stop_loss")


def test_an_exit_signal_on_the_flagged_bar_leaves_no_order():
    r = run(ROWS, entries=[0], exits=[1], flat_at=mask(5, [1]), **UNITS)
    assert len(r.orders) == 2  # the entry and the session exit; nothing at bar 2's open
    check_trade(r, 0, exit_idx=1, exit_reason="session")


def test_a_short_pays_borrow_up_to_the_close():
    # sold 10 at 100 at bar 1's open, bought back at 103: borrow for one day on 10 x 103 at 10 % a year
    r = run(ROWS, short_entries=[0], flat_at=mask(5, [1]), costs={"borrow_rate": 0.1}, **UNITS)
    borrow = 10 * 103 * 0.1 / 365.25
    check_trade(r, 0, side="short", exit_idx=1, exit_price=103.0, borrow=borrow, pnl=-30.0 - borrow,
                exit_reason="session")


def test_with_the_same_close_fill():
    r = run(ROWS, entries=[0], flat_at=mask(5, [2]), fill="same_close", **UNITS)
    check_trade(r, 0, entry_idx=0, entry_price=100.0, exit_idx=2, exit_price=104.0, pnl=40.0, exit_reason="session")


def test_a_working_limit_entry_is_cancelled():
    rows = [(100, 101, 99, 100), (100, 101, 96, 100), (100, 101, 97, 100), (99, 100, 94, 95), (95, 96, 94, 95)]
    data = make_bars(rows)
    r = backtest(data, entries=mask(5, [0]), entry_type="limit", entry_price=np.full(5, 95.0), entry_expiry=5,
                 flat_at=mask(5, [2]), **UNITS)
    assert r.trades.empty  # bar 3's low 94 would have filled it
    assert r.orders[["bar", "type", "status", "reason", "order_price"]].to_numpy().tolist() == [
        [2, "limit", "rejected", "cancelled", 95.0]]


def test_end_of_session_exit_on_intraday_bars():
    # hourly bars over two UTC days; flat_at marks each day's last bar (from the calendar's session days).
    # Bought at bar 1's open, the trade closes at bar 2's close (the end of day 1) instead of bar 3's open;
    # the entry signal at bar 2 is ignored, the one at bar 3 buys at bar 4's open.
    dates = ["2024-01-01 21:00", "2024-01-01 22:00", "2024-01-01 23:00", "2024-01-02 00:00", "2024-01-02 01:00",
             "2024-01-02 02:00"]
    rows = [(100, 101, 99, 100), (100, 102, 99, 101), (101, 103, 100, 102), (104, 105, 103, 104),
            (104, 106, 103, 105), (105, 106, 104, 106)]
    data = make_bars(rows, dates=dates, timeframe="1h")
    day = session_days(data.ts, data.calendar)
    flat = np.r_[day[1:] != day[:-1], True]
    assert flat.tolist() == [False, False, True, False, False, True]
    r = backtest(data, entries=mask(6, [0, 2, 3]), exits=mask(6, [2]), flat_at=flat, **UNITS)
    assert r.trades[["entry_idx", "exit_idx", "exit_price", "exit_reason"]].to_numpy().tolist() == [
        [1, 2, 102.0, "session"], [4, 5, 106.0, "session"]]
    plain = backtest(data, entries=mask(6, [0, 2, 3]), exits=mask(6, [2]), **UNITS)
    check_trade(plain, 0, exit_idx=3, exit_price=104.0, exit_reason="signal")


def test_a_pandas_series_is_aligned_on_the_bars():
    data = make_bars(ROWS)
    flat = pd.Series([True], index=data.index[[1]])  # absent bars: False
    r = backtest(data, entries=mask(5, [0]), flat_at=flat, **UNITS)
    check_trade(r, 0, exit_idx=1, exit_reason="session")


def test_a_portfolio_ends_the_session_of_every_symbol_or_of_the_named_ones():
    a, b = make_bars(ROWS, symbol="A"), make_bars([(50, 51, 49, 50)] + [(50, 52, 49, 51)] * 4, symbol="B")
    entries = pd.DataFrame({"A": mask(5, [0]), "B": mask(5, [0])}, index=a.index)
    both = backtest(MultiBars([a, b]), entries=entries, flat_at=mask(5, [1]), **UNITS)
    assert both.trades[["symbol", "exit_idx", "exit_price", "exit_reason"]].to_numpy().tolist() == [
        ["A", 1, 103.0, "session"], ["B", 1, 51.0, "session"]]
    assert both.equity.iloc[1] == exact(10_000 + 30 + 10)
    only_a = pd.DataFrame({"A": mask(5, [1]), "B": mask(5, [])}, index=a.index)
    one = backtest(MultiBars([a, b]), entries=entries, flat_at=only_a, **UNITS)
    assert one.trades[["symbol", "exit_idx", "exit_reason"]].to_numpy().tolist() == [["A", 1, "session"],
                                                                              ["B", 4, "end"]]


@pytest.mark.parametrize(("value", "message"), [
    (np.ones(4, dtype=bool), r"flat_at has shape \(4, 1\); expected \(5,\) or \(5, columns\)"),
    (np.full(5, 0.5), "flat_at must be booleans"),
    (np.ones((5, 3), dtype=bool), "signal columns disagree"),
])
def test_bad_values_are_refused_by_name(value, message):
    data = make_bars(ROWS)
    with pytest.raises(EngineError, match=message):
        backtest(data, entries=np.column_stack([mask(5, [0])] * 2), flat_at=value)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, -1]), st.sampled_from([None, 0.01]),
       st.sampled_from([0.05, 0.2]), st.sampled_from(["next_open", "same_close"]))
def test_session_ends_match_the_reference(seed, side, stop_loss, density, fill):
    rng = np.random.default_rng(seed)
    bars = hourly_market(rng, int(rng.integers(40, 160)))
    entries, exits = rng.random(len(bars)) < 0.2, rng.random(len(bars)) < 0.05
    flat = rng.random(len(bars)) < density
    signals = {"entries": entries, "exits": exits} if side > 0 else {"short_entries": entries, "short_exits": exits}
    result = backtest(bars, **signals, stop_loss=stop_loss, flat_at=flat, fill=fill, **UNITS)
    assert_matches(result, reference(bars, entries, exits, side=side, stop_loss=stop_loss, flat=flat, fill=fill))
