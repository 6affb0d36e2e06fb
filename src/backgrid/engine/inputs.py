"""The engine's inputs on the data's bars: prices, signals and per-bar values as the kernels' arrays."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars, MultiBars
from backgrid.engine.kernels import layout_nb
from backgrid.engine.options import OPTIONS
from backgrid.errors import EngineError, OptionError

__all__ = ["PRICES", "actions", "per_bar", "prices", "signal"]

PRICES = ("open", "high", "low", "close")


def _several(data: Any) -> Any:
    """``data`` as a MultiBars when it is a non-empty dict or list of Bars, else unchanged."""
    if isinstance(data, dict | list) and data and all(isinstance(b, Bars) for b in
                                                      (data.values() if isinstance(data, dict) else data)):
        return MultiBars(data)
    return data


def prices(data: Any) -> tuple[np.ndarray, dict[str, np.ndarray], int, pd.DatetimeIndex, list[str] | None]:
    """Timestamps, (n, k) price arrays, the bar length, the index, and the symbols of a portfolio."""
    data = _several(data)
    if isinstance(data, MultiBars):
        ts, columns = data.panel(PRICES)
        index = pd.DatetimeIndex(ts.view("datetime64[ns]"), tz="UTC", name="ts")
        return ts, columns, data.timeframe.nanos, index, data.symbols
    if isinstance(data, Bars):
        return data.ts, {c: data.column(c)[:, None] for c in PRICES}, data.timeframe.nanos, data.index, None
    if isinstance(data, pd.DataFrame) and isinstance(data.index, pd.DatetimeIndex):
        lowered = {str(c).lower(): c for c in data.columns}
        missing = [c for c in PRICES if c not in lowered]
        if missing:
            msg = f"data lacks column(s) {', '.join(missing)}; found {', '.join(map(str, data.columns))}"
            raise EngineError(msg)
        index = data.index.tz_localize("UTC") if data.index.tz is None else data.index.tz_convert("UTC")
        ts = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
        step = int(np.median(np.diff(ts))) if ts.size > 1 else 86_400 * 10**9
        prices = {c: data[lowered[c]].to_numpy(dtype=np.float64)[:, None] for c in PRICES}
        return ts, prices, step, index, None
    msg = ("data must be Bars, several Bars (MultiBars, a dict or a list) or an OHLC DataFrame with a "
           f"DatetimeIndex, got {type(data).__name__}")
    raise EngineError(msg)


#: which corporate actions the engine applies to prices of each ``Bars.adjustment`` (the others are in the prices)
_APPLIED = {"raw": ("split_factor", "dividend"), "splits": ("dividend",), "total": ()}
_NONE = {"split_factor": 1.0, "dividend": 0.0}


def actions(data: Any, ts: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The kernels' ``actions``: (split, dividend) arrays (n, k) on the bars ``ts``, or None when no bar has one.

    Only Bars (one, or several: MultiBars, a dict or a list) carry corporate actions, in their ``split_factor``
    and ``dividend`` columns; which of them apply follows each series' ``adjustment``: both for ``"raw"``
    prices, the dividends for ``"splits"``, none for ``"total"`` (see :mod:`backgrid.data.bars`). A DataFrame
    has none. NaN means none (a split ratio of 1, a dividend of 0); a split ratio must be > 0 and a dividend
    >= 0, else an :class:`EngineError` names the symbol, the column and the bar.
    """
    data = _several(data)
    series = list(data.values()) if isinstance(data, MultiBars) else [data] if isinstance(data, Bars) else []
    wanted = [(j, b, name) for j, b in enumerate(series) for name in _APPLIED[b.adjustment]
              if getattr(b, name) is not None]
    if not wanted:
        return None
    out = {name: np.full((ts.size, len(series)), value) for name, value in _NONE.items()}
    found = False
    for j, b, name in wanted:
        values = getattr(b, name)
        values = np.where(np.isnan(values), _NONE[name], values)
        bad = ~np.isfinite(values) | ((values <= 0.0) if name == "split_factor" else (values < 0.0))
        if bad.any():
            row = int(np.argmax(bad))
            expected = "a ratio > 0 (1 for none)" if name == "split_factor" else "cash per share >= 0 (0 for none)"
            msg = (f"{b.symbol}: {name} must be {expected}, got {values[row]:g} at bar {row} "
                   f"({b.index[row]})")
            raise EngineError(msg)
        if (values != _NONE[name]).any():
            found = True
            rows = slice(None) if ts.size == b.ts.size else np.searchsorted(ts, b.ts)
            out[name][rows, j] = values
    return (out["split_factor"], out["dividend"]) if found else None


def _on_bars(name: str, value: Any, index: pd.DatetimeIndex, symbols: list[str] | None, *, fill: Any,
             on_index: bool = False) -> Any:
    """Align a pandas input on the data's bars (absent bars get ``fill``) and, for a portfolio, order its
    DataFrame columns by symbol; anything else passes through unchanged. ``on_index``: the caller found the
    input's index equal to the data's already."""
    if not on_index and isinstance(value, pd.Series | pd.DataFrame) and isinstance(value.index, pd.DatetimeIndex):
        own = value.index.tz_localize("UTC") if value.index.tz is None else value.index.tz_convert("UTC")
        if not own.equals(index):  # on the data's own bars already: no copy
            value = value.set_axis(own.as_unit("ns")).reindex(index.as_unit("ns"), fill_value=fill)
    if symbols is not None and isinstance(value, pd.DataFrame):
        missing = [sym for sym in symbols if sym not in value.columns]
        if missing:
            msg = f"{name} has no column for symbol(s) {', '.join(missing)}; columns are {list(value.columns)}"
            raise EngineError(msg)
        value = value[symbols]
    return value


def signal(name: str, value: Any, index: pd.DatetimeIndex, symbols: list[str] | None, warnings: list[str],
           ) -> tuple[np.ndarray, pd.Index | None]:
    """A (n, 1) or (n, m) bool array and its column labels, if any.

    A Series or DataFrame with a DatetimeIndex is aligned on the data's bars (absent bars: False); for a
    portfolio, DataFrame columns are matched to the symbols by name. A signal whose True values all fall
    between the bars adds a line to ``warnings``.
    """
    n = index.size
    if value is None:
        return np.zeros((n, 1), dtype=np.bool_), None
    # a signal on the data's own bars loses nothing in the alignment: only another index needs the count
    moved = isinstance(value, pd.Series | pd.DataFrame) and not value.index.equals(index)
    fired, first = _fired(value) if moved else (0, None)
    value = _on_bars(name, value, index, symbols, fill=False, on_index=not moved)
    if fired and not _fired(value)[0]:
        warnings.append(f"{name}: none of its {fired:,} True values falls on a bar of the data (the first is at "
                        f"{first}, the first bar at {index[0] if n else 'none'}); check the time zone and the "
                        f"bar times")
    labels = value.columns if isinstance(value, pd.DataFrame) and symbols is None else None
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
    # a portfolio's kernel reads every symbol's signal at a bar, one after the other: row-major order keeps them
    # side by side (column-major put each in another cache line); a column's kernel walks its own column
    return (np.ascontiguousarray(array) if symbols is not None else _column_major(array)), labels


def _fired(value: Any) -> tuple[int, Any]:
    """How many True values a pandas signal holds, and the time of the first (0 for anything else)."""
    if not isinstance(value, pd.Series | pd.DataFrame) or not isinstance(value.index, pd.DatetimeIndex):
        return 0, None
    array = np.asarray(value)
    if array.dtype != np.bool_ or not array.any():
        return 0, None
    rows = array.any(axis=1) if array.ndim == 2 else array
    return int(array.sum()), value.index[int(np.argmax(rows))]


def _column_major(array: np.ndarray) -> np.ndarray:
    """``array`` in Fortran order: each column's kernel then walks its own values contiguously.

    A C-order (n, m) array costs a cache miss per bar and column (8x slower on a 1,590-column sweep).
    Wide arrays are copied in parallel tiles: 0.11 s against 0.30 s for ``np.asfortranarray`` on 100k x 1,590.
    """
    if array.flags.f_contiguous or array.shape[1] == 1:
        return np.asfortranarray(array)
    out = np.empty(array.shape, dtype=array.dtype, order="F")
    layout_nb.to_column_major_nb(array, out)
    return out


def per_bar(name: str, value: Any, index: pd.DatetimeIndex, symbols: list[str] | None) -> np.ndarray:
    """A (w, n) float64 array of per-bar values, time along the rows (w = 1 or one row per column); NaN = none.

    ``value`` is a number, a (n,) or (n, columns) array, or a Series / DataFrame aligned on the data's bars
    (absent bars: NaN; for a portfolio, DataFrame columns are matched to the symbols by name). Not given:
    a (1, 0) array, which the kernels read as NaN everywhere.
    """
    n = index.size
    if value is None:
        return np.empty((1, 0))
    value = _on_bars(name, value, index, symbols, fill=np.nan)
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{name} must be a number or numbers per bar, got {type(value).__name__}"
        raise EngineError(msg) from exc
    if array.ndim == 0:
        array = np.full((n, 1), float(array))
    elif array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2 or array.shape[0] != n:
        msg = f"{name} has shape {array.shape}; expected a number, ({n},) or ({n}, columns) like the data's {n} bars"
        raise EngineError(msg)
    option = OPTIONS[name]
    low = option.low
    bad = ~np.isnan(array) & ~((array >= low) if option.low_closed else (array > low)) | np.isinf(array)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        bound = f">= {low:g}" if option.low_closed else f"> {low:g}"
        msg = (f"{name} must be finite and {bound} ({option.unit.replace('_', ' ')}), or NaN for none; got "
               f"{array[row, col]:g} at bar {row}")
        raise OptionError(msg, option=name)
    # time along the rows: each column's kernel reads its own values contiguously, and every such array has
    # one Numba type however many columns it has (one compiled kernel for all combinations)
    return np.ascontiguousarray(array.T)


