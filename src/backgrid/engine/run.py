"""``backtest``: validate inputs, allocate, run the simulator kernel, wrap the result."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars, MultiBars
from backgrid.data.calendar import infer_calendar
from backgrid.engine.config import SIZE_TYPES, Costs, EngineError
from backgrid.engine.kernels import portfolio_nb, simulate_nb
from backgrid.engine.records import COLUMN_PARAMS, COLUMN_STATE, TRADE
from backgrid.engine.result import Result

__all__ = ["backtest"]

_PRICES = ("open", "high", "low", "close")
_SIZE_CODES = {"units": 0, "cash": 1, "percent": 2, "risk": 3}


def _prices(data: Any) -> tuple[np.ndarray, dict[str, np.ndarray], int, pd.DatetimeIndex, list[str] | None]:
    """Timestamps, (n, k) price arrays, the bar length, the index, and the symbols of a portfolio."""
    if isinstance(data, dict | list) and data and all(isinstance(b, Bars) for b in
                                                      (data.values() if isinstance(data, dict) else data)):
        data = MultiBars(data)
    if isinstance(data, MultiBars):
        ts, columns = data.panel(_PRICES)
        index = pd.DatetimeIndex(ts.view("datetime64[ns]"), tz="UTC", name="ts")
        return ts, columns, data.timeframe.nanos, index, data.symbols
    if isinstance(data, Bars):
        return data.ts, {c: data.column(c)[:, None] for c in _PRICES}, data.timeframe.nanos, data.index, None
    if isinstance(data, pd.DataFrame) and isinstance(data.index, pd.DatetimeIndex):
        lowered = {str(c).lower(): c for c in data.columns}
        missing = [c for c in _PRICES if c not in lowered]
        if missing:
            msg = f"data lacks column(s) {', '.join(missing)}; found {', '.join(map(str, data.columns))}"
            raise EngineError(msg)
        index = data.index.tz_localize("UTC") if data.index.tz is None else data.index.tz_convert("UTC")
        ts = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
        step = int(np.median(np.diff(ts))) if ts.size > 1 else 86_400 * 10**9
        prices = {c: data[lowered[c]].to_numpy(dtype=np.float64)[:, None] for c in _PRICES}
        return ts, prices, step, index, None
    msg = ("data must be Bars, several Bars (MultiBars, a dict or a list) or an OHLC DataFrame with a "
           f"DatetimeIndex, got {type(data).__name__}")
    raise EngineError(msg)


def _signal(name: str, value: Any, index: pd.DatetimeIndex, symbols: list[str] | None,
            ) -> tuple[np.ndarray, list[Any] | None]:
    """A (n, 1) or (n, m) bool array and its column labels, if any.

    A Series or DataFrame with a DatetimeIndex is aligned on the data's bars (absent bars: False); for a
    portfolio, DataFrame columns are matched to the symbols by name.
    """
    n = index.size
    if value is None:
        return np.zeros((n, 1), dtype=np.bool_), None
    if isinstance(value, pd.Series | pd.DataFrame) and isinstance(value.index, pd.DatetimeIndex):
        own = value.index.tz_localize("UTC") if value.index.tz is None else value.index.tz_convert("UTC")
        value = value.set_axis(own.as_unit("ns")).reindex(index.as_unit("ns"), fill_value=False)
    if symbols is not None and isinstance(value, pd.DataFrame):
        missing = [sym for sym in symbols if sym not in value.columns]
        if missing:
            msg = f"{name} has no column for symbol(s) {', '.join(missing)}; columns are {list(value.columns)}"
            raise EngineError(msg)
        value = value[symbols]
    labels = list(value.columns) if isinstance(value, pd.DataFrame) and symbols is None else None
    array = np.asarray(value)
    if array.dtype != np.bool_:
        if array.dtype.kind not in "biuf" or not np.isin(array[~pd.isna(array)], (0, 1)).all():
            msg = f"{name} must be booleans (True where the signal fires), got dtype {array.dtype}"
            raise EngineError(msg)
        array = np.nan_to_num(array.astype(np.float64)).astype(np.bool_)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] != n:
        msg = f"{name} has shape {array.shape}; expected ({n},) or ({n}, columns) like the data's {n} bars"
        raise EngineError(msg)
    # column-major: each column's kernel walks its own signals contiguously (a 2-D C-order array would cost a
    # cache miss per bar and column: 8x slower on a 1,590-column sweep)
    return np.asfortranarray(array), labels


def _per_column(name: str, value: Any, m: int, *, low: float, high: float, default: float) -> np.ndarray:
    """A length-``m`` float array from a scalar or a sequence; NaN means 'none'."""
    if value is None:
        return np.full(m, default)
    array = np.atleast_1d(np.asarray(value, dtype=np.float64))
    if array.ndim != 1 or array.size not in (1, m):
        msg = f"{name} must be a number or one value per column ({m}), got shape {array.shape}"
        raise EngineError(msg)
    finite = array[np.isfinite(array)]
    if ((finite <= low) | (finite > high)).any():
        msg = f"{name} must be in ({low:g}, {high:g}], got {finite[(finite <= low) | (finite > high)][0]:g}"
        raise EngineError(msg)
    return np.broadcast_to(array, (m,)).copy()


def backtest(
    data: Any,
    *,
    entries: Any = None,
    exits: Any = None,
    short_entries: Any = None,
    short_exits: Any = None,
    stop_loss: Any = None,
    take_profit: Any = None,
    trailing_stop: Any = None,
    max_bars: Any = None,
    size: Any = 1.0,
    size_type: Literal["percent", "units", "cash", "risk"] = "percent",
    lot_size: float = 0.0,
    leverage: float = 1.0,
    costs: Costs | dict[str, Any] | None = None,
    cash: float = 10_000.0,
    fill: Literal["next_open", "same_close"] = "next_open",
    stop_policy: Literal["stop_first", "ohlc_path"] = "stop_first",
    max_positions: int | None = None,
    periods_per_year: float | None = None,
    keep_equity: bool = True,
) -> Result:
    """Simulate trading ``data`` on signals; return a :class:`~backgrid.engine.result.Result`.

    Signals are booleans, one per bar (a Series or array), or one column per
    parameter set (a DataFrame or 2-D array: every column runs as its own account,
    side by side). ``stop_loss``, ``take_profit`` and ``trailing_stop`` are fractions
    of the entry price (0.02 = 2 %); they, ``max_bars`` and ``size`` may also give
    one value per column. ``size`` is read by ``size_type``: ``percent`` of equity
    (1.0 = all in, costs included), ``units``, ``cash`` to spend, or ``risk``
    (the fraction of equity lost if the stop-loss fills). ``lot_size`` rounds
    quantities down (1 = whole shares; 0 = any fraction). Orders decided at a bar's
    close fill at the next open unless ``fill="same_close"``.

    Several symbols (``MultiBars``, a dict or a list of Bars) trade from ONE cash
    account on the union of their timestamps: signals then have one column per
    symbol (DataFrame columns named by symbol), exits fill before entries and
    entries in symbol order, and ``max_positions`` caps the open positions.

    ``periods_per_year`` overrides the annualisation the calendar implies (see
    :func:`backgrid.metrics.periods_per_year`), e.g. for data with holidays.

    >>> from backgrid.data.sources.demo import demo_bars
    >>> bars = demo_bars("DEMO-SPY", "1d")
    >>> fast, slow = bars.to_pandas().close.rolling(10).mean(), bars.to_pandas().close.rolling(30).mean()
    >>> result = backtest(bars, entries=fast > slow, exits=fast < slow, costs={"commission": 0.001})
    >>> result.stats["trades"] > 0
    True
    """
    ts, prices, bar_ns, index, symbols = _prices(data)
    n = ts.size
    signals = {name: _signal(name, value, index, symbols) for name, value in
               (("entries", entries), ("exits", exits), ("short_entries", short_entries),
                ("short_exits", short_exits))}
    widths = {name: s.shape[1] for name, (s, _) in signals.items() if s.shape[1] > 1}
    per_col_lengths = [np.size(v) for v in (stop_loss, take_profit, trailing_stop, max_bars, size)
                       if v is not None and np.ndim(v) == 1]
    m = len(symbols) if symbols else max([*widths.values(), *per_col_lengths, 1])
    if any(w != m for w in widths.values()):
        msg = f"signal columns disagree: {widths}; every 2-D signal needs {m} columns"
        raise EngineError(msg)
    labels = next((lab for _, lab in signals.values() if lab is not None), None)
    if fill not in ("next_open", "same_close"):
        msg = f"fill must be 'next_open' or 'same_close', got {fill!r}"
        raise EngineError(msg)
    if stop_policy not in ("stop_first", "ohlc_path"):
        msg = f"stop_policy must be 'stop_first' or 'ohlc_path', got {stop_policy!r}"
        raise EngineError(msg)
    if max_positions is not None and not (isinstance(max_positions, int) and max_positions >= 1):
        msg = f"max_positions must be an integer >= 1, got {max_positions!r}"
        raise EngineError(msg)
    params = _column_params(m, cash=cash, size=size, size_type=size_type, lot_size=lot_size, leverage=leverage,
                            costs=Costs.coerce(costs), stop_loss=stop_loss, take_profit=take_profit,
                            trailing_stop=trailing_stop, max_bars=max_bars)
    entry_counts = [np.broadcast_to(s.sum(axis=0), (m,)) for name, (s, _) in signals.items()
                    if name in ("entries", "short_entries")]
    capacity = entry_counts[0] + entry_counts[1] + 1
    trade_start = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(capacity, out=trade_start[1:])
    trades = np.zeros(int(trade_start[-1]), dtype=TRADE)
    state = np.zeros(m, dtype=COLUMN_STATE)
    state["k"] = trade_start[:-1]
    o, h, lo, c = (prices[name] for name in _PRICES)
    e, x, se, sx = (np.broadcast_to(s, (n, m)) if symbols else s for s, _ in signals.values())
    accounts = 1 if symbols else m
    equity = np.empty((n if keep_equity or symbols else 0, accounts))
    summary = np.empty((accounts, 2))
    if symbols:
        cash_out = np.empty(n)
        portfolio_nb.portfolio_nb(ts, bar_ns, o, h, lo, c, e, x, se, sx, params, float(cash),
                                  max_positions or m, fill == "same_close", stop_policy == "ohlc_path", state,
                                  trades, trade_start, equity[:, 0], cash_out, summary)
    else:
        kernel = simulate_nb.simulate_parallel_nb if m > 1 else simulate_nb.simulate_nb
        kernel(ts, bar_ns, o, h, lo, c, np.zeros(m, np.int64), e, x, se, sx, params, fill == "same_close",
               stop_policy == "ohlc_path", state, trades, trade_start, equity, summary)
    used = np.concatenate([np.arange(trade_start[j], state["k"][j]) for j in range(m)])
    calendar = data.calendar if isinstance(data, Bars) else infer_calendar(ts)
    return Result(trades=trades[used], equity=equity, summary=summary, state=state, index=index,
                  labels=["portfolio"] if symbols else labels, params=params[:accounts],
                  prices=prices, calendar=calendar, bar_ns=bar_ns, assets=symbols,
                  periods_per_year=periods_per_year)


def _column_params(m: int, *, cash: float, size: Any, size_type: str, lot_size: float, leverage: float,
                   costs: Costs, stop_loss: Any, take_profit: Any, trailing_stop: Any,
                   max_bars: Any) -> np.ndarray:
    """The kernel's per-column settings, each checked and named in errors."""
    if size_type not in SIZE_TYPES:
        msg = f"size_type must be one of {', '.join(SIZE_TYPES)}, got {size_type!r}"
        raise EngineError(msg)
    if not (isinstance(cash, int | float) and cash > 0):
        msg = f"cash must be a number > 0, got {cash!r}"
        raise EngineError(msg)
    params = np.zeros(m, dtype=COLUMN_PARAMS)
    params["cash"] = cash
    params["size"] = _per_column("size", size, m, low=0.0, high=np.inf, default=1.0)
    params["size_type"] = _SIZE_CODES[size_type]
    params["lot"] = lot_size
    params["leverage"] = leverage
    params["commission_pct"] = costs.commission
    params["commission_fixed"] = costs.commission_fixed
    params["commission_min"] = costs.commission_min
    params["slippage_pct"] = costs.slippage
    params["spread_pct"] = costs.spread
    params["borrow_rate"] = costs.borrow_rate
    params["stop_loss"] = _per_column("stop_loss", stop_loss, m, low=0.0, high=1.0, default=np.nan)
    params["take_profit"] = _per_column("take_profit", take_profit, m, low=0.0, high=np.inf, default=np.nan)
    params["trailing_stop"] = _per_column("trailing_stop", trailing_stop, m, low=0.0, high=1.0, default=np.nan)
    params["max_bars"] = _per_column("max_bars", max_bars, m, low=0.0, high=np.inf, default=0).astype(np.int64)
    if size_type == "percent" and (params["size"] > leverage).any():
        msg = f"size as a percent of equity must be at most the leverage ({leverage:g}), got {params['size'].max():g}"
        raise EngineError(msg)
    if size_type == "risk" and not (params["stop_loss"] > 0).all():
        msg = "size_type='risk' needs a stop_loss on every column (the risk is measured to the stop)"
        raise EngineError(msg)
    return params
