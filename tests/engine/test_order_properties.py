"""Invariants of stop distances, limit / stop entries, volatility sizing, partial fills and order records,
checked on generated markets, signals and per-bar values (Hypothesis).

- equity equals cash plus marked positions at every bar, rebuilt here from the order fills alone;
- the fills reconcile with the trades (one entry fill per trade, one exit fill per closed trade);
- per-bar values are read only where the rules say: stop-loss / take-profit distances, entry prices
  and volatility at bars whose close decides an entry, trailing distances at every bar (for the next);
  changing them anywhere else changes nothing;
- no look-ahead: cutting the data (and the per-bar values) after bar t changes nothing up to bar t;
- a fill never spends more than cash x leverage, with or without partial fills;
- a column's results do not depend on which other columns run beside it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backgrid.data.bars import Bars
from backgrid.engine import Result, backtest
from backgrid.engine.enums import OrderReason, OrderStatus, OrderType
from tests.engine.generated import random_market

DAY = 86_400 * 10**9
CONFIG = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def markets(draw: Any, min_bars: int = 20, max_bars: int = 120) -> tuple[Bars, dict[str, np.ndarray],
                                                                           dict[str, Any]]:
    """Bars, signals, and per-bar values with the options that read them."""
    n = draw(st.integers(min_bars, max_bars))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bars, signals = random_market(rng, n, draw(st.sampled_from([0.05, 0.15, 0.4])))
    close = bars.close

    def per_bar(low_: float, high_: float, nan: float = 0.1) -> np.ndarray:
        values = close * rng.uniform(low_, high_, n)
        values[rng.random(n) < nan] = np.nan
        return values

    opts: dict[str, Any] = {}
    if draw(st.booleans()):
        opts["stop_loss_distance"] = per_bar(0.01, 0.05)
    if draw(st.booleans()):
        opts["take_profit_distance"] = per_bar(0.01, 0.08)
    if draw(st.booleans()):
        opts["trailing_stop_distance"] = per_bar(0.01, 0.06)
    entry_type = draw(st.sampled_from(["market", "limit", "stop"]))
    if entry_type != "market":
        below = close * (1 - rng.uniform(0.0, 0.03, n))
        above = close * (1 + rng.uniform(0.0, 0.03, n))
        price = np.where(signals["entries"] == (entry_type == "limit"), below, above)
        price[rng.random(n) < 0.05] = np.nan
        opts |= {"entry_type": entry_type, "entry_price": price, "entry_expiry": draw(st.integers(1, 4))}
    sizing = draw(st.sampled_from(["equity", "volatility", "units"]))
    if sizing == "volatility":
        vol = rng.uniform(0.05, 0.6, n)
        vol[rng.random(n) < 0.05] = np.nan
        opts |= {"size_type": "volatility", "size": draw(st.sampled_from([0.1, 0.3])), "volatility": vol}
    elif sizing == "units":
        opts |= {"size_type": "units", "size": draw(st.sampled_from([10.0, 80.0, 150.0]))}
    else:
        opts["size"] = draw(st.sampled_from([1.0, 0.5]))
    opts["partial_fills"] = draw(st.booleans())
    opts["max_bars"] = draw(st.sampled_from([None, 4]))
    opts["stop_policy"] = draw(st.sampled_from(["stop_first", "ohlc_path"]))
    return bars, signals, opts


def assert_same_records(a: np.ndarray, b: np.ndarray) -> None:
    """Structured records equal field by field (NaN equals NaN)."""
    assert a.size == b.size, f"{a.size} records vs {b.size}"
    for field in a.dtype.names or ():
        np.testing.assert_array_equal(a[field], b[field], err_msg=field)


def fills(result: Result) -> np.ndarray:
    o = result.order_records
    return o[o["status"] == OrderStatus.FILLED]


def rebuild_equity(bars: Bars, result: Result, cash: float) -> np.ndarray:
    """Equity at each close from the order fills alone: cash flows (commission included) plus units marked."""
    flow = np.zeros(len(bars))
    units = np.zeros(len(bars))
    for f in fills(result):
        flow[f["bar"]] -= f["side"] * f["size"] * f["price"] + f["commission"]
        units[f["bar"]] += f["side"] * f["size"]
    return cash + np.cumsum(flow) + np.cumsum(units) * bars.close


@CONFIG
@given(markets(), st.booleans())
def test_equity_is_rebuilt_from_the_fills(market, costly):
    bars, signals, opts = market
    costs = {"commission": 0.001, "commission_fixed": 1.0, "slippage": 0.0005} if costly else None
    result = backtest(bars, **signals, **opts, costs=costs, cash=10_000)
    np.testing.assert_allclose(result.equity.to_numpy(), rebuild_equity(bars, result, 10_000), rtol=1e-10,
                               atol=1e-7)


@CONFIG
@given(markets())
def test_fills_reconcile_with_the_trades(market):
    bars, signals, opts = market
    result = backtest(bars, **signals, **opts, costs={"commission": 0.001})
    trades = result.records
    done = fills(result)
    entry = np.isin(done["type"], [OrderType.MARKET, OrderType.LIMIT, OrderType.STOP])
    np.testing.assert_array_equal(done[entry]["bar"], trades["entry_idx"])
    np.testing.assert_array_equal(done[entry]["price"], trades["entry_price"])
    np.testing.assert_array_equal(done[entry]["side"], trades["side"])
    closed = trades[~trades["open"]]
    np.testing.assert_array_equal(done[~entry]["bar"], closed["exit_idx"])
    np.testing.assert_array_equal(done[~entry]["side"], -closed["side"])
    assert np.isclose(done["commission"].sum(), trades["commission"].sum(), rtol=1e-12)
    types = done[~entry]["type"] - OrderType.STOP_LOSS + 1      # exit order types follow the exit reasons
    reasons = np.where(done[~entry]["type"] == OrderType.SIGNAL_EXIT, 0, types)
    np.testing.assert_array_equal(reasons, closed["exit_reason"])
    refused = result.order_records["status"] == OrderStatus.REJECTED
    counted = ~np.isin(result.order_records["reason"], [OrderReason.EXPIRED, OrderReason.CANCELLED])
    assert int((refused & counted).sum()) == int(result.state["rejected"][0])


def _entry_bars(signals: dict[str, np.ndarray]) -> np.ndarray:
    return signals["entries"] | signals["short_entries"]


@CONFIG
@given(markets(), st.integers(0, 2**32 - 1))
def test_per_bar_values_count_only_where_the_rules_read_them(market, seed):
    bars, signals, opts = market
    rng = np.random.default_rng(seed)
    idle = ~_entry_bars(signals)   # no entry decided at these closes
    changed = dict(opts)
    for name in ("stop_loss_distance", "take_profit_distance", "entry_price", "volatility"):
        if name in opts:
            values = opts[name].copy()
            values[idle] = values[idle] * rng.uniform(0.5, 2.0, int(idle.sum()))
            changed[name] = values
    a = backtest(bars, **signals, **opts)
    b = backtest(bars, **signals, **changed)
    np.testing.assert_array_equal(a.equity.to_numpy(), b.equity.to_numpy())
    assert_same_records(a.order_records, b.order_records)


@CONFIG
@given(markets(min_bars=30), st.floats(0.2, 0.95))
def test_no_look_ahead(market, fraction):
    bars, signals, opts = market
    t = max(2, int(len(bars) * fraction))
    costs = {"commission": 0.001, "slippage": 0.0005, "borrow_rate": 0.05}
    full = backtest(bars, **signals, **opts, costs=costs)
    cut_opts = {k: v[:t] if isinstance(v, np.ndarray) else v for k, v in opts.items()}
    cut = backtest(bars.take(slice(0, t)), **{k: v[:t] for k, v in signals.items()}, **cut_opts, costs=costs)
    np.testing.assert_array_equal(cut.equity.to_numpy(), full.equity.to_numpy()[:t])
    early = full.order_records[full.order_records["bar"] < t]
    assert_same_records(cut.order_records, early)


@CONFIG
@given(markets())
def test_a_fill_never_spends_more_than_cash_times_leverage(market):
    bars, signals, opts = market
    result = backtest(bars, **signals, **opts, costs={"commission": 0.001, "commission_min": 2.0}, cash=10_000)
    cash = 10_000.0
    for row in result.order_records:   # one column: the records are in the order things happened
        entry = row["type"] in (OrderType.MARKET, OrderType.LIMIT, OrderType.STOP)
        if row["status"] == OrderStatus.FILLED:
            if entry:
                assert row["size"] * row["price"] + row["commission"] <= cash * (1 + 1e-12)
                assert row["size"] <= row["requested"]
                if not opts["partial_fills"]:
                    assert row["size"] == row["requested"]
            cash -= row["side"] * row["size"] * row["price"] + row["commission"]
        elif row["reason"] == OrderReason.NO_CASH and opts["partial_fills"]:
            # with any fraction allowed, refused only when the cash does not cover the minimum commission (2)
            assert cash <= 2.0 + 1e-9
    assert np.isclose(cash, result.state["cash"][0], rtol=1e-10)


@CONFIG
@given(markets(), st.integers(2, 4))
def test_columns_do_not_depend_on_each_other(market, width):
    bars, signals, opts = market
    rng = np.random.default_rng(width)
    n = len(bars)
    entries = np.column_stack([np.roll(signals["entries"], k) for k in range(width)])
    columns = {name: np.column_stack([opts[name] * rng.uniform(0.8, 1.2, n) for _ in range(width)])
               for name in ("stop_loss_distance", "take_profit_distance", "trailing_stop_distance", "entry_price",
                            "volatility") if name in opts}
    together = backtest(bars, entries=entries, exits=signals["exits"], **(opts | columns))
    for j in range(width):
        alone = backtest(bars, entries=entries[:, j], exits=signals["exits"],
                         **(opts | {name: v[:, j] for name, v in columns.items()}))
        np.testing.assert_array_equal(together.equity.iloc[:, j].to_numpy(), alone.equity.to_numpy())
        mine = together.order_records[together.order_records["col"] == j]
        for field in ("bar", "side", "type", "status", "reason", "size", "price", "commission"):
            np.testing.assert_array_equal(mine[field], alone.order_records[field])
