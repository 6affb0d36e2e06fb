"""The metric registry: every statistic a result reports, with its unit and formula.

Each metric is a pure function of a :class:`StatsInput`; the formulas live in the
docstrings of :mod:`.returns` and :mod:`.trades`. Annualisation uses the data's
calendar: 252 sessions a year for session markets, 365 days for 24/7 markets,
scaled by bars per day for intraday data (override with ``periods_per_year``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backgrid.data.calendar import Calendar
from backgrid.metrics import returns as rt
from backgrid.metrics import trades as tr

__all__ = ["METRICS", "Metric", "StatsInput", "compute_stats", "periods_per_year"]

DAY_NS = 86_400 * 10**9


def periods_per_year(bar_ns: int, calendar: Calendar) -> float:
    """Bars in a year: 252 sessions (session markets) or 365 days (24/7), times bars per day."""
    days = 365.0 if calendar.continuous else 252.0
    if bar_ns >= DAY_NS:
        return days * DAY_NS / bar_ns
    day_ns = DAY_NS if calendar.continuous else calendar.session_minutes * 60 * 10**9
    return days * max(1.0, day_ns / bar_ns)


@dataclass(frozen=True, slots=True)
class StatsInput:
    """What metrics are computed from: one account's equity curve, trades and benchmark."""

    equity: np.ndarray      # (n,) marked at each close
    cash: float             # starting cash
    ts: np.ndarray          # (n,) bar open times, ns
    bar_ns: int
    ppy: float              # periods per year
    trades: np.ndarray      # records.TRADE rows of this account, closed and open
    benchmark: np.ndarray   # (n,) close prices of buy and hold

    @property
    def returns(self) -> np.ndarray:
        """Per-bar simple returns; the first bar's is against the starting cash."""
        prev = np.r_[self.cash, self.equity[:-1]]
        return np.asarray(self.equity / prev - 1.0)

    @property
    def benchmark_returns(self) -> np.ndarray:
        """Per-bar returns of buy and hold (0 on the first bar)."""
        b = self.benchmark
        return np.asarray(np.r_[0.0, b[1:] / b[:-1] - 1.0]) if b.size else b

    @property
    def closed(self) -> np.ndarray:
        """Trades that were exited."""
        return np.asarray(self.trades[~self.trades["open"]])


@dataclass(frozen=True, slots=True)
class Metric:
    """One statistic: key, unit, plain description and how it is computed."""

    name: str
    unit: str
    description: str
    fn: Callable[[StatsInput], float]


def _alpha_beta(s: StatsInput) -> tuple[float, float]:
    """Beta = cov(r, b) / var(b); alpha = (1 + mean(r - beta * b)) ** ppy - 1 (empyrical's definitions)."""
    r, b = s.returns[1:], s.benchmark_returns[1:]
    if r.size < 2 or not np.var(b):
        return math.nan, math.nan
    beta = float(np.cov(r, b, ddof=1)[0, 1] / np.var(b, ddof=1))
    return float((1.0 + np.mean(r - beta * b)) ** s.ppy - 1.0), beta


def _cagr(s: StatsInput) -> float:
    """Growth per calendar year: ``(final / cash) ** (365.25 days / elapsed) - 1``."""
    elapsed = (s.ts[-1] + s.bar_ns - s.ts[0]) / (365.25 * DAY_NS) if s.ts.size else 0.0
    growth = s.equity[-1] / s.cash if s.equity.size else math.nan
    return float(growth ** (1.0 / elapsed) - 1.0) if elapsed > 0 and growth > 0 else math.nan


def _exposure(s: StatsInput) -> float:
    """Share of bars that close with a position open."""
    held = np.zeros(s.equity.size, dtype=np.int64)
    for t in s.trades:
        held[t["entry_idx"]:t["exit_idx"] + (1 if t["open"] else 0)] = 1
    return float(held.mean()) if held.size else math.nan


def _side(s: StatsInput, side: int) -> np.ndarray:
    return np.asarray(s.closed[s.closed["side"] == side])


def _nan_if_empty(values: np.ndarray, fn: Callable[[np.ndarray], float]) -> float:
    return float(fn(values)) if values.size else math.nan


_LIST = [
    Metric("start_equity", "cash", "Cash at the start", lambda s: s.cash),
    Metric("final_equity", "cash", "Equity at the last close", lambda s: float(s.equity[-1]) if s.equity.size
           else s.cash),
    Metric("total_return", "fraction", "Compounded return over the whole run", lambda s: rt.total_return(s.returns)),
    Metric("annual_return", "fraction", "Compound annual return over the bars (ppy per year)",
           lambda s: rt.annual_return(s.returns, s.ppy)),
    Metric("cagr", "fraction", "Compound annual growth over calendar time", _cagr),
    Metric("annual_volatility", "fraction", "Annualised standard deviation of returns",
           lambda s: rt.annual_volatility(s.returns, s.ppy)),
    Metric("sharpe_ratio", "ratio", "Mean over standard deviation of returns, annualised",
           lambda s: rt.sharpe_ratio(s.returns, s.ppy)),
    Metric("sortino_ratio", "ratio", "Mean return over downside deviation, annualised",
           lambda s: rt.sortino_ratio(s.returns, s.ppy)),
    Metric("calmar_ratio", "ratio", "Annual return over the maximum drawdown",
           lambda s: rt.calmar_ratio(s.returns, s.equity, s.ppy)),
    Metric("omega_ratio", "ratio", "Gains over losses around a zero threshold", lambda s: rt.omega_ratio(s.returns)),
    Metric("probabilistic_sharpe_ratio", "probability", "Chance the true Sharpe ratio is above zero",
           lambda s: rt.probabilistic_sharpe_ratio(s.returns)),
    Metric("max_drawdown", "fraction", "Deepest fall from a peak (negative)", lambda s: rt.max_drawdown(s.equity)),
    Metric("max_drawdown_duration", "bars", "Longest time below a previous peak",
           lambda s: float(rt.max_drawdown_duration(s.equity))),
    Metric("avg_drawdown", "fraction", "Mean depth of drawdown periods", lambda s: rt.avg_drawdown(s.equity)),
    Metric("ulcer_index", "fraction", "Root mean square of drawdowns", lambda s: rt.ulcer_index(s.equity)),
    Metric("exposure", "fraction", "Share of bars closing with a position", _exposure),
    Metric("buy_and_hold_return", "fraction", "Return of holding the asset from first to last close",
           lambda s: float(s.benchmark[-1] / s.benchmark[0] - 1.0) if s.benchmark.size else math.nan),
    Metric("alpha", "fraction", "Annualised return not explained by buy and hold", lambda s: _alpha_beta(s)[0]),
    Metric("beta", "ratio", "Sensitivity of returns to buy and hold", lambda s: _alpha_beta(s)[1]),
    Metric("trades", "count", "Trades, including one still open", lambda s: float(s.trades.size)),
    Metric("closed_trades", "count", "Trades that were exited", lambda s: float(s.closed.size)),
    Metric("win_rate", "fraction", "Share of closed trades that made money", lambda s: tr.win_rate(s.closed["pnl"])),
    Metric("best_trade", "fraction", "Best closed trade's return", lambda s: _nan_if_empty(s.closed["return"], np.max)),
    Metric("worst_trade", "fraction", "Worst closed trade's return",
           lambda s: _nan_if_empty(s.closed["return"], np.min)),
    Metric("avg_trade", "fraction", "Mean closed trade's return", lambda s: tr.expectancy(s.closed["return"])),
    Metric("avg_bars_held", "bars", "Mean bars a closed trade was held",
           lambda s: _nan_if_empty(s.closed["bars_held"], np.mean)),
    Metric("profit_factor", "ratio", "Gross profit over gross loss", lambda s: tr.profit_factor(s.closed["pnl"])),
    Metric("expectancy", "cash", "Mean closed trade's net PnL", lambda s: _nan_if_empty(s.closed["pnl"], np.mean)),
    Metric("sqn", "ratio", "System quality number", lambda s: tr.sqn(s.closed["pnl"])),
    Metric("kelly_criterion", "fraction", "Kelly fraction from win rate and win/loss ratio",
           lambda s: tr.kelly_criterion(s.closed["pnl"])),
    Metric("long_trades", "count", "Closed long trades", lambda s: float(_side(s, 1).size)),
    Metric("long_win_rate", "fraction", "Win rate of long trades", lambda s: tr.win_rate(_side(s, 1)["pnl"])),
    Metric("long_pnl", "cash", "Net PnL of long trades", lambda s: float(_side(s, 1)["pnl"].sum())),
    Metric("short_trades", "count", "Closed short trades", lambda s: float(_side(s, -1).size)),
    Metric("short_win_rate", "fraction", "Win rate of short trades", lambda s: tr.win_rate(_side(s, -1)["pnl"])),
    Metric("short_pnl", "cash", "Net PnL of short trades", lambda s: float(_side(s, -1)["pnl"].sum())),
    Metric("commission_paid", "cash", "Commission over all trades", lambda s: float(s.trades["commission"].sum())),
    Metric("slippage_paid", "cash", "Cost of slippage and spread", lambda s: float(s.trades["slippage"].sum())),
    Metric("borrow_paid", "cash", "Borrow cost of short positions", lambda s: float(s.trades["borrow"].sum())),
]

#: Every metric by key, in report order.
METRICS: dict[str, Metric] = {m.name: m for m in _LIST}


def compute_stats(s: StatsInput) -> dict[str, float]:
    """Every registered metric for one account, in report order."""
    return {name: m.fn(s) for name, m in METRICS.items()}
