"""Statistics: TA-Lib at other parameters and inputs, slow references for the modules TA-Lib lacks, edge cases."""

import math
import statistics

import numpy as np
import pytest
import talib

from backgrid import indicators
from backgrid.errors import IndicatorError
from tests.indicators.conftest import DATASETS, assert_matches, assert_values, case_ids, check_talib_case, columns
from tests.indicators.test_moving_averages import NAN, awkward_closes, run


def series(x, y):
    """OHLCV inputs whose high is ``x`` and low is ``y`` (the default x and y of correlation and beta)."""
    return {"open": x, "high": x, "low": y, "close": x, "volume": x}


# --- TA-Lib at parameters other than the defaults -------------------------------------------------

TALIB_CASES = [
    ("correlation", {"period": 2}), ("correlation", {"period": 7}), ("correlation", {"period": 60}),
    ("beta", {"period": 2}), ("beta", {"period": 7}), ("beta", {"period": 60}),
]


@pytest.mark.parametrize(("id_", "given"), TALIB_CASES, ids=case_ids(TALIB_CASES))
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_talib_at_other_parameters(id_, given, data):
    check_talib_case(id_, given, data)


PAIRS = [("close", "open", 10), ("open", "close", 30), ("close", "volume", 14), ("low", "high", 3)]


@pytest.mark.parametrize(("x", "y", "period"), PAIRS)
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_chosen_series_match_talib(x, y, period, data):
    cols = columns(data)
    assert_matches(run("correlation", cols, period=period, x=x, y=y), talib.CORREL(cols[x], cols[y], period),
                   "correlation")
    assert_matches(run("beta", cols, period=period, x=x, y=y), talib.BETA(cols[x], cols[y], period), "beta")


def test_correlation_and_beta_match_talib_where_running_sums_cancel():
    # TA-Lib 0.8 keeps its sums on values less an anchor and rebuilds them when precision is at risk;
    # plain running sums of x, x^2 and xy are off by up to 0.05 here once the 1e6 spike has left the window.
    x = awkward_closes()
    y = np.roll(x, 3) * 0.5 + 7.0
    for period in (2, 5, 30):
        assert_matches(run("correlation", series(x, y), period=period), talib.CORREL(x, y, period),
                       f"correlation {period}")
        assert_matches(run("beta", series(x, y), period=period), talib.BETA(x, y, period),
                       f"beta {period}")
        window = slice(400, 460)  # well after the spike: equal to the two-pass coefficient
        ours = run("correlation", series(x, y), period=period)[window]
        exact = [np.corrcoef(x[t - period + 1:t + 1], y[t - period + 1:t + 1])[0, 1]
                 for t in range(window.start, window.stop)]
        np.testing.assert_allclose(ours, exact, rtol=1e-9, atol=1e-12)


def test_correlation_hand_cases():
    # y = 2x + 1 is perfectly correlated, y = -x perfectly anti-correlated, a flat series gives 0 (not 0/0).
    x = np.array([1.0, 2.0, 4.0, 3.0])
    assert_values(run("correlation", series(x, 2 * x + 1), period=3), [NAN, NAN, 1.0, 1.0])
    assert_values(run("correlation", series(x, -x), period=3), [NAN, NAN, -1.0, -1.0])
    assert_values(run("correlation", series(x, np.full(4, 5.0)), period=3), [NAN, NAN, 0.0, 0.0])


def test_beta_hand_case():
    # Returns of x: 1 (1 -> 2), 0.5 (2 -> 3), -1/3 (3 -> 2); y's returns are exactly twice x's,
    # so the least-squares slope over any 2 of them is 2. A zero price makes the next return 0 (as TA-Lib).
    x = np.array([1.0, 2.0, 3.0, 2.0])
    y = np.array([1.0, 3.0, 6.0, 2.0])  # returns 2, 1, -2/3
    assert_values(run("beta", series(x, y), period=2), [NAN, NAN, 2.0, 2.0])
    zero = np.array([1.0, 0.0, 2.0, 4.0, 2.0])
    assert_matches(run("beta", series(zero, zero[::-1].copy()), period=2),
                   talib.BETA(zero, zero[::-1].copy(), 2), "beta after a zero price")


def test_x_and_y_refuse_unknown_series():
    with pytest.raises(IndicatorError, match=r"correlation: parameter 'x' must be one of open, high, low"):
        indicators.compute("correlation", DATASETS["goog"](), x="vwap")


# --- slow references for the modules without a TA-Lib twin ----------------------------------------

def ref_zscore(values, n):
    """Two-pass mean and population deviation of each window, on values less the window's first (exact)."""
    out = [NAN] * len(values)
    for t in range(n - 1, len(values)):
        window = values[t - n + 1:t + 1]
        if max(window) == min(window):
            out[t] = 0.0
            continue
        shifted = [v - window[0] for v in window]
        mean = statistics.fmean(shifted)
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in shifted) / n)
        out[t] = (shifted[-1] - mean) / std
    return out


def ref_percent_rank(values, n):
    out = [NAN] * len(values)
    for t in range(n, len(values)):
        out[t] = 100 * sum(v < values[t] for v in values[t - n:t]) / n
    return out


REFERENCES = {"zscore": ref_zscore, "percent_rank": ref_percent_rank}


@pytest.mark.parametrize("id_", sorted(REFERENCES))
@pytest.mark.parametrize("period", [2, 5, 20, 63])
@pytest.mark.parametrize("data", sorted(DATASETS))
def test_matches_slow_reference(id_, period, data):
    close = columns(data)["close"]
    assert_matches(run(id_, {"close": close}, period=period), np.array(REFERENCES[id_](list(close), period)),
                   f"{id_} on {data}")


@pytest.mark.parametrize("period", [2, 3, 10, 50])
def test_zscore_stays_exact_where_sums_of_squares_cancel(period):
    # A 1e5 price moving by cents, a flat stretch and a 1e6 spike: sums of x and x^2 lose most digits here
    # (a 2-bar z-score, always +-1, came out 1e-3 off); anchored sums keep the slow reference's value.
    rng = np.random.default_rng(9)
    close = 1e5 + np.cumsum(rng.standard_normal(3000)) * 0.01
    close[1000:1100] = close[1000]
    close[2000] = 1e6
    ours = run("zscore", {"close": close}, period=period)
    assert_matches(ours, np.array(ref_zscore(list(close), period)), "zscore")
    assert (ours[1000 + period - 1:1100] == 0.0).all()  # a flat window reads exactly 0
    if period == 2:  # two values sit one deviation either side of their mean
        finite = ours[1:][~np.isin(np.arange(1, 3000), np.arange(1001, 1100))]
        np.testing.assert_allclose(np.abs(finite), 1.0, rtol=1e-9)


def test_zscore_hand_case():
    # period 3: [1, 2, 3] mean 2, population deviation sqrt(2/3): z = 1 / sqrt(2/3) = sqrt(1.5).
    # [2, 3, 3] mean 8/3, variance (4/9 + 1/9 + 1/9) / 3 = 2/9: z = (1/3) / (sqrt(2)/3) = 1/sqrt(2).
    # [3, 3, 3] is flat: 0.
    assert_values(run("zscore", {"close": np.array([1.0, 2.0, 3.0, 3.0, 3.0])}, period=3),
                  [NAN, NAN, math.sqrt(1.5), 1 / math.sqrt(2), 0.0])


def test_percent_rank_hand_case_counts_strictly_below_the_previous_n():
    # period 3: bar 3 ranks 2 against [3, 1, 2]: only 1 is below (the tie is not) -> 33.3;
    # bar 4 ranks 5 against [1, 2, 2] -> 100; bar 5 ranks 0 against [2, 2, 5] -> 0.
    assert_values(run("percent_rank", {"close": np.array([3.0, 1.0, 2.0, 2.0, 5.0, 0.0])}, period=3),
                  [NAN, NAN, NAN, 100 / 3, 100.0, 0.0])
    assert indicators.get("percent_rank").warmup_bars({"period": 3}) == 3
