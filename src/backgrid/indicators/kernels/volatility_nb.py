"""Volatility kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Kernels that return several series return a tuple of float64 arrays in the order
their docstring names. As in :mod:`~backgrid.indicators.kernels.trend_nb`, arrays
returned by core primitives are reused as outputs rather than copied.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels import core_nb
from backgrid.indicators.kernels.trend_nb import RESEED_WINDOWS, high_low_into_nb, mask_before_nb


@njit(cache=True, nogil=True)
def _shifted_sums(x, lo, hi, shift):
    """Sums of ``x - shift`` and of its squares over ``x[lo:hi + 1]``."""
    s1 = 0.0
    s2 = 0.0
    for j in range(lo, hi + 1):
        d = x[j] - shift
        s1 += d
        s2 += d * d
    return s1, s2


@njit(cache=True, nogil=True)
def shifted_var_nb(x, n):
    """Population variance of the last ``n`` values without cancellation (as TA-Lib 0.8 VAR).

    The running sums hold deviations from a shift near the data, not raw values,
    so ``mean(d**2) - mean(d)**2`` subtracts variance-sized numbers. The sums are
    rebuilt by a two-pass scan every ``32 * n`` bars and whenever the variance
    falls below 1e-6 of the largest mean square held since the last rebuild (a
    window that settled or lost an outlier); a flat window is re-anchored on its
    last value and a variance left at rounding level reads exactly 0.
    """
    out = np.full(x.size, np.nan)
    start = core_nb.first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return out
    inv = 1.0 / n
    shift = x[start]
    s1, s2 = _shifted_sums(x, start, start + n - 2, shift)
    left = RESEED_WINDOWS * n
    peak = s2
    for i in range(start + n - 1, x.size):
        d = x[i] - shift
        s1 += d
        s2 += d * d
        peak = max(peak, s2)
        mean = s1 * inv
        var = s2 * inv - mean * mean
        d = x[i - n + 1] - shift
        s1 -= d
        s2 -= d * d
        left -= 1
        if var < 1e-6 * (peak * inv) or left <= 0:
            left = RESEED_WINDOWS * n
            lo = i - n + 1
            total = 0.0
            for j in range(lo, i + 1):
                total += x[j]
            shift = total * inv
            s1, s2 = _shifted_sums(x, lo, i, shift)
            mean = s1 * inv
            var = s2 * inv - mean * mean
            if var < 1e-6 * (s2 * inv):
                shift = x[i]
                s1, s2 = _shifted_sums(x, lo, i, shift)
                mean = s1 * inv
                var = s2 * inv - mean * mean
            peak = s2
            if var < 1e-12 * (s2 * inv):
                var = 0.0
            d = x[lo] - shift
            s1 -= d
            s2 -= d * d
        out[i] = var
    return out


@njit(cache=True, nogil=True)
def stddev_nb(x, n, deviations):
    """``deviations`` population standard deviations of the last ``n`` values (TA-Lib STDDEV)."""
    out = shifted_var_nb(x, n)
    for i in range(x.size):
        out[i] = np.sqrt(out[i]) * deviations
    return out


@njit(cache=True, nogil=True)
def natr_nb(high, low, close, n):
    """ATR as a percentage of the close (TA-Lib NATR; 0 where the close is 0)."""
    out = core_nb.atr_nb(high, low, close, n)
    for i in range(n, close.size):
        out[i] = out[i] / close[i] * 100.0 if close[i] != 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def _band(middle, var, dev_up, dev_down):
    """Upper and lower Bollinger band from the middle band and the variance, as TA-Lib BBANDS adds them."""
    sd = np.sqrt(var)
    return middle + sd * dev_up, middle - sd * dev_down


@njit(cache=True, nogil=True)
def bbands_nb(x, n, dev_up, dev_down):
    """Bollinger Bands ``(upper, middle, lower)``: SMA ± deviations x population std (TA-Lib BBANDS, SMA)."""
    middle = core_nb.sma_nb(x, n)
    upper = shifted_var_nb(x, n)
    lower = np.full(x.size, np.nan)
    for i in range(n - 1, x.size):
        upper[i], lower[i] = _band(middle[i], upper[i], dev_up, dev_down)
    return upper, middle, lower


@njit(cache=True, nogil=True)
def bb_width_nb(x, n, dev_up, dev_down):
    """Bollinger band width, ``(upper - lower) / middle`` (NaN where the middle is 0)."""
    middle = core_nb.sma_nb(x, n)
    out = shifted_var_nb(x, n)
    for i in range(n - 1, x.size):
        upper, lower = _band(middle[i], out[i], dev_up, dev_down)
        out[i] = (upper - lower) / middle[i] if middle[i] != 0.0 else np.nan
    return out


@njit(cache=True, nogil=True)
def bb_percent_nb(x, n, dev_up, dev_down):
    """Bollinger %B, ``(x - lower) / (upper - lower)``: 0 on the lower band, 1 on the upper (0.5 if they meet)."""
    middle = core_nb.sma_nb(x, n)
    out = shifted_var_nb(x, n)
    for i in range(n - 1, x.size):
        upper, lower = _band(middle[i], out[i], dev_up, dev_down)
        out[i] = (x[i] - lower) / (upper - lower) if upper > lower else 0.5
    return out


@njit(cache=True, nogil=True)
def keltner_nb(high, low, close, n, atr_n, multiplier):
    """Keltner channel ``(upper, middle, lower)``: EMA(close, n) ± multiplier x ATR(atr_n), on one warm-up."""
    middle = core_nb.ema_nb(close, n)
    upper = core_nb.atr_nb(high, low, close, atr_n)  # the ATR, turned into the band bar by bar
    lower = np.empty(close.size)
    start = max(n - 1, atr_n)
    for i in range(start, close.size):
        offset = multiplier * upper[i]
        upper[i] = middle[i] + offset
        lower[i] = middle[i] - offset
    return mask_before_nb(upper, start), mask_before_nb(middle, start), mask_before_nb(lower, start)


@njit(cache=True, nogil=True)
def donchian_nb(high, low, n):
    """Donchian channel ``(upper, middle, lower)``: highest high, midpoint and lowest low of the last ``n`` bars."""
    upper = np.empty(high.size)
    lower = np.empty(high.size)
    high_low_into_nb(high, low, n, upper, lower)
    return upper, (upper + lower) / 2.0, lower


@njit(cache=True, nogil=True)
def hist_vol_nb(close, n, periods_per_year):
    """Annualised volatility in percent: sample std of the last ``n`` log returns x sqrt(periods per year) x 100."""
    returns = np.full(close.size, np.nan)
    for i in range(1, close.size):
        returns[i] = np.log(close[i] / close[i - 1])
    out = shifted_var_nb(returns, n)
    bessel = n / (n - 1.0)
    scale = np.sqrt(periods_per_year) * 100.0
    for i in range(close.size):
        out[i] = np.sqrt(out[i] * bessel) * scale
    return out


@njit(cache=True, nogil=True)
def chaikin_vol_nb(high, low, n, roc_n):
    """Chaikin volatility: percent change over ``roc_n`` bars of the EMA(n) of ``high - low`` (0 from a 0 base)."""
    out = core_nb.ema_nb(high - low, n)
    for i in range(high.size - 1, n - 2 + roc_n, -1):  # latest first, so each base is still the average
        base = out[i - roc_n]
        out[i] = (out[i] - base) / base * 100.0 if base != 0.0 else 0.0
    mask_before_nb(out, n - 1 + roc_n)
    return out
