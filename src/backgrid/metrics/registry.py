"""The metric registry: every statistic a result reports, with its unit and formula.

Each metric is a pure function of a :class:`StatsInput`; the formulas live in the
docstrings of :mod:`.returns` and :mod:`.trades`. Annualisation uses the data's
calendar: 252 sessions a year for session markets, 365 days for 24/7 markets,
times bars per day for intraday data (see :func:`periods_per_year`, which also
takes an explicit ``override``).

Benchmark-relative metrics (alpha, beta, information ratio, tracking error, up and down
capture) compare the returns with buy and hold's from the second bar on: buy and hold
has no return on the first bar.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from numbers import Real

import numpy as np

from backgrid.data.calendar import Calendar
from backgrid.errors import MetricsError
from backgrid.metrics import returns as rt
from backgrid.metrics import trades as tr

__all__ = ["METRICS", "UNITS", "Metric", "MetricsError", "StatsInput", "compute_stats", "periods_per_year"]

DAY_NS = 86_400 * 10**9

#: Every unit a metric may have, with what a value of it means.
UNITS: dict[str, str] = {
    "cash": "an amount in the account's currency",
    "fraction": "a share or a return: 0.01 is 1 %",
    "ratio": "a ratio of two quantities of the same unit",
    "probability": "a chance from 0 to 1",
    "count": "a whole number of things (an int)",
    "bars": "a length of time in bars",
}


def periods_per_year(bar_ns: int, calendar: Calendar, *, override: float | None = None) -> float:
    """Bars in a year, the annualisation factor of every ``ppy`` metric.

    - bars of a day: 252 sessions a year on a session calendar, 365 days on a 24/7 one;
    - longer bars: ``365 days / bar length`` whatever the calendar (a week is 7
      calendar days on any market: 1w -> 52.14);
    - intraday bars: days a year times bars per day, ``ceil(day / bar)``: a session
      market's day is its session, binned from the open, with a last shorter bar when
      the bar does not divide it (1h on us-equity, 9:30-16:00: 7 bars, 252 x 7 = 1764;
      1h on 24/7: 365 x 24 = 8760).

    ``override`` (> 0) is returned as is: use it for data whose calendar is not
    modelled (holidays, half days, an inferred calendar without session hours).

    >>> from backgrid.data.calendar import CRYPTO
    >>> periods_per_year(3_600 * 10**9, CRYPTO)
    8760.0
    """
    if override is not None:
        if isinstance(override, bool) or not (isinstance(override, Real) and math.isfinite(override) and override > 0):
            msg = f"periods_per_year must be a number > 0, got {override!r}"
            raise MetricsError(msg)
        return float(override)
    if bar_ns <= 0:
        msg = f"bar length must be > 0 ns, got {bar_ns}"
        raise MetricsError(msg)
    days = 365.0 if calendar.continuous else 252.0
    if bar_ns > DAY_NS:
        return 365.0 * DAY_NS / bar_ns
    day_ns = DAY_NS if calendar.continuous else calendar.session_minutes * 60 * 10**9
    return days * max(1, -(-day_ns // bar_ns))


def _simple_returns(values: np.ndarray, before: float) -> np.ndarray:
    """``values[t] / values[t - 1] - 1``, with ``before`` as the value ahead of the first."""
    out = np.empty(values.size)
    if values.size:
        with np.errstate(divide="ignore", invalid="ignore"):  # equity at 0 (ruin): the metrics turn NaN
            np.divide(values[1:], values[:-1], out=out[1:])
            out[0] = values[0] / before
        out -= 1.0
    return out


@dataclass(frozen=True, slots=True)
class StatsInput:
    """What metrics are computed from: one account's equity curve, trades and benchmark.

    The derived arrays (``returns``, ``benchmark_returns``, ``closed``) are computed
    once, when the input is built, and shared by every metric.
    """

    equity: np.ndarray      # (n,) marked at each close
    cash: float             # starting cash
    ts: np.ndarray          # (n,) bar open times, ns
    bar_ns: int
    ppy: float              # periods per year
    trades: np.ndarray      # records.TRADE rows of this account, closed and open
    benchmark: np.ndarray   # (n,) close prices of buy and hold
    returns: np.ndarray = field(init=False, repr=False)
    benchmark_returns: np.ndarray = field(init=False, repr=False)
    closed: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # per-bar simple returns; the first bar's is against the starting cash
        object.__setattr__(self, "returns", _simple_returns(self.equity, self.cash))
        b = self.benchmark  # buy and hold: 0 on the first bar
        object.__setattr__(self, "benchmark_returns", _simple_returns(b, b[0]) if b.size else b)
        object.__setattr__(self, "closed", np.asarray(self.trades[~self.trades["open"]]))


@dataclass(frozen=True, slots=True)
class Metric:
    """One statistic: key, unit (one of :data:`UNITS`), plain description and how it is computed.

    ``integer`` metrics (every count, and whole numbers of bars) return an ``int``, the others a ``float``.
    """

    name: str
    unit: str
    description: str
    fn: Callable[[StatsInput], float | int]
    integer: bool = False

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            msg = f"metric {self.name!r}: unit must be one of {', '.join(UNITS)}, got {self.unit!r}"
            raise MetricsError(msg)
        if self.unit == "count" and not self.integer:
            msg = f"metric {self.name!r}: a count is a whole number; declare it with integer=True"
            raise MetricsError(msg)


def _alpha_beta(s: StatsInput) -> tuple[float, float]:
    """Alpha and beta of the returns against buy and hold, from the second bar on.

    ``beta = cov(r, b) / var(b)``; ``alpha = (1 + mean(r - beta * b)) ** ppy - 1``
    (empyrical's definitions). The first bar is left out: buy and hold has no return
    on it. NaN for fewer than two pairs or a flat benchmark.
    """
    r, b = s.returns[1:], s.benchmark_returns[1:]
    if r.size < 2 or b.max() == b.min():
        return math.nan, math.nan
    bc = b - b.mean()
    # sums of products, not np.dot: BLAS threads cost more than they save on one column
    beta = float((bc * (r - r.mean())).sum() / (bc * bc).sum())
    base = 1.0 + float(np.mean(r - beta * b))
    return (rt.compound(base, s.ppy) if base >= 0 else math.nan), beta


def _cagr(s: StatsInput) -> float:
    """Growth per calendar year: ``(final / cash) ** (365.25 days / elapsed) - 1``.

    ``elapsed`` runs from the first bar's open to the last bar's close. NaN without
    bars or when equity ended at or below 0.
    """
    if not s.ts.size:
        return math.nan
    years = (s.ts[-1] + s.bar_ns - s.ts[0]) / (365.25 * DAY_NS)
    growth = s.equity[-1] / s.cash
    return rt.compound(growth, 1.0 / years) if years > 0 and growth > 0 else math.nan


def _total_return(s: StatsInput) -> float:
    """``final equity / cash - 1``: the product of the bar returns ``prod(1 + r) - 1`` without their rounding
    (a product of 100k ratios drifts by ~1e-12; this is exact to one rounding, as backtesting.py's Return)."""
    return float(s.equity[-1] / s.cash - 1.0) if s.equity.size else 0.0


def _exposure(s: StatsInput) -> float:
    """Share of bars that close with a position open.

    A trade holds from its entry bar up to the bar before its exit (a closed trade
    exits at an open, inside the bar or at its close: no position at that close) or
    through the last bar (a trade still open). A trade entered and stopped in one bar
    holds at no close.
    """
    n = s.equity.size
    if not n:
        return math.nan
    t = s.trades
    change = np.zeros(n + 1, dtype=np.int64)
    np.add.at(change, t["entry_idx"], 1)
    np.add.at(change, t["exit_idx"] + t["open"], -1)
    return float(np.count_nonzero(np.cumsum(change[:-1]) > 0) / n)


def _buy_and_hold(s: StatsInput) -> float:
    """``last close / first close - 1``."""
    return float(s.benchmark[-1] / s.benchmark[0] - 1.0) if s.benchmark.size else math.nan


def _side(s: StatsInput, side: int) -> np.ndarray:
    return np.asarray(s.closed[s.closed["side"] == side])


def _nan_if_empty(values: np.ndarray, fn: Callable[[np.ndarray], float]) -> float:
    return float(fn(values)) if values.size else math.nan


_LIST = [
    Metric("start_equity", "cash", "Cash at the start", lambda s: s.cash),
    Metric("final_equity", "cash", "Equity at the last close", lambda s: float(s.equity[-1]) if s.equity.size
           else s.cash),
    Metric("total_return", "fraction", "Compounded return over the whole run", _total_return),
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
           lambda s: rt.calmar_ratio(s.returns, s.ppy)),
    Metric("omega_ratio", "ratio", "Gains over losses around a zero threshold", lambda s: rt.omega_ratio(s.returns)),
    Metric("probabilistic_sharpe_ratio", "probability", "Chance the true Sharpe ratio is above zero",
           lambda s: rt.probabilistic_sharpe_ratio(s.returns)),
    Metric("max_drawdown", "fraction", "Deepest fall from a peak (negative)",
           lambda s: rt.max_drawdown(s.equity, s.cash)),
    Metric("max_drawdown_duration", "bars", "Longest time below a previous peak",
           lambda s: rt.max_drawdown_duration(s.equity, s.cash), integer=True),
    Metric("avg_drawdown", "fraction", "Mean depth of drawdown periods", lambda s: rt.avg_drawdown(s.equity, s.cash)),
    Metric("ulcer_index", "fraction", "Root mean square of drawdowns", lambda s: rt.ulcer_index(s.equity, s.cash)),
    Metric("ulcer_performance_index", "ratio", "Annual return over the ulcer index",
           lambda s: rt.ulcer_performance_index(s.returns, s.equity, s.ppy, s.cash)),
    Metric("value_at_risk", "fraction", "Historical 95 % value at risk of a bar's return (negative)",
           lambda s: rt.value_at_risk(s.returns)),
    Metric("conditional_value_at_risk", "fraction", "Mean of the worst 5 % of bar returns (expected shortfall)",
           lambda s: rt.conditional_value_at_risk(s.returns)),
    Metric("tail_ratio", "ratio", "95th percentile of returns over the 5th, in size",
           lambda s: rt.tail_ratio(s.returns)),
    Metric("exposure", "fraction", "Share of bars closing with a position", _exposure),
    Metric("buy_and_hold_return", "fraction", "Return of holding the asset from first to last close",
           _buy_and_hold),
    Metric("alpha", "fraction", "Annualised return not explained by buy and hold", lambda s: _alpha_beta(s)[0]),
    Metric("beta", "ratio", "Sensitivity of returns to buy and hold", lambda s: _alpha_beta(s)[1]),
    Metric("information_ratio", "ratio", "Mean over standard deviation of returns less buy and hold's, annualised",
           lambda s: rt.information_ratio(s.returns[1:], s.benchmark_returns[1:], s.ppy)),
    Metric("tracking_error", "fraction", "Annualised standard deviation of returns less buy and hold's",
           lambda s: rt.tracking_error(s.returns[1:], s.benchmark_returns[1:], s.ppy)),
    Metric("up_capture", "ratio", "Annual return over buy and hold's, on bars buy and hold rose",
           lambda s: rt.up_capture(s.returns[1:], s.benchmark_returns[1:], s.ppy)),
    Metric("down_capture", "ratio", "Annual return over buy and hold's, on bars buy and hold fell",
           lambda s: rt.down_capture(s.returns[1:], s.benchmark_returns[1:], s.ppy)),
    Metric("trades", "count", "Trades, including one still open", lambda s: s.trades.size, integer=True),
    Metric("closed_trades", "count", "Trades that were exited", lambda s: s.closed.size, integer=True),
    Metric("win_rate", "fraction", "Share of closed trades that made money", lambda s: tr.win_rate(s.closed["pnl"])),
    Metric("best_trade", "fraction", "Best closed trade's return", lambda s: _nan_if_empty(s.closed["return"], np.max)),
    Metric("worst_trade", "fraction", "Worst closed trade's return",
           lambda s: _nan_if_empty(s.closed["return"], np.min)),
    Metric("avg_trade", "fraction", "Mean closed trade's return", lambda s: tr.expectancy(s.closed["return"])),
    Metric("avg_bars_held", "bars", "Mean bars a closed trade was held",
           lambda s: _nan_if_empty(s.closed["bars_held"], np.mean)),
    Metric("profit_factor", "ratio", "Gross profit over gross loss", lambda s: tr.profit_factor(s.closed["pnl"])),
    Metric("expectancy", "cash", "Mean closed trade's net PnL", lambda s: tr.expectancy(s.closed["pnl"])),
    Metric("sqn", "ratio", "System quality number", lambda s: tr.sqn(s.closed["pnl"])),
    Metric("kelly_criterion", "fraction", "Kelly fraction from win rate and win/loss ratio",
           lambda s: tr.kelly_criterion(s.closed["pnl"])),
    Metric("risk_of_ruin", "probability", "Gambler's ruin chance from the closed trades' win rate",
           lambda s: tr.risk_of_ruin(s.closed["pnl"])),
    Metric("long_trades", "count", "Closed long trades", lambda s: _side(s, 1).size, integer=True),
    Metric("long_win_rate", "fraction", "Win rate of long trades", lambda s: tr.win_rate(_side(s, 1)["pnl"])),
    Metric("long_pnl", "cash", "Net PnL of long trades", lambda s: float(_side(s, 1)["pnl"].sum())),
    Metric("short_trades", "count", "Closed short trades", lambda s: _side(s, -1).size, integer=True),
    Metric("short_win_rate", "fraction", "Win rate of short trades", lambda s: tr.win_rate(_side(s, -1)["pnl"])),
    Metric("short_pnl", "cash", "Net PnL of short trades", lambda s: float(_side(s, -1)["pnl"].sum())),
    Metric("commission_paid", "cash", "Commission over all trades", lambda s: float(s.trades["commission"].sum())),
    Metric("slippage_paid", "cash", "Cost of slippage and spread", lambda s: float(s.trades["slippage"].sum())),
    Metric("borrow_paid", "cash", "Borrow cost of short positions", lambda s: float(s.trades["borrow"].sum())),
]

#: Every metric by key, in report order.
METRICS: dict[str, Metric] = {m.name: m for m in _LIST}


def compute_stats(s: StatsInput) -> dict[str, float | int]:
    """Every registered metric for one account, in report order (counts as ints, see :class:`Metric`)."""
    return {name: m.fn(s) for name, m in METRICS.items()}
