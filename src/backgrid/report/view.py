"""What the tear sheet reads of a :class:`~backgrid.engine.result.Result`: one column's curve, trades and stats.

The benchmark is the run's buy and hold (the close of its one asset, or the equal-weight index of several,
see ``Result.stats_input``), scaled to start at the account's cash so that the two curves share an axis.
Bar returns are ``equity[t] / equity[t - 1] - 1``, the first against the starting cash, as every metric
computes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import pandas as pd

from backgrid.engine.result import Result
from backgrid.errors import ReportError

__all__ = ["RunView", "view"]

_DAY_NS = 86_400 * 10**9


@dataclass(frozen=True)
class RunView:
    """One account of a result, as the sections read it."""

    label: str                 # "fast=10, slow=50" for a sweep's column, "" for a single run
    index: pd.DatetimeIndex
    ts: np.ndarray             # bar open times, int64 ns
    equity: np.ndarray         # (n,)
    cash: float
    returns: np.ndarray        # (n,) per-bar simple returns, the first against the cash
    benchmark: np.ndarray      # (n,) buy and hold (or the given benchmark) scaled to start at the cash
    benchmark_name: str
    ppy: float
    stats: pd.Series           # every metric of this column (result.stats, or its row)
    trades: pd.DataFrame       # result.trades of this column
    daily: bool                # every bar opens at midnight UTC: times are written as dates

    def when(self, time: pd.Timestamp) -> str:
        """A bar's time as the tables write it: ``2024-05-07``, or ``2024-05-07 14:30`` for intraday bars."""
        return f"{time:%Y-%m-%d}" if self.daily else f"{time:%Y-%m-%d %H:%M}"


def _label(result: Result, alone: Result) -> str:
    if result.single:
        return ""
    key = alone.columns[0]
    values = key if isinstance(key, tuple) else (key,)
    names = [str(n) for n in result.columns.names]
    return ", ".join(f"{n}={v.item() if isinstance(v, np.generic) else v}" for n, v in zip(names, values, strict=True))


def _prices(benchmark: Any, index: pd.DatetimeIndex) -> np.ndarray:
    """A benchmark's prices on the result's bars: a Series by time (its last price carried), else by position."""
    if isinstance(benchmark, pd.Series):
        if not isinstance(benchmark.index, pd.DatetimeIndex):
            msg = f"benchmark: a Series needs a DatetimeIndex, got {type(benchmark.index).__name__}"
            raise ReportError(msg)
        moved = benchmark.tz_localize("UTC") if benchmark.index.tz is None else benchmark
        return np.asarray(moved.reindex(index, method="ffill").to_numpy(dtype=np.float64))
    values = np.asarray(benchmark, dtype=np.float64)
    if values.shape != (index.size,):
        msg = f"benchmark: expected one price per bar ({index.size}), got shape {values.shape}"
        raise ReportError(msg)
    return values


def view(result: Result, column: Any = None, benchmark: Any = None) -> RunView:
    """The column ``column`` of ``result`` (default: the first), as :class:`RunView`.

    ``benchmark`` (prices: a Series on times or one value per bar) replaces buy and hold in the charts only.
    """
    if not isinstance(result, Result):
        msg = f"result: expected a backgrid Result, got {type(result).__name__}"
        raise ReportError(msg)
    alone = result.column(column)  # the same column rule as Result.plot and ledger
    s = alone.stats_input()  # the curve, cash, times and buy and hold that the statistics use
    with np.errstate(divide="ignore", invalid="ignore"):
        close = s.benchmark if benchmark is None else _prices(benchmark, result.index)
        first = close[np.isfinite(close)][:1]
        scaled = close / first[0] * s.cash if first.size and first[0] else np.full(s.equity.size, np.nan)
    stats = alone.stats
    trades = alone.trades
    if "column" in trades:
        trades = trades.drop(columns="column")
    return RunView(label=_label(result, alone), index=result.index, ts=s.ts, equity=np.asarray(s.equity), cash=s.cash,
                   returns=s.returns, benchmark=np.asarray(scaled, dtype=np.float64),
                   benchmark_name="buy and hold" if benchmark is None else "benchmark", ppy=s.ppy,
                   stats=cast("pd.Series", stats), trades=trades, daily=bool(np.all(s.ts % _DAY_NS == 0)))
