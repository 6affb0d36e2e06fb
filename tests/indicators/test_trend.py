"""Trend family: TA-Lib at other parameters, slow references for the modules TA-Lib lacks, causal details."""

import math

import numpy as np
import pytest
import talib

from backgrid import indicators
from tests.indicators.conftest import DATASETS, assert_matches, bars_of, case_ids, check_talib_case

NAN = math.nan


def hlc_of(bars):
    return bars.column("high"), bars.column("low"), bars.column("close")


def hlc(name):
    return hlc_of(bars_of(name))


def run(id_, high, low, close, **params):
    return indicators.compute_arrays(id_, {"high": np.asarray(high, float), "low": np.asarray(low, float),
                                           "close": np.asarray(close, float)}, **params)


def assert_close(ours, expected, label=""):
    np.testing.assert_allclose(ours, np.asarray(expected, float), rtol=1e-9, atol=1e-9, equal_nan=True,
                               err_msg=label)


# --- TA-Lib at parameters other than the defaults -------------------------------------------------

TALIB_CASES = [
    ("adx", {"period": 2}), ("adx", {"period": 7}), ("adx", {"period": 30}),
    ("dmi", {"period": 2}), ("dmi", {"period": 9}), ("dmi", {"period": 40}),
    ("aroon", {"period": 2}), ("aroon", {"period": 25}), ("aroon", {"period": 60}),
    ("aroon_osc", {"period": 3}), ("aroon_osc", {"period": 25}),
    ("psar", {"acceleration": 0.01, "maximum": 0.1}), ("psar", {"acceleration": 0.05, "maximum": 0.5}),
    ("psar", {"acceleration": 0.3, "maximum": 0.2}),  # TA-Lib caps the acceleration at the maximum
    ("linreg_slope", {"period": 2}), ("linreg_slope", {"period": 9}), ("linreg_slope", {"period": 120}),
]


@pytest.mark.parametrize(("id_", "given"), TALIB_CASES, ids=case_ids(TALIB_CASES))
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_talib_at_other_parameters(id_, given, data):
    ours, params = check_talib_case(id_, given, data)
    if id_ == "dmi":  # the spec names PLUS_DI; MINUS_DI is the same system's other half
        assert_matches(ours["minus_di"].to_numpy(), talib.MINUS_DI(*hlc(data), timeperiod=params["period"]),
                       f"dmi.minus_di {given} on {data}")


def awkward_bars(seed=5, size=3000):
    """Bars quoted in ticks (many equal highs and lows) with flat stretches (zero true range)."""
    rng = np.random.default_rng(seed)
    close = np.round(100 + np.cumsum(rng.standard_normal(size)) * 0.5, 1)
    high = close + np.round(np.abs(rng.standard_normal(size)) * 0.3, 1)
    low = close - np.round(np.abs(rng.standard_normal(size)) * 0.3, 1)
    for a, b in ((500, 540), (1500, 1503)):
        high[a:b] = low[a:b] = close[a:b] = close[a]
    return high, low, close


@pytest.mark.parametrize("period", [2, 5, 14])
def test_ties_and_flat_stretches_match_talib(period):
    high, low, close = awkward_bars()
    adx = run("adx", high, low, close, period=period)["adx"]
    dmi = run("dmi", high, low, close, period=period)
    assert_matches(adx, talib.ADX(high, low, close, period), "adx")
    assert_matches(dmi["plus_di"], talib.PLUS_DI(high, low, close, period), "plus_di")
    assert_matches(dmi["minus_di"], talib.MINUS_DI(high, low, close, period), "minus_di")
    down, up = talib.AROON(high, low, period)
    aroon = run("aroon", high, low, close, period=period)
    assert_matches(aroon["up"], up, "aroon up")
    assert_matches(aroon["down"], down, "aroon down")
    assert_matches(run("aroon_osc", high, low, close, period=period)["aroon_osc"], talib.AROONOSC(high, low, period),
                   "aroon_osc")
    assert_matches(run("psar", high, low, close)["sar"], talib.SAR(high, low), "sar")
    assert_matches(run("linreg_slope", high, low, close, period=period)["linreg_slope"],
                   talib.LINEARREG_SLOPE(close, period), "slope")


def test_linreg_slope_of_a_line_and_after_a_spike_leaves():
    close = 3.0 + 0.5 * np.arange(200)
    assert_close(run("linreg_slope", close, close, close, period=10)["linreg_slope"][9:], np.full(191, 0.5))
    spiked = close.copy()
    spiked[50] = 1e9  # the running sums are rebuilt when it leaves, so no residue remains
    slope = run("linreg_slope", spiked, spiked, spiked, period=10)["linreg_slope"]
    assert_close(slope[60:], np.full(140, 0.5))
    assert_matches(slope, talib.LINEARREG_SLOPE(spiked, 10), "spike")


def test_psar_direction_says_which_side_the_stop_is_on():
    high, low, _ = hlc("goog")
    out = run("psar", high, low, low)
    sar, direction = out["sar"][1:], out["direction"][1:]
    assert set(np.unique(direction)) == {-1.0, 1.0}
    assert (sar[direction > 0] <= low[1:][direction > 0]).all()
    assert (sar[direction < 0] >= high[1:][direction < 0]).all()


# --- slow, obvious references ---------------------------------------------------------------------

def ref_true_range(high, low, close):
    return [NAN] + [max(high[i], close[i - 1]) - min(low[i], close[i - 1]) for i in range(1, len(close))]


def ref_atr(high, low, close, n):
    """Wilder's ATR as TA-Lib seeds it: the mean of the first n true ranges at bar n, then (prev*(n-1)+tr)/n."""
    tr = ref_true_range(high, low, close)
    out = [NAN] * len(close)
    if len(close) <= n:
        return out
    out[n] = sum(tr[1:n + 1]) / n
    for i in range(n + 1, len(close)):
        out[i] = (out[i - 1] * (n - 1) + tr[i]) / n
    return out


def ref_midpoint(high, low, t, n):
    return (max(high[t - n + 1:t + 1]) + min(low[t - n + 1:t + 1])) / 2 if t >= n - 1 else NAN


def ref_ichimoku(high, low, close, tenkan, kijun, senkou_b, d):
    size = len(close)
    start = max(tenkan, kijun, d + max(tenkan, kijun), d + senkou_b) - 1
    out = {k: [NAN] * size for k in ("tenkan", "kijun", "senkou_a", "senkou_b", "chikou")}
    for t in range(start, size):
        out["tenkan"][t] = ref_midpoint(high, low, t, tenkan)
        out["kijun"][t] = ref_midpoint(high, low, t, kijun)
        s = t - d  # the bar that projected the cloud now in force
        out["senkou_a"][t] = (ref_midpoint(high, low, s, tenkan) + ref_midpoint(high, low, s, kijun)) / 2
        out["senkou_b"][t] = ref_midpoint(high, low, s, senkou_b)
        out["chikou"][t] = close[t]
    return out


def ref_supertrend(high, low, close, n, mult):
    atr = ref_atr(high, low, close, n)
    size = len(close)
    out = {k: [NAN] * size for k in ("supertrend", "direction", "upper", "lower")}
    up = lo = NAN
    trend = -1
    for t in range(n, size):
        mid = (high[t] + low[t]) / 2
        basic_up, basic_lo = mid + mult * atr[t], mid - mult * atr[t]
        if t == n:
            up, lo = basic_up, basic_lo
        else:
            lo = basic_lo if basic_lo > lo or close[t - 1] < lo else lo
            up = basic_up if basic_up < up or close[t - 1] > up else up
            if trend == -1 and close[t] > up:
                trend = 1
            elif trend == 1 and close[t] < lo:
                trend = -1
        out["direction"][t] = trend
        out["supertrend"][t] = lo if trend == 1 else up
        out["lower" if trend == 1 else "upper"][t] = out["supertrend"][t]
    return out


def ref_vortex(high, low, close, n):
    size = len(close)
    tr = ref_true_range(high, low, close)
    plus, minus = [NAN] * size, [NAN] * size
    for t in range(n, size):
        bars = range(t - n + 1, t + 1)
        total = sum(tr[i] for i in bars)
        plus[t] = sum(abs(high[i] - low[i - 1]) for i in bars) / total if total > 0 else 0.0
        minus[t] = sum(abs(low[i] - high[i - 1]) for i in bars) / total if total > 0 else 0.0
    return {"vi_plus": plus, "vi_minus": minus}


def ref_choppiness(high, low, close, n):
    tr = ref_true_range(high, low, close)
    out = [NAN] * len(close)
    for t in range(n, len(close)):
        span = max(high[t - n + 1:t + 1]) - min(low[t - n + 1:t + 1])
        out[t] = 100 * math.log10(sum(tr[t - n + 1:t + 1]) / span) / math.log10(n) if span > 0 else 100.0
    return out


def ichimoku_reference(data, *, tenkan_period, kijun_period, senkou_b_period, displacement):
    return ref_ichimoku(data["high"], data["low"], data["close"], tenkan_period, kijun_period, senkou_b_period,
                        displacement)


REFERENCES = {
    "ichimoku": ichimoku_reference,
    "supertrend": lambda d, *, period, multiplier: ref_supertrend(d["high"], d["low"], d["close"], period, multiplier),
    "vortex": lambda d, *, period: ref_vortex(d["high"], d["low"], d["close"], period),
    "choppiness": lambda d, *, period: {"choppiness": ref_choppiness(d["high"], d["low"], d["close"], period)},
}
REFERENCE_CASES = [
    ("ichimoku", {}),
    ("ichimoku", {"tenkan_period": 5, "kijun_period": 12, "senkou_b_period": 30, "displacement": 3}),
    ("supertrend", {}), ("supertrend", {"period": 3, "multiplier": 1.5}),
    ("vortex", {}), ("vortex", {"period": 5}),
    ("choppiness", {}), ("choppiness", {"period": 30}),
]


def check_reference(id_, given, data, reference):
    """Compare module ``id_`` with ``reference(columns as lists, **all parameters)`` on a data set."""
    bars = bars_of(data)
    params = indicators.get(id_).resolve(given)
    ours = indicators.compute(id_, bars, **params)
    columns = {c: bars.column(c).tolist() for c in ("high", "low", "close")}
    for name, values in reference(columns, **params).items():
        assert_matches(ours[name].to_numpy(), np.asarray(values, float), f"{id_}.{name} {given} on {data}")


@pytest.mark.parametrize(("id_", "given"), REFERENCE_CASES, ids=[f"{i}-{p}" for i, p in REFERENCE_CASES])
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_slow_reference(id_, given, data):
    check_reference(id_, given, data, REFERENCES[id_])


# --- small cases worked by hand -------------------------------------------------------------------

# high, low, close of five bars used by the hand cases below.
H5 = [10.0, 12.0, 11.0, 14.0, 13.0]
L5 = [8.0, 9.0, 9.0, 10.0, 11.0]
C5 = [9.0, 11.0, 10.0, 12.0, 12.5]


def test_vortex_by_hand():
    # |high - previous low|:  bar1 |12-8|=4, bar2 |11-9|=2, bar3 |14-9|=5, bar4 |13-10|=3
    # |low - previous high|:  bar1 |9-10|=1, bar2 |9-12|=3, bar3 |10-11|=1, bar4 |11-14|=3
    # true range:             bar1 12-9=3,  bar2 11-9=2,  bar3 14-10=4, bar4 13-11=2
    # period 2 -> bar2: (4+2)/(3+2)=1.2, (1+3)/5=0.8; bar3: 7/6, 4/6; bar4: 8/6, 4/6
    out = run("vortex", H5, L5, C5, period=2)
    assert_close(out["vi_plus"], [NAN, NAN, 1.2, 7 / 6, 8 / 6])
    assert_close(out["vi_minus"], [NAN, NAN, 0.8, 4 / 6, 4 / 6])


def test_choppiness_by_hand():
    # true ranges as above; period 2:
    # bar2: sum 3+2=5 over range max(12,11)-min(9,9)=3 -> 100*log10(5/3)/log10(2) = 73.6965594
    # bar3: sum 2+4=6 over 14-9=5 -> 100*log10(1.2)/log10(2) = 26.3034406
    # bar4: sum 4+2=6 over 14-10=4 -> 100*log10(1.5)/log10(2) = 58.4962501
    out = run("choppiness", H5, L5, C5, period=2)["choppiness"]
    assert_close(out, [NAN, NAN, 73.69655941662061, 26.303440583379377, 58.49625007211562])
    flat = run("choppiness", [5.0] * 4, [5.0] * 4, [5.0] * 4, period=2)["choppiness"]
    assert_close(flat, [NAN, NAN, 100.0, 100.0])  # no range at all reads as fully sideways


def test_supertrend_by_hand():
    high = [10, 11, 13, 12.5, 10.5]
    low = [9, 10, 12, 11, 9]
    close = [9.5, 10.5, 12.8, 11.2, 9.2]
    # period 1, multiplier 1: the ATR is the true range: bar1 1.5, bar2 2.5, bar3 1.8, bar4 2.2
    # bar1: mid 10.5, bands 12 / 9; starts down -> supertrend = upper 12
    # bar2: mid 12.5, basic 15 / 10; lower rises to 10; upper stays 12 (15 > 12, close 10.5 < 12);
    #       close 12.8 > 12 -> up, supertrend = lower 10
    # bar3: mid 11.75, basic 13.55 / 9.95; lower stays 10; previous close 12.8 > 12 resets upper to 13.55;
    #       close 11.2 >= 10 -> still up
    # bar4: mid 9.75, basic 11.95 / 7.55; lower stays 10; upper falls to 11.95; close 9.2 < 10 -> down
    out = run("supertrend", high, low, close, period=1, multiplier=1.0)
    assert_close(out["supertrend"], [NAN, 12, 10, 10, 11.95])
    assert_close(out["direction"], [NAN, -1, 1, 1, -1])
    assert_close(out["upper"], [NAN, 12, NAN, NAN, 11.95])
    assert_close(out["lower"], [NAN, NAN, 10, 10, NAN])


def test_ichimoku_by_hand():
    high = [5.0, 6.0, 7.0, 4.0, 8.0]
    low = [1.0, 2.0, 3.0, 2.0, 4.0]
    close = [3.0, 4.0, 5.0, 3.5, 7.0]
    # periods 1 / 2 / 3, displacement 1: warm-up max(1, 2, 1+2, 1+3) - 1 = 3
    # tenkan(1) = (h+l)/2 = 3, 4, 5, 3, 6;  kijun(2) = _, 3.5, 4.5, 4.5, 5;  span-B line(3) = _, _, 4, 4.5, 5
    # bar3: span A from bar 2 = (5+4.5)/2 = 4.75, span B = 4;  bar4: span A = (3+4.5)/2 = 3.75, span B = 4.5
    out = run("ichimoku", high, low, close, tenkan_period=1, kijun_period=2, senkou_b_period=3, displacement=1)
    assert_close(out["tenkan"], [NAN, NAN, NAN, 3, 6])
    assert_close(out["kijun"], [NAN, NAN, NAN, 4.5, 5])
    assert_close(out["senkou_a"], [NAN, NAN, NAN, 4.75, 3.75])
    assert_close(out["senkou_b"], [NAN, NAN, NAN, 4, 4.5])
    assert_close(out["chikou"], [NAN, NAN, NAN, 3.5, 7])


def test_ichimoku_cloud_is_the_one_projected_displacement_bars_earlier():
    high, low, close = hlc("goog")
    full = run("ichimoku", high, low, close)
    for t in (200, 777, 2000):
        cut = run("ichimoku", high[:t + 1], low[:t + 1], close[:t + 1])  # knows nothing after bar t
        assert full["senkou_a"][t + 26] == (cut["tenkan"][t] + cut["kijun"][t]) / 2
        assert full["senkou_b"][t + 26] == ref_midpoint(high, low, t, 52)
    np.testing.assert_array_equal(full["chikou"][77:], close[77:])


def test_supertrend_bands_follow_the_direction():
    high, low, close = hlc("random")
    out = run("supertrend", high, low, close)
    up = out["direction"] == 1
    down = out["direction"] == -1
    assert up.sum() > 100
    assert down.sum() > 100
    np.testing.assert_array_equal(out["supertrend"][up], out["lower"][up])
    np.testing.assert_array_equal(out["supertrend"][down], out["upper"][down])
    assert np.isnan(out["upper"][up]).all()
    assert np.isnan(out["lower"][down]).all()
    assert (close[up] >= out["lower"][up]).all()
    assert (close[down] <= out["upper"][down]).all()
