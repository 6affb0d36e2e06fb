"""Volatility kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Kernels fill the output arrays they are given (the wrappers allocate them with
NumPy), in the order their docstring names, and return them; ``scratch`` arrays
are overwritten. Variances are
:func:`~backgrid.indicators.kernels.core_nb.rolling_var_nb`, TA-Lib 0.8's VAR.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels import core_nb
from backgrid.indicators.kernels.core_nb import mask_before_nb


@njit(cache=True, nogil=True)
def stddev_nb(x, n, deviations, out):
    """``deviations`` population standard deviations of the last ``n`` values (TA-Lib STDDEV)."""
    core_nb.rolling_var_nb(x, n, out)
    for i in range(x.size):
        out[i] = np.sqrt(out[i]) * deviations
    return out


@njit(cache=True, nogil=True)
def natr_nb(high, low, close, n, out):
    """ATR as a percentage of the close (TA-Lib NATR; 0 where the close is 0)."""
    core_nb.atr_nb(high, low, close, n, out)
    ys = out[n:]  # views: no negative-index test per access, so the loop vectorises
    closes = close[n:]
    for i in range(ys.size):
        c = closes[i]
        ys[i] = ys[i] / c * 100.0 if c != 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def _band(middle, var, dev_up, dev_down):
    """Upper and lower Bollinger band from the middle band and the variance, as TA-Lib BBANDS adds them."""
    sd = np.sqrt(var)
    return middle + sd * dev_up, middle - sd * dev_down


@njit(cache=True, nogil=True)
def bbands_nb(x, n, dev_up, dev_down, upper, middle, lower):
    """Bollinger Bands ``(upper, middle, lower)``: SMA ± deviations x population std (TA-Lib BBANDS, SMA)."""
    core_nb.sma_nb(x, n, middle)
    core_nb.rolling_var_nb(x, n, upper)
    mask_before_nb(lower, n - 1)
    ups = upper[n - 1:]  # views: no negative-index test per access, so the loop vectorises
    mids = middle[n - 1:]
    lows = lower[n - 1:]
    for i in range(ups.size):
        ups[i], lows[i] = _band(mids[i], ups[i], dev_up, dev_down)
    return upper, middle, lower


@njit(cache=True, nogil=True)
def _band_position_nb(x, n, dev_up, dev_down, percent, out, scratch):
    """Bollinger band width ``(upper - lower) / middle`` (NaN where the middle is 0) or, with ``percent``, %B.

    %B is ``(x - lower) / (upper - lower)``: 0 on the lower band, 1 on the upper,
    0.5 where they meet. The bands are :func:`bbands_nb`'s, to the last bit.
    """
    core_nb.sma_nb(x, n, scratch)
    core_nb.rolling_var_nb(x, n, out)
    ys = out[n - 1:]  # views: no negative-index test per access, so the loop vectorises
    mids = scratch[n - 1:]
    xs = x[n - 1:]
    for i in range(ys.size):
        middle = mids[i]
        upper, lower = _band(middle, ys[i], dev_up, dev_down)
        if percent:
            ys[i] = (xs[i] - lower) / (upper - lower) if upper > lower else 0.5
        else:
            ys[i] = (upper - lower) / middle if middle != 0.0 else np.nan
    return out


@njit(cache=True, nogil=True)
def bb_width_nb(x, n, dev_up, dev_down, out, scratch):
    """Bollinger band width, ``(upper - lower) / middle`` (NaN where the middle is 0)."""
    return _band_position_nb(x, n, dev_up, dev_down, False, out, scratch)


@njit(cache=True, nogil=True)
def bb_percent_nb(x, n, dev_up, dev_down, out, scratch):
    """Bollinger %B, ``(x - lower) / (upper - lower)``: 0 on the lower band, 1 on the upper (0.5 if they meet)."""
    return _band_position_nb(x, n, dev_up, dev_down, True, out, scratch)


@njit(cache=True, nogil=True)
def keltner_nb(high, low, close, n, atr_n, multiplier, upper, middle, lower):
    """Keltner channel ``(upper, middle, lower)``: EMA(close, n) ± multiplier x ATR(atr_n), on one warm-up."""
    core_nb.ema_nb(close, n, middle)
    core_nb.atr_nb(high, low, close, atr_n, upper)  # the ATR, turned into the band bar by bar
    start = max(n - 1, atr_n)
    for i in range(start, close.size):
        offset = multiplier * upper[i]
        upper[i] = middle[i] + offset
        lower[i] = middle[i] - offset
    return mask_before_nb(upper, start), mask_before_nb(middle, start), mask_before_nb(lower, start)


@njit(cache=True, nogil=True)
def donchian_nb(high, low, n, upper, middle, lower):
    """Donchian channel ``(upper, middle, lower)``: highest high, midpoint and lowest low of the last ``n`` bars."""
    core_nb.rolling_extreme_nb(high, n, 1.0, upper)
    core_nb.rolling_extreme_nb(low, n, -1.0, lower)
    for i in range(high.size):
        middle[i] = (upper[i] + lower[i]) / 2.0
    return upper, middle, lower


@njit(cache=True, nogil=True)
def hist_vol_nb(close, n, periods_per_year, out, scratch):
    """Annualised volatility in percent: sample std of the last ``n`` log returns x sqrt(periods per year) x 100."""
    returns = mask_before_nb(scratch, 1)
    for i in range(1, close.size):
        returns[i] = np.log(close[i] / close[i - 1])
    core_nb.rolling_var_nb(returns, n, out)
    bessel = n / (n - 1.0)
    scale = np.sqrt(periods_per_year) * 100.0
    for i in range(close.size):
        out[i] = np.sqrt(out[i] * bessel) * scale
    return out


@njit(cache=True, nogil=True)
def chaikin_vol_nb(high, low, n, roc_n, out, scratch):
    """Chaikin volatility: percent change over ``roc_n`` bars of the EMA(n) of ``high - low`` (0 from a 0 base)."""
    for i in range(high.size):
        scratch[i] = high[i] - low[i]
    core_nb.ema_nb(scratch, n, out)
    for i in range(high.size - 1, n - 2 + roc_n, -1):  # latest first, so each base is still the average
        base = out[i - roc_n]
        out[i] = (out[i] - base) / base * 100.0 if base != 0.0 else 0.0
    return mask_before_nb(out, n - 1 + roc_n)
