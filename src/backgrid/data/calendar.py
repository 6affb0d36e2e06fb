"""Trading calendars: when a market has bars, in its own time zone.

A calendar is either continuous (``24/7``, crypto) or session-based: a fixed
local session (``open``..``close`` in minutes after local midnight) on the
listed weekdays. Holidays are not modelled; gap detection tolerates a missing
session or two for that reason (see :mod:`backgrid.data.validate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd

from backgrid.errors import DataError

__all__ = ["CALENDARS", "Calendar", "Inference", "annualisation_note", "day_offsets", "get_calendar", "infer_calendar",
           "local_nanos", "session_days"]

DAY_NS = 86_400 * 1_000_000_000
MINUTE_NS = 60 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class Inference:
    """Why a calendar was chosen when none was given, and how sure that choice is."""

    confidence: Literal["high", "low"]
    reason: str

    def describe(self, name: str) -> str:
        """One line for a report: what was inferred, from what, how sure."""
        sure = "fairly sure" if self.confidence == "high" else "a guess"
        return f"calendar {name} inferred ({sure}): {self.reason}; pass --calendar (calendar=) to set it"


@dataclass(frozen=True, slots=True)
class Calendar:
    """When a market trades.

    ``open_minute``/``close_minute`` are minutes after local midnight (``close`` may be
    1440 for a session that runs to midnight); ``weekdays`` use Monday = 0.
    ``inferred`` is set when the calendar was guessed from the data rather than given;
    it does not take part in comparisons (an inferred ``fx`` is the ``fx`` calendar).
    """

    name: str
    kind: Literal["24/7", "session"]
    tz: str = "UTC"
    open_minute: int = 0
    close_minute: int = 1440
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 6)
    inferred: Inference | None = field(default=None, compare=False)

    @property
    def continuous(self) -> bool:
        """True for markets that trade around the clock, every day."""
        return self.kind == "24/7"

    @property
    def session_minutes(self) -> int:
        """Length of one session in minutes."""
        return self.close_minute - self.open_minute

    def weekmask(self) -> str:
        """The weekday mask in NumPy's business-day format (``"1111100"``)."""
        return "".join("1" if d in self.weekdays else "0" for d in range(7))


CRYPTO = Calendar("crypto", "24/7")
US_EQUITY = Calendar("us-equity", "session", tz="America/New_York", open_minute=570, close_minute=960,
                     weekdays=(0, 1, 2, 3, 4))
FX = Calendar("fx", "session", tz="UTC", open_minute=0, close_minute=1440, weekdays=(0, 1, 2, 3, 4))

#: Calendars known by name.
CALENDARS: dict[str, Calendar] = {c.name: c for c in (CRYPTO, US_EQUITY, FX)}


def get_calendar(name: str | Calendar) -> Calendar:
    """Return the calendar called ``name`` (``crypto``, ``us-equity`` or ``fx``); a calendar is returned as is."""
    if isinstance(name, Calendar):
        return name
    try:
        return CALENDARS[name]
    except KeyError:
        msg = f"calendar {name!r} is unknown; expected one of {', '.join(CALENDARS)}"
        raise DataError(msg) from None


def infer_calendar(ts: np.ndarray, *, hint: str | None = None) -> Calendar:
    """Guess a calendar from UTC timestamps (int64 ns); the result says why and how sure (``inferred``).

    - bars on Saturdays or Sundays (over 5 %): ``crypto`` (24/7);
    - intraday bars, all opening inside 09:30-16:00 New York time: ``us-equity``;
    - other intraday bars on weekdays: ``fx`` (all day on weekdays, UTC);
    - daily bars on weekdays: the timestamps cannot tell a stock from a currency, so
      ``hint`` decides (``"yahoo"``, a stock-market source: ``us-equity``), else ``fx``,
      both with low confidence (daily annualisation, 252 sessions, is the same for both).

    >>> import pandas as pd
    >>> hours = pd.date_range("2024-01-08 14:30", periods=7, freq="1h", tz="UTC").asi8  # 09:30 EST on
    >>> infer_calendar(hours).name
    'us-equity'
    """
    if ts.size == 0:
        return replace(CRYPTO, inferred=Inference("low", "no bars to infer from"))
    weekday = ((ts // DAY_NS) + 3) % 7  # 1970-01-01 was a Thursday
    weekend = np.count_nonzero(weekday >= 5)
    if weekend > 0.05 * ts.size:
        why = f"{weekend / ts.size:.0%} of the bars fall on a Saturday or Sunday (UTC): a market open every day"
        return replace(CRYPTO, inferred=Inference("high", why))
    ordered = ts if bool(np.all(ts[1:] >= ts[:-1])) else np.sort(ts)  # loaders pass stored order: no sort
    day = ordered // DAY_NS
    n_days = int(np.count_nonzero(day[1:] != day[:-1])) + 1
    if ts.size > 1.5 * n_days:  # more than one bar a day: intraday bars
        return _infer_intraday(ordered, n_days)
    if hint == "yahoo":
        why = "daily bars on weekdays only, from a Yahoo Finance file: taken as a stock market"
        return replace(US_EQUITY, inferred=Inference("low", why))
    why = "daily bars on weekdays only: a currency or a stock market (the timestamps cannot tell which)"
    return replace(FX, inferred=Inference("low", why))


def _infer_intraday(ts: np.ndarray, n_days: int) -> Calendar:
    """The session of sorted intraday ``ts`` on weekdays (see :func:`infer_calendar`)."""
    minute = (local_nanos(ts, US_EQUITY.tz) % DAY_NS) // MINUTE_NS
    inside = np.count_nonzero((minute >= US_EQUITY.open_minute) & (minute < US_EQUITY.close_minute))
    if inside >= 0.99 * ts.size:
        sure: Literal["high", "low"] = "high" if n_days >= 5 else "low"
        why = (f"{inside / ts.size:.0%} of the bars open between 09:30 and 16:00 New York time, on weekdays "
               f"({n_days} day(s))")
        return replace(US_EQUITY, inferred=Inference(sure, why))
    hours = int(np.count_nonzero(np.bincount((ts % DAY_NS) // (60 * MINUTE_NS), minlength=24)))
    if hours >= 20:
        why = f"bars around the clock ({hours} hours of the UTC day) on weekdays only"
        return replace(FX, inferred=Inference("high", why))
    why = f"bars on weekdays only, in {hours} hours of the UTC day, which match no known session"
    return replace(FX, inferred=Inference("low", why))


def annualisation_note(calendar: Calendar, bar_ns: int) -> str | None:
    """A warning when annualised metrics rest on a guessed calendar, else ``None``.

    Intraday annualisation counts bars per session, so it follows whatever session
    was inferred. Daily and longer bars are annualised by 252 on every session
    calendar, so a guess between ``fx`` and ``us-equity`` does not move them; only an
    unsure ``crypto`` (365 days) does.
    """
    guess = calendar.inferred
    if guess is None or (bar_ns >= DAY_NS and (not calendar.continuous or guess.confidence == "high")):
        return None
    sure = "" if guess.confidence == "high" else ", a guess"
    return (f"annualised metrics (volatility, Sharpe, ...) assume the {calendar.name} calendar, inferred from the "
            f"data{sure} ({guess.reason}); pass --calendar when importing (calendar=) to be sure")


def day_offsets(ts: np.ndarray, tz: str) -> tuple[int, np.ndarray]:
    """Return ``(first_day, offsets)``: the UTC offset of ``tz`` (ns) on every UTC day of sorted ``ts``.

    ``offsets[d - first_day]`` is the offset on UTC day ``d`` (``ts // DAY_NS``),
    taken at that day's noon, which is right for sessions that do not straddle a
    DST change. One lookup per day, not per bar, keeps millions of bars cheap.
    """
    if ts.size == 0:
        return 0, np.zeros(1, dtype=np.int64)
    first, last = int(ts[0] // DAY_NS), int(ts[-1] // DAY_NS)
    if tz == "UTC":
        return first, np.zeros(last - first + 1, dtype=np.int64)
    noon = np.arange(first, last + 1, dtype=np.int64) * DAY_NS + DAY_NS // 2
    local = pd.DatetimeIndex(noon.view("datetime64[ns]"), tz="UTC").tz_convert(tz).tz_localize(None)
    return first, np.asarray(local.as_unit("ns").asi8 - noon, dtype=np.int64)


def local_nanos(ts: np.ndarray, tz: str) -> np.ndarray:
    """Return sorted ``ts`` (UTC int64 ns) shifted to wall-clock time in ``tz`` (see :func:`day_offsets`)."""
    if tz == "UTC" or ts.size == 0:
        return ts
    first, offsets = day_offsets(ts, tz)
    return np.asarray(ts + offsets[ts // DAY_NS - first], dtype=np.int64)


def session_days(ts: np.ndarray, calendar: Calendar) -> np.ndarray:
    """The trading day (days since the epoch, int64) of each bar of sorted ``ts``.

    Intraday bars of a session market take their date in the exchange's time zone.
    Bars stamped at UTC midnight are date labels (daily files, and daily bars from
    :func:`~backgrid.data.resample.resample`): their date is the stamp itself, never
    shifted into the evening before.
    """
    if calendar.continuous or ts.size == 0 or not (ts % DAY_NS).any():
        return np.asarray(ts // DAY_NS, dtype=np.int64)
    return np.asarray(local_nanos(ts, calendar.tz) // DAY_NS, dtype=np.int64)
