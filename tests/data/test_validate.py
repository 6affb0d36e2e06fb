"""Validation: the kernel against a slow, obvious reference, and the policies' behaviour."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backgrid.data.calendar import CRYPTO, FX, US_EQUITY
from backgrid.data.kernels import validate_nb as nb
from backgrid.data.timeframe import Timeframe
from backgrid.data.validate import RawColumns, ValidationPolicy, check_columns, validate
from backgrid.errors import DataError, ValidationError
from tests.conftest import MINUTE, random_bars

K, WARMUP = 12.0, 30


def reference_flags(ts, o, h, lo, c, v, tf_ns, continuous, order):
    """The checks written as plainly as possible (mirrors scan_nb's documented rules)."""
    n = len(ts)
    flags = [0] * n
    for i in range(n):
        f = 0
        if ts[i] == nb.NAT:
            f |= nb.MISSING_TS
        vals = (o[i], h[i], lo[i], c[i], v[i])
        if not all(math.isfinite(x) for x in vals):
            f |= nb.NON_FINITE
        else:
            if min(o[i], h[i], lo[i], c[i]) <= 0:
                f |= nb.NON_POSITIVE
            if h[i] < max(o[i], c[i]) or lo[i] > min(o[i], c[i]) or h[i] < lo[i]:
                f |= nb.HIGH_LOW
            if v[i] < 0:
                f |= nb.NEGATIVE_VOLUME
        flags[i] = f
    prev_t, prev_c, var, slow, seen, pending = None, None, 0.0, 0.0, 0, None
    for i in order:
        if prev_t is not None:
            d = ts[i] - prev_t
            if d == 0:
                flags[i] |= nb.DUPLICATE
            elif d < tf_ns:
                flags[i] |= nb.SPACING
            elif continuous and d > tf_ns:
                flags[i] |= nb.GAP
        prev_t = ts[i]
        if flags[i] & (nb.ROW_LOCAL | nb.DUPLICATE):
            continue
        if prev_c is not None:
            r = math.log(c[i] / prev_c)
            sd = math.sqrt(max(var, 0.1 * slow))
            if pending is not None:
                if r * pending[1] < 0 and abs(r) > 0.5 * abs(pending[1]):
                    flags[pending[0]] |= nb.OUTLIER
                pending = None
            capped = r * r
            if seen >= WARMUP and sd > 0:
                limit = K * sd
                if abs(r) > limit:
                    pending = (i, r)
                if math.log(h[i] / max(o[i], c[i])) > limit or math.log(min(o[i], c[i]) / lo[i]) > limit:
                    flags[i] |= nb.OUTLIER
                capped = min(capped, limit * limit)
            if seen == 0:
                var = slow = capped
            else:
                var = (1 - 2 / 101) * var + 2 / 101 * capped
                slow = (1 - 2 / 2001) * slow + 2 / 2001 * capped
            seen += 1
        prev_c = c[i]
    return np.array(flags, dtype=np.uint16)


def kernel_flags(raw, tf_ns, continuous, order):
    flags = np.zeros(raw.ts.size, np.uint16)
    nb.scan_nb(raw.ts, raw.open, raw.high, raw.low, raw.close, raw.volume, flags, order, tf_ns, continuous, K,
               WARMUP)
    return flags


defects = st.lists(st.tuples(st.integers(0, 199), st.sampled_from(
    ["nat", "nan", "neg", "zero", "high", "low", "vol", "dup", "back", "skip", "close", "spike", "wick"])),
    max_size=12)


def corrupt(bars, changes):
    ts, o, h, lo, c, v = (a.copy() for a in (bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume))
    for i, kind in changes:
        if kind == "nat":
            ts[i] = nb.NAT
        elif kind == "nan":
            c[i] = np.nan
        elif kind == "neg":
            lo[i] = -1.0
        elif kind == "zero":
            o[i] = 0.0
        elif kind == "high":
            h[i] = min(o[i], c[i]) * 0.999
        elif kind == "low":
            lo[i] = max(o[i], c[i]) * 1.001
        elif kind == "vol":
            v[i] = -5.0
        elif kind == "dup" and i > 0:
            ts[i] = ts[i - 1]
        elif kind == "back" and i > 0 and ts[i - 1] != nb.NAT:
            ts[i] = ts[i - 1] - MINUTE * 3
        elif kind == "skip":
            later = ts[i:]
            later[later != nb.NAT] += MINUTE * 7
        elif kind == "close" and i > 0 and ts[i - 1] != nb.NAT:
            ts[i] = ts[i - 1] + MINUTE // 2
        elif kind == "spike" and 0 < i < 199:
            c[i] *= 1.5
            h[i] = max(h[i], c[i])
            o[i + 1] = c[i]
            h[i + 1] = max(h[i + 1], o[i + 1])
        elif kind == "wick":
            h[i] *= 1.4
    return RawColumns(ts, o, h, lo, c, v)


@settings(max_examples=60, deadline=None)
@given(defects, st.booleans())
def test_kernel_matches_reference(changes, continuous):
    raw = corrupt(random_bars(200), changes)
    valid = np.flatnonzero(raw.ts != nb.NAT)
    order = valid[np.argsort(raw.ts[valid], kind="stable")]
    got = kernel_flags(raw, MINUTE, continuous, order)
    want = reference_flags(raw.ts, raw.open, raw.high, raw.low, raw.close, raw.volume, MINUTE, continuous, order)
    np.testing.assert_array_equal(got, want)


@settings(max_examples=40, deadline=None)
@given(defects)
def test_counting_pass_agrees_with_storing_pass(changes):
    raw = corrupt(random_bars(200), changes)
    empty = np.empty(0, np.int64)
    args = (raw.ts, raw.open, raw.high, raw.low, raw.close, raw.volume)
    backwards, problems = nb.scan_nb(*args, np.empty(0, np.uint16), empty, MINUTE, True, K, WARMUP)
    flags = np.zeros(raw.ts.size, np.uint16)
    nb.scan_nb(*args, flags, empty, MINUTE, True, K, WARMUP)
    assert problems == np.count_nonzero(flags)
    t = raw.ts[raw.ts != nb.NAT]
    assert backwards == int(np.count_nonzero(np.diff(t) < 0))


def check(raw, policy=None, timeframe="1m", calendar=CRYPTO):
    return check_columns(raw, timeframe=Timeframe(timeframe), calendar=calendar,
                         policy=ValidationPolicy.coerce(policy))


def test_clean_data_passes_without_copying():
    bars = random_bars(1000)
    raw = RawColumns(bars.ts, bars.open, bars.high, bars.low, bars.close, bars.volume)
    out, report = check(raw)
    assert report.ok
    assert not report.findings
    assert out.close is bars.close  # nothing to fix: the caller's array is used as is
    assert "no problems found" in report.describe()


def test_default_policy_refuses_and_reports_every_problem():
    raw = corrupt(random_bars(200), [(10, "nan"), (20, "vol"), (30, "dup"), (40, "high")])
    with pytest.raises(ValidationError) as info:
        check(raw)
    report = info.value.report
    assert {f.check for f in report.errors} == {"non_finite", "negative_volume", "duplicate_timestamp", "high_low"}
    by_check = {f.check: f for f in report.errors}
    assert by_check["non_finite"].rows == (10,)
    assert by_check["non_finite"].column == "close"
    assert "row 11, column close" in by_check["non_finite"].message  # rows are shown 1-based
    assert by_check["high_low"].column == "high"
    assert "row 41" in str(info.value)


def test_fix_policy_repairs_and_says_so():
    raw = corrupt(random_bars(200), [(10, "nan"), (20, "vol"), (30, "dup"), (40, "high"), (50, "back")])
    out, report = check(raw, "lenient")
    assert report.ok
    assert all(f.severity == "fixed" for f in report.findings if f.check != "gap")
    assert np.all(np.diff(out.ts) > 0)
    assert np.isfinite(out.close).all()
    assert (out.volume >= 0).all()
    assert (out.high >= np.maximum(out.open, out.close)).all()
    assert report.rows_out == len(out) < report.rows_in


def test_duplicate_fix_keeps_the_last_row():
    bars = random_bars(5)
    ts = bars.ts.copy()
    ts[3] = ts[2]
    close = bars.close.copy()
    raw = RawColumns(ts, bars.open, np.maximum(bars.high, close), bars.low, close, bars.volume)
    out, _ = check(raw, {"duplicate_timestamp": "fix"})
    assert len(out) == 4
    assert out.close[2] == close[3]


def test_unsorted_fix_sorts_stably():
    bars = random_bars(6)
    order = np.array([0, 1, 4, 2, 3, 5])
    raw = RawColumns(bars.ts[order], bars.open[order], bars.high[order], bars.low[order], bars.close[order],
                     bars.volume[order])
    with pytest.raises(ValidationError, match="time goes backwards 1 time"):
        check(raw)
    out, report = check(raw, {"unsorted": "fix"})
    np.testing.assert_array_equal(out.ts, bars.ts)
    assert report.findings[0].severity == "fixed"


def test_warn_and_ignore_keep_data():
    raw = corrupt(random_bars(200), [(60, "spike")])
    _, warned = check(raw)
    assert [f.check for f in warned.warnings] == ["outlier"]
    assert warned.warnings[0].rows == (60,)
    _, quiet = check(raw, {"outlier": "ignore"})
    assert not quiet.findings
    out, fixed = check(raw, {"outlier": "fix"})
    assert len(out) == 199
    assert fixed.findings[0].severity == "fixed"


def test_gap_on_a_24_7_market_names_the_widest():
    raw = corrupt(random_bars(100), [(50, "skip")])
    _, report = check(raw)
    gap = report.warnings[0]
    assert gap.check == "gap"
    assert "0 days 00:08:00" in gap.message
    assert "row 50" in gap.message
    with pytest.raises(ValidationError):
        check(raw, {"gap": "error"})


def test_session_gaps_tolerate_weekends_and_one_holiday():
    day = 86_400 * 10**9
    monday = 1_704_067_200 * 10**9  # 2024-01-01 is a Monday
    days = [0, 1, 2, 3, 4, 7, 8, 10, 11, 14, 21]  # skip Wed 9th (holiday), then all of week 3 but Mon 15th
    bars = random_bars(len(days), timeframe="1d", calendar="fx", step_ns=day)
    ts = monday + np.array(days, dtype=np.int64) * day
    raw = RawColumns(ts, bars.open, bars.high, bars.low, bars.close, bars.volume)
    _, report = check(raw, timeframe="1d", calendar=FX)
    gaps = report.warnings
    assert len(gaps) == 1
    assert gaps[0].rows == (10,)  # Jan 15 -> Jan 22: four weekdays missing
    _, strict = check(raw, {"max_missing_sessions": 0}, timeframe="1d", calendar=FX)
    assert strict.warnings[0].rows == (7, 10)


def test_session_intraday_gap_inside_a_session_only():
    # US equity 1h bars: 09:30 New York = 14:30 UTC in winter; a session has 7 bars (15:30 is the last)
    first = 1_704_205_800 * 10**9  # 2024-01-02 14:30 UTC
    hour = 3600 * 10**9
    one_day = [first + k * hour for k in range(7)]
    next_day = [first + 86_400 * 10**9 + k * hour for k in (0, 1, 3, 4, 5, 6)]  # 11:30 missing
    ts = np.array(one_day + next_day, dtype=np.int64)
    bars = random_bars(ts.size, timeframe="1h")
    raw = RawColumns(ts, bars.open, bars.high, bars.low, bars.close, bars.volume)
    _, report = check(raw, timeframe="1h", calendar=US_EQUITY)
    assert [f.rows for f in report.warnings] == [(9,)]


def test_policy_rejects_bad_values_with_choices():
    with pytest.raises(DataError, match="policy for 'gap' must be one of error, warn, ignore, got 'fix'"):
        ValidationPolicy(gap="fix")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="policy for 'outlier' must be one of error, warn, fix, ignore"):
        ValidationPolicy(outlier="drop")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="unknown validation check"):
        ValidationPolicy.coerce({"gaps": "warn"})
    with pytest.raises(DataError, match="max_missing_sessions"):
        ValidationPolicy(max_missing_sessions=-1)
    with pytest.raises(DataError, match="must be a ValidationPolicy"):
        ValidationPolicy.coerce(3)  # type: ignore[arg-type]


def test_validate_existing_bars_returns_report_without_raising():
    bars = random_bars(100)
    assert validate(bars).ok
    report = validate(bars, policy={"gap": "error"})
    assert report.ok
    d = report.to_dict()
    assert d["ok"] is True
    assert d["rows_in"] == 100


def test_daily_bars_stamped_at_midnight_keep_their_date_on_a_session_calendar():
    # Friday 2024-01-05 then Monday 2024-01-08 (Yahoo-style date stamps): no gap; a week with only a
    # Tuesday holiday missing is tolerated, two missing weekdays are a gap.
    day = 86_400 * 10**9
    friday = 1_704_412_800 * 10**9
    days = [0, 3, 5, 6, 7, 10, 14]  # Fri, Mon, Wed (Tue missing), Thu, Fri, Mon, Fri (Tue-Thu missing)
    bars = random_bars(len(days), timeframe="1d", step_ns=day)
    ts = friday + np.array(days, dtype=np.int64) * day
    raw = RawColumns(ts, bars.open, bars.high, bars.low, bars.close, bars.volume)
    _, report = check(raw, timeframe="1d", calendar=US_EQUITY)
    assert [f.rows for f in report.warnings] == [(6,)]


def _one_bar_jump(factor: float, at: int = 150, n: int = 300) -> RawColumns:
    """Bars whose row ``at`` (open, high, low and close) is ``factor`` times its true level, for one bar."""
    bars = random_bars(n)
    o, h, lo, c = (a.copy() for a in (bars.open, bars.high, bars.low, bars.close))
    for column in (o, h, lo, c):
        column[at] *= factor
    return RawColumns(bars.ts, o, h, lo, c, bars.volume)


@pytest.mark.parametrize("factor", [1.5, 2.0, 3.0, 10.0, 100.0, 1 / 1.5, 1 / 2.0, 1 / 3.0, 1 / 10.0, 1 / 100.0])
def test_a_one_bar_jump_is_a_spike_in_either_direction(factor):
    # the walk moves ~0.2 % a bar: x1.5 is a 40 % log move, far beyond 12 deviations (~2.4 %), and the
    # next bar takes all of it back; up by a factor and down by it are the same size
    _, report = check(_one_bar_jump(factor))
    assert [(f.check, f.rows) for f in report.warnings] == [("outlier", (150,))]
    assert "row 151" in report.warnings[0].message


@pytest.mark.parametrize("seed", range(5))
def test_ordinary_volatile_data_has_no_spikes(seed):
    # fat-tailed daily returns (Student t, 4 degrees of freedom, ~3 % a day) with a calm and a stormy year
    rng = np.random.default_rng(seed)
    n = 2000
    scale = np.where(np.arange(n) < n // 2, 0.01, 0.03)
    close = 100 * np.exp(np.cumsum(rng.standard_t(4, n) * scale / np.sqrt(2)))
    open_ = np.r_[100.0, close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n))
    ts = 1_704_067_200 * 10**9 + np.arange(n, dtype=np.int64) * 86_400 * 10**9
    raw = RawColumns(ts, open_, high, low, close, np.ones(n))
    _, report = check(raw, timeframe="1d")
    assert not report.findings, report.describe()


def test_a_jump_that_stays_is_not_a_spike():
    bars = random_bars(300)
    scaled = [a.copy() for a in (bars.open, bars.high, bars.low, bars.close)]
    for column in scaled:
        column[150:] *= 10.0  # a new level, not a bad bar
    _, report = check(RawColumns(bars.ts, *scaled, bars.volume))
    assert not report.findings
