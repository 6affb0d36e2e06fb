"""Turn parsed columns of any origin into validated :class:`Bars`.

Every loader (CSV, Parquet, pandas or polars frames) ends here, so that all
data meets the same checks: column names are resolved against known aliases,
times parsed to UTC nanoseconds, numbers to float64, then
:func:`backgrid.data.validate.check_columns` runs under the chosen policy.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from backgrid.data.bars import OHLCV, OPTIONAL_COLUMNS, Bars
from backgrid.data.calendar import Calendar, get_calendar, infer_calendar
from backgrid.data.kernels.validate_nb import NAT
from backgrid.data.timeframe import Timeframe
from backgrid.data.validate import (
    Finding,
    RawColumns,
    ValidationPolicy,
    ValidationReport,
    calendar_lines,
    check_columns,
    shorten,
)
from backgrid.errors import ColumnError

__all__ = ["ColumnMap", "ingest", "parse_numbers", "parse_times", "resolve_columns", "time_notes"]

#: Canonical column -> names it is recognised by (compared case-insensitively, ignoring spaces, _ and -).
ALIASES: dict[str, tuple[str, ...]] = {
    "ts": ("ts", "timestamp", "time", "datetime", "date", "opentime", "open time", "date time", "gmt time",
           "local time", "<date>", "datum", "zeit"),
    "open": ("open", "o", "<open>", "openprice"),
    "high": ("high", "h", "<high>", "highprice"),
    "low": ("low", "l", "<low>", "lowprice"),
    "close": ("close", "c", "<close>", "last", "price", "closeprice"),
    "volume": ("volume", "vol", "v", "<vol>", "<tickvol>", "tickvolume", "basevolume"),
    "split_factor": ("split_factor", "split", "splits", "stock splits", "split ratio"),
    "dividend": ("dividend", "dividends"),
}

ColumnMap = Mapping[str, str | None]


def _key(name: str) -> str:
    return re.sub(r"[\s_\-]", "", str(name).lower())


_LOOKUP = {_key(alias): canonical for canonical, names in ALIASES.items() for alias in names}


def resolve_columns(found: Sequence[str], mapping: ColumnMap | None = None, *, where: str = "data",
                    ignore: Sequence[str] = ()) -> tuple[dict[str, str | None], list[str]]:
    """Map canonical columns to the names in ``found``; return ``(canonical -> name, unknown)``.

    ``mapping`` overrides recognition (``{"close": "Last"}``); mapping ``"volume"``
    to ``None`` says the data has no volume (it is then 0). Names in ``ignore`` are
    known extras that are dropped without a note.
    """
    mapping = dict(mapping or {})
    unknown_keys = sorted(set(mapping) - set(ALIASES))
    if unknown_keys:
        msg = (f"{where}: columns= has unknown key(s) {', '.join(unknown_keys)}; "
               f"expected some of {', '.join(ALIASES)}")
        raise ColumnError(msg)
    for canonical, name in mapping.items():
        if name is not None and name not in found:
            msg = (f"{where}: columns= maps {canonical!r} to {name!r}, which is not a column; "
                   f"found {', '.join(map(str, found))}")
            raise ColumnError(msg)
    taken: dict[str, str | None] = dict(mapping)
    used = {n for n in mapping.values() if n is not None}
    for name in found:
        known = _LOOKUP.get(_key(name))
        if known and known not in taken and name not in used:
            taken[known] = name
            used.add(name)
    required = ("ts", *OHLCV)
    missing = [c for c in required if c not in taken]
    if missing:
        hint = " (map it with columns={'volume': None} if the data has no volume)" if missing == ["volume"] else ""
        msg = (f"{where}: missing column(s) {', '.join(missing)}{hint}; found {', '.join(map(str, found))}; "
               f"pass columns={{...}} to say which column is which")
        raise ColumnError(msg)
    skip = {_key(n) for n in ignore}
    unknown = [str(n) for n in found if n not in used and _key(n) not in skip]
    return taken, unknown


def parse_numbers(values: Any) -> np.ndarray:
    """Return float64 values; cells that are empty or not numbers become NaN."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        return np.ascontiguousarray(values, dtype=np.float64)
    series = pd.Series(values, copy=False)
    if series.dtype.kind in "fiu":
        return series.to_numpy(dtype=np.float64)
    cleaned = series.astype("string").str.strip()
    return pd.to_numeric(cleaned, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


_EPOCH_UNITS: tuple[tuple[float, Literal["s", "ms", "us"]], ...] = ((1e11, "s"), (1e14, "ms"), (1e17, "us"))


def parse_times(values: Any, *, date_format: str | None = None, tz: str = "UTC") -> np.ndarray:
    """Return UTC int64 nanoseconds; unparsable cells become ``NAT``.

    Numbers are epoch times whose unit (s, ms, us, ns) follows from their size.
    Text is ISO 8601 unless ``date_format`` (``strftime`` codes) says otherwise;
    times without an offset are read as wall-clock time in ``tz``. Local times
    that do not exist or are ambiguous at a DST change become ``NAT`` (reported).
    """
    series = pd.Series(values, copy=False)
    if isinstance(series.dtype, pd.DatetimeTZDtype) or series.dtype.kind == "M":
        stamps = pd.DatetimeIndex(series)
    else:
        if series.dtype.kind not in "fiu":
            text = series.astype("string").str.strip()
            numeric = pd.to_numeric(text, errors="coerce")
            # epoch numbers when most cells are numbers; the rest then fail to parse and are reported
            is_epoch = date_format is None and numeric.notna().sum() > 0.5 * len(text)
            series = numeric if is_epoch else text
        if series.dtype.kind in "fiu":
            numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
            size = np.nanmax(np.abs(numbers)) if np.isfinite(numbers).any() else 0.0
            unit: Literal["s", "ms", "us", "ns"] = next((u for limit, u in _EPOCH_UNITS if size < limit), "ns")
            stamps = pd.DatetimeIndex(pd.to_datetime(series, unit=unit, errors="coerce", utc=True))
        else:
            fmt = date_format or "ISO8601"
            stamps = _parse_text(series, fmt, tz)
    if stamps.tz is None:
        stamps = stamps.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")
    stamps = stamps.tz_convert("UTC").as_unit("ns")
    out = np.asarray(stamps.asi8, dtype=np.int64).copy()
    out[np.asarray(stamps.isna())] = NAT
    return out


def _parse_text(series: pd.Series, fmt: str, tz: str) -> pd.DatetimeIndex:
    try:
        return pd.DatetimeIndex(pd.to_datetime(series, format=fmt, errors="coerce"))
    except ValueError:  # offsets that differ row to row (e.g. across DST): parse to UTC directly
        parsed = pd.DatetimeIndex(pd.to_datetime(series, format=fmt, errors="coerce", utc=True))
        naive = ~series.str.contains(r"(?:[+-]\d\d:?\d\d|Z)$", regex=True, na=False)
        if naive.any() and tz != "UTC":
            local = pd.DatetimeIndex(pd.to_datetime(series[naive], format=fmt, errors="coerce"))
            fixed = local.tz_localize(tz, ambiguous="NaT", nonexistent="NaT").tz_convert("UTC")
            values = parsed.to_numpy().copy()
            values[naive.to_numpy()] = fixed.to_numpy()
            parsed = pd.DatetimeIndex(values)
        return parsed


_OFFSET = r"\d:\d\d(?::\d\d(?:\.\d+)?)?\s*([+-]\d\d:?\d\d|Z)$"  # after a clock time, so 02-01-2024 has none
_DAY_MONTH = r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{2}|\d{4})(?:[ T](\d{1,2}:\d{2}(?::\d{2})?))?$"


def time_notes(text: pd.Series, times: np.ndarray, label: Callable[[int], str], *, timeframe: Timeframe,
               tz: str = "UTC") -> list[Finding]:
    """Findings that explain times read from text: offsets that differ row to row, or a day/month order.

    Daily (or longer) bars stamped on a local clock across a DST change (``+01:00``
    then ``+02:00``) land in UTC an hour off a whole day apart, which the spacing and
    gap checks then report; this says why. (Intraday bars with changing offsets are
    simply right in UTC.) Times with an offset mixed with times without one are
    always named. Unparsed times shaped like ``13/01/2024`` get the ``date_format``
    that reads them.
    """
    cells = text.astype("string").str.strip().reset_index(drop=True)
    notes: list[Finding] = []
    found = cells.str.extract(_OFFSET, expand=False)
    offsets = found.dropna().str.replace(":", "", regex=False).replace("Z", "+0000")
    distinct = list(dict.fromkeys(offsets.tolist()))
    shown = ", ".join(f"{o[:3]}:{o[3:]}" for o in distinct[:5])
    if len(distinct) > 1 and not timeframe.is_intraday:
        row = int(offsets.index[int(np.flatnonzero((offsets != offsets.iloc[0]).to_numpy())[0])])
        msg = (f"times carry {len(distinct)} different UTC offsets ({shown}); the offset first changes at "
               f"{label(row)}: a local clock across a DST change, so {timeframe} bars are not a whole number of "
               "days apart in UTC; write the times without offsets (dates) or all in one offset")
        notes.append(Finding("mixed_offsets", "warning", msg, len(distinct), (row,)))
    if distinct and found.isna().any():
        row = int(np.flatnonzero(found.isna().to_numpy())[0])
        msg = (f"some times carry a UTC offset ({shown}) and some none, first at {label(row)}; "
               f"those without one are read as {tz} time")
        notes.append(Finding("mixed_offsets", "warning", msg, int(found.isna().sum()), (row,)))
    bad = np.flatnonzero(times == NAT)
    if bad.size:
        fmt = _day_month_format(cells.iloc[bad].dropna())
        if fmt:
            msg = (f"{bad.size} time(s) such as {shorten(cells.iloc[int(bad[0])])} would parse as "
                   f"{'day/month' if fmt.startswith('%d') else 'month/day'}/year: pass date_format={fmt!r} "
                   f"(--date-format '{fmt}')")
            notes.append(Finding("date_format", "warning", msg, int(bad.size), tuple(int(i) for i in bad[:100])))
    return notes


def _day_month_format(cells: pd.Series) -> str | None:
    """The strftime pattern of ``dd/mm/yyyy`` text (or ``mm/dd``, when a middle field is over 12)."""
    parts = cells.str.extract(_DAY_MONTH)
    if cells.empty or parts[0].isna().any():
        return None
    first, middle = parts[0].astype(int), parts[2].astype(int)
    day_first = bool((first > 12).any()) or not bool((middle > 12).any())
    sep = str(parts[1].iloc[0])
    year = "%Y" if len(str(parts[3].iloc[0])) == 4 else "%y"
    clock = parts[4].dropna()
    time_part = "" if clock.empty else (" %H:%M:%S" if clock.str.count(":").max() == 2 else " %H:%M")
    order = f"%d{sep}%m" if day_first else f"%m{sep}%d"
    return f"{order}{sep}{year}{time_part}"


def ingest(
    columns: Mapping[str, Any],
    *,
    symbol: str,
    timeframe: str | Timeframe,
    times: np.ndarray,
    calendar: str | Calendar | None = None,
    policy: ValidationPolicy | dict[str, Any] | str | None = None,
    row_label: Callable[[int], str] | None = None,
    date_text: np.ndarray | Sequence[Any] | None = None,
    notes: Sequence[Finding] = (),
    source: str = "memory",
    where: str = "",
    column_names: Mapping[str, str | None] | None = None,
    hint: str | None = None,
    inferred: Sequence[str] = (),
    adjustment: str = "raw",
) -> tuple[Bars, ValidationReport]:
    """Validate parsed columns and wrap them as :class:`Bars`.

    ``columns`` maps canonical names to raw values (anything :func:`parse_numbers`
    takes); ``times`` is already parsed (:func:`parse_times`); ``column_names``
    gives the data's own column names, used in messages. Without ``calendar`` it is
    inferred (``hint`` names the data's origin, e.g. ``"yahoo"``) and the report says
    so; ``inferred`` lines (what the loader itself guessed) join the report. ``adjustment`` says
    what the prices already account for (see :mod:`backgrid.data.bars`).
    """
    tf = Timeframe.parse(timeframe)
    n = times.size
    values = {name: parse_numbers(columns[name]) if columns.get(name) is not None else np.zeros(n)
              for name in OHLCV}
    extras = {name: parse_numbers(columns[name]) for name in OPTIONAL_COLUMNS if columns.get(name) is not None}
    raw = RawColumns(times, values["open"], values["high"], values["low"], values["close"], values["volume"], extras)
    valid_times = times[times != NAT]
    cal = infer_calendar(valid_times, hint=hint) if calendar is None else get_calendar(calendar)
    fixed, report = check_columns(raw, timeframe=tf, calendar=cal, policy=ValidationPolicy.coerce(policy),
                                  row_label=row_label, date_text=date_text, notes=notes, source=where,
                                  column_names=column_names,
                                  inferred=(*inferred, *(calendar_lines(cal, tf) if valid_times.size else ())))
    optional: dict[str, Any] = {name: fixed.extras.get(name) for name in OPTIONAL_COLUMNS}
    bars = Bars(symbol=symbol, timeframe=tf, ts=fixed.ts, open=fixed.open, high=fixed.high, low=fixed.low,
                close=fixed.close, volume=fixed.volume, calendar=cal, source=source, adjustment=adjustment, **optional)
    return bars, report


def column_note(unknown: Sequence[str], why: str = "not an OHLCV column") -> list[Finding]:
    """A warning listing columns a loader ignored (empty when there are none)."""
    if not unknown:
        return []
    msg = f"ignored column(s) {', '.join(unknown)} ({why})"
    return [Finding("unknown_column", "warning", msg, len(unknown), (), unknown[0])]
