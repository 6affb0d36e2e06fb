"""Primitives shared by the families (``kernels/core_nb``) against slow, obvious references.

The modules built on them are checked against TA-Lib and references in each family's tests; these pin the
primitives themselves, including the inputs the modules never give them (leading NaNs, ties, short arrays).
"""

import math

import numpy as np
import pytest
import talib

from backgrid.indicators.kernels import core_nb
from tests.indicators.conftest import DATASETS, assert_matches

NAN = math.nan


def ragged(seed):
    """Leading NaNs (a chained input), a random walk, then a stretch of many ties."""
    rng = np.random.default_rng(seed)
    return np.r_[np.full(7, NAN), np.cumsum(rng.normal(size=2000)), rng.choice([1.0, 2.0], size=300)]


def ref_windows(x, n):
    """Each full window of ``n`` values from the first finite one, as ``(end, window)`` pairs."""
    start = int(np.flatnonzero(~np.isnan(x))[0])
    return [(t, x[t - n + 1:t + 1]) for t in range(start + n - 1, x.size)]


@pytest.mark.parametrize("n", [1, 2, 3, 14, 61, 500])
def test_rolling_extreme_equals_a_scan_of_each_window(n):
    x = ragged(n)
    highest, lowest = np.full(x.size, NAN), np.full(x.size, NAN)
    for t, window in ref_windows(x, n):
        highest[t], lowest[t] = window.max(), window.min()
    np.testing.assert_array_equal(core_nb.rolling_extreme_nb(x, n, 1.0), highest)
    np.testing.assert_array_equal(core_nb.rolling_extreme_nb(x, n, -1.0), lowest)
    assert np.isnan(core_nb.rolling_extreme_nb(x[:n + 6], n, 1.0)).all()


@pytest.mark.parametrize("n", [1, 2, 3, 14, 61])
def test_rolling_extreme_index_gives_ties_to_the_latest_bar(n):
    x = ragged(n + 100)
    for sign in (1.0, -1.0):
        latest = np.full(x.size, NAN)
        for t, window in ref_windows(x, n):
            latest[t] = np.flatnonzero(sign * window == (sign * window).max())[-1] + t - n + 1
        np.testing.assert_array_equal(core_nb.rolling_extreme_index_nb(x, n, sign), latest)


@pytest.mark.parametrize(("left", "right"), [(1, 1), (2, 5), (5, 2), (7, 7)])
def test_pivots_are_strict_on_the_left_and_level_allowed_on_the_right(left, right):
    x = np.r_[np.round(np.cumsum(np.random.default_rng(left * right).normal(size=800))), [3.0, 3.0, 3.0]]
    high, low = np.full(x.size, NAN), np.full(x.size, NAN)
    for t in range(left + right, x.size):
        j = t - right
        before, v, after = x[j - left:j], x[j], x[j + 1:t + 1]
        if (before < v).all() and (after <= v).all():
            high[t] = v
        if (before > v).all() and (after >= v).all():
            low[t] = v
    np.testing.assert_array_equal(core_nb.pivot_high_nb(x, left, right), high)
    np.testing.assert_array_equal(core_nb.pivot_low_nb(x, left, right), low)


@pytest.mark.parametrize("periods", [[1], [5], [3, 3, 3], [25, 13], [1, 7, 2, 4]])
def test_ema_chain_equals_nested_emas_to_the_last_bit(periods):
    x = np.r_[np.full(4, NAN), DATASETS["goog"]().column("close")]
    nested = x
    for p in periods:
        nested = core_nb.ema_nb(nested, p)
    last = np.eye(len(periods))[-1]
    np.testing.assert_array_equal(core_nb.ema_chain_nb(x, np.array(periods), last), nested)
    np.testing.assert_array_equal(core_nb.ema_chain_nb(x[:sum(periods) + 2], np.array(periods), last),
                                  nested[:sum(periods) + 2])


@pytest.mark.parametrize("n", [1, 2, 5, 30])
def test_rolling_var_is_talib_var_and_its_deviation_is_exact(n):
    rng = np.random.default_rng(n)
    x = 1e5 + np.cumsum(rng.standard_normal(3000)) * 0.01  # where sums of x and x^2 cancel
    x[1000:1100] = x[1000]
    deviation = np.empty(x.size)
    var = core_nb.rolling_var_nb(x, n, None, deviation)
    assert_matches(var, talib.VAR(x, n), "rolling_var")
    exact = np.full(x.size, NAN)
    for t, window in ref_windows(x, n):
        exact[t] = (window[-1] - window[0]) - (window - window[0]).mean()
    np.testing.assert_allclose(deviation, exact, rtol=1e-9, atol=1e-12)
    assert (var[1000 + n - 1:1100] == 0.0).all()  # a flat window is exactly flat


def test_atr_and_pivots_fill_the_callers_array():
    high, low, close = (DATASETS["random"]().column(c) for c in ("high", "low", "close"))
    out = np.full(close.size, 7.0)
    assert core_nb.atr_nb(high, low, close, 14, out) is out
    assert_matches(out, talib.ATR(high, low, close, 14), "atr")
    assert core_nb.pivot_high_nb(high, 3, 2, out) is out
    np.testing.assert_array_equal(out, core_nb.pivot_high_nb(high, 3, 2))
