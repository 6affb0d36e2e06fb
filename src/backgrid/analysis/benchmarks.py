"""Benchmarks for a backtest: buy and hold after the warm-up, any series as benchmark, an SMA-cross baseline.

Buy and hold starts where the strategy could first have traded, not at the first bar (backtesting.py
issue #327: a strategy whose indicators need 200 bars is otherwise compared with a benchmark that had 200
bars' head start). The **warm-up** is the number of leading bars whose close can decide nothing, because an
input of the strategy is still missing there (NaN): a ``p``-bar SMA has ``p - 1`` of them, see
:func:`warmup`. The first decision is the close of bar ``warmup``; buy and hold buys what that decision
could have bought, where the engine's ``fill`` puts it:

* ``fill="next_open"`` (the engine's default): at the open of bar ``warmup + 1``;
* ``fill="same_close"``: at the close of bar ``warmup``.

Before the fill the equity is the cash; from it ``cash * close[t] / fill price``: every unit the cash buys,
fractions included, no costs. Several symbols are an equal-weight basket: each gets ``cash / k`` and is
bought at its own first price at or after the fill (a symbol without a bar there waits in cash), and each
is marked at its last close since (forward filled).

:func:`benchmark_stats` compares a result's per-bar returns with a benchmark's: any series of values (the
equity of :func:`buy_and_hold`, the close of a stored symbol or an index), on the result's bars.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars, MultiBars
from backgrid.engine.result import Result
from backgrid.engine.run import backtest
from backgrid.errors import DataError, EngineError, IndicatorError
from backgrid.indicators.compute import compute
from backgrid.metrics.registry import METRICS

__all__ = ["benchmark_stats", "buy_and_hold", "sma_cross_baseline", "warmup"]

Fill = Literal["next_open", "same_close"]


def warmup(*inputs: Any) -> int:
    """The bars before the first at which every input (arrays, Series or DataFrames, one row per bar) has a
    value: the warm-up of a strategy reading them.

    >>> import numpy as np
    >>> warmup(np.array([np.nan, np.nan, 1.0, 2.0]), np.array([np.nan, 1.0, 1.0, 1.0]))
    2
    """
    if not inputs:
        msg = "warmup needs at least one input (an indicator's values, one per bar)"
        raise DataError(msg)
    finite = []
    for values in inputs:
        array = np.asarray(values, dtype=np.float64)
        finite.append(np.isfinite(array).reshape(array.shape[0], -1).all(axis=1))
    rows = sorted({f.size for f in finite})
    if len(rows) > 1:
        msg = f"warmup's inputs must have one row per bar, the same number each; got {rows} rows"
        raise DataError(msg)
    ready = np.logical_and.reduce(finite)
    return int(ready.argmax()) if ready.any() else int(ready.size)


def _panel(bars: Bars | MultiBars | Sequence[Bars]) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Bar times and ``(n, symbols)`` opens and closes (NaN where a symbol has no bar)."""
    if isinstance(bars, Bars):
        return bars.index, bars.open[:, None], bars.close[:, None]
    group = bars if isinstance(bars, MultiBars) else MultiBars(list(bars))
    ts, panel = group.panel(("open", "close"))
    return pd.DatetimeIndex(pd.to_datetime(ts, utc=True)), panel["open"], panel["close"]


def buy_and_hold(bars: Bars | MultiBars | Sequence[Bars], *, warmup: int = 0, fill: Fill = "next_open",
                 cash: float = 10_000.0) -> pd.Series:
    """The equity of buying at the strategy's first possible fill and holding (see the module docstring).

    ``warmup``: the strategy's warm-up in bars (:func:`warmup`); ``fill``: the engine's fill option.

    >>> import backgrid
    >>> equity = buy_and_hold(backgrid.demo_bars("DEMO-SPY", "1d"), warmup=49)
    >>> bool((equity.iloc[:50] == 10_000).all())
    True
    """
    if fill not in ("next_open", "same_close"):
        msg = f"fill must be 'next_open' or 'same_close', got {fill!r}"
        raise DataError(msg)
    if not (math.isfinite(cash) and cash > 0):
        msg = f"cash must be a finite number > 0, got {cash!r}"
        raise DataError(msg)
    index, opens, closes = _panel(bars)
    n = closes.shape[0]
    first = warmup + 1 if fill == "next_open" else warmup
    if not 0 <= first < n:
        msg = (f"warmup={warmup} with fill={fill!r} leaves no bar to buy at: the first fill would be bar {first} "
               f"of {n}")
        raise DataError(msg)
    prices = opens if fill == "next_open" else closes
    marks = pd.DataFrame(closes).ffill().to_numpy()
    equity = np.zeros(n)
    share = cash / closes.shape[1]
    for j in range(closes.shape[1]):
        priced = np.flatnonzero(np.isfinite(prices[first:, j]))
        if not priced.size:  # never priced after the warm-up: the share stays cash
            equity += share
            continue
        entry = first + int(priced[0])
        held = np.full(n, share)
        held[entry:] = share * marks[entry:, j] / prices[entry, j]
        equity += held
    return pd.Series(equity, index=index, name="buy_and_hold")


def benchmark_stats(result: Result, benchmark: pd.Series, *, column: Any = None) -> dict[str, float]:
    """The strategy against ``benchmark`` (values on bar times: an equity, a close): returns, alpha, beta.

    ``benchmark`` is put on the result's bars (the last value at or before each bar's time); bars before its
    first value are left out of the comparison, the strategy's equity then starting from its value at the
    bar before. ``alpha`` and ``beta`` are the registry's (:data:`backgrid.metrics.METRICS`: empyrical's
    definitions, the first compared bar left out); ``total_return`` and ``benchmark_return`` are over the
    compared bars. ``column`` picks the parameter set of a sweep (default: the first).
    """
    if not isinstance(benchmark, pd.Series) or not isinstance(benchmark.index, pd.DatetimeIndex):
        msg = f"benchmark must be a pandas Series on a DatetimeIndex, got {type(benchmark).__name__}"
        raise DataError(msg)
    on_bars = benchmark.astype(float).dropna().sort_index().reindex(result.index, method="ffill").to_numpy()
    known = np.flatnonzero(np.isfinite(on_bars))
    if known.size < 2:
        msg = "benchmark has fewer than two values on the result's bars; nothing to compare"
        raise DataError(msg)
    start = int(known[0])
    window = result.segment(start) if start else result
    values = on_bars[start:]
    s = window.stats_input(column, benchmark=values)
    relative = ("alpha", "beta", "information_ratio", "tracking_error", "up_capture", "down_capture")
    return {"total_return": float(METRICS["total_return"].fn(s)), "benchmark_return": float(values[-1] / values[0] - 1),
            **{name: float(METRICS[name].fn(s)) for name in relative}}


def sma_cross_baseline(bars: Bars, *, fast: int = 10, slow: int = 50, **options: Any) -> Result:
    """The plain baseline on the same data: long while the ``fast``-bar SMA of the close is above the
    ``slow``-bar one (entries where fast > slow, exits where fast < slow), with the engine ``options`` given.

    Its warm-up is ``slow - 1`` bars (the slow SMA's first value), for :func:`buy_and_hold`.
    """
    if not 0 < fast < slow:
        msg = f"sma_cross_baseline needs 0 < fast < slow, got fast={fast}, slow={slow}"
        raise IndicatorError(msg)
    taken = sorted(set(options) & {"entries", "exits", "short_entries", "short_exits"})
    if taken:
        msg = f"sma_cross_baseline makes its own signals; drop {', '.join(taken)}"
        raise EngineError(msg)
    quick = compute("sma", bars, period=fast)["sma"]
    steady = compute("sma", bars, period=slow)["sma"]
    return backtest(bars, entries=quick > steady, exits=quick < steady, **options)

