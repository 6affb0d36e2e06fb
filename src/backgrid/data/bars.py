"""The canonical market-data containers: :class:`Bars` and :class:`MultiBars`.

``Bars`` holds one symbol at one timeframe as NumPy columns: ``ts`` (int64
nanoseconds since the epoch, UTC, the bar's *open* time, strictly increasing)
and float64 ``open``, ``high``, ``low``, ``close``, ``volume``; optionally
``split_factor`` (the ratio applied on that bar, 1.0 when none) and
``dividend`` (cash per share going ex on that bar, 0.0 when none). A bar opened
at ``ts`` closes at ``ts + timeframe``.

``adjustment`` says what the prices already account for: ``"raw"`` (as traded:
the engine applies the split and dividend columns to a position), ``"splits"``
(split-adjusted, as Yahoo serves them: the engine pays dividends only) or
``"total"`` (back-adjusted for splits and dividends: the engine applies
neither). The dividend column is in the same terms as the prices.

``Bars`` checks shapes and dtypes only; data quality is the job of
:func:`backgrid.data.validate.validate`, which every loader runs.
"""

from __future__ import annotations

import builtins
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.calendar import Calendar, get_calendar, infer_calendar
from backgrid.data.timeframe import Timeframe
from backgrid.errors import ColumnError, DataError

__all__ = ["ADJUSTMENTS", "OHLCV", "OPTIONAL_COLUMNS", "Bars", "MultiBars", "checksum"]

#: Required price and volume columns, in canonical order.
OHLCV: tuple[str, ...] = ("open", "high", "low", "close", "volume")
#: Corporate-action columns a series may carry.
OPTIONAL_COLUMNS: tuple[str, ...] = ("split_factor", "dividend")
#: What a series' prices already account for (see the module docstring).
ADJUSTMENTS: tuple[str, ...] = ("raw", "splits", "total")


def checksum(columns: Mapping[str, np.ndarray]) -> str:
    """SHA-256 over each column in order: its name (UTF-8), a NUL byte, its little-endian bytes."""
    digest = hashlib.sha256()
    for name, values in columns.items():
        digest.update(name.encode() + b"\0")
        digest.update(np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).data)
    return digest.hexdigest()


def _float_column(name: str, values: Any, n: int) -> np.ndarray:
    arr = np.ascontiguousarray(values, dtype=np.float64)
    if arr.shape != (n,):
        msg = f"column {name!r} has shape {arr.shape}, expected ({n},) like the timestamps"
        raise ColumnError(msg)
    return arr


@dataclass(frozen=True, eq=False, slots=True)
class Bars:
    """OHLCV bars of one symbol at one timeframe (see the module docstring).

    Build one with :meth:`from_pandas` or a loader (:func:`backgrid.load_csv`,
    :func:`backgrid.load_frame`); use :meth:`to_pandas` to get a DataFrame.
    """

    symbol: str
    timeframe: Timeframe
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    split_factor: np.ndarray | None = None
    dividend: np.ndarray | None = None
    calendar: Calendar = field(default=None)  # type: ignore[assignment]  # inferred in __post_init__
    source: str = "memory"
    synthetic: bool = False
    last_complete: bool = True
    adjustment: str = "raw"
    _index: pd.DatetimeIndex | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.symbol, str) or not self.symbol.strip():
            msg = f"symbol must be a non-empty string, got {self.symbol!r}"
            raise DataError(msg)
        ts = np.ascontiguousarray(self.ts)
        if ts.ndim != 1 or ts.dtype != np.int64:
            msg = f"ts must be a 1-D int64 array of UTC nanoseconds, got {ts.dtype} with shape {ts.shape}"
            raise ColumnError(msg)
        if self.adjustment not in ADJUSTMENTS:
            msg = f"adjustment must be one of {', '.join(ADJUSTMENTS)}, got {self.adjustment!r}"
            raise DataError(msg)
        n = ts.size
        set_ = object.__setattr__
        set_(self, "ts", ts)
        set_(self, "timeframe", Timeframe.parse(self.timeframe))
        for name in OHLCV:
            set_(self, name, _float_column(name, getattr(self, name), n))
        for name in OPTIONAL_COLUMNS:
            if getattr(self, name) is not None:
                set_(self, name, _float_column(name, getattr(self, name), n))
        set_(self, "calendar", infer_calendar(ts) if self.calendar is None else get_calendar(self.calendar))

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def from_pandas(cls, frame: pd.DataFrame, *, symbol: str, timeframe: str | Timeframe,
                    **options: Any) -> Bars:
        """Wrap a canonical frame: UTC ``DatetimeIndex`` of open times, lower-case OHLCV columns.

        This does not validate the data; use :func:`backgrid.load_frame` for frames of
        unknown quality or with other column names.
        """
        if not isinstance(frame.index, pd.DatetimeIndex):
            msg = f"frame index must be a DatetimeIndex of bar open times, got {type(frame.index).__name__}"
            raise ColumnError(msg)
        missing = [c for c in OHLCV if c not in frame.columns]
        if missing:
            msg = f"frame lacks column(s) {', '.join(missing)}; found {', '.join(map(str, frame.columns))}"
            raise ColumnError(msg)
        index = frame.index.tz_localize("UTC") if frame.index.tz is None else frame.index.tz_convert("UTC")
        columns: dict[str, Any] = {name: frame[name].to_numpy(dtype=np.float64) for name in OHLCV}
        columns.update({name: frame[name].to_numpy(dtype=np.float64) for name in OPTIONAL_COLUMNS if name in frame})
        ts = np.asarray(index.as_unit("ns").asi8, dtype=np.int64)
        return cls(symbol=symbol, timeframe=Timeframe.parse(timeframe), ts=ts, **columns, **options)

    # -- views ----------------------------------------------------------------------------------
    def __len__(self) -> int:
        return int(self.ts.size)

    def __repr__(self) -> str:
        label = " synthetic" if self.synthetic else ""
        if not len(self):
            return f"<Bars {self.symbol} {self.timeframe} empty{label}>"
        first, last = self.index[0], self.index[-1]
        return f"<Bars {self.symbol} {self.timeframe} {len(self)} bars {first} .. {last}{label}>"

    @property
    def index(self) -> pd.DatetimeIndex:
        """Bar open times as a UTC ``DatetimeIndex`` (built once: a million bars take ~3 ms)."""
        index = self._index
        if index is None:
            index = pd.DatetimeIndex(self.ts.view("datetime64[ns]"), tz="UTC", name="ts")
            object.__setattr__(self, "_index", index)
        return index

    @property
    def columns(self) -> tuple[str, ...]:
        """Names of the data columns this series carries."""
        return OHLCV + tuple(c for c in OPTIONAL_COLUMNS if getattr(self, c) is not None)

    def column(self, name: str) -> np.ndarray:
        """Return one data column by name."""
        if name not in self.columns:
            msg = f"column {name!r} is not in this series; it has {', '.join(self.columns)}"
            raise ColumnError(msg)
        return getattr(self, name)  # type: ignore[no-any-return]

    def fingerprint(self) -> str:
        """The data's identity: :func:`checksum` of ``ts`` and every data column (what the store records).

        Two series with the same fingerprint hold bit-identical bars; symbol, source and timeframe are not part of it.
        """
        return checksum({"ts": self.ts, **{name: self.column(name) for name in self.columns}})

    def to_pandas(self) -> pd.DataFrame:
        """Return a DataFrame indexed by bar open time (UTC)."""
        return pd.DataFrame({c: self.column(c) for c in self.columns}, index=self.index)

    def close_times(self) -> np.ndarray:
        """Close time of every bar, int64 ns UTC (``ts + timeframe``)."""
        return self.ts + self.timeframe.nanos

    def slice(self, start: Any = None, end: Any = None) -> Bars:
        """Bars whose open time is in ``[start, end)``; bounds are anything pandas parses, UTC if naive."""
        lo = 0 if start is None else int(np.searchsorted(self.ts, _to_ns(start), side="left"))
        hi = len(self) if end is None else int(np.searchsorted(self.ts, _to_ns(end), side="left"))
        return self.take(slice(lo, hi), last_complete=self.last_complete or hi < len(self))

    def take(self, rows: builtins.slice | np.ndarray, **changes: Any) -> Bars:
        """Bars at the given positions (a slice, boolean mask or integer array)."""
        columns: dict[str, Any] = {c: self.column(c)[rows] for c in self.columns}
        return replace(self, ts=self.ts[rows], **columns, **changes)

    def equals(self, other: Bars) -> bool:
        """True when both hold the same symbol, timeframe and bit-identical columns."""
        return (
            self.symbol == other.symbol
            and self.timeframe == other.timeframe
            and self.columns == other.columns
            and np.array_equal(self.ts, other.ts)
            and all(np.array_equal(self.column(c), other.column(c), equal_nan=True) for c in self.columns)
        )


def _to_ns(value: Any) -> int:
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return int(stamp.as_unit("ns").value)


class MultiBars(Mapping[str, Bars]):
    """Several symbols at one timeframe, keyed by symbol, in insertion order.

    :meth:`align` puts them on the union of their timestamps: a symbol with no bar
    at a time gets NaN there (it neither trades nor changes value then).
    """

    __slots__ = ("_bars", "_panels", "timeframe")

    def __init__(self, bars: Mapping[str, Bars] | list[Bars]) -> None:
        items = list(bars.values()) if isinstance(bars, Mapping) else list(bars)
        if not items:
            msg = "MultiBars needs at least one Bars"
            raise DataError(msg)
        timeframes = {b.timeframe for b in items}
        if len(timeframes) > 1:
            found = ", ".join(f"{b.symbol}={b.timeframe}" for b in items)
            msg = f"all symbols must share one timeframe; found {found} (resample first)"
            raise DataError(msg)
        self._bars: dict[str, Bars] = {}
        for b in items:
            if b.symbol in self._bars:
                msg = f"symbol {b.symbol!r} appears twice"
                raise DataError(msg)
            self._bars[b.symbol] = b
        self.timeframe: Timeframe = items[0].timeframe
        self._panels: dict[tuple[str, ...], tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    def __getitem__(self, symbol: str) -> Bars:
        try:
            return self._bars[symbol]
        except KeyError:
            msg = f"symbol {symbol!r} is not in this collection; it has {', '.join(self._bars)}"
            raise KeyError(msg) from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._bars)

    def __len__(self) -> int:
        return len(self._bars)

    def __repr__(self) -> str:
        return f"<MultiBars {self.timeframe} {', '.join(self._bars)}>"

    @property
    def symbols(self) -> list[str]:
        """The symbols, in insertion order."""
        return list(self._bars)

    def align(self, column: str = "close") -> tuple[np.ndarray, np.ndarray]:
        """Return ``(ts, values)``: the union of timestamps and a ``(len(ts), n_symbols)`` array.

        Cells where a symbol has no bar are NaN.
        """
        ts, panel = self.panel((column,))
        return ts, panel[column]

    def panel(self, columns: tuple[str, ...] = ("open", "high", "low", "close")) -> tuple[np.ndarray,
                                                                                       dict[str, np.ndarray]]:
        """The union of timestamps and one ``(len(ts), n_symbols)`` array per column (NaN where absent).

        The union is worked out once for all columns; symbols that share one calendar skip it entirely.
        The result is kept (the collection and its Bars are immutable), so repeated backtests reuse it.
        """
        if columns not in self._panels:
            self._panels[columns] = self._build_panel(columns)
        return self._panels[columns]

    def _build_panel(self, columns: tuple[str, ...]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        series = list(self._bars.values())
        first = series[0].ts
        if all(b.ts.size == first.size and np.array_equal(b.ts, first) for b in series[1:]):
            return first, {c: np.column_stack([b.column(c) for b in series]) for c in columns}
        ts = np.unique(np.concatenate([b.ts for b in series]))
        rows = [np.searchsorted(ts, b.ts) for b in series]
        out = {}
        for c in columns:
            values = np.full((ts.size, len(series)), np.nan)
            for j, (b, where) in enumerate(zip(series, rows, strict=True)):
                values[where, j] = b.column(c)
            out[c] = values
        return ts, out

    def to_pandas(self, column: str = "close") -> pd.DataFrame:
        """One column per symbol on the union of timestamps (NaN where a symbol has no bar)."""
        ts, values = self.align(column)
        index = pd.DatetimeIndex(ts.view("datetime64[ns]"), tz="UTC", name="ts")
        return pd.DataFrame(values, index=index, columns=self.symbols)
