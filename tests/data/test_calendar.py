"""Calendar inference: what the timestamps show, how sure, and when annualised metrics rest on a guess."""

import numpy as np
import pandas as pd
import pytest

from backgrid.data.calendar import CRYPTO, FX, US_EQUITY, annualisation_note, infer_calendar
from backgrid.data.timeframe import Timeframe
from backgrid.metrics.registry import periods_per_year

HOUR = Timeframe("1h").nanos


def session_hours(days: int, *, first: str = "09:30", bars: int = 7) -> np.ndarray:
    """Hourly bars of ``days`` New York weekdays from 2024-01-08, ``bars`` a day from ``first`` local time."""
    dates = pd.bdate_range("2024-01-08", periods=days)
    stamps = [pd.Timestamp(f"{d.date()} {first}", tz="America/New_York") + pd.Timedelta(hours=h)
              for d in dates for h in range(bars)]
    return pd.DatetimeIndex(stamps).tz_convert("UTC").as_unit("ns").asi8


def test_hourly_us_equity_bars_are_a_us_equity_session():
    ts = session_hours(60)  # January to April: across the March DST change
    cal = infer_calendar(ts)
    assert cal == US_EQUITY
    assert cal.inferred is not None
    assert cal.inferred.confidence == "high"
    assert "100% of the bars open between 09:30 and 16:00 New York time" in cal.inferred.reason
    # 9:30..16:00 holds 7 hourly bars (the last one 30 minutes): 252 x 7 a year, not 252 x 24 (fx)
    assert periods_per_year(HOUR, cal) == 252 * 7
    assert "us-equity calendar, inferred from the data" in annualisation_note(cal, HOUR)


def test_a_few_days_of_session_bars_are_a_less_sure_us_equity():
    cal = infer_calendar(session_hours(3))
    assert cal == US_EQUITY
    assert cal.inferred.confidence == "low"


def test_weekday_bars_around_the_clock_are_fx():
    ts = pd.date_range("2024-01-08", periods=24 * 5, freq="1h", tz="UTC").as_unit("ns").asi8  # Monday to Friday
    cal = infer_calendar(ts)
    assert cal == FX
    assert cal.inferred.confidence == "high"
    assert "24 hours of the UTC day" in cal.inferred.reason


def test_weekend_bars_are_crypto():
    ts = pd.date_range("2024-01-01", periods=24 * 14, freq="1h", tz="UTC").as_unit("ns").asi8
    cal = infer_calendar(ts)
    assert cal == CRYPTO
    assert "29% of the bars fall on a Saturday or Sunday" in cal.inferred.reason  # 4 of 14 days


def test_weekday_daily_bars_follow_the_hint_and_stay_unsure():
    ts = pd.bdate_range("2024-01-01", periods=20, tz="UTC").as_unit("ns").asi8
    plain, yahoo = infer_calendar(ts), infer_calendar(ts, hint="yahoo")
    assert (plain, yahoo) == (FX, US_EQUITY)
    assert plain.inferred.confidence == yahoo.inferred.confidence == "low"
    day = Timeframe("1d").nanos
    assert periods_per_year(day, plain) == periods_per_year(day, yahoo) == 252  # the guess does not move it
    assert annualisation_note(yahoo, day) is None
    assert annualisation_note(plain, day) is None


def test_a_given_or_sure_daily_calendar_needs_no_warning():
    day = Timeframe("1d").nanos
    assert annualisation_note(US_EQUITY, HOUR) is None  # given, not inferred
    crypto = infer_calendar(pd.date_range("2024-01-01", periods=30, freq="1D", tz="UTC").as_unit("ns").asi8)
    assert crypto.inferred.confidence == "high"
    assert annualisation_note(crypto, day) is None
    unsure = infer_calendar(np.empty(0, np.int64))  # no bars: crypto, unsure, and 365 vs 252 days a year
    assert (unsure, unsure.inferred.confidence) == (CRYPTO, "low")
    assert "crypto calendar, inferred from the data, a guess" in annualisation_note(unsure, day)


def test_an_intraday_guess_always_warns_the_metrics():
    ts = pd.date_range("2024-01-08", periods=24 * 5, freq="1h", tz="UTC").as_unit("ns").asi8
    note = annualisation_note(infer_calendar(ts), HOUR)
    assert note.startswith("annualised metrics (volatility, Sharpe, ...) assume the fx calendar, inferred from the "
                           "data (bars around the clock")


@pytest.mark.parametrize(("first", "bars"), [("03:00", 4), ("16:30", 2), ("09:00", 7)])
def test_bars_outside_the_new_york_session_are_not_us_equity(first, bars):
    cal = infer_calendar(session_hours(20, first=first, bars=bars))  # 09:00: one bar in seven before the open
    assert cal == FX
    assert cal.inferred.confidence == "low"  # a few hours of the day match no known session
