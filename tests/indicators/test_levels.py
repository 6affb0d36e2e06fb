"""Support/resistance family: slow references, hand-worked cases and confirmation delays."""

import itertools

import numpy as np
import pytest
import talib

from backgrid import indicators
from backgrid.data.calendar import get_calendar
from backgrid.testing import check_indicator
from tests.indicators.conftest import DATASETS, assert_matches, reference_period_keys

HOUR = 3_600_000_000_000
FIB_RATIOS = {"fib_0": 0.0, "fib_236": 0.236, "fib_382": 0.382, "fib_500": 0.5, "fib_618": 0.618,
              "fib_786": 0.786, "fib_1000": 1.0}
SR_NAMES = ("resistance_upper", "resistance_lower", "support_upper", "support_lower")


def _run(id_, bars, **params):
    return {k: v.to_numpy() for k, v in indicators.compute(id_, bars, **params).items()}


def _arrays(id_, *, ts=None, calendar="crypto", high, low, close=None, **params):
    columns = {"high": np.asarray(high, dtype=float), "low": np.asarray(low, dtype=float)}
    if close is not None:
        columns["close"] = np.asarray(close, dtype=float)
    if ts is not None:
        columns |= {"ts": np.asarray(ts, dtype=np.int64), "calendar": get_calendar(calendar)}
    return indicators.compute_arrays(id_, columns, **params)


# --- pivot points ---------------------------------------------------------------------------------------

def previous_period_ref(bars, period):
    """(H, L, C) of the previous period for each bar, from plain dictionaries of completed periods."""
    keys = reference_period_keys(bars, period)
    summary = {}
    for t, key in enumerate(keys):
        h, lo, _ = summary.get(key, (-np.inf, np.inf, None))
        summary[key] = (max(h, bars.high[t]), min(lo, bars.low[t]), bars.close[t])
    previous = {key: before for before, key in itertools.pairwise([None, *summary])}
    out = np.full((len(bars), 3), np.nan)
    for t, key in enumerate(keys):
        if previous[key] is not None:
            out[t] = summary[previous[key]]
    return out[:, 0], out[:, 1], out[:, 2]


def pivots_ref(kind, h, lo, c):
    rng = h - lo
    if kind == "woodie":
        p = (h + lo + 2 * c) / 4
        return {"pivot": p, "r1": 2 * p - lo, "s1": 2 * p - h, "r2": p + rng, "s2": p - rng}
    if kind == "camarilla":
        return {f"{side}{k}": c + sign * rng * 1.1 / d for k, d in zip((1, 2, 3, 4), (12, 6, 4, 2), strict=True)
                for side, sign in (("r", 1), ("s", -1))}
    p = (h + lo + c) / 3
    if kind == "fibonacci":
        return {"pivot": p} | {f"{side}{k}": p + sign * f * rng for k, f in zip((1, 2, 3), (0.382, 0.618, 1.0),
                                                                                strict=True)
                               for side, sign in (("r", 1), ("s", -1))}
    return {"pivot": p, "r1": 2 * p - lo, "s1": 2 * p - h, "r2": p + rng, "s2": p - rng,
            "r3": h + 2 * (p - lo), "s3": lo - 2 * (h - p)}


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("period", ["day", "week", "month"])
@pytest.mark.parametrize("kind", ["classic", "fibonacci", "camarilla", "woodie"])
def test_pivots_match_reference(kind, period, data):
    bars = DATASETS[data]()
    expected = pivots_ref(kind, *previous_period_ref(bars, period))
    ours = _run(f"pivots_{kind}", bars, period=period)
    assert set(ours) == set(expected)
    for name, ref in expected.items():
        assert_matches(ours[name], ref, f"pivots_{kind}.{name} ({period}) on {data}")


def test_pivots_by_hand_apply_from_the_next_day():
    # day 1 (UTC): H = 12, L = 8, C = 10.5 (its last close). Classic P = 30.5 / 3 = 10.1667, R1 = 2P - L = 12.3333,
    # S1 = 2P - H = 8.3333, R2 = P + 4 = 14.1667, S2 = 6.1667, R3 = H + 2(P - L) = 16.3333, S3 = L - 2(H - P) = 4.3333.
    # Fibonacci R1 = P + 0.382 * 4 = 11.6947. Camarilla R4 = C + 4 * 1.1 / 2 = 12.7, S1 = C - 4 * 1.1 / 12 = 10.1333.
    # Woodie P = (12 + 8 + 21) / 4 = 10.25, R1 = 20.5 - 8 = 12.5, S2 = P - 4 = 6.25.
    ts = np.array([0, 1, 2, 24, 25]) * HOUR + np.datetime64("2024-01-01", "ns").astype(np.int64)
    bars = {"ts": ts, "high": [10, 12, 11, 30, 40], "low": [9, 8, 10, 1, 2], "close": [9.5, 11, 10.5, 20, 30]}
    p = 30.5 / 3
    classic = _arrays("pivots_classic", **bars)
    assert all(np.isnan(v[:3]).all() for v in classic.values())
    for name, value in {"pivot": p, "r1": 2 * p - 8, "s1": 2 * p - 12, "r2": p + 4, "s2": p - 4,
                        "r3": 12 + 2 * (p - 8), "s3": 8 - 2 * (12 - p)}.items():
        np.testing.assert_allclose(classic[name][3:], [value, value], err_msg=name)
    np.testing.assert_allclose(classic["r3"][3], 16.333333333333333)
    np.testing.assert_allclose(_arrays("pivots_fibonacci", **bars)["r1"][3:], 11.694666666666667)
    camarilla = _arrays("pivots_camarilla", **bars)
    np.testing.assert_allclose([camarilla["r4"][4], camarilla["s1"][4]], [12.7, 10.133333333333333])
    woodie = _arrays("pivots_woodie", **bars)
    np.testing.assert_allclose([woodie["pivot"][3], woodie["r1"][3], woodie["s2"][3]], [10.25, 12.5, 6.25])


def test_weekly_pivots_use_the_previous_monday_to_sunday_week():
    # 2024-01-01 is a Monday: bars on Sunday 7 January still belong to the first week
    days = np.array([0, 6, 7, 8])
    ts = days * 24 * HOUR + np.datetime64("2024-01-01", "ns").astype(np.int64)
    out = _arrays("pivots_classic", ts=ts, high=[10, 13, 50, 60], low=[7, 9, 40, 1], close=[8, 12, 45, 2],
                  period="week")
    np.testing.assert_allclose(out["pivot"], [np.nan, np.nan, (13 + 7 + 12) / 3, (13 + 7 + 12) / 3])


@pytest.mark.parametrize(("id_", "params"), [
    ("pivots_classic", {"period": "week"}), ("pivots_camarilla", {"period": "month"}),
    ("fib_retracement", {"left": 1, "right": 12}),
    ("sr_zones", {"left": 2, "right": 9, "lookback": 10, "min_touches": 1}),
])
def test_conforms_at_other_parameters(id_, params):
    check_indicator(indicators.get(id_), params=params)
    check_indicator(indicators.get(id_), bars=DATASETS["goog"](), params=params, cuts=(5, 100, 1000, 2000))


# --- swings (slow, obvious) -----------------------------------------------------------------------------

def swings_ref(high, low, left, right):
    """[(confirmation bar, swing bar, price, 'high' | 'low')] in confirmation order."""
    found = []
    for j in range(left, high.size - right):
        before, after = range(j - left, j), range(j + 1, j + right + 1)
        if all(high[k] < high[j] for k in before) and all(high[k] <= high[j] for k in after):
            found.append((j + right, j, high[j], "high"))
        if all(low[k] > low[j] for k in before) and all(low[k] >= low[j] for k in after):
            found.append((j + right, j, low[j], "low"))
    return found


def fib_ref(high, low, left, right):
    out = {name: np.full(high.size, np.nan) for name in FIB_RATIOS}
    last = {}
    swings = swings_ref(high, low, left, right)
    for t in range(high.size):
        for confirmed, bar, price, side in swings:
            if confirmed == t:
                last[side] = (bar, price)
        if len(last) < 2:
            continue
        (high_bar, h), (low_bar, lo) = last["high"], last["low"]
        for name, r in FIB_RATIOS.items():
            out[name][t] = h - r * (h - lo) if high_bar >= low_bar else lo + r * (h - lo)
    return out


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize(("left", "right"), [(5, 5), (2, 7), (10, 1)])
def test_fib_retracement_matches_reference(data, left, right):
    bars = DATASETS[data]()
    expected = fib_ref(bars.high, bars.low, left, right)
    ours = _run("fib_retracement", bars, left=left, right=right)
    for name, ref in expected.items():
        assert_matches(ours[name], ref, f"fib_retracement.{name} ({left}, {right}) on {data}")


def test_fib_retracement_by_hand():
    # left = right = 1. Swing high 5 at bar 1 (confirmed at bar 2), swing low 1.5 at bar 3 (confirmed at bar 4),
    # swing high 6 at bar 5 (confirmed at bar 6).
    # bars 4-5: the low came last (a swing down from 5 to 1.5): level r = 1.5 + r * 3.5 (0% = 1.5, 50% = 3.25)
    # bar 6: the high came last (a swing up from 1.5 to 6): level r = 6 - r * 4.5 (0% = 6, 50% = 3.75)
    high = [2, 5, 4, 3, 3.5, 6, 5.5]
    low = [1, 3, 2, 1.5, 1.8, 4, 3.9]
    out = _arrays("fib_retracement", high=high, low=low, left=1, right=1)
    assert all(np.isnan(v[:4]).all() for v in out.values())
    np.testing.assert_allclose(out["fib_0"][4:], [1.5, 1.5, 6.0])
    np.testing.assert_allclose(out["fib_500"][4:], [3.25, 3.25, 3.75])
    np.testing.assert_allclose(out["fib_618"][4:], [1.5 + 0.618 * 3.5, 1.5 + 0.618 * 3.5, 6 - 0.618 * 4.5])
    np.testing.assert_allclose(out["fib_1000"][4:], [5.0, 5.0, 1.5])


def test_fib_retracement_waits_right_bars_for_confirmation():
    # the same swings with right = 3: the low made at bar 3 is confirmed only at bar 6 (the high at bar 1 at bar 4)
    high = [2, 5, 4, 3, 3.5, 3.6, 3.7, 3.8]
    low = [1, 3, 2, 1.5, 1.8, 1.9, 2.0, 2.1]
    out = _arrays("fib_retracement", high=high, low=low, left=1, right=3)
    assert np.isnan(out["fib_0"][:6]).all()
    np.testing.assert_allclose(out["fib_0"][6:], [1.5, 1.5])


# --- support/resistance zones ---------------------------------------------------------------------------

def sr_ref(high, low, close, left, right, lookback, tolerance, atr_period, min_touches):
    out = np.full((close.size, 4), np.nan)
    atr = talib.ATR(high, low, close, timeperiod=atr_period)
    swings = swings_ref(high, low, left, right)
    for t in range(close.size):
        if np.isnan(atr[t]):
            continue
        tol = tolerance * atr[t]
        points = sorted(price for confirmed, bar, price, _ in swings if confirmed <= t and bar > t - lookback)
        above = [p for p in points if p > close[t]]
        while above:
            cluster = [p for p in above if p <= above[0] + tol]
            if len(cluster) >= min_touches:
                out[t, 0], out[t, 1] = cluster[-1], cluster[0]
                break
            above = above[len(cluster):]
        below = [p for p in reversed(points) if p < close[t]]
        while below:
            cluster = [p for p in below if p >= below[0] - tol]
            if len(cluster) >= min_touches:
                out[t, 2], out[t, 3] = cluster[0], cluster[-1]
                break
            below = below[len(cluster):]
    return out


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("params", [
    {}, {"left": 3, "right": 2, "lookback": 60, "tolerance": 0.25, "atr_period": 5, "min_touches": 3},
    {"left": 8, "right": 4, "lookback": 400, "tolerance": 1.5, "atr_period": 30, "min_touches": 1},
])
def test_sr_zones_match_reference(data, params):
    bars = DATASETS[data]()
    resolved = indicators.get("sr_zones").resolve(params)
    expected = sr_ref(bars.high, bars.low, bars.close, **resolved)
    ours = _run("sr_zones", bars, **params)
    for k, name in enumerate(SR_NAMES):
        assert_matches(ours[name], expected[:, k], f"sr_zones.{name} {params} on {data}")
    assert np.isfinite(ours["resistance_upper"]).mean() > 0.1
    assert (ours["resistance_lower"] > bars.close)[np.isfinite(ours["resistance_lower"])].all()
    assert (ours["support_upper"] < bars.close)[np.isfinite(ours["support_upper"])].all()


# swing highs 20 (bar 1), 20.2 (bar 3), 25 (bar 5); swing lows 10 (bar 2), 10.3 (bar 4); left = right = 1
_SR_BARS = {"high": [15, 20, 16, 20.2, 19, 25, 15.5], "low": [14, 15, 10, 12, 10.3, 11, 14.5],
            "close": [14.5, 16, 12, 19, 11, 24, 15]}


def test_sr_zones_by_hand():
    # bar 6: close 15, ATR(1) = true range = max(15.5, 24) - min(14.5, 24) = 9.5, tolerance 0.05 -> 0.475.
    # above: 20 takes 20.2 (<= 20.475) -> resistance [20, 20.2]; 25 stays alone.
    # below: 10.3 takes 10 (>= 9.825) -> support [10, 10.3].
    # bar 5: close 24, swings confirmed so far 20, 10, 20.2, 10.3; true range 25 - 11 = 14 -> tolerance 0.7:
    # nothing above; below, 20.2 takes 20 -> the old resistance is the support [20, 20.2].
    out = _arrays("sr_zones", **_SR_BARS, left=1, right=1, atr_period=1, tolerance=0.05)
    np.testing.assert_allclose([out[name][6] for name in SR_NAMES], [20.2, 20, 10.3, 10])
    np.testing.assert_allclose([out[name][5] for name in SR_NAMES], [np.nan, np.nan, 20.2, 20])
    three = _arrays("sr_zones", **_SR_BARS, left=1, right=1, atr_period=1, tolerance=0.05, min_touches=3)
    assert all(np.isnan(three[name][6]) for name in SR_NAMES)


def test_sr_zones_forget_swings_older_than_lookback():
    # 6 flat bars in front and 7 behind _SR_BARS: its swings move to bars 7 (20), 8 (10), 9 (20.2), 10 (10.3),
    # 11 (25); the flat bars make no swings and their true range is 0.4, so tolerance 1 ATR is 0.4.
    # lookback 10 keeps swing bars j > t - 10: all at bar 16, without 20 (bar 7) at bar 17, without 10 at bar 18.
    before = {"high": [14.9] * 6, "low": [13.9] * 6, "close": [14.5] * 6}
    after = {"high": [15.2] * 7, "low": [14.8] * 7, "close": [15.0] * 7}
    bars = {k: before[k] + v + after[k] for k, v in _SR_BARS.items()}
    out = _arrays("sr_zones", **bars, left=1, right=1, atr_period=1, tolerance=1.0, lookback=10)
    np.testing.assert_allclose([out[name][16] for name in SR_NAMES], [20.2, 20, 10.3, 10])
    np.testing.assert_allclose([out[name][17] for name in SR_NAMES], [np.nan, np.nan, 10.3, 10])
    assert all(np.isnan(out[name][18]) for name in SR_NAMES)
