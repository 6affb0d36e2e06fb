"""Momentum: TA-Lib at other parameters and on awkward data, slow references for the modules TA-Lib lacks,
hand-worked cases, and the subtle parts (MACD's alignment, DPO's delay, Fisher's trigger, flat windows)."""

import itertools
import math

import numpy as np
import pytest

from backgrid import indicators
from backgrid.indicators.kernels import core_nb, momentum_nb
from tests.indicators.conftest import (
    DATASETS,
    assert_matches,
    assert_values,
    case_ids,
    check_talib_case,
    columns,
    talib_outputs,
)

NAN = math.nan


def run(id_, inputs, **params):
    """All outputs of module ``id_`` on array inputs."""
    return indicators.compute_arrays(id_, inputs, **params)


class Arrays:
    """Just enough of Bars for ``talib_outputs``: named columns."""

    def __init__(self, cols):
        self.cols = cols

    def column(self, name):
        return self.cols[name]


def awkward(kind, size=1500, seed=3):
    """OHLCV where TA-Lib's zero tests and running-sum resets matter.

    ``ticks``: quarter-point steps, a 60-bar flat stretch (high = low = close) and
    100 bars without volume; ``tiny``: the same at 1e-9 of the price; ``near_flat``:
    closes moving by 1e-13 around 100 inside a 6e-13 range; ``walk``: a random walk
    at the 1e-13 scale; ``spiky``: huge and tiny ranges, then a flat stretch.
    """
    rng = np.random.default_rng(seed)
    if kind in ("ticks", "tiny"):
        close = 100 + np.cumsum(rng.choice([-1, 0, 0, 0, 1], size=size)) * 0.25
        close[500:560] = close[499]
        high = close + rng.choice([0, 0, 0.25], size=size)
        low = close - rng.choice([0, 0, 0.25], size=size)
        high[500:560] = low[500:560] = close[499]
        volume = rng.choice([0.0, 0.0, 100.0, 200.0], size=size)
        volume[1000:1100] = 0.0
        scale = 1e-9 if kind == "tiny" else 1.0
        close, high, low = close * scale, high * scale, low * scale
    elif kind == "near_flat":
        close = 100 + np.cumsum(rng.choice([-1, 1], size=size)) * 1e-13
        high, low = np.full(size, 100 + 3e-13), np.full(size, 100 - 3e-13)
        volume = np.full(size, 10.0)
    elif kind == "walk":
        close = 1e-11 + np.cumsum(rng.normal(size=size)) * 1e-13
        high, low = close + 1e-14, close - 1e-14
        volume = np.full(size, 10.0)
    else:
        close = np.abs(100 + np.cumsum(rng.normal(size=size)) * 10 ** rng.uniform(-3, 3, size=size)) + 1
        high = close + 10 ** rng.uniform(-3, 3, size=size)
        low = close - 10 ** rng.uniform(-3, 3, size=size)
        close[size // 2:size // 2 + 80] = high[size // 2:size // 2 + 80] = low[size // 2:size // 2 + 80] = 100.0
        volume = rng.choice([0.0, 50.0], size=size)
    return {"open": close, "high": high, "low": low, "close": close, "volume": volume}


TALIB_IDS = ["rsi", "stoch", "stochrsi", "macd", "cci", "mfi", "roc", "momentum", "willr", "ultosc", "cmo", "trix"]

# --- TA-Lib at parameters other than the defaults -------------------------------------------------

TALIB_CASES = [
    ("rsi", {"period": 2}), ("rsi", {"period": 30}),
    ("stoch", {"fastk_period": 1, "slowk_period": 1, "slowd_period": 1}),
    ("stoch", {"fastk_period": 5, "slowk_period": 4, "slowd_period": 2}),
    ("stoch", {"fastk_period": 30, "slowk_period": 1, "slowd_period": 7}),
    ("stochrsi", {"period": 2, "fastk_period": 1, "fastd_period": 1}),
    ("stochrsi", {"period": 14, "fastk_period": 14, "fastd_period": 3}),
    ("stochrsi", {"period": 21, "fastk_period": 9, "fastd_period": 5}),
    ("macd", {"fast_period": 2, "slow_period": 3, "signal_period": 1}),
    ("macd", {"fast_period": 5, "slow_period": 35, "signal_period": 5}),
    ("macd", {"fast_period": 26, "slow_period": 12, "signal_period": 9}),
    ("cci", {"period": 2}), ("cci", {"period": 20}), ("cci", {"period": 50}),
    ("mfi", {"period": 2}), ("mfi", {"period": 7}), ("mfi", {"period": 60}),
    ("roc", {"period": 1}), ("roc", {"period": 12}), ("roc", {"period": 100}),
    ("momentum", {"period": 1}), ("momentum", {"period": 20}), ("momentum", {"period": 100}),
    ("willr", {"period": 2}), ("willr", {"period": 9}), ("willr", {"period": 100}),
    ("ultosc", {"short_period": 1, "medium_period": 2, "long_period": 3}),
    ("ultosc", {"short_period": 28, "medium_period": 7, "long_period": 14}),
    ("ultosc", {"short_period": 5, "medium_period": 5, "long_period": 40}),
    ("cmo", {"period": 2}), ("cmo", {"period": 9}), ("cmo", {"period": 50}),
    ("trix", {"period": 1}), ("trix", {"period": 5}), ("trix", {"period": 15}),
]


@pytest.mark.parametrize(("id_", "given"), TALIB_CASES, ids=case_ids(TALIB_CASES))
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_talib_at_other_parameters(id_, given, data):
    ours, params = check_talib_case(id_, given, data)
    spec = indicators.get(id_)
    assert spec.warmup_bars(params) == int(np.isnan(ours[spec.outputs[0].name].to_numpy()).sum())


@pytest.mark.parametrize("kind", ["ticks", "tiny", "near_flat", "walk", "spiky"])
@pytest.mark.parametrize("id_", TALIB_IDS)
def test_matches_talib_where_zero_tests_and_resets_decide(id_, kind):
    # Flat ranges read 0 by TA-Lib's scaled zero test (stoch, willr, cci), a window
    # without money flow or range has its running sums reset (mfi, ultosc) instead of
    # dividing rounding residue, and tiny prices have no absolute threshold.
    inputs = awkward(kind)
    spec = indicators.get(id_)
    params = spec.resolve({})
    ours = run(id_, inputs, **params)
    for name, theirs in talib_outputs(spec, Arrays(inputs), params).items():
        assert_matches(ours[name], theirs, f"{id_}.{name} on {kind}")


def test_flat_windows_read_zero_not_rounding_residue():
    inputs = awkward("ticks")
    flat = slice(540, 560)  # 40+ bars into the 60-bar flat stretch
    assert (run("willr", inputs)["willr"][flat] == 0.0).all()
    assert (run("cci", inputs)["cci"][flat] == 0.0).all()
    assert (run("stoch", inputs, fastk_period=14, slowk_period=1, slowd_period=1)["k"][flat] == 0.0).all()
    ultosc = run("ultosc", inputs, short_period=7, medium_period=14, long_period=28)["ultosc"]
    assert (ultosc[flat] == 0.0).all()
    assert (run("mfi", inputs)["mfi"][1040:1100] == 0.0).all()  # no volume at all


# --- MACD: TA-Lib's alignment ----------------------------------------------------------------------


def test_macd_starts_the_fast_ema_on_the_slow_emas_seed_bar():
    close = columns("goog")["close"]
    out = run("macd", {"close": close}, fast_period=12, slow_period=26, signal_period=9)
    aligned = np.full(close.size, NAN)
    aligned[14:] = core_nb.ema_nb(close[14:], 12)  # seeded by closes 14..25, the SMA ending on bar 25
    line = aligned - core_nb.ema_nb(close, 26)
    start = 26 + 9 - 2
    assert np.isnan(out["macd"][:start]).all()
    np.testing.assert_allclose(out["macd"][start:], line[start:], rtol=1e-12)
    naive = core_nb.ema_nb(close, 12) - core_nb.ema_nb(close, 26)
    assert np.abs(out["macd"][start:start + 10] - naive[start:start + 10]).max() > 1e-6
    np.testing.assert_allclose(out["histogram"][start:], out["macd"][start:] - out["signal"][start:], rtol=1e-12,
                               atol=1e-12)


def test_macd_swaps_a_fast_period_longer_than_the_slow_one():
    close = columns("random")["close"]
    swapped = run("macd", {"close": close}, fast_period=26, slow_period=12, signal_period=9)
    normal = run("macd", {"close": close}, fast_period=12, slow_period=26, signal_period=9)
    for name in ("macd", "signal", "histogram"):
        np.testing.assert_array_equal(swapped[name], normal[name])
    assert indicators.get("macd").warmup_bars({"fast_period": 26, "slow_period": 12}) == 33


# --- ULTOSC and STOCH details ----------------------------------------------------------------------


def test_ultosc_sorts_its_periods_so_the_shortest_weighs_most():
    inputs = columns("goog")
    results = [run("ultosc", inputs, short_period=a, medium_period=b, long_period=c)["ultosc"]
               for a, b, c in itertools.permutations((5, 11, 23))]
    for other in results[1:]:
        np.testing.assert_array_equal(other, results[0])


def test_stoch_k_waits_for_d_as_talib_does():
    inputs = columns("random")
    out = run("stoch", inputs, fastk_period=14, slowk_period=3, slowd_period=5)
    warmup = 14 + 3 + 5 - 3
    assert np.isnan(out["k"][:warmup]).all()
    assert np.isfinite(out["k"][warmup:]).all()
    raw = momentum_nb.stoch_fastk_nb(inputs["high"], inputs["low"], inputs["close"], 14,
                                     *np.empty((2, inputs["close"].size)))
    np.testing.assert_allclose(out["k"][warmup:], core_nb.sma_nb(raw, 3)[warmup:], rtol=1e-12)


# --- modules without TA-Lib: hand-worked cases ------------------------------------------------------


def test_tsi_by_hand():
    # diff = [-, 1, 2, -1, 2]; EMA2 (alpha 2/3, SMA seed): [-, -, 1.5, -1/6, 23/18]; EMA2 again: [.., 2/3, 29/27]
    # |diff| EMA2: [-, -, 1.5, 7/6, 31/18]; EMA2 again: [.., 4/3, 43/27]
    # TSI = 100 * (2/3) / (4/3) = 50, then 100 * 29 / 43
    out = run("tsi", {"close": np.array([1.0, 2.0, 4.0, 3.0, 5.0])}, long_period=2, short_period=2)["tsi"]
    assert_values(out, [NAN, NAN, NAN, 50.0, 100 * 29 / 43])
    flat = run("tsi", {"close": np.full(10, 7.0)}, long_period=2, short_period=2)["tsi"]
    assert_values(flat, [NAN] * 3 + [0.0] * 7)


def test_ao_by_hand():
    # median [1, 2, 3, 5, 4]: SMA2 [-, 1.5, 2.5, 4, 4.5], SMA3 [-, -, 2, 10/3, 4]
    median = np.array([1.0, 2.0, 3.0, 5.0, 4.0])
    out = run("ao", {"high": median + 1, "low": median - 1}, fast_period=2, slow_period=3)["ao"]
    assert_values(out, [NAN, NAN, 0.5, 2 / 3, 0.5])


def test_fisher_by_hand():
    # n = 2, median [1, 2, 3, 2]. Bar 1 (first full window, not reported): pos 1,
    # v = 0.66 * 0.5 = 0.33, f1 = 0.5 ln(1.33 / 0.67) = 0.342828...
    # bar 2: pos 1, v = 0.33 + 0.67 * 0.33 = 0.5511, f2 = 0.5 ln(1.5511 / 0.4489) + 0.5 f1 = 0.791373...
    # bar 3: pos 0, v = -0.33 + 0.67 * 0.5511 = 0.039237, f3 = 0.5 ln(1.039237 / 0.960763) + 0.5 f2 = 0.434944...
    median = np.array([1.0, 2.0, 3.0, 2.0])
    out = run("fisher", {"high": median + 0.5, "low": median - 0.5}, period=2)
    f1 = 0.5 * math.log(1.33 / 0.67)
    f2 = 0.5 * math.log(1.5511 / 0.4489) + 0.5 * f1
    f3 = 0.5 * math.log(1.039237 / 0.960763) + 0.5 * f2
    assert_values(out["fisher"], [NAN, NAN, f2, f3])
    assert_values(out["trigger"], [NAN, NAN, f1, f2])
    np.testing.assert_allclose([f1, f2, f3], [0.342828254, 0.791373872, 0.434944090], atol=1e-9)


def test_fisher_clamps_at_0_999():
    # A median rising every bar keeps pos at 1: v = 0.33, 0.5511, ... passes 0.99 on
    # bar 12 and is set to 0.999 there; from then on fisher = 0.5 ln(1999) + 0.5 fisher[t-1].
    median = np.arange(1.0, 31.0)
    out = run("fisher", {"high": median, "low": median}, period=3)
    fisher = out["fisher"]
    tail = 0.5 * math.log(1.999 / 0.001)
    np.testing.assert_allclose(fisher[20:], tail + 0.5 * fisher[19:-1], rtol=1e-12)
    np.testing.assert_array_equal(out["trigger"][4:], fisher[3:-1])


def test_coppock_by_hand():
    # closes [100, 110, 99, 120]: ROC1 [-, 10, -10, 2100/99], ROC2 [-, -, -1, 100/11]
    # sum at bars 2, 3: -11, 1000/33; WMA2 at bar 3: (-11 + 2 * 1000/33) / 3 = 1637/99
    out = run("coppock", {"close": np.array([100.0, 110.0, 99.0, 120.0])}, long_roc=2, short_roc=1,
              wma_period=2)["coppock"]
    assert_values(out, [NAN, NAN, NAN, 1637 / 99])


def test_dpo_by_hand():
    # n = 4, lag 3: SMA4 [-, -, -, 2.5, 3.5, 4.5, 6.25]; DPO = close[t - 3] - SMA[t]
    out = run("dpo", {"close": np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0])}, period=4)["dpo"]
    assert_values(out, [NAN, NAN, NAN, -1.5, -1.5, -1.5, -2.25])
    assert indicators.get("dpo").warmup_bars({"period": 2}) == 2  # the lag, not the SMA, is longer


# --- modules without TA-Lib: slow, obvious references ----------------------------------------------


def ema_ref(values, n):
    """EMA seeded by the SMA of the first n finite values, alpha 2 / (n + 1)."""
    out = [NAN] * len(values)
    finite = [i for i, v in enumerate(values) if not math.isnan(v)]
    if len(finite) < n:
        return out
    first = finite[0]
    prev = sum(values[first:first + n]) / n
    out[first + n - 1] = prev
    for i in range(first + n, len(values)):
        prev = prev + (values[i] - prev) * 2 / (n + 1)
        out[i] = prev
    return out


def tsi_ref(close, long, short):
    diff = [NAN] + [close[i] - close[i - 1] for i in range(1, len(close))]
    num = ema_ref(ema_ref(diff, long), short)
    den = ema_ref(ema_ref([abs(d) for d in diff], long), short)
    return [NAN if math.isnan(d) else (100 * u / d if d else 0.0) for u, d in zip(num, den, strict=True)]


def ao_ref(high, low, fast, slow):
    median = [(h + lo) / 2 for h, lo in zip(high, low, strict=True)]
    out = [NAN] * len(median)
    for t in range(max(fast, slow) - 1, len(median)):
        out[t] = sum(median[t - fast + 1:t + 1]) / fast - sum(median[t - slow + 1:t + 1]) / slow
    return out


def fisher_ref(high, low, n):
    median = [(h + lo) / 2 for h, lo in zip(high, low, strict=True)]
    fisher, trigger = [NAN] * len(median), [NAN] * len(median)
    value = fish = 0.0
    for t in range(n - 1, len(median)):
        window = median[t - n + 1:t + 1]
        top, bottom = max(window), min(window)
        pos = (median[t] - bottom) / (top - bottom) if top > bottom else 0.5
        value = 0.66 * (pos - 0.5) + 0.67 * value
        if value > 0.99:
            value = 0.999
        elif value < -0.99:
            value = -0.999
        previous, fish = fish, 0.5 * math.log((1 + value) / (1 - value)) + 0.5 * fish
        if t >= n:
            fisher[t], trigger[t] = fish, previous
    return fisher, trigger


def coppock_ref(close, long, short, n):
    def roc(k):
        return [NAN] * k + [(close[t] / close[t - k] - 1) * 100 for t in range(k, len(close))]

    total = [a + b for a, b in zip(roc(long), roc(short), strict=True)]
    out = [NAN] * len(close)
    for t in range(max(long, short) + n - 1, len(close)):
        out[t] = sum(total[t - n + 1 + j] * (j + 1) for j in range(n)) / (n * (n + 1) / 2)
    return out


def centred_dpo_ref(close, n):
    """The classic DPO of bar j, which needs the SMA ending n // 2 + 1 bars after j."""
    lag = n // 2 + 1
    out = [NAN] * len(close)
    for j in range(max(0, n - 1 - lag), len(close) - lag):
        out[j] = close[j] - sum(close[j + lag - n + 1:j + lag + 1]) / n
    return out


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("params", [{"long_period": 25, "short_period": 13}, {"long_period": 1, "short_period": 5},
                                    {"long_period": 40, "short_period": 2}])
def test_tsi_matches_slow_reference(data, params):
    close = columns(data)["close"]
    ref = tsi_ref(list(close), params["long_period"], params["short_period"])
    assert_matches(run("tsi", {"close": close}, **params)["tsi"], np.array(ref), f"tsi {params} on {data}")


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize(("fast", "slow"), [(5, 34), (1, 3), (20, 10)])
def test_ao_matches_slow_reference(data, fast, slow):
    cols = columns(data)
    ref = ao_ref(list(cols["high"]), list(cols["low"]), fast, slow)
    ours = run("ao", cols, fast_period=fast, slow_period=slow)["ao"]
    assert_matches(ours, np.array(ref), f"ao {fast}/{slow} on {data}")


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("period", [2, 9, 30])
def test_fisher_matches_slow_reference(data, period):
    cols = columns(data)
    fisher, trigger = fisher_ref(list(cols["high"]), list(cols["low"]), period)
    ours = run("fisher", cols, period=period)
    assert_matches(ours["fisher"], np.array(fisher), f"fisher {period} on {data}")
    assert_matches(ours["trigger"], np.array(trigger), f"trigger {period} on {data}")


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize(("long", "short", "n"), [(14, 11, 10), (1, 3, 1), (20, 6, 4)])
def test_coppock_matches_slow_reference(data, long, short, n):
    close = columns(data)["close"]
    ours = run("coppock", {"close": close}, long_roc=long, short_roc=short, wma_period=n)["coppock"]
    assert_matches(ours, np.array(coppock_ref(list(close), long, short, n)), f"coppock {long}/{short}/{n} on {data}")


@pytest.mark.parametrize("data", sorted(DATASETS))
@pytest.mark.parametrize("period", [2, 3, 20, 21])
def test_dpo_reports_the_centred_value_once_it_is_known(data, period):
    # The causal DPO at bar t is the centred DPO of bar t - lag: the same number, lag bars later.
    close = columns(data)["close"]
    lag = period // 2 + 1
    ours = run("dpo", {"close": close}, period=period)["dpo"]
    centred = np.array(centred_dpo_ref(list(close), period))
    assert_matches(ours[lag:], centred[:-lag], f"dpo {period} on {data}")
    assert np.isnan(ours[:lag]).all()


def test_outputs_on_too_short_inputs_are_all_nan():
    for spec in indicators.list("momentum"):
        for size in (0, 1, 3):
            inputs = {c: np.linspace(1.0, 2.0, size) for c in ("open", "high", "low", "close", "volume")}
            out = run(spec.id, inputs)
            for name, values in out.items():
                assert values.shape == (size,), f"{spec.id}.{name}"
                assert size > spec.warmup_bars() or np.isnan(values).all(), f"{spec.id}.{name} on {size} bars"
