"""Order records: every fill and every order that did not fill, as ``Result.orders`` (and the raw
``records.ORDER`` rows in ``Result.order_records``).

Conventions of ``test_scenarios.py``: cash 10,000, no costs unless given, next-open fills, rows
``(open, high, low, close)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import MultiBars
from backgrid.engine import Result, backtest
from backgrid.engine.enums import OrderReason, OrderStatus, OrderType
from backgrid.engine.records import ORDER

from .scenario_kit import exact, make_bars, mask, run

FLAT = (100.0, 100.0, 100.0, 100.0)
QUIET = (100.0, 101.0, 99.0, 100.0)


def rows_of(result: Result, *columns: str) -> list[list[Any]]:
    """``Result.orders`` as lists of ``columns``, missing values as None."""
    frame = result.orders[list(columns)].astype(object)
    return frame.where(frame.notna(), None).to_numpy().tolist()


def test_a_round_trip_is_two_fills_with_their_costs():
    rows = [FLAT,                    # 0: entry signal
            QUIET,                   # 1: buy 100 u @ 100, commission 5 + 0.1 % x 10,000 = 15
            (100, 111, 100, 110),    # 2: exit signal
            (110, 112, 109, 111)]    # 3: sell @ 110, commission 5 + 11 = 16
    r = run(rows, entries=[0], exits=[2], size=100, size_type="units", cash=20_000,
            costs={"commission": 0.001, "commission_fixed": 5})
    assert list(r.orders.columns) == ["time", "bar", "side", "type", "status", "reason", "requested", "size",
                                      "price", "order_price", "commission"]
    assert rows_of(r, "bar", "side", "type", "status", "reason", "requested", "size", "price", "order_price",
                   "commission") == [
        [1, "buy", "market", "filled", None, 100.0, 100.0, 100.0, None, 15.0],
        [3, "sell", "signal_exit", "filled", None, 100.0, 100.0, 110.0, None, 16.0]]
    assert r.orders["time"].tolist() == [r.index[1], r.index[3]]
    assert r.orders["commission"].sum() == exact(r.trades["commission"].sum())


@pytest.mark.parametrize(("options", "bar2", "kind", "price", "level"), [
    ({"stop_loss": 0.05}, (100, 101, 94, 96), "stop_loss", 95, 95),
    ({"stop_loss": 0.05}, (90, 92, 88, 91), "stop_loss", 90, 95),              # gapped: filled beyond its level
    ({"take_profit": 0.05}, (100, 106, 99, 104), "take_profit", 105, 105),
    ({"trailing_stop": 0.1}, (100, 100, 89, 92), "trailing_stop", 90.9, 90.9),  # best 101 (bar 1) x 0.9
    ({"stop_loss_distance": 3.0}, (100, 101, 96, 98), "stop_loss", 97, 97),
], ids=["stop", "stop-gap", "take", "trail", "stop-distance"])
def test_stop_exits_carry_their_type_and_level(options, bar2, kind, price, level):
    r = run([FLAT, QUIET, bar2, FLAT], entries=[0], **options)
    assert rows_of(r, "bar", "side", "type", "price", "order_price") == [
        [1, "buy", "market", 100.0, None], [2, "sell", kind, exact(price), exact(level)]]


def test_time_exits_and_reversals():
    rows = [FLAT, QUIET, QUIET,      # 0: short signal; 1: sell; 2: held 2 bars -> time exit at bar 3's open
            QUIET,                   # 3: buy back @ 100 (time); long signal -> 4: buy @ 100
            QUIET, QUIET,            # 5: short signal -> 6: the long is sold (signal_exit), a short opened
            QUIET]
    r = run(rows, short_entries=[0, 5], entries=[3], max_bars=2, size=10, size_type="units")
    assert rows_of(r, "bar", "side", "type") == [
        [1, "sell", "market"], [3, "buy", "time"], [4, "buy", "market"], [6, "sell", "signal_exit"],
        [6, "sell", "market"]]


@pytest.mark.parametrize(("options", "reason"), [
    ({"size": 150, "size_type": "units"}, "no_cash"),            # 15,000 > 10,000
    ({"size": 50, "size_type": "cash", "lot_size": 1}, "size_zero"),   # 0.5 units, rounded down to nothing
])
def test_refused_orders_say_why(options, reason):
    r = run([FLAT, QUIET, QUIET], entries=[0], **options)
    assert rows_of(r, "bar", "side", "type", "status", "reason", "size", "price") == [
        [1, "buy", "market", "rejected", reason, 0.0, None]]
    assert r.state["rejected"][0] == 1


def test_max_positions_refusals_in_a_portfolio():
    a = make_bars([FLAT, QUIET, QUIET], symbol="A")
    b = make_bars([FLAT, QUIET, QUIET], symbol="B")
    entries = pd.DataFrame({"A": mask(3, [0]), "B": mask(3, [0])}, index=a.index)
    r = backtest(MultiBars([a, b]), entries=entries, size=10, size_type="units", max_positions=1)
    assert rows_of(r, "symbol", "bar", "status", "reason", "requested") == [
        ["A", 1, "filled", None, 10.0], ["B", 1, "rejected", "max_positions", None]]


def test_orders_of_several_columns_are_labelled():
    entries = pd.DataFrame({"fast": mask(3, [0]), "slow": mask(3, [1])},
                           index=make_bars([FLAT, QUIET, QUIET]).index)
    r = backtest(make_bars([FLAT, QUIET, QUIET]), entries=entries, size=1, size_type="units")
    assert rows_of(r, "column", "bar") == [["fast", 1], ["slow", 2]]


def test_no_orders_gives_an_empty_table_with_the_columns():
    r = run([FLAT, QUIET], entries=[])
    assert r.orders.empty
    assert "reason" in r.orders.columns
    assert r.order_records.dtype == ORDER


def test_the_codes_match_the_enums():
    assert [t.name.lower() for t in OrderType] == ["market", "limit", "stop", "stop_loss", "take_profit",
                                                   "trailing_stop", "time", "signal_exit", "session", "risk",
                                                   "ruin", "margin_call"]
    assert [s.name.lower() for s in OrderStatus] == ["filled", "rejected"]
    assert [x.name.lower() for x in OrderReason] == ["none", "no_cash", "size_zero", "max_positions", "expired",
                                                    "cancelled", "no_price", "max_exposure"]


def test_fills_reconcile_with_the_trades_on_a_random_run():
    from backgrid.testing import random_bars

    bars = random_bars(500, timeframe="1d", seed=11)
    rng = np.random.default_rng(5)
    signals = {name: rng.random(500) < 0.08 for name in ("entries", "exits", "short_entries", "short_exits")}
    r = backtest(bars, **signals, stop_loss=0.03, take_profit=0.05, trailing_stop=0.04, max_bars=8,
                 costs={"commission": 0.001, "slippage": 0.0005})
    fills = r.order_records[r.order_records["status"] == OrderStatus.FILLED]
    trades = r.records
    closed = trades[~trades["open"]]
    assert fills.size == trades.size + closed.size                       # one entry per trade, one exit per close
    assert fills["commission"].sum() == pytest.approx(trades["commission"].sum(), rel=1e-12)
    entries = fills[fills["type"] == OrderType.MARKET]
    np.testing.assert_array_equal(entries["bar"], trades["entry_idx"])
    np.testing.assert_array_equal(entries["price"], trades["entry_price"])
    np.testing.assert_array_equal(entries["size"], trades["size"])
    exits = fills[fills["type"] != OrderType.MARKET]
    np.testing.assert_array_equal(exits["bar"], closed["exit_idx"])
    np.testing.assert_array_equal(exits["price"], closed["exit_price"])
    assert (exits["side"] == -closed["side"]).all()
