"""Resampling against a slow reference and pandas; alignment without look-ahead (property tests)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backgrid.data.bars import Bars
from backgrid.data.resample import align, resample
from backgrid.data.timeframe import Timeframe
from backgrid.errors import DataError
from tests.conftest import MINUTE, random_bars

DAY = 86_400 * 10**9


def reference_labels(bars: Bars, timeframe: str) -> np.ndarray:
    """Each bar's bin label, computed bar by bar with pandas time-zone arithmetic."""
    cal, tf = bars.calendar, Timeframe(timeframe)
    tz = "UTC" if cal.continuous else cal.tz
    open_min = 0 if cal.continuous else cal.open_minute
    labels = []
    for t in bars.ts:
        local = pd.Timestamp(int(t), tz="UTC").tz_convert(tz).tz_localize(None)
        midnight = local.normalize()
        if tf.nanos >= 7 * DAY:
            labels.append((midnight - pd.Timedelta(days=midnight.weekday())).value)
        elif tf.nanos == DAY:
            labels.append(midnight.value)
        else:
            anchor = midnight + pd.Timedelta(minutes=open_min)
            start = anchor + ((local - anchor) // pd.Timedelta(tf.nanos)) * pd.Timedelta(tf.nanos)
            labels.append(start.tz_localize(tz).tz_convert("UTC").value)
    return np.array(labels, dtype=np.int64)


def reference_resample(bars: Bars, timeframe: str) -> pd.DataFrame:
    labels = reference_labels(bars, timeframe)
    rows = {}
    for i, label in enumerate(labels):
        o, h, lo, c, v = (float(bars.column(n)[i]) for n in ("open", "high", "low", "close", "volume"))
        if label not in rows:
            rows[label] = [o, h, lo, c, 0.0 + v]
        else:
            row = rows[label]
            row[1], row[2], row[3], row[4] = max(row[1], h), min(row[2], lo), c, row[4] + v
    return pd.DataFrame.from_dict(rows, orient="index", columns=["open", "high", "low", "close", "volume"])


def session_minutes(days: int, start: str = "2024-03-05") -> Bars:
    """US-equity 1m bars, 09:30-16:00 New York, weekdays, across the March DST change."""
    stamps = []
    for day in pd.bdate_range(start, periods=days):
        local = pd.date_range(day + pd.Timedelta(minutes=570), periods=390, freq="1min", tz="America/New_York")
        stamps.append(local.tz_convert("UTC").as_unit("ns").asi8)
    ts = np.concatenate(stamps)
    base = random_bars(ts.size)
    return Bars("SPYISH", "1m", ts, base.open, base.high, base.low, base.close, base.volume, calendar="us-equity")


@pytest.mark.parametrize("timeframe", ["5m", "15m", "30m", "1h", "4h", "1d", "1w"])
def test_24_7_matches_reference_and_pandas(timeframe):
    bars = random_bars(6000, seed=3)
    keep = np.ones(len(bars), bool)
    keep[1000:1400] = False  # a hole the bins must not paper over
    bars = bars.take(keep)
    out = resample(bars, timeframe)
    want = reference_resample(bars, timeframe)
    np.testing.assert_array_equal(out.ts, want.index.to_numpy())
    for name in want.columns:
        np.testing.assert_array_equal(out.column(name), want[name].to_numpy(), err_msg=name)
    freq = Timeframe(timeframe).pandas_freq
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    peer = bars.to_pandas().resample(freq, label="left", closed="left").agg(agg).dropna()
    np.testing.assert_array_equal(out.index.asi8, peer.index.as_unit("ns").asi8)
    np.testing.assert_array_equal(out.close, peer["close"].to_numpy())
    # pandas sums with Kahan compensation; backgrid adds in time order, like the reference above
    np.testing.assert_allclose(out.volume, peer["volume"].to_numpy(), rtol=1e-12)


@pytest.mark.parametrize("timeframe", ["5m", "30m", "1h", "4h", "1d", "1w"])
def test_sessions_match_reference_across_dst(timeframe):
    bars = session_minutes(8)
    out = resample(bars, timeframe)
    want = reference_resample(bars, timeframe)
    np.testing.assert_array_equal(out.ts, want.index.to_numpy())
    for name in want.columns:
        np.testing.assert_array_equal(out.column(name), want[name].to_numpy(), err_msg=name)


def test_session_hours_start_at_the_open_and_end_with_a_short_bar():
    out = resample(session_minutes(1), "1h")
    local = out.index.tz_convert("America/New_York")
    assert [t.strftime("%H:%M") for t in local] == ["09:30", "10:30", "11:30", "12:30", "13:30", "14:30", "15:30"]
    minutes = resample(session_minutes(1), "30m")
    assert out.volume[-1] == pytest.approx(minutes.volume[-1])  # 15:30-16:00 holds only 30 minutes
    daily = resample(session_minutes(3), "1d")
    assert [str(t.date()) for t in daily.index] == ["2024-03-05", "2024-03-06", "2024-03-07"]
    assert (daily.index.hour == 0).all()


def test_split_factors_multiply_and_dividends_add():
    bars = random_bars(120)
    split = np.ones(120)
    split[30] = 2.0
    split[90] = 3.0
    dividend = np.zeros(120)
    dividend[[10, 20]] = 0.5
    out = resample(Bars(bars.symbol, "1m", bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume,
                        split_factor=split, dividend=dividend, calendar="crypto"), "1h")
    assert out.split_factor.tolist() == [2.0, 3.0]
    assert out.dividend.tolist() == [1.0, 0.0]


def test_incomplete_last_bar_is_flagged():
    assert resample(random_bars(120), "1h").last_complete
    assert not resample(random_bars(100), "1h").last_complete
    assert resample(session_minutes(2), "1d").last_complete
    cut = session_minutes(2).take(slice(0, 700))
    assert not resample(cut, "1d").last_complete
    assert not resample(cut, "1h").last_complete
    assert resample(session_minutes(1).take(slice(0, 360)), "1h").last_complete  # ends 15:30: bin 14:30 whole


def test_rejects_lower_timeframe():
    with pytest.raises(DataError, match="whole multiple of 1h"):
        resample(random_bars(10, timeframe="1h"), "15m")
    assert resample(random_bars(10), "1m") is not None


sizes = st.integers(min_value=1, max_value=700)


@settings(max_examples=60, deadline=None)
@given(n=sizes, cut=st.integers(min_value=1, max_value=700), tf=st.sampled_from(["5m", "15m", "1h", "4h"]),
       seed=st.integers(0, 10**6), holes=st.lists(st.integers(0, 699), max_size=40))
def test_resample_invariants_and_no_backward_leak(n, cut, tf, seed, holes):
    bars = random_bars(n, seed=seed)
    keep = np.ones(n, bool)
    keep[[h for h in holes if h < n]] = False
    if keep.any():
        bars = bars.take(keep)
    out = resample(bars, tf)
    assert (out.high >= np.maximum(out.open, out.close)).all()
    assert (out.low <= np.minimum(out.open, out.close)).all()
    assert out.volume.sum() == pytest.approx(bars.volume.sum())
    assert np.all(np.diff(out.ts) > 0)
    assert out.open[0] == bars.open[0]
    assert out.close[-1] == bars.close[-1]
    # cutting the input after bar t changes no bin that had closed by then
    t = min(cut, len(bars))
    early = resample(bars.take(slice(0, t)), tf)
    closed = early.ts + early.timeframe.nanos <= bars.ts[t - 1] + MINUTE
    k = int(closed.sum())
    np.testing.assert_array_equal(early.ts[:k], out.ts[:k])
    for name in ("open", "high", "low", "close", "volume"):
        np.testing.assert_array_equal(early.column(name)[:k], out.column(name)[:k])


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=2, max_value=600), cut=st.integers(min_value=1, max_value=600),
       tf=st.sampled_from(["5m", "15m", "1h", "4h"]), seed=st.integers(0, 10**6))
def test_align_never_shows_a_bar_before_it_closed(n, cut, tf, seed):
    lower = random_bars(n, seed=seed)
    higher = resample(lower, tf)
    shown = align(higher, lower)
    # every value shown on a lower bar comes from a higher bar that had closed by that bar's close
    pick = np.searchsorted(higher.close_times(), lower.close_times(), side="right") - 1
    visible = pick >= 0
    if not higher.last_complete:
        visible &= pick < len(higher) - 1
    np.testing.assert_array_equal(~np.isnan(shown["close"].to_numpy()), visible)
    assert (higher.close_times()[pick[visible]] <= lower.close_times()[visible]).all()
    # and appending future lower bars never changes a past aligned value
    t = min(cut, n)
    part = lower.take(slice(0, t))
    early = align(resample(part, tf), part)
    np.testing.assert_array_equal(early.to_numpy(), shown.to_numpy()[:t])


def test_align_first_visible_on_the_bar_that_closes_with_it():
    lower = random_bars(180)
    higher = resample(lower, "1h")
    shown = align(higher, lower, columns=("close",))
    assert np.isnan(shown["close"].iloc[58])
    assert shown["close"].iloc[59] == higher.close[0]  # the 00:59 bar closes at 01:00 with the hour
    assert shown["close"].iloc[119] == higher.close[1]
    with pytest.raises(DataError, match="higher timeframe on a lower one"):
        align(lower, higher)


def test_daily_date_labels_resample_to_weeks_without_a_time_zone_shift():
    days = pd.bdate_range("2024-01-01", "2024-03-29")
    base = random_bars(len(days), timeframe="1d")
    daily = Bars("SPYISH", "1d", days.as_unit("ns").asi8, base.open, base.high, base.low, base.close, base.volume,
                 calendar="us-equity")
    weekly = resample(daily, "1w")
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    peer = daily.to_pandas().resample("W-MON", label="left", closed="left").agg(agg)
    np.testing.assert_array_equal(weekly.index.asi8, peer.index.as_unit("ns").asi8)
    np.testing.assert_array_equal(weekly.open, peer["open"].to_numpy())
    np.testing.assert_array_equal(weekly.close, peer["close"].to_numpy())
    assert (weekly.index.day_of_week == 0).all()
    assert weekly.last_complete  # the data ends on Friday 2024-03-29, the last weekday of that week
