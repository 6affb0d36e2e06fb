"""Calendar periods for session-anchored indicators (VWAP, pivots, kill zones).

A period id is an integer that is equal for bars of the same session, day, week or
month and grows with time. Sessions and days follow
:func:`~backgrid.data.calendar.session_days`: a US-equity intraday bar belongs to
its New York date, a 24/7 market's bar to its UTC date, and a daily bar stamped at
midnight to the date of its stamp.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from backgrid.data.calendar import DAY_NS, Calendar, local_nanos, session_days

__all__ = ["PERIODS", "local_minutes", "period_ids"]

Period = Literal["session", "day", "week", "month"]
PERIODS: tuple[str, ...] = ("session", "day", "week", "month")


def period_ids(ts: np.ndarray, calendar: Calendar, period: Period) -> np.ndarray:
    """An int64 id per bar: equal within one period, increasing from one period to the next."""
    day = session_days(ts, calendar)
    if period in ("session", "day"):
        return day
    if period == "week":
        return np.asarray((day + 3) // 7, dtype=np.int64)  # weeks start on Monday (epoch was a Thursday)
    months = day.astype("datetime64[D]").astype("datetime64[M]")
    return np.asarray(months.astype(np.int64), dtype=np.int64)


def local_minutes(ts: np.ndarray, tz: str) -> np.ndarray:
    """Minutes after local midnight in ``tz`` for each bar's open time."""
    return np.asarray((local_nanos(ts, tz) % DAY_NS) // 60_000_000_000, dtype=np.int64)
