"""Load bars from pandas or polars frames and from Parquet files of any column layout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from backgrid.data.ingest import ColumnMap, column_note, ingest, parse_times, resolve_columns, time_notes
from backgrid.data.timeframe import Timeframe
from backgrid.errors import DataError

if TYPE_CHECKING:
    from backgrid.data.bars import Bars
    from backgrid.data.calendar import Calendar
    from backgrid.data.validate import ValidationPolicy, ValidationReport

__all__ = ["load_frame", "load_parquet"]


def load_frame(
    frame: Any,
    *,
    symbol: str,
    timeframe: str | Timeframe,
    columns: ColumnMap | None = None,
    date_format: str | None = None,
    tz: str = "UTC",
    calendar: str | Calendar | None = None,
    policy: ValidationPolicy | dict[str, Any] | str | None = None,
    source: str = "frame",
    adjustment: str = "raw",
) -> tuple[Bars, ValidationReport]:
    """Validate a pandas or polars frame and return ``(bars, report)``.

    The time may be the index (a ``DatetimeIndex``) or a column; column names are
    recognised like CSV headers (``Open``, ``close``, ``<VOL>``...) or mapped with
    ``columns=``. Rows are reported as ``row N`` (1-based position). ``adjustment`` says what
    the prices already account for: ``"raw"`` (as traded), ``"splits"`` or ``"total"`` (see
    :mod:`backgrid.data.bars`).

    >>> import pandas as pd
    >>> df = pd.DataFrame({"open": [1.0], "high": [2.0], "low": [0.5], "close": [1.5], "volume": [10.0]},
    ...                   index=pd.DatetimeIndex(["2024-01-02"], name="date"))
    >>> load_frame(df, symbol="X", timeframe="1d")[0].close.tolist()
    [1.5]
    """
    df = _to_pandas(frame)
    if isinstance(df.index, pd.DatetimeIndex):
        name = df.index.name if df.index.name is not None and df.index.name not in df.columns else "ts"
        df = df.reset_index(names=name)
    where = f"{symbol} ({source})"
    resolved, unknown = resolve_columns([str(c) for c in df.columns], columns, where=where)
    df.columns = [str(c) for c in df.columns]
    time_values = df[resolved["ts"]]
    times = parse_times(time_values, date_format=date_format, tz=tz)
    tf = Timeframe.parse(timeframe)
    notes = column_note(unknown)
    if time_values.dtype.kind in "OSU" or isinstance(time_values.dtype, pd.StringDtype):  # times written as text
        notes += time_notes(time_values, times, lambda i: f"row {i + 1}", timeframe=tf, tz=tz)
    values = {name: df[col] if col is not None else None for name, col in resolved.items() if name != "ts"}
    return ingest(values, symbol=symbol, timeframe=tf, times=times, calendar=calendar, policy=policy,
                  date_text=time_values.to_numpy(), notes=notes, source=source, where=where, column_names=resolved,
                  adjustment=adjustment)


def _to_pandas(frame: Any) -> pd.DataFrame:
    if isinstance(frame, pd.DataFrame):
        return frame
    module = type(frame).__module__.split(".")[0]
    if module == "polars":
        return frame.to_pandas()  # type: ignore[no-any-return]
    msg = f"expected a pandas or polars DataFrame, got {type(frame).__name__}"
    raise DataError(msg)


def load_parquet(path: str | Path, *, symbol: str | None = None, timeframe: str | Timeframe,
                 **options: Any) -> tuple[Bars, ValidationReport]:
    """Load and validate a Parquet file of any column layout (see :func:`load_frame` for ``options``)."""
    import pyarrow.parquet as pq  # noqa: PLC0415  # heavy; only needed here

    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise DataError(msg)
    try:
        table = pq.read_table(path)
    except (OSError, ValueError) as exc:
        msg = f"{path}: not a readable Parquet file ({exc})"
        raise DataError(msg) from None
    frame = table.to_pandas()
    if not isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.reset_index(drop=isinstance(frame.index, pd.RangeIndex))
    options.setdefault("source", "parquet")
    return load_frame(frame, symbol=symbol or path.stem, timeframe=timeframe, **options)
