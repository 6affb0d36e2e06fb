"""Invariants of the engine, checked on generated markets and signals (Hypothesis).

- equity equals cash plus marked positions at every bar, rebuilt here from the trade records alone;
- a zero-cost round trip earns exactly price change times size;
- a column's results do not depend on which other columns run beside it;
- no look-ahead: cutting the data after bar t changes nothing up to bar t.
"""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backgrid.engine import backtest
from tests.engine.generated import random_market

DAY = 86_400 * 10**9


@st.composite
def markets(draw, min_bars=20, max_bars=120):
    n = draw(st.integers(min_bars, max_bars))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    bars, signals = random_market(rng, n, draw(st.sampled_from([0.05, 0.15, 0.4])))
    if draw(st.booleans()):
        signals["short_entries"][:] = False
        signals["short_exits"][:] = False
    return bars, signals


options = st.fixed_dictionaries({
    "stop_loss": st.sampled_from([None, 0.02, 0.05]),
    "take_profit": st.sampled_from([None, 0.03, 0.1]),
    "trailing_stop": st.sampled_from([None, 0.04]),
    "max_bars": st.sampled_from([None, 3]),
    "fill": st.sampled_from(["next_open", "same_close"]),
    "stop_policy": st.sampled_from(["stop_first", "ohlc_path"]),
    "size": st.sampled_from([1.0, 0.5]),
})

CONFIG = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rebuild_equity(bars, trades, cash):
    """Equity at each close from the trades alone (zero costs): cash flows plus open positions marked."""
    n = len(bars)
    flow = np.zeros(n)
    units = np.zeros(n)
    for t in trades.itertuples():
        sign = 1.0 if t.side == "long" else -1.0
        flow[t.entry_idx] -= sign * t.size * t.entry_price
        units[t.entry_idx] += sign * t.size
        if not t.open:
            flow[t.exit_idx] += sign * t.size * t.exit_price
            units[t.exit_idx] -= sign * t.size
    return cash + np.cumsum(flow) + np.cumsum(units) * bars.close


@CONFIG
@given(markets(), options)
def test_equity_is_cash_plus_marked_positions(market, opts):
    bars, signals = market
    result = backtest(bars, **signals, **opts, cash=10_000)
    np.testing.assert_allclose(result.equity.to_numpy(), rebuild_equity(bars, result.trades, 10_000),
                               rtol=1e-10, atol=1e-7)


@CONFIG
@given(markets(), options)
def test_zero_cost_round_trip_earns_price_change_times_size(market, opts):
    bars, signals = market
    trades = backtest(bars, **signals, **opts).trades
    sign = np.where(trades["side"] == "long", 1.0, -1.0)
    expected = sign * (trades["exit_price"] - trades["entry_price"]) * trades["size"]
    np.testing.assert_allclose(trades["pnl"].to_numpy(), expected.to_numpy(), rtol=1e-12, atol=1e-9)


@CONFIG
@given(markets(), st.lists(st.sampled_from([None, 0.02, 0.05, 0.1]), min_size=2, max_size=6),
       st.sampled_from(["next_open", "same_close"]))
def test_columns_do_not_depend_on_each_other(market, stops, fill):
    bars, signals = market
    rng = np.random.default_rng(len(stops))
    entries = np.column_stack([np.roll(signals["entries"], k) for k in range(len(stops))])
    exits = np.column_stack([rng.permutation(signals["exits"]) for _ in stops])
    stop_values = [np.nan if s is None else s for s in stops]
    together = backtest(bars, entries=entries, exits=exits, stop_loss=stop_values, fill=fill,
                        costs={"commission": 0.001})
    for j, stop in enumerate(stops):
        alone = backtest(bars, entries=entries[:, j], exits=exits[:, j], stop_loss=stop, fill=fill,
                         costs={"commission": 0.001})
        np.testing.assert_array_equal(together.equity.iloc[:, j].to_numpy(), alone.equity.to_numpy())
        mine = together.records[together.records["col"] == j]
        for field in ("entry_idx", "exit_idx", "size", "entry_price", "exit_price", "pnl", "commission"):
            np.testing.assert_array_equal(mine[field], alone.records[field])


@CONFIG
@given(markets(min_bars=30), options, st.floats(0.2, 0.95), st.booleans())
def test_no_look_ahead(market, opts, fraction, costly):
    bars, signals = market
    t = max(2, int(len(bars) * fraction))
    costs = {"commission": 0.001, "slippage": 0.0005, "borrow_rate": 0.05} if costly else None
    full = backtest(bars, **signals, **opts, costs=costs)
    cut = backtest(bars.take(slice(0, t)), **{k: v[:t] for k, v in signals.items()}, **opts, costs=costs)
    np.testing.assert_array_equal(cut.equity.to_numpy(), full.equity.to_numpy()[:t])
    closed_early = full.records[(~full.records["open"]) & (full.records["exit_idx"] < t - 1)]
    mine = cut.records[~cut.records["open"]]
    mine = mine[mine["exit_idx"] < t - 1]
    for field in ("entry_idx", "exit_idx", "size", "entry_price", "exit_price", "pnl", "exit_reason"):
        np.testing.assert_array_equal(mine[field], closed_early[field])
