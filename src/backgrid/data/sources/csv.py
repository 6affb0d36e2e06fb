"""CSV files: Yahoo, TradingView, Binance klines, MetaTrader and generic layouts.

``load_csv`` recognises the layout from the first line unless ``format=`` names
it. Every reported problem names the file, the line (1-based, as an editor shows
it) and the column.

=============  ==============================================================================
format         recognised by / notes
=============  ==============================================================================
yahoo          header ``Date,Open,High,Low,Close,Adj Close,Volume``; ``Adj Close`` is ignored
               (backgrid applies corporate actions itself from split/dividend columns)
tradingview    header ``time,open,high,low,close[,Volume,...]``; time is epoch seconds or ISO
               with offset; indicator columns TradingView adds are ignored
binance        no header, 12 numeric fields: open time (ms, or us since 2025), OHLC, volume,
               close time, quote volume, trades, taker base, taker quote, ignore
metatrader     MT4 history export ``2024.01.02,13:00,o,h,l,c,vol`` (no header) or MT5 export
               ``<DATE> <TIME> <OPEN> ... <TICKVOL> <VOL> <SPREAD>`` (tab separated); times are
               the broker's server time: pass ``tz=`` (for example ``Etc/GMT-2``)
generic        any header; columns recognised by common names or mapped with ``columns=``;
               ``date_format=`` (strftime codes) and ``tz=`` for naive times; the separator is
               the commonest of ``,`` ``;`` and tab in the header (``sep=`` sets it)
=============  ==============================================================================

Numbers with a decimal comma (``10,5``) are read as such when ``decimal=","`` is
given, or detected in a file not separated by commas whose price cells have commas
and no points. What was detected (separator, decimal comma, calendar) is listed in
the report's ``inferred`` lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.data.calendar import Calendar
from backgrid.data.ingest import ColumnMap, column_note, ingest, parse_times, resolve_columns, time_notes
from backgrid.data.sources.folder import FolderSource
from backgrid.data.timeframe import Timeframe
from backgrid.data.validate import Finding, ValidationPolicy, ValidationReport
from backgrid.errors import ColumnError, DataError

__all__ = ["CSV_FORMATS", "CSVSource", "detect_format", "load_csv"]

CsvFormatName = Literal["auto", "yahoo", "tradingview", "binance", "metatrader", "generic"]
CSV_FORMATS: tuple[str, ...] = ("yahoo", "tradingview", "binance", "metatrader", "generic")

_BINANCE = ("open time", "open", "high", "low", "close", "volume", "close time", "quote volume", "trades",
            "taker base volume", "taker quote volume", "ignore")
_MT4 = ("date", "time", "open", "high", "low", "close", "volume")
_MT_DATE = re.compile(r"^\d{4}\.\d{2}\.\d{2}")
_COMMA_NUMBER = r"^\s*-?\d+,\d+\s*$"
_SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}


@dataclass(frozen=True, slots=True)
class _Layout:
    """How to read one file: separator, header, names, and which columns to join into the time."""

    name: str
    sep: str = ","
    header: bool = True
    names: tuple[str, ...] = ()
    date_time: tuple[str, str] | None = None  # separate date and time columns
    date_format: str | None = None
    ignore: tuple[str, ...] = ()
    columns: tuple[tuple[str, str | None], ...] = ()


def detect_format(first_line: str) -> str:
    """Name the layout of a CSV file from its first line."""
    line = first_line.strip().lstrip("\ufeff")
    lowered = line.lower()
    if lowered.startswith("<date>"):
        return "metatrader"
    cells = [c.strip() for c in re.split(r"[,;\t]", line)]
    if _MT_DATE.match(line) and len(cells) in (6, 7):
        return "metatrader"
    if len(cells) == len(_BINANCE) and all(re.fullmatch(r"-?\d+(\.\d+)?", c or "x") for c in cells):
        return "binance"
    names = [c.lower() for c in cells]
    if "adj close" in names:
        return "yahoo"
    if names[:5] == ["time", "open", "high", "low", "close"]:
        return "tradingview"
    return "generic"


def _layout(fmt: str, first_line: str) -> _Layout:
    if fmt == "yahoo":
        return _Layout("yahoo", ignore=("Adj Close",))
    if fmt == "tradingview":
        return _Layout("tradingview")
    if fmt == "binance":
        return _Layout("binance", header=False, names=_BINANCE,
                       ignore=_BINANCE[6:], columns=(("ts", "open time"),))
    if fmt == "metatrader":
        if first_line.lstrip("\ufeff").lower().startswith("<date>"):
            header = [c.strip() for c in first_line.strip().lstrip("\ufeff").split("\t")]
            has_time = "<TIME>" in header
            ignore = tuple(c for c in header if c in ("<VOL>", "<SPREAD>", "<TIME>", "<TICKVOL>") and c != "<TICKVOL>")
            return _Layout("metatrader", sep="\t", date_time=("<DATE>", "<TIME>") if has_time else None,
                           date_format="%Y.%m.%d %H:%M:%S" if has_time else "%Y.%m.%d", ignore=ignore,
                           columns=(("volume", "<TICKVOL>"),))
        n = len(first_line.split(","))
        names = _MT4 if n == len(_MT4) else ("date", *_MT4[2:])
        return _Layout("metatrader", header=False, names=names,
                       date_time=("date", "time") if n == len(_MT4) else None,
                       date_format="%Y.%m.%d %H:%M" if n == len(_MT4) else "%Y.%m.%d", ignore=("time",))
    if fmt == "generic":
        sep = max((",", ";", "\t"), key=first_line.count)
        return _Layout("generic", sep=sep)
    msg = f"CSV format {fmt!r} is unknown; expected auto or one of {', '.join(CSV_FORMATS)}"
    raise DataError(msg)


def _read_text(path: Path) -> tuple[str, np.ndarray]:
    """Return the first non-blank line and the 1-based numbers of all non-blank lines."""
    data = path.read_bytes()
    if not data.strip():
        msg = f"{path}: the file is empty"
        raise DataError(msg)
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    non_blank = np.flatnonzero(np.fromiter((bool(s.strip()) for s in lines), dtype=bool, count=len(lines))) + 1
    return lines[non_blank[0] - 1], non_blank


def load_csv(
    path: str | Path,
    *,
    symbol: str | None = None,
    timeframe: str | Timeframe,
    format: CsvFormatName = "auto",  # noqa: A002  # the natural name for users
    columns: ColumnMap | None = None,
    date_format: str | None = None,
    tz: str = "UTC",
    calendar: str | Calendar | None = None,
    policy: ValidationPolicy | dict[str, Any] | str | None = None,
    sep: str | None = None,
    decimal: str | None = None,
    adjustment: str = "raw",
) -> tuple[Bars, ValidationReport]:
    """Load and validate a CSV file; return the bars and the validation report.

    ``symbol`` defaults to the file name without extension; ``sep`` and ``decimal``
    (``"."`` or ``","``) override what the layout implies or the file shows. ``adjustment``
    says what the prices already account for: ``"raw"`` (as traded, the default),
    ``"splits"`` (a Yahoo download's Open/High/Low/Close) or ``"total"``. Raises
    :class:`~backgrid.errors.ValidationError` (with the full report) when a check
    whose policy is ``error`` fails, and :class:`~backgrid.errors.ColumnError`
    when columns are missing.

    >>> bars, report = load_csv("AAPL.csv", timeframe="1d")  # doctest: +SKIP
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: no such file"
        raise DataError(msg)
    first, line_numbers = _read_text(path)
    fmt = detect_format(first) if format == "auto" else format
    layout = _layout(fmt, first)
    guessed: list[str] = []
    if sep is not None:
        layout = replace(layout, sep=sep)
    elif layout.name == "generic" and layout.sep != ",":
        guessed.append(f"{_SEPARATORS[layout.sep]}-separated columns (the commonest separator in the header); "
                       "pass --sep (sep=) to set it")
    if decimal not in (None, ".", ","):
        msg = f"decimal must be '.' or ',', got {decimal!r}"
        raise DataError(msg)
    where = f"{path.name} ({layout.name} CSV)"
    frame = _read_frame(path, layout, where)
    header_lines = 1 if layout.header else 0
    data_lines = line_numbers[header_lines:]
    if len(frame) == 0:
        msg = f"{where}: the file has a header but no data rows"
        raise DataError(msg)
    if len(frame) != data_lines.size:  # quoted newlines would break the line map; keep numbering honest
        data_lines = np.arange(len(frame)) + header_lines + 1

    mapping = dict(layout.columns)
    if layout.date_time:
        mapping.setdefault("ts", layout.date_time[0])
    mapping.update(columns or {})
    resolved, unknown = resolve_columns(list(frame.columns), mapping, where=where,
                                        ignore=(*layout.ignore, *(layout.date_time or ())))
    time_col = resolved["ts"]
    stamp_text = frame[time_col]
    if layout.date_time and layout.date_time[1] in frame.columns and time_col == layout.date_time[0]:
        stamp_text = frame[layout.date_time[0]].str.strip() + " " + frame[layout.date_time[1]].str.strip()
    times = parse_times(stamp_text, date_format=date_format or layout.date_format, tz=tz)

    def label(i: int) -> str:
        return f"line {int(data_lines[i])}"

    tf = Timeframe.parse(timeframe)
    notes: list[Finding] = [*column_note(unknown), *time_notes(stamp_text, times, label, timeframe=tf, tz=tz)]
    values = {name: frame[col] if col is not None else None for name, col in resolved.items() if name != "ts"}
    if decimal is None and layout.sep != "," and _has_decimal_commas(values):
        decimal = ","
        guessed.append("decimal commas (prices such as '10,5', with no decimal points); pass --decimal (decimal=) "
                       "to set it")
    if decimal == ",":
        values = {name: None if v is None else v.str.replace(",", ".", regex=False) for name, v in values.items()}
    return ingest(values, symbol=symbol or path.stem, timeframe=tf, times=times, calendar=calendar,
                  policy=policy, row_label=label, date_text=stamp_text.to_numpy(), notes=notes, source="csv",
                  where=where, column_names=resolved, hint=layout.name, inferred=guessed,
                  adjustment=adjustment)


def _has_decimal_commas(values: dict[str, pd.Series | None]) -> bool:
    """True when some price cells are ``digits,digits`` and none holds a decimal point."""
    prices = [values[name] for name in ("open", "high", "low", "close") if values.get(name) is not None]
    cells = pd.concat(prices, ignore_index=True) if prices else pd.Series([], dtype=str)
    return bool(cells.str.match(_COMMA_NUMBER).any()) and not bool(cells.str.contains(".", regex=False).any())


def _read_frame(path: Path, layout: _Layout, where: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, sep=layout.sep, header=0 if layout.header else None,
                            names=list(layout.names) if layout.names else None, dtype=str,
                            keep_default_na=False, skip_blank_lines=True, encoding="utf-8-sig")
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        if found:
            want, line, saw = found.groups()
            msg = f"{where}: line {line} has {saw} fields, expected {want} like the lines before it"
            raise DataError(msg) from None
        msg = f"{where}: not a readable CSV file ({exc})"
        raise DataError(msg) from None
    except UnicodeDecodeError as exc:
        msg = f"{where}: not UTF-8 text ({exc.reason} at byte {exc.start})"
        raise DataError(msg) from None
    if layout.header:
        frame.columns = [str(c).strip() for c in frame.columns]
        duplicated = sorted({c for c in frame.columns if list(frame.columns).count(c) > 1})
        if duplicated or any(re.fullmatch(r".*\.\d+", c) and c.rsplit(".", 1)[0] in frame.columns
                             for c in frame.columns):
            names = duplicated or [c for c in frame.columns if re.fullmatch(r".*\.\d+", c)]
            msg = f"{where}: column name(s) {', '.join(names)} appear more than once in the header"
            raise ColumnError(msg)
    return frame


class CSVSource(FolderSource):
    """A folder of CSV files named ``<SYMBOL>.csv`` or ``<SYMBOL>_<timeframe>.csv``, as a data source.

    ``options`` go to :func:`load_csv` (``format=``, ``tz=``, ``columns=``, ``policy=`` ...).
    """

    name = "csv"
    suffix = ".csv"

    def load(self, path: Path, symbol: str, timeframe: Timeframe) -> Bars:
        """Load one file with :func:`load_csv`."""
        return load_csv(path, symbol=symbol, timeframe=timeframe, **self.options)[0]
