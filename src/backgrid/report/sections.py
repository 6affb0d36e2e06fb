"""The sections of the tear sheet, each an HTML string (empty when it has nothing to show).

Every statistic is computed from all bars and all trades; only the charts are downsampled (see :mod:`.svg`).

- Drawdown: ``equity / running peak - 1``, the peak including the starting cash (as ``max_drawdown``). A
  drawdown period runs from the first bar below the peak to the last bar before equity is back at it; its
  start is the peak's bar (the cash, before the first bar, shows as the first bar) and its recovery the bar
  back at the peak ("not recovered" when the run ends below it).
- Rolling Sharpe and volatility: over the last ``w`` bar returns, ``w = round(ppy / 2)`` (half a year of
  bars: 126 daily sessions), at most a quarter of the bars and at least 2; Sharpe is
  ``mean / std(ddof=1) * sqrt(ppy)`` and volatility ``std(ddof=1) * sqrt(ppy)``, the registry's formulas on
  the window.
- Long/short: closed trades of each side (as the ``long_*``/``short_*`` metrics); mean return, best and worst
  are of the trade's ``return``, mean holding of its ``bars_held``.
- Trade list: every trade up to ``2 * TRADE_ROWS``; beyond, the first and last ``TRADE_ROWS`` and a line saying
  how many are left out, so that a million-bar run stays a few MB.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from backgrid.analysis.readings import readings
from backgrid.metrics.periodic import monthly_returns
from backgrid.metrics.registry import METRICS
from backgrid.report import svg
from backgrid.report.format import cell, format_metric, format_value
from backgrid.report.view import RunView

__all__ = ["HEADLINE", "SCATTER_POINTS", "TRADE_ROWS", "drawdown_periods", "rolling_stats", "rolling_window",
           "sections"]

#: The metrics shown as cards at the top, in order.
HEADLINE = ("total_return", "cagr", "sharpe_ratio", "sortino_ratio", "max_drawdown", "annual_volatility",
            "win_rate", "profit_factor", "trades", "exposure", "buy_and_hold_return", "final_equity")
TRADE_ROWS = 200
SCATTER_POINTS = 2000
_TRADE_COLUMNS = (("entry_time", "entry"), ("exit_time", "exit"), ("side", "side"), ("size", "size"),
                  ("entry_price", "entry price"), ("exit_price", "exit price"), ("pnl", "PnL"),
                  ("return", "return"), ("commission", "commission"), ("exit_reason", "exit reason"),
                  ("mfe", "MFE"), ("mae", "MAE"), ("bars_held", "bars"))
_TRADE_UNITS = {"pnl": "cash", "return": "fraction", "commission": "cash", "mfe": "fraction", "mae": "fraction",
                "bars_held": "count"}  # sizes and prices: cell's significant digits (a coin's 0.0123 units)
_TRADE_TEXT = {"symbol", "entry_time", "exit_time", "side", "exit_reason"}  # the columns that align left
#: Units of regime-table columns that are not metric names.
REGIME_UNITS = {"time_spent": "fraction", "return": "fraction", "mean_return": "fraction", "volatility": "fraction",
                "bars": "count", "max_drawdown": "fraction"}


def table(header: Sequence[str], rows: Iterable[Sequence[str]], *, text: Sequence[int] = (0,)) -> str:
    """An HTML table of already-escaped cells; the columns at positions ``text`` align left, the others right."""
    def tag(i: int) -> str:
        return "" if i in text else " class=num"

    head = "".join(f"<th{tag(i)}>{escape(h)}</th>" for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(f"<td{tag(i)}>{c}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def section(anchor: str, title: str, *parts: str) -> str:
    return f'<section id="{anchor}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def figure(chart: str, caption: str = "") -> str:
    note = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f"<figure>{chart}{note}</figure>"


def field(item: Any, name: str, default: Any = None) -> Any:
    """``item[name]`` of a mapping, else its attribute ``name``."""
    if isinstance(item, Mapping):
        return item.get(name, default)
    return getattr(item, name, default)


# -- headline ----------------------------------------------------------------------------------------------
def headline(v: RunView, insights: Sequence[Any], *, plain: bool = False) -> str:
    # a plain reading with its band where one is declared, else what the metric is
    read = readings({str(k): value for k, value in v.stats.items()}, plain=plain)
    cards = "".join(f'<div class="card"><div class="value" data-metric="{name}">'
                    f'{format_metric(name, v.stats[name])}</div><div class="name">{escape(name.replace("_", " "))}'
                    f'</div><div class="reading">{escape(read.get(name, METRICS[name].description))}</div></div>'
                    for name in HEADLINE)
    rows = [[escape(name.replace("_", " ")), format_metric(name, v.stats[name]), escape(m.description)]
            for name, m in METRICS.items() if name in v.stats.index and name not in HEADLINE]
    notes = ""
    if insights:
        items = []
        for item in insights:
            severity = str(field(item, "severity", "info"))
            numbers = field(item, "numbers", {}) or {}
            figures = ", ".join(f"{escape(str(k))} {cell(val)}" for k, val in dict(numbers).items())
            items.append(f'<li class="insight {escape(severity)}"><b>{escape(str(field(item, "title", "")))}</b> '
                         f'<span class="severity">{escape(severity)}</span><br>'
                         f'{escape(str(field(item, "message", "")))}'
                         + (f'<br><span class="figures">{figures}</span>' if figures else "") + "</li>")
        notes = f'<h3>Insights</h3><ul class="insights">{"".join(items)}</ul>'
    return section("headline", "Headline statistics", f'<div class="cards">{cards}</div>', notes,
                   "<h3>Every other statistic</h3>", table(["statistic", "value", "reading"], rows, text=(0, 2)))


# -- curves ------------------------------------------------------------------------------------------------
def equity(v: RunView, *, log_scale: bool) -> str:
    lines = [svg.Line("strategy", v.ts, v.equity, svg.PALETTE[0], width=1.6)]
    if np.isfinite(v.benchmark).any():
        lines.insert(0, svg.Line(v.benchmark_name, v.ts, v.benchmark, svg.PALETTE[1], width=1.2))
    scale = "log" if log_scale else "linear"
    chart = svg.line_chart(lines, log=log_scale, label=f"equity against {v.benchmark_name}, {scale} scale")
    return section("equity", f"Equity against {v.benchmark_name} ({scale} scale)",
                   figure(chart, f"{v.equity.size:,} bars; {v.benchmark_name} scaled to the starting cash "
                                 f"{format_value(v.cash, 'cash')}"))


def underwater(v: RunView) -> np.ndarray:
    peak = np.maximum.accumulate(np.r_[v.cash, v.equity])[1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(v.equity / peak - 1.0)


def drawdown_periods(dd: np.ndarray, top: int = 5) -> list[tuple[int, int, int | None, float]]:
    """The ``top`` deepest drawdown periods of an underwater curve: (peak bar, trough bar, recovery bar, depth).

    The peak bar is the bar before the first bar under water (0 when it is the first bar); the recovery
    bar is None when the curve ends under water.
    """
    under = dd < 0
    if not under.any():
        return []
    change = np.diff(np.r_[False, under, False].astype(np.int8))
    starts, stops = np.flatnonzero(change == 1), np.flatnonzero(change == -1)  # stop: first bar back at peak
    depth = np.minimum.reduceat(dd, starts)
    out = []
    for k in np.argsort(depth, kind="stable")[:top]:
        a, b = int(starts[k]), int(stops[k])
        trough = a + int(np.argmin(dd[a:b]))
        out.append((max(a - 1, 0), trough, b if b < dd.size else None, float(depth[k])))
    return out


def drawdown(v: RunView) -> str:
    dd = underwater(v)
    chart = svg.line_chart([svg.Line("drawdown", v.ts, dd, svg.PALETTE[3], fill=True, width=1.0)],
                           y_kind="percent", height=180, label="underwater curve")
    times = v.index
    rows = [[format_value(depth, "fraction"), v.when(times[p]), v.when(times[t]),
             v.when(times[r]) if r is not None else "not recovered", format_value((r or dd.size) - p, "count")]
            for p, t, r, depth in drawdown_periods(dd)]
    worst = table(["depth", "peak", "trough", "recovery", "bars"], rows, text=()) if rows else \
        "<p>Equity never fell below a previous peak.</p>"
    return section("drawdown", "Drawdown and underwater", figure(chart, "equity over its running peak, less one"),
                   "<h3>Deepest drawdowns</h3>", worst)


def periodic(v: RunView) -> str:
    curve = pd.Series(v.equity, index=v.index)
    months = monthly_returns(curve, start=v.cash)
    grid = svg.heatmap([str(y) for y in months.index], [*months.columns[:-1], "Year"], months.to_numpy(),
                       kind="percent", label="monthly and yearly returns", row_title="year")
    years = months["year"]
    bars = svg.bar_chart([str(y) for y in years.index], years.to_numpy(), kind="percent", height=170,
                         label="yearly returns")
    return section("returns", "Monthly and yearly returns", figure(grid, "compounded return of each month (UTC) "
                                                                   "and year"), figure(bars, "yearly returns"))


def rolling_window(ppy: float, n: int) -> int:
    """Bars in the rolling window: half a year of bars, at most a quarter of the run, at least 2."""
    return max(2, min(round(ppy / 2), n // 4))


def rolling_stats(returns: np.ndarray, window: int, ppy: float) -> tuple[np.ndarray, np.ndarray]:
    """Sharpe ratio and volatility of each window of ``window`` returns ending at bars ``window - 1`` on."""
    frame = pd.Series(returns).rolling(window)
    mean, std = frame.mean().to_numpy()[window - 1:], frame.std(ddof=1).to_numpy()[window - 1:]
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(std > 0, mean / std * math.sqrt(ppy), np.nan)
    return sharpe, std * math.sqrt(ppy)


def rolling(v: RunView) -> str:
    if v.returns.size < 8:
        return ""
    w = rolling_window(v.ppy, v.returns.size)
    sharpe, vol = rolling_stats(v.returns, w, v.ppy)
    x = v.ts[w - 1:]
    a = svg.line_chart([svg.Line("rolling Sharpe ratio", x, sharpe, svg.PALETTE[0])], y_kind="number", height=170,
                       label="rolling Sharpe ratio")
    b = svg.line_chart([svg.Line("rolling volatility", x, vol, svg.PALETTE[2])],
                       y_kind="percent", height=170, label="rolling volatility")
    return section("rolling", "Rolling Sharpe ratio and volatility",
                   figure(a, f"window {w:,} bars, annualised with {v.ppy:,.6g} bars a year"), figure(b))


# -- trades ------------------------------------------------------------------------------------------------
def _closed(v: RunView) -> pd.DataFrame:
    return v.trades[~v.trades["open"]] if len(v.trades) else v.trades


def distributions(v: RunView) -> str:
    a = svg.histogram(v.returns, kind="percent", marker=0.0, marker_name="0", label="bar returns")
    parts = [figure(a, f"returns of all {v.returns.size:,} bars")]
    closed = _closed(v)
    if len(closed):
        b = svg.histogram(closed["pnl"].to_numpy(), kind="number", color=svg.PALETTE[2], marker=0.0,
                          marker_name="0", label="trade PnL")
        parts.append(figure(b, f"net PnL of {len(closed):,} closed trades"))
    return section("distributions", "Return and trade PnL distributions", *parts)


def _duration(span: object) -> str:
    """``3 days 04:00`` (no seconds unless there are some)."""
    text = str(pd.Timedelta(span))  # type: ignore[arg-type]  # a median of Timedeltas
    return text.removesuffix(":00")


def holding(v: RunView) -> str:
    closed = _closed(v)
    if not len(closed):
        return section("holding", "Holding times", "<p>No closed trades.</p>")
    held = closed["bars_held"].to_numpy(dtype=np.float64)
    span = (closed["exit_time"] - closed["entry_time"])
    chart = svg.histogram(held, bins=min(40, max(int(held.max() - held.min()) + 1, 1)), kind="count",
                          color=svg.PALETTE[4], label="bars held")
    note = (f"bars held by closed trades: median {np.median(held):,.0f}, mean {held.mean():,.1f}, "
            f"longest {held.max():,.0f}; median time in a trade {_duration(span.median())}")
    return section("holding", "Holding times", figure(chart, note))


def excursions(v: RunView) -> str:
    closed = _closed(v)
    if not len(closed):
        return ""
    pick = np.arange(len(closed))
    if pick.size > SCATTER_POINTS:  # evenly through the run, so early and late trades both show
        pick = np.unique(np.linspace(0, pick.size - 1, SCATTER_POINTS).round().astype(np.int64))
    shown = closed.iloc[pick]
    win = shown["pnl"].to_numpy() > 0
    chart = svg.scatter(shown["mae"].to_numpy(), shown["mfe"].to_numpy(),
                        [("winners", win, svg.PALETTE[0]), ("losers", ~win, svg.PALETTE[3])],
                        label="maximum favourable against maximum adverse excursion")
    note = "x: maximum adverse excursion (MAE), y: maximum favourable excursion (MFE), fractions of the entry price"
    if pick.size < len(closed):
        note += f"; {pick.size:,} of {len(closed):,} trades drawn, evenly through the run"
    return section("excursions", "MFE / MAE", figure(chart, note))


def long_short(v: RunView) -> str:
    closed = _closed(v)
    rows = []
    for name, part in (("long", closed[closed["side"] == "long"]), ("short", closed[closed["side"] == "short"]),
                       ("all", closed)):
        n = len(part)
        r = part["return"].to_numpy(dtype=np.float64)
        pnl = part["pnl"].to_numpy(dtype=np.float64)
        rows.append([name, format_value(n, "count"),
                     format_value(np.count_nonzero(pnl > 0) / n if n else math.nan, "fraction"),
                     format_value(pnl.sum(), "cash"), format_value(r.mean() if n else math.nan, "fraction"),
                     format_value(r.max() if n else math.nan, "fraction"),
                     format_value(r.min() if n else math.nan, "fraction"),
                     format_value(part["bars_held"].mean() if n else math.nan, "bars")])
    return section("long-short", "Long / short breakdown",
                   table(["side", "closed trades", "win rate", "net PnL", "mean return", "best", "worst",
                          "mean bars held"], rows))


def regime_table(regimes: pd.DataFrame | None) -> str:
    if regimes is None or not len(regimes):
        return ""
    header = [str(regimes.index.name or "regime"), *map(str, regimes.columns)]
    rows = []
    for key, row in regimes.iterrows():
        cells = [cell(key)]
        for name, value in row.items():
            unit = REGIME_UNITS.get(str(name)) or (METRICS[str(name)].unit if str(name) in METRICS else None)
            cells.append(format_value(value, unit) if unit and isinstance(value, int | float | np.number)
                         else cell(value))
        rows.append(cells)
    return section("regimes", "Regimes", table(header, rows))


def trade_list(v: RunView) -> str:
    trades = v.trades
    n = len(trades)
    if not n:
        return section("trades", "Trades", "<p>No trades.</p>")
    parts = [trades.iloc[:TRADE_ROWS], trades.iloc[n - TRADE_ROWS:]] if n > 2 * TRADE_ROWS else [trades]
    shown = ((("symbol", "symbol"),) if "symbol" in trades else ()) + _TRADE_COLUMNS  # a portfolio names it
    names = [name for name, _ in shown]
    exit_at = 1 + names.index("exit_time")  # after "#"

    def rows(frame: pd.DataFrame) -> list[list[str]]:
        out = []
        for i, still_open, *values in zip(frame.index.tolist(), frame["open"].tolist(),
                                          *(frame[name].tolist() for name in names), strict=True):
            cells = [str(i + 1)]
            for name, value in zip(names, values, strict=True):
                unit = _TRADE_UNITS.get(name)
                if unit:
                    cells.append(format_value(value, unit))
                else:
                    cells.append(v.when(value) if name.endswith("_time") else cell(value))
            if still_open:
                cells[exit_at] = "open"
            out.append(cells)
        return out

    body = rows(parts[0])
    if len(parts) == 2:
        body.append([f"<i>{n - 2 * TRADE_ROWS:,} trades omitted</i>", *[""] * len(shown)])
        body += rows(parts[1])
    note = f"<p>{n:,} trades" + (f"; the first and last {TRADE_ROWS} are listed" if len(parts) == 2 else "") + \
        ". A trade still open is marked to the last close.</p>"
    text = [1 + k for k, name in enumerate(names) if name in _TRADE_TEXT]
    listing = table(["#", *(title for _, title in shown)], body, text=text)
    return section("trades", "Trades", note, f'<div class="trades">{listing}</div>')


def sections(v: RunView, *, insights: Sequence[Any], regimes: pd.DataFrame | None, log_scale: bool,
             plain: bool = False) -> list[str]:
    """The result's sections in page order (the validation section and the footer come from their modules)."""
    return [headline(v, insights, plain=plain), equity(v, log_scale=log_scale), drawdown(v), periodic(v), rolling(v),
            distributions(v), holding(v), excursions(v), long_short(v), regime_table(regimes), trade_list(v)]
