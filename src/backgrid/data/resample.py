"""Resample bars to a higher timeframe, and align a higher timeframe onto a lower one.

Bins follow the calendar. On 24/7 markets bins are aligned to UTC (4h bins start
at 00:00, 04:00, ... UTC; days at UTC midnight; weeks on Monday). On session
markets, intraday bins start at the session open in the exchange's time zone
(US equities: 09:30, 10:30, ..., 15:30 New York time, the last one shorter) and
never span two sessions; a daily bar is one session, stamped at its local date
00:00 (like daily files from data vendors); a week is Monday to Sunday.

A resampled series whose last bin is not yet complete (the data ends before the
bin does) has ``last_complete=False``; :func:`align` never shows such a bin.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from backgrid.data.bars import Bars
from backgrid.data.calendar import DAY_NS, MINUTE_NS, Calendar, day_offsets
from backgrid.data.kernels import resample_nb as nb
from backgrid.data.timeframe import Timeframe
from backgrid.errors import DataError

__all__ = ["align", "aligned_rows", "resample"]


def resample(bars: Bars, timeframe: str | Timeframe) -> Bars:
    """Aggregate ``bars`` to a higher ``timeframe`` (first open, max high, min low, last close, summed volume).

    Split factors multiply and dividends add within a bin. The target must be a
    whole multiple of the source timeframe.

    >>> from backgrid.testing import random_bars
    >>> resample(random_bars(n=120, timeframe="1m"), "1h").timeframe
    Timeframe(code='1h')
    """
    target = Timeframe.parse(timeframe)
    source = bars.timeframe
    if target == source:
        return bars
    if target < source or not source.divides(target):
        msg = (f"cannot resample {bars.symbol} from {source} to {target}: "
               f"the target must be a whole multiple of {source}")
        raise DataError(msg)
    cal = bars.calendar
    open_ns = 0 if cal.continuous else cal.open_minute * MINUTE_NS
    # daily and weekly bars are date labels already (see calendar.session_days): no time-zone shift
    local_tz = "UTC" if cal.continuous or not source.is_intraday else cal.tz
    first_day, offsets = day_offsets(bars.ts, local_tz)
    n = len(bars)
    out = {name: np.empty(n) for name in ("open", "high", "low", "close", "volume")}
    out_ts = np.empty(n, dtype=np.int64)
    sf = bars.split_factor if bars.split_factor is not None else np.empty(0)
    dv = bars.dividend if bars.dividend is not None else np.empty(0)
    out_sf, out_dv = np.empty(sf.size), np.empty(dv.size)
    k = nb.resample_nb(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume, sf, dv, target.nanos,
                       open_ns, first_day, offsets, out_ts, out["open"], out["high"], out["low"], out["close"],
                       out["volume"], out_sf, out_dv)
    columns: dict[str, Any] = {name: arr[:k].copy() for name, arr in out.items()}
    result = replace(bars, timeframe=target, ts=out_ts[:k].copy(), **columns,
                     split_factor=out_sf[:k].copy() if sf.size else None,
                     dividend=out_dv[:k].copy() if dv.size else None)
    complete = bars.last_complete and k > 0 and _covers_last_bin(bars, result, cal, first_day, offsets)
    return replace(result, last_complete=bool(complete) or k == 0)


def _covers_last_bin(src: Bars, out: Bars, cal: Calendar, first_day: int, offsets: np.ndarray) -> bool:
    """True when the source data reaches the end of the last output bin."""
    data_end = int(src.ts[-1]) + src.timeframe.nanos
    label = int(out.ts[-1])
    tf = out.timeframe.nanos
    if cal.continuous:
        return data_end >= label + tf
    off = int(offsets[int(src.ts[-1]) // DAY_NS - first_day])
    local_day = (int(src.ts[-1]) + off) // DAY_NS
    if tf >= 7 * DAY_NS:
        week_start = label // DAY_NS
        last_weekday = max(cal.weekdays)
        close_day = week_start + last_weekday
        return data_end >= close_day * DAY_NS + cal.close_minute * MINUTE_NS - off
    session_close = local_day * DAY_NS + cal.close_minute * MINUTE_NS - off
    if tf == DAY_NS:
        return data_end >= session_close
    return data_end >= min(label + tf, session_close)


def aligned_rows(higher: Bars, lower: Bars) -> np.ndarray:
    """For each bar of ``lower``, the row of the latest ``higher`` bar closed by its close (-1: none yet).

    The rule of :func:`align`, for values computed on ``higher`` (indicators on another timeframe).
    """
    if higher.timeframe < lower.timeframe:
        msg = f"align shows a higher timeframe on a lower one; got {higher.timeframe} onto {lower.timeframe}"
        raise DataError(msg)
    usable = len(higher) if higher.last_complete else len(higher) - 1
    closes = higher.close_times()[:usable]
    return np.asarray(np.searchsorted(closes, lower.close_times(), side="right") - 1, dtype=np.int64)


def align(higher: Bars, lower: Bars, columns: tuple[str, ...] = ("open", "high", "low", "close", "volume"),
          ) -> pd.DataFrame:
    """Show ``higher``'s values on ``lower``'s bars, each from the moment it has closed.

    A lower bar that closes at ``t`` sees the latest higher bar whose close
    (``ts + timeframe``) is at or before ``t``: an hourly bar 10:00-11:00 is first
    visible on the 1-minute bar 10:59-11:00, whose decision is taken at 11:00.
    Rows before the first closed higher bar are NaN, and an incomplete last
    higher bar is never shown.

    Returns a frame on ``lower``'s index with one column per requested column.
    """
    pick = aligned_rows(higher, lower)
    seen = pick >= 0
    data = {}
    for name in columns:
        values = np.full(len(lower), np.nan)
        values[seen] = higher.column(name)[pick[seen]]
        data[name] = values
    return pd.DataFrame(data, index=lower.index)
