"""Risk guards: ``drawdown_limit`` and ``daily_loss_limit`` halt an account, ``max_exposure`` caps its positions.

The halting guards test the equity at a close (positions marked at it, before any fill at it): a trip exits
the position like an exit signal at that close (reason ``risk``), cancels working orders and ignores signals
for the rest of the run (drawdown_limit) or of the trading day (daily_loss_limit). ``max_exposure`` cuts an
entry so that the gross value of the account's positions after its fill is at most that multiple of equity.
Hand-computed scenarios, then the rules against a slow reference, and portfolio invariants.
"""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backgrid.data.bars import Bars, MultiBars
from backgrid.engine import EngineError, backtest
from backgrid.engine.enums import ExitReason
from tests.engine.guard_reference import DAY, assert_matches, hourly_market, reference
from tests.engine.scenario_kit import check_equity, check_trade, exact, make_bars, mask, run

CONFIG = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
T0 = 1_704_067_200 * 10**9  # 2024-01-01

DRAWDOWN = [
    (100, 100, 100, 100),  # 0: entry signal
    (100, 106, 99, 105),   # 1: bought 100 at 100 (all the cash); equity 10,500: the peak
    (105, 105, 93, 94),    # 2: equity 9,400 <= 0.9 x 10,500 = 9,450: the guard trips, the exit waits for the open
    (92, 95, 90, 93),      # 3: sold at 92. Entry signals from here on are ignored
    (93, 96, 92, 95),
    (95, 97, 94, 96),
]


def test_max_drawdown_exits_at_the_next_open_and_halts_for_good():
    r = run(DRAWDOWN, entries=[0, 3, 4], drawdown_limit=0.1, size=100, size_type="units")
    assert len(r.trades) == 1
    check_trade(r, 0, entry_idx=1, exit_idx=3, exit_price=92.0, pnl=-800.0, exit_reason="risk")
    check_equity(r, [10_000, 10_500, 9_400, 9_200, 9_200, 9_200])
    assert r.orders[["bar", "side", "type", "status"]].to_numpy().tolist() == [[1, "buy", "market", "filled"],
                                                                          [3, "sell", "risk", "filled"]]
    assert r.state["halt_bar"].tolist() == [2]


def test_max_drawdown_with_the_same_close_fill_exits_at_that_close():
    r = run(DRAWDOWN, entries=[0, 3], drawdown_limit=0.1, fill="same_close", size=100, size_type="units")
    assert len(r.trades) == 1
    check_trade(r, 0, entry_idx=0, exit_idx=2, exit_price=94.0, pnl=-600.0, exit_reason="risk")


def test_a_drawdown_exactly_at_the_limit_trips_and_a_smaller_one_does_not():
    at = [(100, 100, 100, 100), (100, 100, 90, 90), (90, 91, 89, 91), (91, 92, 90, 92)]  # 9,000 = 0.9 x 10,000
    above = [(100, 100, 100, 100), (100, 100, 90, 90.01), (90, 91, 89, 91), (91, 92, 90, 92)]
    check_trade(run(at, entries=[0], drawdown_limit=0.1, size=100, size_type="units"), 0, exit_idx=2,
                exit_reason="risk")
    check_trade(run(above, entries=[0], drawdown_limit=0.1, size=100, size_type="units"), 0, exit_idx=3,
                exit_reason="end")


def test_a_trip_cancels_the_working_entry_order():
    # long 100 from bar 1 (a buy limit at 100, met at the open); at bar 1's close a short signal with a sell
    # limit at 110 reverses: the long is sold at bar 2's open (85), which leaves 8,500 <= 9,000 at bar 2's
    # close. The guard cancels the sell limit that bar 3 (high 120) would have filled.
    rows = [(100, 100, 100, 100), (100, 101, 94, 95), (85, 90, 84, 88), (88, 120, 87, 100), (100, 101, 99, 100)]
    data = make_bars(rows)
    r = backtest(data, entries=mask(5, [0]), short_entries=mask(5, [1]), entry_type="limit",
                 entry_price=np.r_[100.0, 110.0, 110.0, 110.0, 110.0], entry_expiry=5, drawdown_limit=0.1, size=100,
                 size_type="units")
    assert len(r.trades) == 1
    check_trade(r, 0, entry_idx=1, exit_idx=2, exit_price=85.0, exit_reason="signal")
    assert table(r.orders, "bar", "side", "type", "status", "reason") == [
        [1, "buy", "limit", "filled", None], [2, "sell", "signal_exit", "filled", None],
        [2, "sell", "limit", "rejected", "cancelled"]]
    assert r.state["halt_bar"].tolist() == [2]


DAILY = [  # 4-hour bars: six a day
    (100, 100, 100, 100),  # 0  day 1: entry signal
    (100, 103, 99, 102),   # 1  bought 50 at 100: cash 5,000; equity 10,100
    (102, 102, 97, 98),    # 2  9,900
    (98, 99, 95, 96),      # 3  9,800
    (96, 96, 89, 90),      # 4  9,500 <= 0.95 x 10,000 (the starting cash): trips
    (91, 93, 90, 92),      # 5  sold at 91 (cash 9,550). Its entry signal is ignored: halted for the day
    (92, 94, 91, 93),      # 6  day 2, whose reference is 9,550 (bar 5's equity): the entry signal counts
    (94, 95, 93, 94),      # 7  bought 50 at 94: cash 4,850
    (94, 94, 88, 89),      # 8  9,300: below 9,500, but above 0.95 x 9,550 = 9,072.5
    (89, 89, 83, 84),      # 9  9,050 <= 9,072.5: trips
    (85, 86, 84, 85),      # 10 sold at 85. Its entry signal is ignored
    (85, 86, 84, 86),      # 11
    (86, 87, 85, 86),      # 12 day 3: the entry signal counts
    (86, 88, 85, 87),      # 13 bought at 86
    (87, 88, 86, 88),      # 14
]


def test_daily_loss_limit_halts_until_the_next_trading_day():
    data = make_bars(DAILY, timeframe="4h")
    r = backtest(data, entries=mask(15, [0, 5, 6, 10, 12]), daily_loss_limit=0.05, size=50, size_type="units")
    assert r.trades[["entry_idx", "exit_idx", "entry_price", "exit_price", "exit_reason"]].to_numpy().tolist() == [
        [1, 5, 100.0, 91.0, "risk"], [7, 10, 94.0, 85.0, "risk"], [13, 14, 86.0, 88.0, "end"]]
    assert r.trades["pnl"].tolist()[:2] == [exact(-450.0), exact(-450.0)]
    assert r.state["halt_bar"].tolist() == [-1]  # only drawdown_limit halts for good


def test_guards_take_one_value_per_column():
    data = make_bars(DRAWDOWN)
    r = backtest(data, entries=mask(6, [0, 3]), drawdown_limit=[0.1, 0.2], size=100, size_type="units")
    assert r.state["halt_bar"].tolist() == [2, -1]
    loose = backtest(data, entries=mask(6, [0, 3]), drawdown_limit=0.2, size=100, size_type="units")
    np.testing.assert_array_equal(r.equity.iloc[:, 1].to_numpy(), loose.equity.to_numpy())
    check_trade(loose, 0, exit_reason="end")


EXPOSURE = [(100, 100, 100, 100), (100, 100, 100, 100), (120, 120, 120, 120), (125, 125, 125, 125),
            (125, 125, 125, 125)]


def test_max_exposure_cuts_the_entry_to_a_multiple_of_equity():
    # all-in sizing asks for 100 units at 100; half of the 10,000 equity buys 50. After selling at 120 the
    # equity is 11,000: the second entry asks for 88 at 125 and gets 5,500 / 125 = 44
    r = run(EXPOSURE, entries=[0, 2], exits=[1], max_exposure=0.5, lot_size=1)
    assert r.trades["size"].tolist() == [50.0, 44.0]
    assert r.orders.query("side == 'buy'")["requested"].tolist() == [100.0, 88.0]


def test_the_cut_rounds_down_to_the_lot():
    r = run(EXPOSURE, entries=[0], max_exposure=0.5, lot_size=3)
    check_trade(r, 0, size=48.0)


def test_an_entry_with_nothing_left_is_refused_with_max_exposure():
    r = run(EXPOSURE, entries=[0], max_exposure=0.005, lot_size=1)  # 50 of cash: not one unit
    assert r.trades.empty
    assert r.orders[["bar", "status", "reason", "requested", "size"]].to_numpy().tolist() == [
        [1, "rejected", "max_exposure", 100.0, 0.0]]
    assert r.state["rejected"].tolist() == [1]


def test_with_leverage_and_for_shorts():
    levered = run(EXPOSURE, entries=[0], size=2.0, leverage=2.0, max_exposure=1.5)
    check_trade(levered, 0, size=150.0)
    short = run(EXPOSURE, short_entries=[0], max_exposure=0.3)
    check_trade(short, 0, side="short", size=30.0)


def flat_bars(symbol, prices, days=None):
    """Bars whose open = high = low = close = the price, on the given day numbers (default 0, 1, ...)."""
    p = np.asarray(prices, dtype=float)
    day = np.arange(p.size) if days is None else np.asarray(days)
    return Bars(symbol, "1d", T0 + day.astype(np.int64) * DAY, p, p, p, p, np.ones(p.size), calendar="crypto")


def table(orders, *columns):
    """Rows of ``orders`` as lists, a missing reason as None."""
    return [[None if isinstance(v, float) and math.isnan(v) else v for v in row]
            for row in orders[list(columns)].astype(object).to_numpy().tolist()]


def frame(index, **columns):
    return pd.DataFrame({k: mask(len(index), v) for k, v in columns.items()}, index=index)


def test_portfolio_exposure_counts_every_position_at_the_fill_marks():
    # A and B signal together and fill at bar 1's open in symbol order: A gets its 60 % (6,000), then B may add
    # only 10,000 - 6,000 = 4,000 of gross value: 40 units. Without the cap B would be refused for cash.
    a, b = flat_bars("A", [100, 100, 110, 110]), flat_bars("B", [100, 100, 100, 100])
    entries = frame(a.index, A=[0], B=[0])
    capped = backtest([a, b], entries=entries, size=0.6, max_exposure=1.0)
    assert capped.trades[["symbol", "size"]].to_numpy().tolist() == [["A", 60.0], ["B", 40.0]]
    free = backtest([a, b], entries=entries, size=0.6)
    assert free.trades["symbol"].tolist() == ["A"]
    assert table(free.orders, "reason") == [[None], ["no_cash"]]


def test_portfolio_exposure_includes_shorts_at_their_gross_value():
    # short A 60 units (6,000 of gross value); B then gets (10,000 - 6,000) / 100 = 40 units
    a, b = flat_bars("A", [100, 100, 100]), flat_bars("B", [100, 100, 100])
    r = backtest([a, b], entries=frame(a.index, A=[], B=[0]), short_entries=frame(a.index, A=[0], B=[]),
                 size=0.6, max_exposure=1.0)
    assert r.trades[["symbol", "side", "size"]].to_numpy().tolist() == [["A", "short", 60.0], ["B", "long", 40.0]]


def test_portfolio_max_drawdown_exits_every_position_and_halts_the_account():
    # 50 units each of A and B at 100; at bar 2 the equity is 4,000 + 4,500 = 8,500 <= 9,000: both are sold
    # at bar 3's open (81 and 91), and the entry signals of bar 3 are ignored
    a, b = flat_bars("A", [100, 100, 80, 81, 85]), flat_bars("B", [100, 100, 90, 91, 95])
    entries = frame(a.index, A=[0, 3], B=[0, 3])
    r = backtest(MultiBars([a, b]), entries=entries, size=50, size_type="units", drawdown_limit=0.1)
    assert r.trades[["symbol", "exit_idx", "exit_price", "exit_reason", "pnl"]].to_numpy().tolist() == [
        ["A", 3, 81.0, "risk", -950.0], ["B", 3, 91.0, "risk", -450.0]]
    assert r.state["halt_bar"].tolist() == [2, 2]
    assert r.equity.tolist() == [10_000.0, 10_000.0, 8_500.0, 8_600.0, 8_600.0]


def test_portfolio_trip_cancels_an_entry_waiting_for_its_symbols_next_bar():
    # B signals at bar 1 but has no bar 2: its entry waits. A's fall trips the guard at bar 2's close, which
    # cancels B's waiting entry: B's bar 3 fills nothing.
    a = flat_bars("A", [100, 100, 85, 86, 87])
    b = flat_bars("B", [50, 50, 50, 50], days=[0, 1, 3, 4])
    entries = frame(a.index, A=[0], B=[1])
    r = backtest(MultiBars([a, b]), entries=entries, size=100, size_type="units", drawdown_limit=0.1)
    assert r.trades[["symbol", "exit_idx", "exit_reason"]].to_numpy().tolist() == [["A", 3, "risk"]]
    assert table(r.orders, "symbol", "bar", "type", "status", "reason") == [
        ["A", 1, "market", "filled", None], ["B", 2, "market", "rejected", "cancelled"],
        ["A", 3, "risk", "filled", None]]


def test_portfolio_daily_loss_limit_halts_the_account_for_the_day():
    # two days of three 4-hour bars (00:00, 04:00, 08:00). Day 1: A and B bought at 100 (50 each); at bar 2 the
    # equity is 9,400: a 6 % loss trips the 5 % limit; both are sold at bar 3's open (day 2), whose close
    # may enter again
    ts = T0 + np.array([0, 4, 8, 24, 28, 32], dtype=np.int64) * 3_600 * 10**9
    pa, pb = np.array([100, 100, 88, 90, 91, 92.0]), np.array([100, 100, 100, 100, 101, 102.0])

    def bars(symbol, p):
        return Bars(symbol, "4h", ts, p, p, p, p, np.ones(6), calendar="crypto")

    a, b = bars("A", pa), bars("B", pb)
    entries = frame(a.index, A=[0, 3], B=[0])
    r = backtest(MultiBars([a, b]), entries=entries, size=50, size_type="units", daily_loss_limit=0.05)
    assert r.trades[["symbol", "entry_idx", "exit_idx", "exit_reason"]].to_numpy().tolist() == [
        ["A", 1, 3, "risk"], ["B", 1, 3, "risk"], ["A", 4, 5, "end"]]


@pytest.mark.parametrize(("option", "value", "message"), [
    ("drawdown_limit", 1.0, (r"drawdown_limit must be a number \(fraction\) with 0 < x < 1, or None for no limit, "
                            r"got 1.0")),
    ("drawdown_limit", 0.0, r"drawdown_limit must be a number \(fraction\) with 0 < x < 1, .* got 0.0"),
    ("daily_loss_limit", 1.5, r"daily_loss_limit must be a number \(fraction\) with 0 < x < 1, .* got 1.5"),
    ("daily_loss_limit", -0.01, r"daily_loss_limit must be a number \(fraction\) with 0 < x < 1, .* got -0.01"),
    ("max_exposure", 0, r"max_exposure must be a number \(multiple\) with 0 < x, or None for no cap, got 0"),
    ("max_exposure", "high", r"max_exposure must be a number \(multiple\) with 0 < x, .* got 'high'"),
])
def test_bad_values_are_refused_by_name(option, value, message):
    with pytest.raises(EngineError, match=message):
        run(DRAWDOWN, entries=[0], **{option: value})


@pytest.mark.parametrize("option", ["drawdown_limit", "daily_loss_limit", "max_exposure"])
def test_a_portfolio_guard_is_one_number(option):
    a, b = flat_bars("A", [100, 100]), flat_bars("B", [100, 100])
    with pytest.raises(EngineError, match=f"{option} guards the portfolio's one cash account: give one number, "
                                          "got 2 values"):
        backtest([a, b], **{option: [0.1, 0.2]})


@CONFIG
@given(st.integers(0, 2**32 - 1), st.sampled_from([1, -1]), st.sampled_from(["next_open", "same_close"]),
       st.sampled_from([None, 0.02, 0.05]), st.sampled_from([None, 0.01, 0.03]), st.sampled_from([None, 0.3, 0.8]),
       st.sampled_from([None, 0.015]))
def test_guards_match_the_reference(seed, side, fill, drawdown_limit, daily_loss_limit, max_exposure, stop_loss):
    rng = np.random.default_rng(seed)
    bars = hourly_market(rng, int(rng.integers(60, 200)))
    entries, exits = rng.random(len(bars)) < 0.2, rng.random(len(bars)) < 0.05
    signals = {"entries": entries, "exits": exits} if side > 0 else {"short_entries": entries, "short_exits": exits}
    options = {"drawdown_limit": drawdown_limit, "daily_loss_limit": daily_loss_limit, "max_exposure": max_exposure,
               "stop_loss": stop_loss, "fill": fill}
    result = backtest(bars, **signals, size=60, size_type="units", lot_size=1, **options)
    ref = reference(bars, entries, exits, side=side, size=60, lot=1, **options)
    assert_matches(result, ref)
    assert result.state["halt_bar"].tolist() == [ref.halt_bar]
    refused = result.orders.query("status == 'rejected'")
    assert list(zip(refused["bar"], refused["reason"], strict=True)) == ref.refused


@CONFIG
@given(st.integers(0, 2**32 - 1), st.sampled_from(["next_open", "same_close"]))
def test_a_one_symbol_portfolio_equals_the_single_account(seed, fill):
    rng = np.random.default_rng(seed)
    bars = hourly_market(rng, int(rng.integers(60, 200)))
    n = len(bars)
    signals = {name: rng.random(n) < density for name, density in
               (("entries", 0.15), ("exits", 0.05), ("short_entries", 0.1), ("short_exits", 0.05))}
    options = {"stop_loss": 0.02, "break_even": 0.006, "flat_at": rng.random(n) < 0.05, "drawdown_limit": 0.04,
               "daily_loss_limit": 0.02, "max_exposure": 0.7, "fill": fill, "size": 0.9,
               "costs": {"commission": 0.001}}
    single = backtest(bars, **signals, **options)
    multi = backtest(MultiBars([bars]), **{k: pd.DataFrame({"P": v}, index=bars.index) for k, v in signals.items()},
                     **options)
    np.testing.assert_array_equal(multi.equity.to_numpy(), single.equity.to_numpy())
    for name in ("entry_idx", "exit_idx", "size", "entry_price", "exit_price", "pnl", "exit_reason"):
        np.testing.assert_array_equal(multi.records[name], single.records[name])
    np.testing.assert_array_equal(multi.state["halt_bar"], single.state["halt_bar"])


@CONFIG
@given(st.integers(0, 2**32 - 1), st.sampled_from([0.02, 0.04]), st.sampled_from([None, 0.015]))
def test_portfolio_trips_follow_its_equity_curve(seed, drawdown_limit, daily_loss_limit):
    # next-open fills and no costs: the equity curve is the guards' mark, so the trip bars can be read off it.
    # Every position held at a trip is sold at the next open (reason risk); no entry fills after a
    # drawdown_limit trip, nor after a daily trip up to the first bar of the next day (its close decides).
    rng = np.random.default_rng(seed)
    symbols = [hourly_market(rng, 150) for _ in range(3)]
    multi = MultiBars([Bars(f"S{k}", "1h", b.ts, b.open, b.high, b.low, b.close, b.volume, calendar="crypto")
                       for k, b in enumerate(symbols)])
    index = symbols[0].index
    entries = pd.DataFrame({f"S{k}": rng.random(150) < 0.1 for k in range(3)}, index=index)
    exits = pd.DataFrame({f"S{k}": rng.random(150) < 0.05 for k in range(3)}, index=index)
    r = backtest(multi, entries=entries, exits=exits, size=0.3, drawdown_limit=drawdown_limit,
                 daily_loss_limit=daily_loss_limit)
    equity = r.equity.to_numpy()
    day = symbols[0].ts // DAY
    blocked = np.zeros(150, dtype=bool)  # bars at whose open no entry may fill
    trips, peak, day_ref, halted, day_halted = [], 10_000.0, 10_000.0, -1, False
    for i in range(150):
        if i and day[i] != day[i - 1]:
            day_ref, day_halted = equity[i - 1], False
        if halted < 0 and not day_halted and daily_loss_limit and equity[i] <= (1 - daily_loss_limit) * day_ref:
            day_halted = True
            trips.append(i)
            blocked[i + 1:np.searchsorted(day, day[i], side="right") + 1] = True
        if halted < 0 and equity[i] <= (1 - drawdown_limit) * peak:
            halted = i
            trips.append(i)
            blocked[i + 1:] = True
        peak = max(peak, equity[i])
    assert r.state["halt_bar"].tolist() == [halted] * 3
    fills = r.orders.query("status == 'filled'")
    assert not blocked[fills.query("side == 'buy'")["bar"].to_numpy()].any()
    risk = fills.query("type == 'risk'")
    assert set(risk["bar"]) <= {t + 1 for t in trips}
    trades = r.records
    for t in trips[:-1] if trips and trips[-1] == 149 else trips:  # a trip at the last close fills nothing
        open_then = trades[(trades["entry_idx"] <= t) & ((trades["exit_idx"] > t) | trades["open"])]
        assert (open_then["exit_idx"] == t + 1).all()
        assert (open_then["exit_reason"] == ExitReason.RISK).all()
