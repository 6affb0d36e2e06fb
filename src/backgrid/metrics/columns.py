"""Every metric of many accounts at once: ``column_stats``, one array per metric with a value per column.

A parameter sweep or an optimiser scores hundreds of columns of the same bars; computing
:func:`~backgrid.metrics.registry.compute_stats` once per column costs about 11 ms a column at 100k bars.
:func:`column_stats` computes the same values for every column in two compiled passes
(:mod:`backgrid.metrics.kernels.columns_nb`), in parallel over columns, and returns exactly what the
per-column formulas return: the kernels repeat numpy's arithmetic in numpy's order (its pairwise sums
included), so the values are equal bit for bit, NaN rules and all.

Every metric of the registry is computed this way. A metric added to the registry later, before the
kernels learn it, falls back to its per-column formula (:data:`VECTORISED` lists the others).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from backgrid.errors import MetricsError
from backgrid.metrics import returns as rt
from backgrid.metrics.kernels import columns_nb
from backgrid.metrics.registry import DAY_NS, METRICS, StatsInput, _simple_returns

__all__ = ["SUMMARY_METRICS", "VECTORISED", "column_stats", "curve_needed", "summary_stats"]

_EQUITY = {name: i for i, name in enumerate(columns_nb.EQUITY_FIELDS)}
_TRADES = {name: i for i, name in enumerate(columns_nb.TRADE_FIELDS)}
_DIRECT = {"start_equity", "buy_and_hold_return", "probabilistic_sharpe_ratio"}
#: equity fields the kernel computes only when asked: a selection over the bars, a pass over the benchmark
_TAILS = frozenset({"value_at_risk", "conditional_value_at_risk", "tail_ratio"})
_ACTIVE = frozenset({"information_ratio", "tracking_error", "up_capture", "down_capture"})

#: the metrics ``column_stats`` computes for all columns at once (the others: per column, with the registry's formula)
VECTORISED: frozenset[str] = frozenset(set(_EQUITY) | set(_TRADES) | _DIRECT) & set(METRICS)

#: the metrics that need no equity curve: the engine's summary (final equity, deepest drawdown), the trades and
#: the prices give them (:func:`summary_stats`), so a search scoring only these keeps no curve
SUMMARY_METRICS: frozenset[str] = frozenset(set(_TRADES) | {"start_equity", "final_equity", "total_return",
                                                            "max_drawdown", "buy_and_hold_return"}) & set(METRICS)

_TRADE_FIELDS = ("open", "side", "entry_idx", "exit_idx", "pnl", "return", "bars_held", "commission",
                 "slippage", "borrow")


def column_stats(  # noqa: PLR0917  # StatsInput's fields, in its order
        equity: np.ndarray, cash: np.ndarray, ts: np.ndarray, bar_ns: int, ppy: float, trades: np.ndarray,
        benchmark: np.ndarray, names: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """The metrics ``names`` (default: every one, in report order) of each column of ``equity``.

    ``equity`` is ``(n, m)``, one account per column marked at each close; ``cash`` the ``(m,)`` starting
    cash; ``ts`` the ``(n,)`` bar open times in ns, ``bar_ns`` the bar length and ``ppy`` the periods per
    year (:func:`~backgrid.metrics.registry.periods_per_year`); ``trades`` the ``records.TRADE`` rows of
    every column, sorted by ``col`` (as the engine writes them); ``benchmark`` the ``(n,)`` buy-and-hold
    closes shared by every column. Returns one ``(m,)`` array per metric, int64 for counts and float64
    for the rest, equal to what :func:`~backgrid.metrics.registry.compute_stats` gives column by column.

    >>> import numpy as np
    >>> from backgrid.engine.records import TRADE
    >>> eq = np.array([[100.0, 100.0], [110.0, 100.0], [99.0, 100.0]])
    >>> out = column_stats(eq, np.array([100.0, 100.0]), np.arange(3) * 86_400 * 10**9, 86_400 * 10**9, 252.0,
    ...                    np.zeros(0, dtype=TRADE), np.array([1.0, 1.1, 1.2]), ["total_return", "trades"])
    >>> out["total_return"].round(4).tolist(), out["trades"].tolist()
    ([-0.01, 0.0], [0, 0])
    """
    equity = np.asarray(equity, dtype=np.float64)
    if equity.ndim != 2:
        msg = f"equity must be a 2-D array (bars, columns), got {equity.ndim} dimension(s)"
        raise MetricsError(msg)
    n, m = equity.shape
    cash = np.broadcast_to(np.asarray(cash, dtype=np.float64), (m,)).copy()
    ts = np.asarray(ts, dtype=np.int64)
    benchmark = np.asarray(benchmark, dtype=np.float64)
    if ts.shape != (n,) or benchmark.shape != (n,):
        msg = f"ts and benchmark must have one value per bar ({n}), got {ts.shape} and {benchmark.shape}"
        raise MetricsError(msg)
    wanted = _wanted(names)
    _check_trades(trades, m)

    out: dict[str, np.ndarray] = {}
    if any(name in _EQUITY or name == "probabilistic_sharpe_ratio" for name in wanted):
        eq = _equity_fields(equity, cash, ts=ts, bar_ns=bar_ns, ppy=ppy, benchmark=benchmark,
                            tails=not _TAILS.isdisjoint(wanted), active=not _ACTIVE.isdisjoint(wanted))
        out.update({name: eq[:, i] for name, i in _EQUITY.items()})
        z = eq[:, _EQUITY["psr_z"]]
        out["probabilistic_sharpe_ratio"] = np.array([0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in z.tolist()])
    out.update(_trade_fields(trades, n, m, wanted))
    out["start_equity"] = cash
    out["buy_and_hold_return"] = _buy_and_hold(benchmark, m)
    result = {}
    for name in wanted:
        if name in VECTORISED:
            values = out[name]
        else:  # a metric the kernels do not know yet: its own formula, column by column
            values = np.array([METRICS[name].fn(_input(equity, cash, c, ts=ts, bar_ns=bar_ns, ppy=ppy,
                                                       trades=trades, benchmark=benchmark)) for c in range(m)])
        result[name] = values.astype(np.int64 if METRICS[name].integer else np.float64)
    return result


def summary_stats(  # noqa: PLR0917  # column_stats' arguments, the summary in place of the curve
        final: np.ndarray, drawdown: np.ndarray, cash: np.ndarray, n: int, trades: np.ndarray,
        benchmark: np.ndarray, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The :data:`SUMMARY_METRICS` ``names`` of each column, from the engine's summary instead of the curve.

    ``final`` is each column's equity at the last close and ``drawdown`` its deepest drawdown as the engine
    keeps it (``1 - trough / peak``, positive); ``n`` is the number of bars, the other arguments are
    :func:`column_stats`'. The values equal :func:`column_stats`' on the same run bit for bit (the engine
    marks the same closes and keeps its drawdown from the same peaks).

    >>> import numpy as np
    >>> from backgrid.engine.records import TRADE
    >>> out = summary_stats(np.array([110.0]), np.array([0.25]), np.array([100.0]), 3, np.zeros(0, dtype=TRADE),
    ...                     np.array([1.0, 1.1, 1.2]), ["total_return", "max_drawdown", "trades"])
    >>> out["total_return"].round(12).tolist(), out["max_drawdown"].tolist(), out["trades"].tolist()
    ([0.1], [-0.25], [0])
    """
    wanted = _wanted(names)
    problem = curve_needed(wanted)
    if problem:
        raise MetricsError(problem)
    final = np.asarray(final, dtype=np.float64)
    m = final.size
    cash = np.broadcast_to(np.asarray(cash, dtype=np.float64), (m,)).copy()
    _check_trades(trades, m)
    out = _trade_fields(trades, n, m, wanted)
    out["start_equity"] = cash
    out["buy_and_hold_return"] = _buy_and_hold(np.asarray(benchmark, dtype=np.float64), m)
    out["final_equity"] = final if n else cash
    out["total_return"] = final / cash - 1.0 if n else np.zeros(m)
    out["max_drawdown"] = 0.0 - np.asarray(drawdown, dtype=np.float64) if n else np.zeros(m)
    return {name: out[name].astype(np.int64 if METRICS[name].integer else np.float64) for name in wanted}


def curve_needed(names: Sequence[str]) -> str | None:
    """What is wrong with asking a run without its equity curve for ``names`` (``None``: nothing)."""
    curve = [name for name in names if name not in SUMMARY_METRICS]
    if not curve:
        return None
    return (f"{', '.join(curve)} need the equity curve; run with keep_equity=True (without it: "
            f"{', '.join(sorted(SUMMARY_METRICS))})")


def _wanted(names: Sequence[str] | None) -> list[str]:
    wanted = list(METRICS) if names is None else list(names)
    unknown = [name for name in wanted if name not in METRICS]
    if unknown:
        msg = f"unknown metric(s) {unknown}; the registry has {', '.join(METRICS)}"
        raise MetricsError(msg)
    return wanted


def _check_trades(trades: np.ndarray, m: int) -> None:
    col = trades["col"]
    if col.size and (np.any(np.diff(col) < 0) or col[0] < 0 or col[-1] >= m):
        msg = f"trades must be sorted by col, each col in 0..{m - 1}"
        raise MetricsError(msg)


def _trade_fields(trades: np.ndarray, n: int, m: int, wanted: Sequence[str]) -> dict[str, np.ndarray]:
    """The kernel's ``TRADE_FIELDS`` of every column, when ``wanted`` names one of them."""
    if not any(name in _TRADES for name in wanted):
        return {}
    bounds = np.searchsorted(trades["col"], np.arange(m + 1))
    f = {name: np.ascontiguousarray(trades[name]) for name in _TRADE_FIELDS}
    tr = columns_nb.trade_stats_nb(bounds, n, f["open"], f["side"], f["entry_idx"], f["exit_idx"], f["pnl"],
                                   f["return"], f["bars_held"], f["commission"], f["slippage"], f["borrow"],
                                   np.empty((m, len(_TRADES))))
    return {name: tr[:, i] for name, i in _TRADES.items()}


def _buy_and_hold(benchmark: np.ndarray, m: int) -> np.ndarray:
    return np.full(m, float(benchmark[-1] / benchmark[0] - 1.0) if benchmark.size else math.nan)


def _equity_fields(equity: np.ndarray, cash: np.ndarray, *, ts: np.ndarray, bar_ns: int, ppy: float,
                   benchmark: np.ndarray, tails: bool, active: bool) -> np.ndarray:
    """The kernel's ``EQUITY_FIELDS``, ``(m, k)``, with the benchmark's terms computed once as the registry does."""
    n, m = equity.shape
    returns = _simple_returns(benchmark, benchmark[0]) if n else benchmark
    b = np.ascontiguousarray(returns[1:])
    flat, bc, sbb = True, np.zeros(b.size), 1.0
    if b.size >= 2:  # alpha and beta need two pairs
        flat = bool(b.max() == b.min())
        bc = b - b.mean()
        sbb = float((bc * bc).sum())
    inv_years = 0.0
    if n:
        years = (ts[-1] + bar_ns - ts[0]) / (365.25 * DAY_NS)
        inv_years = float(1.0 / years) if years > 0 else 0.0
    up, down = b > 0, b < 0
    bu, bd = rt.annual_return(b[up], ppy), rt.annual_return(b[down], ppy)  # up and down capture's denominators
    return np.asarray(columns_nb.equity_stats_nb(equity, cash, b, bc, sbb, flat, float(ppy), inv_years, rt.TAIL,
                                                 bu, bd, tails, active, np.empty((m, len(_EQUITY)))))


def _input(equity: np.ndarray, cash: np.ndarray, c: int, *, ts: np.ndarray, bar_ns: int, ppy: float,
           trades: np.ndarray, benchmark: np.ndarray) -> StatsInput:
    lo, hi = np.searchsorted(trades["col"], [c, c + 1])
    return StatsInput(equity=equity[:, c], cash=float(cash[c]), ts=ts, bar_ns=bar_ns, ppy=ppy,
                      trades=trades[lo:hi], benchmark=benchmark)
