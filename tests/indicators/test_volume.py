"""Volume family: TA-Lib at non-default parameters, slow references, hand-worked cases, session anchoring."""

import math

import numpy as np
import pytest

from backgrid import indicators
from backgrid.data.bars import Bars
from backgrid.data.calendar import get_calendar
from backgrid.testing import check_indicator, random_bars
from tests.indicators.conftest import DATASETS, assert_matches, reference_period_keys, talib_outputs

HOUR = 3_600_000_000_000


def _run(id_, bars, **params):
    return {k: v.to_numpy() for k, v in indicators.compute(id_, bars, **params).items()}


def _arrays(id_, ts=None, calendar="crypto", **columns_and_params):
    names = ("open", "high", "low", "close", "volume")
    columns = {k: np.asarray(v, dtype=float) for k, v in columns_and_params.items() if k in names}
    params = {k: v for k, v in columns_and_params.items() if k not in names}
    if ts is not None:
        columns |= {"ts": np.asarray(ts, dtype=np.int64), "calendar": get_calendar(calendar)}
    return indicators.compute_arrays(id_, columns, **params)


def _flat_bars():
    """Random bars with repeated closes, zero-range bars and zero-volume bars (edge cases for the sums)."""
    bars = random_bars(400, seed=3)
    close = np.round(bars.close, 0)
    high = np.maximum(np.round(bars.high, 0), close)
    low = np.minimum(np.round(bars.low, 0), close)
    low[::7] = high[::7] = close[::7]
    volume = bars.volume.copy()
    volume[::11] = 0.0
    return Bars(bars.symbol, bars.timeframe, bars.ts, bars.open, high, low, close, volume, calendar=bars.calendar)


# --- TA-Lib ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [*sorted(DATASETS), "flat"])
@pytest.mark.parametrize(("id_", "params"), [
    ("obv", {}), ("ad", {}), ("adosc", {"fast": 2, "slow": 5}), ("adosc", {"fast": 5, "slow": 21}),
    ("adosc", {"fast": 12, "slow": 4}),
])
def test_matches_talib(id_, params, data):
    bars = _flat_bars() if data == "flat" else DATASETS[data]()
    spec = indicators.get(id_)
    ours = _run(id_, bars, **params)
    for name, theirs in talib_outputs(spec, bars, spec.resolve(params)).items():
        assert_matches(ours[name], theirs, f"{id_}{params}.{name} on {data}")
    assert np.isnan(ours[spec.outputs[0].name]).sum() == spec.warmup_bars(params)


# --- slow references ------------------------------------------------------------------------------------

def _money_flow(h, lo, c, v):
    return ((c - lo) - (h - c)) / (h - lo) * v if h > lo else 0.0


def cmf_ref(high, low, close, volume, period):
    out = np.full(close.size, np.nan)
    for t in range(period - 1, close.size):
        window = range(t - period + 1, t + 1)
        flow = sum(_money_flow(high[i], low[i], close[i], volume[i]) for i in window)
        total = sum(volume[i] for i in window)
        out[t] = flow / total if total else 0.0
    return out


def vwap_ref(bars, anchor):
    keys = reference_period_keys(bars, anchor)
    price = (bars.high + bars.low + bars.close) / 3.0
    vwap = np.empty(len(bars))
    std = np.empty(len(bars))
    start = 0
    for t in range(len(bars)):
        if keys[t] != keys[start]:
            start = t
        x, w = price[start:t + 1], bars.volume[start:t + 1]
        if w.sum() == 0:
            vwap[t], std[t] = price[t], 0.0
        else:
            vwap[t] = (w * x).sum() / w.sum()
            std[t] = math.sqrt((w * (x - vwap[t]) ** 2).sum() / w.sum())
    return vwap, std


def volume_profile_ref(high, low, close, volume, period, bins, value_area):
    n = close.size
    poc, vah, val = (np.full(n, np.nan) for _ in range(3))
    for t in range(period - 1, n):
        window = range(t - period + 1, t + 1)
        lo = min(low[i] for i in window)
        hi = max(high[i] for i in window)
        width = (hi - lo) / bins
        hist = [0.0] * bins
        for i in window:
            price = (high[i] + low[i] + close[i]) / 3.0
            k = min(int((price - lo) * (bins / (hi - lo))), bins - 1) if hi > lo else 0
            hist[k] += volume[i]
        best = hist.index(max(hist))
        target = value_area / 100.0 * sum(volume[i] for i in window)
        area, below, above = hist[best], best, best
        while area < target and (below > 0 or above < bins - 1):
            up = hist[above + 1] if above < bins - 1 else -1.0
            down = hist[below - 1] if below > 0 else -1.0
            if up >= down:
                above, area = above + 1, area + up
            else:
                below, area = below - 1, area + down
        poc[t], vah[t], val[t] = lo + (best + 0.5) * width, lo + (above + 1) * width, lo + below * width
    return poc, vah, val


def _ema_ref(values, period):
    """SMA-seeded EMA of ``values[1:]`` (``values[0]`` is undefined)."""
    out = np.full(values.size, np.nan)
    if values.size <= period:
        return out
    out[period] = sum(values[1:period + 1]) / period
    alpha = 2.0 / (period + 1)
    for t in range(period + 1, values.size):
        out[t] = out[t - 1] + alpha * (values[t] - out[t - 1])
    return out


def force_index_ref(close, volume, period):
    raw = np.array([np.nan] + [(close[t] - close[t - 1]) * volume[t] for t in range(1, close.size)])
    return _ema_ref(raw, period)


def eom_ref(high, low, volume, period, scale):
    raw = [np.nan]
    for t in range(1, high.size):
        move = (high[t] + low[t]) / 2 - (high[t - 1] + low[t - 1]) / 2
        box = volume[t] / scale / (high[t] - low[t]) if high[t] > low[t] else 0.0
        raw.append(move / box if box else 0.0)
    out = np.full(high.size, np.nan)
    for t in range(period, high.size):
        out[t] = sum(raw[t - period + 1:t + 1]) / period
    return out


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("period", [20, 5])
def test_cmf_matches_reference(data, period):
    bars = DATASETS[data]()
    expected = cmf_ref(bars.high, bars.low, bars.close, bars.volume, period)
    assert_matches(_run("cmf", bars, period=period)["cmf"], expected, f"cmf({period}) on {data}")


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("anchor", ["session", "week", "month"])
def test_vwap_matches_reference(data, anchor):
    bars = DATASETS[data]()
    line, std = vwap_ref(bars, anchor)
    ours = _run("vwap", bars, anchor=anchor, band_stdev=2.0)
    assert_matches(ours["vwap"], line, f"vwap {anchor} on {data}")
    assert_matches(ours["upper"], line + 2.0 * std, f"vwap upper {anchor} on {data}")
    assert_matches(ours["lower"], line - 2.0 * std, f"vwap lower {anchor} on {data}")


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize(("period", "bins", "value_area"), [(100, 24, 70.0), (30, 7, 55.0), (250, 60, 100.0)])
def test_volume_profile_matches_reference(data, period, bins, value_area):
    bars = DATASETS[data]()
    expected = volume_profile_ref(bars.high, bars.low, bars.close, bars.volume, period, bins, value_area)
    ours = _run("volume_profile", bars, period=period, bins=bins, value_area=value_area)
    for name, ref in zip(("poc", "vah", "val"), expected, strict=True):
        assert_matches(ours[name], ref, f"volume_profile.{name} on {data}")
    assert (ours["val"][period:] <= ours["poc"][period:]).all()
    assert (ours["poc"][period:] <= ours["vah"][period:]).all()


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("period", [13, 2, 40])
def test_force_index_matches_reference(data, period):
    bars = DATASETS[data]()
    expected = force_index_ref(bars.close, bars.volume, period)
    assert_matches(_run("force_index", bars, period=period)["force_index"], expected, f"force_index on {data}")


@pytest.mark.parametrize("data", [*sorted(DATASETS), "flat"])
@pytest.mark.parametrize(("period", "scale"), [(14, 1e6), (3, 1e4)])
def test_eom_matches_reference(data, period, scale):
    bars = _flat_bars() if data == "flat" else DATASETS[data]()
    expected = eom_ref(bars.high, bars.low, bars.volume, period, scale)
    assert_matches(_run("eom", bars, period=period, scale=scale)["eom"], expected, f"eom on {data}")


@pytest.mark.parametrize(("id_", "params"), [
    ("vwap", {"anchor": "week", "bands": False}), ("vwap", {"anchor": "month", "band_stdev": 2.5}),
    ("volume_profile", {"period": 20, "bins": 5, "value_area": 100.0}), ("eom", {"period": 1, "scale": 1.0}),
])
def test_conforms_at_other_parameters(id_, params):
    check_indicator(indicators.get(id_), params=params)
    check_indicator(indicators.get(id_), bars=DATASETS["goog"](), params=params, cuts=(5, 100, 1000, 2000))


# --- hand-worked cases ----------------------------------------------------------------------------------

def test_cmf_by_hand():
    # money-flow multipliers: ((9.5-8) - (10-9.5)) / 2 = 0.5 -> +50; (0 - 2) / 2 = -1 -> -200; no range -> 0
    # CMF(2): bar 1 (50 - 200) / 300 = -0.5; bar 2 (-200 + 0) / 500 = -0.4
    out = _arrays("cmf", high=[10, 11, 10], low=[8, 9, 10], close=[9.5, 9, 10], volume=[100, 200, 300], period=2)
    np.testing.assert_allclose(out["cmf"], [np.nan, -0.5, -0.4])


def test_vwap_by_hand_resets_each_session():
    # typical prices 10, 12 (same UTC day) then 20 (next day); volumes 100, 300, 50
    # bar 1: (10*100 + 12*300) / 400 = 11.5; variance (100*1.5² + 300*0.5²) / 400 = 0.75
    # bar 2: a new session starts, VWAP = its own typical price, deviation 0
    ts = np.array([0, HOUR, 24 * HOUR]) + np.datetime64("2024-01-01", "ns").astype(np.int64)
    out = _arrays("vwap", ts=ts, high=[11, 13, 21], low=[9, 11, 19], close=[10, 12, 20], volume=[100, 300, 50],
                  band_stdev=2.0)
    np.testing.assert_allclose(out["vwap"], [10, 11.5, 20])
    np.testing.assert_allclose(out["upper"], [10, 11.5 + 2 * math.sqrt(0.75), 20])
    np.testing.assert_allclose(out["lower"], [10, 11.5 - 2 * math.sqrt(0.75), 20])
    off = _arrays("vwap", ts=ts, high=[11, 13, 21], low=[9, 11, 19], close=[10, 12, 20], volume=[100, 300, 50],
                  bands=False)
    assert np.isnan(off["upper"]).all()
    assert np.isnan(off["lower"]).all()
    np.testing.assert_allclose(off["vwap"], [10, 11.5, 20])


def test_vwap_without_volume_yet_is_the_typical_price():
    ts = np.arange(3) * HOUR
    out = _arrays("vwap", ts=ts, high=[11, 13, 21], low=[9, 11, 19], close=[10, 12, 20], volume=[0, 0, 10])
    np.testing.assert_allclose(out["vwap"], [10, 12, 20])
    np.testing.assert_allclose(out["upper"] - out["lower"], [0, 0, 0])


def test_vwap_sessions_follow_the_market_time_zone():
    # us-equity: the session is the New York date, so 03:00 UTC still belongs to the previous session
    start = np.datetime64("2024-03-04T15:00", "ns").astype(np.int64)  # 10:00 in New York
    ts = start + np.array([0, 3, 12, 24]) * HOUR  # 10:00, 13:00, 22:00 (03:00 UTC next day), next day 10:00
    out = _arrays("vwap", ts=ts, calendar="us-equity", high=[10, 20, 30, 40], low=[10, 20, 30, 40],
                  close=[10, 20, 30, 40], volume=[1, 1, 1, 1])
    np.testing.assert_allclose(out["vwap"], [10, 15, 20, 40])


def test_volume_profile_with_fractional_volumes_matches_reference():
    # the histogram is updated bar by bar while the window's range holds: with fractional volumes the sums can
    # differ from fresh ones in the last bits, which must not move any level
    bars = random_bars(3000, seed=7)
    volume = bars.volume * 0.0731
    expected = volume_profile_ref(bars.high, bars.low, bars.close, volume, 50, 24, 70.0)
    ours = indicators.compute_arrays("volume_profile", {"high": bars.high, "low": bars.low, "close": bars.close,
                                                        "volume": volume}, period=50)
    for name, ref in zip(("poc", "vah", "val"), expected, strict=True):
        assert_matches(ours[name], ref, f"volume_profile.{name} with fractional volumes")


def test_volume_profile_by_hand():
    # window of 4 bars: lowest low 0, highest high 8, 4 bins of width 2
    # typical prices 4, 1.5, 3, 6 -> bins 2, 0, 1, 3 with volumes 10, 40, 30, 20: histogram [40, 30, 10, 20]
    # POC bin 0 -> middle 1.0. 70%: 40 + 30 (bin 1, only neighbour) = 70 -> area [0, 4]
    # 90%: + bin 2 (10) = 80, + bin 3 (20) = 100 -> area [0, 8]
    bars = {"high": [8, 2, 4, 7], "low": [0, 1, 2, 5], "close": [4, 1.5, 3, 6], "volume": [10, 40, 30, 20]}
    out = _arrays("volume_profile", **bars, period=4, bins=4)
    assert np.isnan(out["poc"][:3]).all()
    assert (out["poc"][3], out["vah"][3], out["val"][3]) == (1.0, 4.0, 0.0)
    out = _arrays("volume_profile", **bars, period=4, bins=4, value_area=90.0)
    assert (out["poc"][3], out["vah"][3], out["val"][3]) == (1.0, 8.0, 0.0)


def test_volume_profile_of_a_flat_window_is_that_price():
    out = _arrays("volume_profile", high=[5] * 4, low=[5] * 4, close=[5] * 4, volume=[1, 2, 3, 4], period=3)
    np.testing.assert_array_equal(out["poc"], [np.nan, np.nan, 5, 5])
    np.testing.assert_array_equal(out["vah"], [np.nan, np.nan, 5, 5])


def test_force_index_by_hand():
    # raw (close change × volume): -, 1*200 = 200, -0.5*100 = -50, 1.5*100 = 150
    # EMA(2) seeded by the SMA of the first two: (200 - 50) / 2 = 75; then 75 + (150 - 75) * 2/3 = 125
    out = _arrays("force_index", close=[10, 11, 10.5, 12], volume=[100, 200, 100, 100], period=2)
    np.testing.assert_allclose(out["force_index"], [np.nan, np.nan, 75, 125])


def test_eom_by_hand():
    # midpoints 9, 11, 11, 12. bar 1: move 2 / ((200 / 1) / 2) = 0.02; bar 2 has no range -> 0;
    # bar 3: move 1 / ((400 / 1) / 4) = 0.01. SMA(2): bar 2 (0.02 + 0) / 2 = 0.01, bar 3 (0 + 0.01) / 2 = 0.005
    out = _arrays("eom", high=[10, 12, 11, 14], low=[8, 10, 11, 10], volume=[100, 200, 50, 400], period=2, scale=1.0)
    np.testing.assert_allclose(out["eom"], [np.nan, np.nan, 0.01, 0.005])
