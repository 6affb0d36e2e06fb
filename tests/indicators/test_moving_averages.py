"""Moving averages: TA-Lib at other parameters, slow references for the modules TA-Lib lacks, edge cases."""

import math

import numpy as np
import pytest
import talib

from backgrid import indicators
from backgrid.indicators.kernels import core_nb
from tests.indicators.conftest import DATASETS, assert_matches, assert_values, case_ids, check_talib_case, columns

NAN = math.nan


def run(id_, inputs, **params):
    """Module ``id_``'s first output on array inputs."""
    return indicators.compute_arrays(id_, inputs, **params)[indicators.get(id_).outputs[0].name]


# --- TA-Lib at parameters other than the defaults -------------------------------------------------

TALIB_CASES = [
    ("sma", {"period": 2}), ("sma", {"period": 50}),
    ("ema", {"period": 3}), ("ema", {"period": 50}),
    ("wma", {"period": 2}), ("wma", {"period": 9}), ("wma", {"period": 100}),
    ("dema", {"period": 2}), ("dema", {"period": 9}), ("dema", {"period": 50}),
    ("tema", {"period": 2}), ("tema", {"period": 9}), ("tema", {"period": 30}),
    ("kama", {"period": 2}), ("kama", {"period": 21}), ("kama", {"period": 30}),
    ("t3", {"period": 2, "vfactor": 0.0}), ("t3", {"period": 8, "vfactor": 0.5}),
    ("t3", {"period": 20, "vfactor": 1.0}),
]


@pytest.mark.parametrize(("id_", "given"), TALIB_CASES, ids=case_ids(TALIB_CASES))
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_talib_at_other_parameters(id_, given, data):
    check_talib_case(id_, given, data)


def awkward_closes(seed=3, size=1500):
    """Closes with a 1e6 spike, a flat stretch and a zero: where running sums keep residue."""
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.standard_normal(size))
    close[300] = 1e6
    close[700:760] = close[700]
    close[1000] = 0.0
    return close


@pytest.mark.parametrize("period", [2, 5, 14])
def test_kama_matches_talib_through_spikes_and_flat_stretches(period):
    # TA-Lib 0.8 caps the efficiency ratio at 1 and resets the path after `period` unchanged closes;
    # without either, the spike's residue alone moves KAMA by 1e-9 relative.
    close = awkward_closes()
    assert_matches(run("kama", {"close": close}, period=period), talib.KAMA(close, period), "kama")


@pytest.mark.parametrize(("id_", "func"), [("dema", talib.DEMA), ("tema", talib.TEMA), ("t3", talib.T3)])
def test_ema_chains_match_talib_through_spikes(id_, func):
    close = awkward_closes()
    assert_matches(run(id_, {"close": close}, period=4), func(close, 4), id_)


def test_chains_equal_chained_emas_and_skip_leading_nans():
    close = columns("goog")["close"]
    e1 = core_nb.ema_nb(close, 7)
    e2 = core_nb.ema_nb(e1, 7)
    e3 = core_nb.ema_nb(e2, 7)
    np.testing.assert_allclose(run("dema", {"close": close}, period=7), 2 * e1 - e2, rtol=1e-12)
    np.testing.assert_allclose(run("tema", {"close": close}, period=7), 3 * e1 - 3 * e2 + e3, rtol=1e-12)
    # vfactor 0 leaves T3 = the third EMA of the chain (still reported after all six are seeded)
    np.testing.assert_allclose(run("t3", {"close": close}, period=7, vfactor=0.0)[36:], e3[36:], rtol=1e-12)
    # an input that starts with NaNs (another indicator's warm-up) starts the chain at its first value
    padded = np.r_[np.full(5, NAN), close]
    for id_ in ("dema", "tema", "t3", "kama", "hma", "zlema"):
        np.testing.assert_array_equal(run(id_, {"close": padded})[5:], run(id_, {"close": close}), err_msg=id_)


def test_kama_hand_case():
    # period 2: er = |x[t] - x[t-2]| / (|x[t] - x[t-1]| + |x[t-1] - x[t-2]|); sc = (er * (2/3 - 2/31) + 2/31)^2.
    # x = 1, 2, 3, 2: KAMA starts from x[1] = 2. t=2: er = 2/2 = 1 -> sc = (2/3)^2 = 4/9, kama = 2 + 4/9 = 22/9.
    # t=3: change 0 -> er 0 -> sc = (2/31)^2 = 4/961, kama = 22/9 + 4/961 * (2 - 22/9) = 22/9 - 16/8649.
    assert_values(run("kama", {"close": np.array([1.0, 2.0, 3.0, 2.0])}, period=2),
                  [NAN, NAN, 22 / 9, 22 / 9 - 16 / 8649])


# --- slow references for the modules without a TA-Lib twin ----------------------------------------

def ref_wma(values, n):
    """Linearly weighted average, newest weight n; NaN until n values (NaNs in, NaNs out)."""
    out = [NAN] * len(values)
    for t in range(n - 1, len(values)):
        window = values[t - n + 1:t + 1]
        if not any(math.isnan(v) for v in window):
            out[t] = sum((k + 1) * v for k, v in enumerate(window)) / (n * (n + 1) / 2)
    return out


def ref_hma(values, n):
    half = ref_wma(values, n // 2)
    full = ref_wma(values, n)
    diff = [2 * a - b for a, b in zip(half, full, strict=True)]
    return ref_wma(diff, math.isqrt(n))


def ref_ema_seeded(values, n, alpha):
    """EMA with factor ``alpha`` seeded by the mean of its first n values, after any leading NaNs."""
    out = [NAN] * len(values)
    first = next(i for i, v in enumerate(values) if not math.isnan(v))
    if len(values) - first < n:
        return out
    prev = sum(values[first:first + n]) / n
    out[first + n - 1] = prev
    for t in range(first + n, len(values)):
        prev += alpha * (values[t] - prev)
        out[t] = prev
    return out


def ref_zlema(values, n):
    lag = (n - 1) // 2
    adjusted = [NAN] * lag + [values[t] + (values[t] - values[t - lag]) for t in range(lag, len(values))]
    return ref_ema_seeded(adjusted, n, 2 / (n + 1))


def ref_vwma(close, volume, n):
    out = [NAN] * len(close)
    for t in range(n - 1, len(close)):
        c, v = close[t - n + 1:t + 1], volume[t - n + 1:t + 1]
        out[t] = sum(a * b for a, b in zip(c, v, strict=True)) / sum(v) if sum(v) > 0 else sum(c) / n
    return out


def ref_smma(values, n):
    return ref_ema_seeded(values, n, 1 / n)


REFERENCES = {
    "hma": lambda cols, n: ref_hma(list(cols["close"]), n),
    "zlema": lambda cols, n: ref_zlema(list(cols["close"]), n),
    "vwma": lambda cols, n: ref_vwma(list(cols["close"]), list(cols["volume"]), n),
    "smma": lambda cols, n: ref_smma(list(cols["close"]), n),
}


@pytest.mark.parametrize("id_", sorted(REFERENCES))
@pytest.mark.parametrize("period", [2, 9, 20])
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_slow_reference(id_, period, data):
    cols = columns(data)
    assert_matches(run(id_, cols, period=period), np.array(REFERENCES[id_](cols, period)), f"{id_} on {data}")


TALIB_08 = {"hma": "HMA", "zlema": "ZLEMA", "vwma": "VWMA", "smma": "RMA"}


@pytest.mark.parametrize("id_", sorted(TALIB_08))
def test_agrees_with_newer_talib_where_it_has_the_function(id_):
    # TA-Lib 0.8 added HMA, ZLEMA, VWMA and RMA; the project pins ta-lib>=0.6, so these are not TalibRefs.
    func = getattr(talib, TALIB_08[id_], None)
    if func is None:
        pytest.skip(f"this TA-Lib has no {TALIB_08[id_]}")
    cols = columns("random")
    for period in (3, 14, 30):
        args = (cols["close"], cols["volume"]) if id_ == "vwma" else (cols["close"],)
        assert_matches(run(id_, cols, period=period), func(*args, timeperiod=period), f"{id_} {period}")


def test_hma_has_no_lag_on_a_straight_line():
    # period 4: WMA(2) of a line lags 1/3, WMA(4) lags (3*1 + 2*2 + 1*3) / 10 = 1; 2*WMA2 - WMA4 leads by 1/3
    # and WMA(isqrt(4) = 2) of that lags 1/3 again: the Hull average is the line itself from bar 4 + 2 - 2 = 4.
    assert_values(run("hma", {"close": np.arange(1.0, 8.0)}, period=4), [NAN] * 4 + [5.0, 6.0, 7.0])
    assert indicators.get("hma").warmup_bars({"period": 16}) == 16 + 4 - 2


def test_zlema_hand_case():
    # period 3: lag 1, alpha 1/2; adjusted = 2 x[t] - x[t-1] = 3, 6, 12, 24 from bar 1;
    # seed = mean(3, 6, 12) = 7 at bar 3; bar 4: 7 + (24 - 7) / 2 = 15.5.
    assert_values(run("zlema", {"close": np.array([1.0, 2.0, 4.0, 8.0, 16.0])}, period=3),
                  [NAN, NAN, NAN, 7.0, 15.5])


def test_vwma_hand_case_and_windows_without_volume():
    # period 2: bar 1 (10*1 + 20*3) / 4 = 17.5; bar 2 (20*3 + 30*0) / 3 = 20.
    assert_values(run("vwma", {"close": np.array([10.0, 20.0, 30.0]), "volume": np.array([1.0, 3.0, 0.0])},
                      period=2), [NAN, 17.5, 20.0])
    # a window with no volume at all has no weights: the plain average (25, 35), not 0/0
    assert_values(run("vwma", {"close": np.array([10.0, 20.0, 30.0, 40.0, 50.0]),
                               "volume": np.array([1.0, 0.0, 0.0, 0.0, 2.0])}, period=2),
                  [NAN, 10.0, 25.0, 35.0, 50.0])


def test_smma_hand_case():
    # period 3: seed mean(3, 6, 9) = 6 at bar 2; bar 3: 6 + (12 - 6) / 3 = 8.
    assert_values(run("smma", {"close": np.array([3.0, 6.0, 9.0, 12.0])}, period=3), [NAN, NAN, 6.0, 8.0])


def test_warmups_follow_the_chains():
    assert indicators.get("dema").warmup_bars({"period": 10}) == 18
    assert indicators.get("tema").warmup_bars({"period": 10}) == 27
    assert indicators.get("t3").warmup_bars({"period": 10, "vfactor": 0.3}) == 54
    assert indicators.get("kama").warmup_bars({"period": 10}) == 10
    assert indicators.get("zlema").warmup_bars({"period": 10}) == 4 + 9
