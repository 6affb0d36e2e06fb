"""``column_stats``: every metric of many columns at once equals ``compute_stats`` column by column, bit for bit.

The kernels repeat numpy's arithmetic in numpy's order (pairwise sums, buffered sums of the records'
unaligned fields, products in order), so the comparisons are exact (``assert_array_equal``, NaN equal to
NaN), not to a tolerance.
"""

import numpy as np
import pandas as pd
import pytest

from backgrid.engine import backtest
from backgrid.engine.records import TRADE
from backgrid.errors import MetricsError
from backgrid.metrics import METRICS
from backgrid.metrics.columns import VECTORISED, column_stats
from backgrid.metrics.kernels.columns_nb import bsum, psum, select
from backgrid.metrics.registry import StatsInput, compute_stats
from backgrid.testing import random_bars

DAY = 86_400 * 10**9


def _trades(rng, col, k, n):
    t = np.zeros(k, dtype=TRADE)
    t["col"] = col
    t["side"] = rng.choice([1, -1], k)
    t["entry_idx"] = np.sort(rng.integers(0, n, k))
    t["exit_idx"] = np.minimum(t["entry_idx"] + rng.integers(0, 20, k), n - 1)
    t["bars_held"] = t["exit_idx"] - t["entry_idx"]
    t["pnl"] = np.round(rng.normal(size=k), rng.integers(0, 3))  # rounded: some trades break even
    t["return"] = rng.normal(size=k) * 0.01
    for name in ("commission", "slippage", "borrow"):
        t[name] = rng.random(k)
    if k:
        t["open"][-1] = rng.random() < 0.5
    return t


def _case(seed, n, m):
    """Random columns with the edge cases: no trades, constant equity, ruin (equity 0), one trade, many trades."""
    rng = np.random.default_rng(seed)
    equity = 100.0 * np.cumprod(1.0 + rng.normal(0.0002, 0.01, (n, m)), axis=0)
    equity[:, 1] = 100.0                      # constant, no trades
    equity[n // 2:, 2] = 0.0                  # ruined half way
    equity[:, 3] = np.round(equity[:, 3], 0)  # repeated values: drawdowns of equal depth, flat stretches
    cash = np.full(m, 100.0)
    cash[4] = 90.0                            # the first bar is a gain on the starting cash
    counts = {0: 30, 1: 0, 2: 5, 3: 1, 4: 9_000 if n > 1 else 3}  # 9,000: more than numpy's 8,192-value buffer
    trades = np.concatenate([_trades(rng, c, counts.get(c, int(rng.integers(0, 200))), max(n, 1))
                             for c in range(m)]) if n else np.zeros(0, dtype=TRADE)
    benchmark = 100.0 * np.cumprod(1.0 + rng.normal(0.0, 0.01, n))
    ts = np.datetime64("2024-01-01", "ns").astype(np.int64) + np.arange(n) * DAY
    return equity, cash, ts, trades, benchmark


def _per_column(equity, cash, ts, trades, benchmark, ppy, bar_ns=DAY):
    bounds = np.searchsorted(trades["col"], np.arange(equity.shape[1] + 1))
    return [compute_stats(StatsInput(equity=equity[:, c], cash=float(cash[c]), ts=ts, bar_ns=bar_ns, ppy=ppy,
                                     trades=trades[bounds[c]:bounds[c + 1]], benchmark=benchmark))
            for c in range(equity.shape[1])]


def test_every_metric_is_vectorised():
    assert set(METRICS) == VECTORISED


@pytest.mark.parametrize(("seed", "n", "m"), [(0, 300, 8), (1, 2_000, 6), (2, 3, 6), (3, 2, 5), (4, 1, 5),
                                              (5, 200, 12)])
@pytest.mark.parametrize("ppy", [252.0, 8_760.0])
def test_every_metric_equals_compute_stats_column_by_column(seed, n, m, ppy):
    equity, cash, ts, trades, benchmark = _case(seed, n, m)
    out = column_stats(equity, cash, ts, DAY, ppy, trades, benchmark)
    assert list(out) == list(METRICS)
    expected = _per_column(equity, cash, ts, trades, benchmark, ppy)
    for name, values in out.items():
        assert values.shape == (m,)
        assert values.dtype == (np.int64 if METRICS[name].integer else np.float64), name
        np.testing.assert_array_equal(values, np.array([row[name] for row in expected], dtype=values.dtype),
                                      err_msg=name, strict=True)


def test_a_flat_benchmark_and_no_bars():
    equity, cash, ts, trades, _ = _case(7, 50, 6)
    flat = np.full(50, 10.0)
    out = column_stats(equity, cash, ts, DAY, 252.0, trades, flat, ["alpha", "beta", "buy_and_hold_return"])
    assert np.isnan(out["alpha"]).all()
    assert np.isnan(out["beta"]).all()
    assert (out["buy_and_hold_return"] == 0.0).all()
    empty = column_stats(np.zeros((0, 3)), np.full(3, 5.0), np.zeros(0, np.int64), DAY, 252.0,
                         np.zeros(0, dtype=TRADE), np.zeros(0))
    expected = compute_stats(StatsInput(equity=np.zeros(0), cash=5.0, ts=np.zeros(0, np.int64), bar_ns=DAY,
                                        ppy=252.0, trades=np.zeros(0, dtype=TRADE), benchmark=np.zeros(0)))
    for name, values in empty.items():
        np.testing.assert_array_equal(values, np.full(3, expected[name], dtype=values.dtype), err_msg=name)


def test_names_pick_metrics_in_the_order_asked():
    equity, cash, ts, trades, benchmark = _case(8, 40, 5)
    out = column_stats(equity, cash, ts, DAY, 252.0, trades, benchmark, ["trades", "sharpe_ratio"])
    assert list(out) == ["trades", "sharpe_ratio"]
    with pytest.raises(MetricsError, match=r"unknown metric\(s\) \['sharp'\]"):
        column_stats(equity, cash, ts, DAY, 252.0, trades, benchmark, ["sharp"])


def test_each_metric_asked_alone_is_the_same():
    """The kernels skip the fields nobody asked for (the tails, the benchmark's); each one alone is unchanged."""
    equity, cash, ts, trades, benchmark = _case(12, 300, 6)
    every = column_stats(equity, cash, ts, DAY, 252.0, trades, benchmark)
    for name in METRICS:
        alone = column_stats(equity, cash, ts, DAY, 252.0, trades, benchmark, [name])
        np.testing.assert_array_equal(alone[name], every[name], err_msg=name, strict=True)


def test_trades_out_of_column_order_are_refused():
    equity, cash, ts, trades, benchmark = _case(9, 40, 5)
    with pytest.raises(MetricsError, match="trades must be sorted by col"):
        column_stats(equity, cash, ts, DAY, 252.0, trades[::-1], benchmark)
    with pytest.raises(MetricsError, match="equity must be a 2-D array"):
        column_stats(equity[:, 0], cash, ts, DAY, 252.0, trades, benchmark)


def test_a_metric_the_kernels_do_not_know_falls_back_to_its_formula(monkeypatch):
    from backgrid.metrics import registry

    extra = registry.Metric("last_close_ratio", "ratio", "test only", lambda s: float(s.equity[-1] / s.cash))
    monkeypatch.setitem(registry.METRICS, extra.name, extra)
    equity, cash, ts, trades, benchmark = _case(10, 30, 5)
    out = column_stats(equity, cash, ts, DAY, 252.0, trades, benchmark, ["last_close_ratio", "trades"])
    np.testing.assert_array_equal(out["last_close_ratio"], equity[-1] / cash)


@pytest.mark.parametrize("n", [0, 1, 7, 8, 9, 127, 128, 129, 1_000, 8_193, 20_000])
def test_the_kernel_sums_are_numpys(n):
    rng = np.random.default_rng(n)
    x = rng.normal(size=n) * 10.0 ** rng.integers(-6, 6, n)
    assert psum(x, 0, n) == np.sum(x)
    records = np.zeros(n, dtype=TRADE)
    records["pnl"] = x
    assert bsum(x, 0, n) == records["pnl"].sum()  # an unaligned field: numpy sums it in buffered chunks


@pytest.mark.parametrize("order", ["random", "ties", "sorted", "reversed", "equal", "organ pipe"])
@pytest.mark.parametrize("n", [1, 2, 3, 10, 1_000])
@pytest.mark.parametrize("limit", [64, 0])  # 0: sorted at once, the way out of a pathological order
def test_the_kernel_selection_is_a_partition(order, n, limit):
    rng = np.random.default_rng(n)
    x = {"random": rng.normal(size=n), "ties": np.round(rng.normal(size=n)), "sorted": np.arange(n, dtype=float),
         "reversed": -np.arange(n, dtype=float), "equal": np.zeros(n),
         "organ pipe": np.r_[np.arange(n // 2), np.arange(n - n // 2)[::-1]].astype(float)}[order]
    for k in sorted({0, n // 20, n // 2, n - 1}):
        for lo in sorted({0, min(k, 3)}):  # the whole array, and a range that starts inside it
            a = x.copy()
            select(a, lo, n, k, limit)
            np.testing.assert_array_equal(a[:lo], x[:lo])  # left alone
            expected = np.sort(x[lo:])
            np.testing.assert_array_equal(np.sort(a[lo:]), expected)  # the same values, moved
            assert a[k] == expected[k - lo]
            assert (a[lo:k] <= a[k]).all()
            assert (a[k + 1:] >= a[k]).all()


def test_stats_of_a_sweep_equal_the_per_column_loop():
    bars = random_bars(600, timeframe="1h", seed=11)
    entries = bars.close > bars.open
    result = backtest(bars, entries=entries, exits=~entries, stop_loss=np.array([0.002, 0.005, 0.01, 0.05]),
                      take_profit=np.array([0.003, 0.01, 0.02, 0.1]))
    stats = result.stats
    assert isinstance(stats, pd.DataFrame)
    ts = np.asarray(result.index.as_unit("ns").asi8, dtype=np.int64)
    from backgrid.engine.result import _buy_and_hold
    from backgrid.metrics.registry import periods_per_year

    ppy = periods_per_year(result._bar_ns, result._calendar, override=result._ppy)
    rows = _per_column(result._equity, result.params["cash"], ts, result.records,
                       _buy_and_hold(result._prices["close"]), ppy, bar_ns=result._bar_ns)
    expected = pd.DataFrame(rows, index=result.columns, columns=list(METRICS))
    pd.testing.assert_frame_equal(stats, expected, check_exact=True)
    assert (stats["trades"] > 0).all()
