"""``Result``: what a backtest returns, as pandas objects for people and arrays for code."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.calendar import Calendar
from backgrid.engine.archive import load_result, save_result
from backgrid.engine.config import EngineConfig
from backgrid.engine.enums import ExitReason, OrderReason, OrderStatus, OrderType
from backgrid.engine.records import ORDER
from backgrid.errors import AnalysisError, EquityNotKeptError, ResultColumnError
from backgrid.metrics.columns import column_stats, curve_needed, summary_stats
from backgrid.metrics.registry import METRICS, StatsInput, compute_stats, periods_per_year

__all__ = ["Result"]


class Result:
    """Trades, equity and statistics of a backtest; one column per parameter set when there are several.

    ``records`` holds the raw trade records (``records.TRADE``) and ``order_records``
    the raw order records (``records.ORDER``); ``trades``, ``orders``, ``equity`` and
    ``stats`` are pandas views built on first use.
    """

    def __init__(self, *, trades: np.ndarray, equity: np.ndarray, summary: np.ndarray, state: np.ndarray,
                 index: pd.DatetimeIndex, labels: pd.Index | list[Any] | None, params: np.ndarray,
                 prices: dict[str, np.ndarray],
                 calendar: Calendar, bar_ns: int, assets: list[str] | None = None,
                 periods_per_year: float | None = None, orders: np.ndarray | None = None,
                 config: EngineConfig | None = None, warnings: list[str] | None = None,
                 splits: np.ndarray | None = None) -> None:
        self.records = trades
        self.order_records = orders if orders is not None else np.zeros(0, dtype=ORDER)
        self.summary = summary
        self.state = state
        self.params = params
        self.index = index
        # a sweep's columns keep their names (a MultiIndex of the swept parameters)
        self.columns = (labels if isinstance(labels, pd.MultiIndex)
                        else pd.Index(labels if labels is not None else range(params.size), name="column"))
        self._equity = equity
        self._prices = prices  # open/high/low/close, (n, assets)
        self._splits = splits  # the split ratios the run applied, (n, assets) (1.0: none), or None for none
        self._calendar = calendar
        self._bar_ns = bar_ns
        self.assets = assets
        self._ppy = periods_per_year
        #: the settings the run used (its ``fingerprint`` is the run's identity)
        self.config = config
        #: why a run could not trade, when it could not (signals missing every bar, every order sized to nothing)
        self.warnings: list[str] = list(warnings or [])

    def __repr__(self) -> str:
        return (f"<Result {len(self.columns)} column(s), {self.records.size} trades, "
                f"final equity {self.summary[:, 0].round(2).tolist()[:3]}>")

    @property
    def single(self) -> bool:
        """True when the backtest ran one column."""
        return len(self.columns) == 1

    @cached_property
    def trades(self) -> pd.DataFrame:
        """One row per trade: times, prices, size, PnL, costs, exit reason, MFE/MAE, bars held."""
        t = self.records
        t = t[np.lexsort((t["exit_idx"], t["entry_idx"]))]  # by entry, then exit; ties keep the kernel's order
        columns: dict[str, Any] = {}
        if self.assets is not None:
            columns["symbol"] = np.asarray(self.assets, dtype=object)[t["asset"]]
        columns["entry_time"] = self.index[t["entry_idx"]]
        columns["exit_time"] = self.index[t["exit_idx"]]
        columns |= {name: t[name] for name in t.dtype.names or () if name not in {"col", "asset"}}
        columns["side"] = np.where(t["side"] > 0, "long", "short")
        columns["exit_reason"] = [ExitReason(code).name.lower() for code in t["exit_reason"]]
        if not self.single:
            columns["column"] = self.columns[t["col"]]
        return pd.DataFrame(columns)  # built once in its final order: inserts and drops cost more than the rest

    @cached_property
    def orders(self) -> pd.DataFrame:
        """One row per order event, in time order: every fill, and every order that did not fill.

        Columns: ``time`` and ``bar`` of the event, ``side`` (buy / sell), ``type`` (market, limit, stop
        entries; stop_loss, take_profit, trailing_stop, time, signal_exit, session, risk, ruin, margin_call
        exits), ``status``
        (filled / rejected), ``reason`` (missing for fills; no_cash, size_zero, max_positions, expired,
        cancelled, no_price, max_exposure), ``requested`` and filled ``size`` in units, fill ``price``
        (costs of slippage and spread included), ``order_price`` (the limit or stop price of an entry, the
        level of a stop exit) and ``commission``; ``symbol`` for a portfolio and ``column`` for several parameter sets.
        """
        o = self.order_records
        frame = pd.DataFrame({name: o[name] for name in o.dtype.names or ()})
        frame.insert(0, "time", self.index[o["bar"]])
        frame["side"] = np.where(o["side"] > 0, "buy", "sell")
        frame["type"] = _words(OrderType, o["type"])
        frame["status"] = _words(OrderStatus, o["status"])
        frame["reason"] = [None if code == OrderReason.NONE else OrderReason(code).name.lower() for code in o["reason"]]
        frame["column"] = self.columns[o["col"]]
        if self.assets is not None:
            frame.insert(0, "symbol", np.asarray(self.assets, dtype=object)[o["asset"]])
        order = np.lexsort((o["bar"], o["col"]))  # records come by column (portfolio: by asset), each in time order
        frame = frame.iloc[order].drop(columns=["col", "asset"])
        if self.single:
            frame = frame.drop(columns="column")
        return frame.reset_index(drop=True)

    @cached_property
    def equity(self) -> pd.Series | pd.DataFrame:
        """Equity marked at every close (a Series, or a DataFrame with one column per parameter set)."""
        if not self._equity.shape[0]:
            msg = "equity was not kept (keep_equity=False); summary holds the final equity and drawdown"
            raise EquityNotKeptError(msg)
        # on the run's own array, not a copy (a million bars: ~1 ms); one column: the Series directly (a frame
        # and its column cost ~0.1 ms more)
        if self.single:
            return pd.Series(self._equity[:, 0], index=self.index, name="equity", copy=False)
        return pd.DataFrame(self._equity, index=self.index, columns=self.columns, copy=False)

    @cached_property
    def stats(self) -> pd.Series | pd.DataFrame:
        """Every metric (see :data:`backgrid.metrics.METRICS`): a Series, or one row per column.

        Counts stay ints: the Series of one column has object dtype (``.astype(float)`` for arithmetic across
        metrics), the frame of several has an int64 column for each count.
        """
        if self.single:  # a float64 Series would turn the counts into floats
            return pd.Series(compute_stats(self._stats_input(None, None, "stats")), name="stats", dtype=object)
        return self.metrics()  # several columns: every metric of all of them at once, the same values

    def stats_input(self, column: Any = None, *, benchmark: np.ndarray | None = None) -> StatsInput:
        """What the metrics of one column are computed from (see :class:`~backgrid.metrics.StatsInput`).

        ``column`` picks the parameter set of a sweep (default: the first); ``benchmark`` replaces buy and hold
        of the traded close (one price or equity value per bar). ``METRICS[name].fn(result.stats_input())``
        is ``result.stats[name]``.
        """
        return self._stats_input(column, benchmark, "metrics")

    def _stats_input(self, column: Any, benchmark: np.ndarray | None, what: str) -> StatsInput:
        c = self._column_position(column)
        ts, ppy, held = self._stats_inputs(what)
        return StatsInput(equity=self._equity[:, c], cash=float(self.params["cash"][c]), ts=ts, bar_ns=self._bar_ns,
                          ppy=ppy, trades=self.records[self.records["col"] == c],
                          benchmark=held if benchmark is None else np.asarray(benchmark, dtype=np.float64))

    def _stats_inputs(self, what: str) -> tuple[np.ndarray, float, np.ndarray]:
        """Bar times, periods per year and the buy-and-hold benchmark, which every metric reads."""
        if not self._equity.shape[0]:
            msg = f"{what} need the equity curve; run with keep_equity=True"
            raise EquityNotKeptError(msg)
        ts = np.asarray(self.index.as_unit("ns").asi8, dtype=np.int64)
        ppy = periods_per_year(self._bar_ns, self._calendar, override=self._ppy)
        return ts, ppy, _buy_and_hold(self._prices["close"])

    def metrics(self, names: Sequence[str] | None = None) -> pd.DataFrame:
        """The metrics ``names`` (default: all, as :attr:`stats`) of every column at once: one row per column.

        An optimiser asks for the few it records; each equals what :attr:`stats` gives. A run with
        ``keep_equity=False`` answers the :data:`~backgrid.metrics.columns.SUMMARY_METRICS` (final equity,
        total return, deepest drawdown, every trade statistic) from its summary; the others need the curve.
        """
        chosen = list(METRICS) if names is None else list(dict.fromkeys(names))
        if not self._equity.shape[0]:
            problem = curve_needed(chosen)
            if problem:
                raise EquityNotKeptError(problem)
            values = summary_stats(self.summary[:, 0], self.summary[:, 1], self.params["cash"], self.index.size,
                                   self.records, _buy_and_hold(self._prices["close"]), chosen)
            return pd.DataFrame(values, index=self.columns, columns=chosen)
        ts, ppy, benchmark = self._stats_inputs("metrics")
        values = column_stats(self._equity, self.params["cash"], ts, self._bar_ns, ppy, self.records, benchmark,
                              chosen)  # records come by column
        return pd.DataFrame(values, index=self.columns, columns=chosen)

    def ledger(self, column: Any = None) -> pd.DataFrame:
        """Per bar, for one account: cash, position value, equity, exposure, drawdown and margin.

        ``column`` picks the parameter set of a sweep (default: the first). Positions come from the trade
        records: a trade holds its units at every close from its entry bar up to the bar before its exit
        (to the last bar while still open). Position value marks them at each close (an asset without a
        bar keeps its last close), cash is equity less position value, exposure is gross position value
        over equity, drawdown is equity over its running peak (the starting cash included) less one.
        ``margin_used`` is the gross position value over the leverage (the initial margin of the positions
        held), ``margin_free`` equity less margin used. A trade's units before a split the run applied are its
        units after it over the ratio (where the split paid cash in lieu of a fraction of a unit, that fraction,
        not in the records, is left out of the units before it).
        """
        c = self._column_position(column)
        if not self._equity.shape[0]:
            msg = "the ledger needs the equity curve; run with keep_equity=True"
            raise EquityNotKeptError(msg)
        n = self._equity.shape[0]
        closes = pd.DataFrame(self._prices["close"]).ffill().to_numpy()
        marked = np.nan_to_num(self._units(c) * closes)
        equity = self._equity[:, c]
        value = marked.sum(axis=1)
        gross = np.abs(marked).sum(axis=1)
        peak = np.maximum.accumulate(np.r_[float(self.params["cash"][c]), equity])[1:]
        # nothing held is no exposure, also on a ruined account's zero equity
        exposure = np.divide(gross, equity, out=np.zeros(n), where=gross != 0.0)
        used = gross / float(self.params["leverage"][c])
        return pd.DataFrame({"cash": equity - value, "position_value": value, "equity": equity,
                             "exposure": exposure, "drawdown": equity / peak - 1.0, "margin_used": used,
                             "margin_free": equity - used}, index=self.index)

    def positions(self, column: Any = None) -> pd.DataFrame:
        """Signed units held at every close, one column per asset (> 0 long, < 0 short, 0 flat).

        ``column`` picks the parameter set of a sweep (default: the first). A trade holds its units from its
        entry bar up to the bar before its exit (to the last bar while still open), as in :meth:`ledger`.
        """
        units = self._units(self._column_position(column))
        return pd.DataFrame(units, index=self.index, columns=self.assets or ["units"])

    def _units(self, c: int) -> np.ndarray:
        """Signed units of column ``c`` held at every close, (n, assets), split ratios applied."""
        n = self.index.size
        trades = self.records[self.records["col"] == c]
        units = np.zeros((n + 1, self._prices["close"].shape[1]))
        held = trades["side"] * trades["size"]
        ends = np.where(trades["open"], n, trades["exit_idx"])
        grown = None
        if self._splits is not None:  # units held at t: the last units x growth to t / growth to the last bar
            grown = np.cumprod(self._splits, axis=0)
            held = held / grown[np.minimum(ends, n - 1), trades["asset"]]
        np.add.at(units, (trades["entry_idx"], trades["asset"]), held)
        np.add.at(units, (ends, trades["asset"]), -held)
        units = np.cumsum(units[:-1], axis=0)
        if grown is not None:
            units *= grown
        return units

    def segment(self, start: int, stop: int | None = None) -> Result:
        """The run seen from bar ``start`` to bar ``stop`` (excluded): a result of its own.

        Equity and prices are cut to the window; trades and orders are those entered (or placed) in it, their
        bars counted from ``start``; each account starts with its equity at the bar before ``start`` as its
        cash. A walk-forward's test window is such a segment of a run that also saw the bars before it (the
        indicators' history) without trading on them.
        """
        n = self.index.size
        stop = n if stop is None else stop
        if not 0 <= start < stop <= n:
            msg = f"a segment needs 0 <= start < stop <= {n} bars, got start={start}, stop={stop}"
            raise ResultColumnError(msg)
        if not self._equity.shape[0]:
            msg = "a segment needs the equity curve; run with keep_equity=True"
            raise EquityNotKeptError(msg)
        params = self.params.copy()
        if start:
            params["cash"] = self._equity[start - 1]
        trades = self.records[(self.records["entry_idx"] >= start) & (self.records["entry_idx"] < stop)].copy()
        trades["entry_idx"] -= start
        trades["exit_idx"] = np.minimum(trades["exit_idx"], stop - 1) - start
        orders = self.order_records[(self.order_records["bar"] >= start) & (self.order_records["bar"] < stop)].copy()
        orders["bar"] -= start
        equity = self._equity[start:stop]
        peak = np.maximum.accumulate(np.vstack([params["cash"][None, :], equity]), axis=0)[1:]
        summary = np.column_stack([equity[-1], (equity / peak - 1.0).min(axis=0)])
        return Result(trades=trades, equity=equity, summary=summary, state=self.state, index=self.index[start:stop],
                      labels=self.columns, params=params, prices={k: v[start:stop] for k, v in self._prices.items()},
                      calendar=self._calendar, bar_ns=self._bar_ns, assets=self.assets,
                      periods_per_year=self._ppy, orders=orders, config=self.config, warnings=self.warnings,
                      splits=None if self._splits is None else self._splits[start:stop])

    def column(self, column: Any) -> Result:
        """The result of one column (parameter set) of a sweep, as if it had run alone (its label kept)."""
        c = self._column_position(column)
        if self.single:
            return self
        trades = self.records[self.records["col"] == c].copy()
        trades["col"] = 0
        orders = self.order_records[self.order_records["col"] == c].copy()
        orders["col"] = 0
        labels = self.columns[c:c + 1]
        return Result(trades=trades, equity=self._equity[:, c:c + 1].copy(order="F"), summary=self.summary[c:c + 1],
                      state=self.state[c:c + 1], index=self.index, labels=labels, params=self.params[c:c + 1],
                      prices=self._prices, calendar=self._calendar, bar_ns=self._bar_ns, assets=self.assets,
                      periods_per_year=self._ppy, orders=orders, config=self.config, warnings=self.warnings,
                      splits=self._splits)

    def insights(self, *, column: Any = None, plain: bool = False, **figures: Any) -> list[Any]:
        """Plain-language statements about this run, each citing its number and threshold.

        See :func:`backgrid.analysis.insights` (``figures``: ``regimes``, ``robustness``, ``parameters``,
        ``benchmark``); ``plain=True`` writes them without jargon.
        """
        from backgrid.analysis.insights import insights  # noqa: PLC0415  # analysis reads results: on demand

        return insights(self, column=column, plain=plain, **figures)

    def regimes(self, bars: Any, *, method: str = "trend", column: Any = None, **options: Any) -> pd.DataFrame:
        """How the run did in each market regime of ``bars`` (the run's bars): one row per regime.

        ``method`` is ``trend``, ``volatility``, ``hmm`` or ``events`` with that function's ``options``
        (:mod:`backgrid.analysis.regimes`); the rows are :func:`backgrid.analysis.regime_stats`.
        """
        from backgrid import analysis  # noqa: PLC0415

        methods: dict[str, Callable[..., Any]] = {
            "trend": analysis.trend_regime, "volatility": analysis.volatility_regime, "hmm": analysis.hmm_regime,
            "events": analysis.event_regime}
        if method not in methods:
            msg = f"method: expected one of {', '.join(methods)}, got {method!r}"
            raise AnalysisError(msg)
        return analysis.regime_stats(self, methods[method](bars, **options), column=column)

    def save(self, path: str | Path) -> Path:
        """Write the result to one ``.npz`` file (see :mod:`backgrid.engine.archive`) and return its path."""
        return save_result(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Result:
        """The result that :meth:`save` wrote to ``path``: the same trades, equity, statistics and settings."""
        return load_result(path)

    def _column_position(self, column: Any) -> int:
        if column is not None and column not in self.columns:
            msg = f"column {column!r} is not one column of this result; it has {list(self.columns)}"
            raise ResultColumnError(msg)
        return 0 if column is None else list(self.columns).index(column)

    def plot(self, path: str | Path | None = None, *, column: Any = None, max_bars: int = 100_000,
             title: str | None = None, overlays: Mapping[str, np.ndarray] | None = None,
             entry_rules: Mapping[str, str] | None = None) -> Path:
        """Write one interactive HTML chart and return its path: candles with entries and exits, equity, drawdown.

        ``column`` picks the parameter set of a sweep (default: the first); the title names it
        (``fast=10, slow=50``) after ``title`` (the strategy's name, say). ``overlays`` are lines drawn on
        the price pane, one value per bar (an SMA, a band's upper line). ``entry_rules`` labels each
        entry marker by its side (``{"long": "entries.long"}``; default: the side). A portfolio of several
        symbols shows its equity and drawdown. Only the last ``max_bars`` bars are drawn (a browser draws a
        few hundred thousand candles comfortably, not millions); the page opens on all of them. The file is
        self-contained and opens offline.
        """
        from backgrid.charts import backtest_chart  # noqa: PLC0415  # the chart library is read on demand

        c = self._column_position(column)
        equity = self._equity[:, c] if self._equity.shape[0] else None
        if equity is None:
            msg = "plot needs the equity curve; run with keep_equity=True"
            raise EquityNotKeptError(msg)
        start = max(0, equity.size - max_bars)
        trades = self.trades if self.single else self.trades[self.trades["column"] == self.columns[c]]
        trades = trades[trades["entry_idx"] >= start].assign(entry_idx=lambda t: t["entry_idx"] - start,
                                                             exit_idx=lambda t: t["exit_idx"] - start)
        ts = np.asarray(self.index.as_unit("ns").asi8[start:], dtype=np.int64)
        single_asset = self.assets is None or len(self.assets) == 1
        ohlc = {k: v[start:, 0] for k, v in self._prices.items()} if single_asset else None
        stats = compute_stats(self.stats_input(column))
        subtitle = (f"{stats['trades']} trades, total return {stats['total_return']:.2%}, "
                    f"max drawdown {stats['max_drawdown']:.2%}, Sharpe {stats['sharpe_ratio']:.2f}"
                    + (f"; showing the last {max_bars:,} of {equity.size:,} bars" if start else ""))
        key = self.columns[c]
        values = key if isinstance(key, tuple) else (key,)
        names = [str(name) for name in self.columns.names]
        named = ", ".join(f"{n}={v.item() if isinstance(v, np.generic) else v}"
                          for n, v in zip(names, values, strict=True))
        heading = title or "backgrid backtest"
        if not self.single and named not in heading:
            heading += f" — {named}"
        lines = {name: np.asarray(v, dtype=np.float64)[start:] for name, v in (overlays or {}).items()}
        page = backtest_chart(title=heading, subtitle=subtitle, ts=ts,
                              equity=equity[start:], cash=float(equity[start - 1]) if start else
                              float(self.params["cash"][c]), ohlc=ohlc, trades=trades,
                              intraday=self._bar_ns < 86_400 * 10**9, overlays=lines,
                              entry_text=dict(entry_rules or {}))
        out = Path(path) if path is not None else Path.cwd() / "backtest.html"
        out.write_text(page, encoding="utf-8")
        return out


def _words(codes: type[OrderType | OrderStatus], values: np.ndarray) -> list[str]:
    """The lower-case names of enum ``codes`` for each value."""
    names = {member.value: member.name.lower() for member in codes}
    return [names[int(v)] for v in values]


def _buy_and_hold(close: np.ndarray) -> np.ndarray:
    """Buy and hold: the close of one asset, or an equal-weight index of several (each from its first bar)."""
    if close.shape[1] == 1:
        return np.asarray(close[:, 0])
    filled = pd.DataFrame(close).ffill().to_numpy()
    first = np.array([col[np.isfinite(col)][0] if np.isfinite(col).any() else np.nan for col in filled.T])
    return np.asarray(np.nanmean(np.where(np.isfinite(filled), filled / first, 1.0), axis=1))
