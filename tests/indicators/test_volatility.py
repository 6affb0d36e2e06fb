"""Volatility family: TA-Lib at other parameters, slow references for the modules TA-Lib lacks, edge cases."""

import math
import statistics

import numpy as np
import pytest
import talib

from backgrid import indicators
from backgrid.errors import IndicatorError
from tests.indicators.conftest import DATASETS, assert_matches, bars_of, case_ids, check_talib_case
from tests.indicators.test_trend import NAN, assert_close, check_reference, hlc, ref_atr, run

# --- TA-Lib at parameters other than the defaults -------------------------------------------------

TALIB_CASES = [
    ("atr", {"period": 1}), ("atr", {"period": 5}), ("atr", {"period": 50}),
    ("natr", {"period": 2}), ("natr", {"period": 7}), ("natr", {"period": 30}),
    ("bbands", {"period": 5, "deviations_up": 1.5, "deviations_down": 1.5}),
    ("bbands", {"period": 10, "deviations_up": 1.0, "deviations_down": 3.0}),
    ("bbands", {"period": 50}),
    ("stddev", {"period": 2}), ("stddev", {"period": 5, "deviations": 2.0}),
    ("stddev", {"period": 100, "deviations": 0.5}),
]


@pytest.mark.parametrize(("id_", "given"), TALIB_CASES, ids=case_ids(TALIB_CASES))
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_talib_at_other_parameters(id_, given, data):
    check_talib_case(id_, given, data)


def badly_conditioned_closes(seed=9, size=4000):
    """A high price moving in small steps, with flat stretches: where sum-of-squares variance loses its digits."""
    rng = np.random.default_rng(seed)
    close = 1e5 + np.cumsum(rng.standard_normal(size)) * 0.01
    close[1000:1100] = close[1000]
    close[2500:2503] = close[2500]
    return close


@pytest.mark.parametrize("period", [2, 3, 5, 20])
def test_deviation_stays_exact_where_sums_of_squares_cancel(period):
    close = badly_conditioned_closes()
    ours = run("stddev", close, close, close, period=period)["stddev"]
    assert_matches(ours, talib.STDDEV(close, period), "stddev vs TA-Lib")
    exact = [statistics.pstdev(close[t - period + 1:t + 1]) for t in range(period - 1, close.size)]
    np.testing.assert_allclose(ours[period - 1:], exact, rtol=1e-7, atol=1e-12)
    assert (ours[1099:1100] == 0).all()  # a flat window reads exactly 0
    bands = run("bbands", close, close, close, period=period)
    for name, theirs in zip(("upper", "middle", "lower"), talib.BBANDS(close, period, 2.0, 2.0, 0), strict=True):
        assert_matches(bands[name], theirs, f"bbands.{name}")


def test_natr_refuses_period_one():
    # TA-Lib's NATR at period 1 returns the raw true range, not a percentage; we do not offer that period.
    with pytest.raises(IndicatorError, match=r"natr: parameter 'period' must be an integer in \[2, 1000\]"):
        indicators.compute("natr", bars_of("goog"), period=1)


# --- slow, obvious references ---------------------------------------------------------------------

def ref_ema(values, n):
    """EMA seeded by the mean of the first n values (TA-Lib), alpha 2/(n+1)."""
    out = [NAN] * len(values)
    if len(values) < n:
        return out
    out[n - 1] = sum(values[:n]) / n
    for i in range(n, len(values)):
        out[i] = out[i - 1] + (values[i] - out[i - 1]) * 2 / (n + 1)
    return out


def ref_bands(close, n, up, down):
    size = len(close)
    upper, middle, lower = [NAN] * size, [NAN] * size, [NAN] * size
    for t in range(n - 1, size):
        window = close[t - n + 1:t + 1]
        middle[t] = statistics.fmean(window)
        sd = statistics.pstdev(window)
        upper[t], lower[t] = middle[t] + up * sd, middle[t] - down * sd
    return upper, middle, lower


def ref_bb_width(close, n, up, down):
    upper, middle, lower = ref_bands(close, n, up, down)
    return {"bb_width": [(u - lo) / m for u, m, lo in zip(upper, middle, lower, strict=True)]}


def ref_bb_percent(close, n, up, down):
    upper, _, lower = ref_bands(close, n, up, down)
    return {"bb_percent": [(c - lo) / (u - lo) if u > lo else (0.5 if u == lo else NAN)
                           for c, u, lo in zip(close, upper, lower, strict=True)]}


def ref_keltner(high, low, close, n, atr_n, mult):
    mid, atr = ref_ema(close, n), ref_atr(high, low, close, atr_n)
    start = max(n - 1, atr_n)
    out = {k: [NAN] * len(close) for k in ("upper", "middle", "lower")}
    for t in range(start, len(close)):
        out["upper"][t], out["middle"][t], out["lower"][t] = mid[t] + mult * atr[t], mid[t], mid[t] - mult * atr[t]
    return out


def ref_donchian(high, low, n):
    out = {k: [NAN] * len(high) for k in ("upper", "middle", "lower")}
    for t in range(n - 1, len(high)):
        hi, lo = max(high[t - n + 1:t + 1]), min(low[t - n + 1:t + 1])
        out["upper"][t], out["middle"][t], out["lower"][t] = hi, (hi + lo) / 2, lo
    return out


def ref_hist_vol(close, n, per_year):
    returns = [NAN] + [math.log(close[i] / close[i - 1]) for i in range(1, len(close))]
    return {"hist_vol": [NAN] * n + [statistics.stdev(returns[t - n + 1:t + 1]) * math.sqrt(per_year) * 100
                                     for t in range(n, len(close))]}


def ref_chaikin_vol(high, low, n, r):
    smooth = ref_ema([h - lo for h, lo in zip(high, low, strict=True)], n)
    return {"chaikin_vol": [NAN] * (n - 1 + r) + [(smooth[t] - smooth[t - r]) / smooth[t - r] * 100
                                                   for t in range(n - 1 + r, len(high))]}


REFERENCES = {
    "bb_width": lambda d, *, period, deviations_up, deviations_down: ref_bb_width(d["close"], period, deviations_up,
                                                                                  deviations_down),
    "bb_percent": lambda d, *, period, deviations_up, deviations_down: ref_bb_percent(d["close"], period,
                                                                                      deviations_up, deviations_down),
    "keltner": lambda d, *, period, atr_period, multiplier: ref_keltner(d["high"], d["low"], d["close"], period,
                                                                        atr_period, multiplier),
    "donchian": lambda d, *, period: ref_donchian(d["high"], d["low"], period),
    "hist_vol": lambda d, *, period, periods_per_year: ref_hist_vol(d["close"], period, periods_per_year),
    "chaikin_vol": lambda d, *, period, roc_period: ref_chaikin_vol(d["high"], d["low"], period, roc_period),
}
REFERENCE_CASES = [
    ("bb_width", {}), ("bb_width", {"period": 7, "deviations_up": 1.0, "deviations_down": 2.5}),
    ("bb_percent", {}), ("bb_percent", {"period": 7, "deviations_up": 1.0, "deviations_down": 2.5}),
    ("keltner", {}), ("keltner", {"period": 5, "atr_period": 14, "multiplier": 1.5}),
    ("donchian", {}), ("donchian", {"period": 3}),
    ("hist_vol", {}), ("hist_vol", {"period": 5, "periods_per_year": 8760.0}),
    ("chaikin_vol", {}), ("chaikin_vol", {"period": 4, "roc_period": 7}),
]


@pytest.mark.parametrize(("id_", "given"), REFERENCE_CASES, ids=[f"{i}-{p}" for i, p in REFERENCE_CASES])
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_slow_reference(id_, given, data):
    check_reference(id_, given, data, REFERENCES[id_])


def test_width_and_percent_agree_with_the_bands():
    _, _, close = hlc("goog")
    bands = run("bbands", close, close, close, period=15, deviations_up=2.5, deviations_down=1.0)
    width = run("bb_width", close, close, close, period=15, deviations_up=2.5, deviations_down=1.0)["bb_width"]
    percent = run("bb_percent", close, close, close, period=15, deviations_up=2.5, deviations_down=1.0)["bb_percent"]
    spread = bands["upper"] - bands["lower"]
    np.testing.assert_array_equal(width, spread / bands["middle"])
    np.testing.assert_array_equal(percent, (close - bands["lower"]) / spread)


# --- small cases worked by hand -------------------------------------------------------------------

def test_donchian_by_hand():
    # period 3: highs 3 5 4 | 5 4 2 | 4 2 6 -> 5, 5, 6; lows 1 2 1 | 2 1 0 | 1 0 3 -> 1, 0, 0
    out = run("donchian", [3, 5, 4, 2, 6], [1, 2, 1, 0, 3], [2, 3, 2, 1, 5], period=3)
    assert_close(out["upper"], [NAN, NAN, 5, 5, 6])
    assert_close(out["lower"], [NAN, NAN, 1, 0, 0])
    assert_close(out["middle"], [NAN, NAN, 3, 2.5, 3])


def test_bollinger_width_and_percent_by_hand():
    close = [1.0, 3.0, 3.0, 7.0]
    # period 2: means 2, 3, 5; population deviations 1, 0, 2
    # 1 up / 1 down: bands (3, 1), (3, 3), (7, 3) -> width 2/2, 0/3, 4/5; %B 2/2, flat -> 0.5, 4/4
    out = run("bb_width", close, close, close, period=2, deviations_up=1.0, deviations_down=1.0)["bb_width"]
    assert_close(out, [NAN, 1.0, 0.0, 0.8])
    out = run("bb_percent", close, close, close, period=2, deviations_up=1.0, deviations_down=1.0)["bb_percent"]
    assert_close(out, [NAN, 1.0, 0.5, 1.0])
    # 2 up / 1 down: bands (4, 1), (3, 3), (9, 3) -> width 3/2, 0, 6/5; %B 2/3, 0.5, 4/6
    out = run("bb_width", close, close, close, period=2, deviations_up=2.0, deviations_down=1.0)["bb_width"]
    assert_close(out, [NAN, 1.5, 0.0, 1.2])
    out = run("bb_percent", close, close, close, period=2, deviations_up=2.0, deviations_down=1.0)["bb_percent"]
    assert_close(out, [NAN, 2 / 3, 0.5, 2 / 3])


def test_keltner_by_hand():
    high, low, close = [11, 13, 12, 14], [9, 11, 10, 12], [10, 12, 11, 13]
    # EMA(2): seed (10+12)/2 = 11 at bar 1; bar 2: 11 + (11-11)*2/3 = 11; bar 3: 11 + (13-11)*2/3 = 12.333..
    # ATR(1) = true range: bar1 13-10=3, bar2 12-10=2, bar3 14-11=3; multiplier 2
    out = run("keltner", high, low, close, period=2, atr_period=1, multiplier=2.0)
    assert_close(out["middle"], [NAN, 11, 11, 37 / 3])
    assert_close(out["upper"], [NAN, 17, 15, 37 / 3 + 6])
    assert_close(out["lower"], [NAN, 5, 7, 37 / 3 - 6])


def test_hist_vol_by_hand():
    close = [1.0, math.exp(0.1), math.exp(0.3), math.exp(0.2)]
    # log returns 0.1, 0.2, -0.1; period 2, 4 periods a year:
    # bar2: sample std of (0.1, 0.2) = sqrt(0.005) -> x sqrt(4) x 100 = 14.1421356
    # bar3: sample std of (0.2, -0.1) = sqrt(0.045) -> 42.4264069
    out = run("hist_vol", close, close, close, period=2, periods_per_year=4.0)["hist_vol"]
    assert_close(out, [NAN, NAN, 200 * math.sqrt(0.005), 200 * math.sqrt(0.045)])


def test_chaikin_vol_by_hand():
    high, low = [3, 5, 4, 8], [1, 1, 1, 2]
    # ranges 2 4 3 6; EMA(2): seed 3 at bar 1, bar 2: 3 + (3-3)*2/3 = 3, bar 3: 3 + (6-3)*2/3 = 5
    # change over 1 bar: bar 2: 0 %, bar 3: (5-3)/3 = 66.67 %
    out = run("chaikin_vol", high, low, low, period=2, roc_period=1)["chaikin_vol"]
    assert_close(out, [NAN, NAN, 0.0, 200 / 3])
