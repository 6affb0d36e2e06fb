"""Support/resistance kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Swing inputs (``swing_high``, ``swing_low``) are the outputs of
:func:`~backgrid.indicators.kernels.core_nb.pivot_high_nb` /
:func:`~backgrid.indicators.kernels.core_nb.pivot_low_nb`: the swing's price at the
bar where it is confirmed, NaN elsewhere. ``ids`` are int64 period ids.

Kernels with several outputs fill a ``(k, n)`` float64 array ``out`` that the caller
allocates with NumPy: NumPy backs large arrays with transparent huge pages, an
array allocated inside a kernel is not, and touching tens of megabytes page by
page costs several times more than the computation.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def previous_period_hlc_nb(high, low, close, ids, out):
    """High, low and last close of the previous completed period, on every bar of the period after it.

    Fills ``out`` (``(3, n)``: high, low, close); bars of the first period are NaN.
    """
    n = high.size
    h = np.nan
    lo = np.nan
    c = np.nan
    prev_h = np.nan
    prev_lo = np.nan
    prev_c = np.nan
    for i in range(n):
        if i == 0 or ids[i] != ids[i - 1]:
            prev_h = h
            prev_lo = lo
            prev_c = c
            h = high[i]
            lo = low[i]
        else:
            h = max(h, high[i])
            lo = min(lo, low[i])
        c = close[i]
        out[0, i] = prev_h
        out[1, i] = prev_lo
        out[2, i] = prev_c
    return out


@njit(cache=True, nogil=True)
def weighted_levels_nb(hlc, weights, out):
    """Fill ``out`` (``(m, n)``) with levels that are weighted sums of high, low and close: ``weights[k] @ hlc``."""
    n = hlc.shape[1]
    for k in range(weights.shape[0]):
        wh = weights[k, 0]
        wl = weights[k, 1]
        wc = weights[k, 2]
        for t in range(n):
            out[k, t] = wh * hlc[0, t] + wl * hlc[1, t] + wc * hlc[2, t]
    return out


@njit(cache=True, nogil=True)
def swing_retracement_nb(swing_high, swing_low, right, ratios, out):
    """Retracement levels between the latest confirmed swing high and swing low.

    Row ``k`` of ``out`` (``(ratios.size, n)``) holds ``ratios[k]`` of the way back from the swing that came last
    (by the bar that made it, ``right`` bars before its confirmation; the high wins
    when one bar made both): ``high - r * (high - low)`` after a swing up,
    ``low + r * (high - low)`` after a swing down. Bars are NaN until both a high
    and a low are confirmed.
    """
    n = swing_high.size
    high = np.nan
    low = np.nan
    high_bar = -1
    low_bar = -1
    for t in range(n):
        if not np.isnan(swing_high[t]):
            high = swing_high[t]
            high_bar = t - right
        if not np.isnan(swing_low[t]):
            low = swing_low[t]
            low_bar = t - right
        span = high - low  # NaN until both are known
        for k in range(ratios.size):
            if high_bar >= low_bar:
                out[k, t] = high - ratios[k] * span
            else:
                out[k, t] = low + ratios[k] * span
    return out


@njit(cache=True, nogil=True)
def _insert_sorted_nb(prices, bars, m, price, bar):
    """Insert ``(price, bar)`` into the first ``m`` slots, kept sorted by price; return the new count."""
    i = m
    while i > 0 and prices[i - 1] > price:
        prices[i] = prices[i - 1]
        bars[i] = bars[i - 1]
        i -= 1
    prices[i] = price
    bars[i] = bar
    return m + 1


@njit(cache=True, nogil=True)
def _remove_bar_nb(prices, bars, m, bar):
    """Remove the point made at ``bar`` from the first ``m`` slots; return the new count."""
    i = 0
    while bars[i] != bar:
        i += 1
    for k in range(i, m - 1):
        prices[k] = prices[k + 1]
        bars[k] = bars[k + 1]
    return m - 1


@njit(cache=True, nogil=True)
def sr_zones_nb(close, swing_high, swing_low, atr, right, lookback, tolerance, min_touches, out):
    """Nearest clustered support and resistance zones around each close.

    Points are the confirmed swing highs and lows made in the last ``lookback``
    bars (swing bar ``j`` with ``t - lookback < j``, confirmed at ``j + right <= t``),
    kept sorted by price. With ``tol = tolerance * atr[t]``, resistance is found by
    walking up from the lowest point strictly above the close: a cluster starts at
    a point ``p`` and takes every following point ``<= p + tol``; the first cluster
    with at least ``min_touches`` points is the zone (bounds: its lowest and highest
    point), otherwise the next cluster starts at the next point. Support mirrors it
    walking down from the highest point strictly below the close. Fills ``out``
    (``(4, n)``): resistance upper, resistance lower, support upper, support
    lower; NaN where there is no such zone or no ATR yet.
    """
    n = close.size
    out[:] = np.nan
    # swing highs (and lows) are at least two bars apart, so a window never holds more than this
    cap = 2 * lookback + 4
    prices = np.empty(cap)
    bars = np.empty(cap, dtype=np.int64)
    queue = np.empty(cap, dtype=np.int64)  # ring of swing bars in the order they were confirmed
    head = 0
    m = 0
    above = 0
    for t in range(n):
        for swings in (swing_high, swing_low):
            if not np.isnan(swings[t]):
                m = _insert_sorted_nb(prices, bars, m, swings[t], t - right)
                queue[(head + m - 1) % cap] = t - right
        while m > 0 and queue[head] <= t - lookback:
            m = _remove_bar_nb(prices, bars, m, queue[head])
            head = (head + 1) % cap
        tol = tolerance * atr[t]
        c = close[t]
        if np.isnan(tol) or np.isnan(c):
            continue
        # the first point above the close: walk from where it was a bar ago (the close moves little)
        above = min(above, m)
        while above > 0 and prices[above - 1] > c:
            above -= 1
        while above < m and prices[above] <= c:
            above += 1
        i = above
        while i < m:
            j = i
            while j < m and prices[j] <= prices[i] + tol:
                j += 1
            if j - i >= min_touches:
                out[0, t] = prices[j - 1]
                out[1, t] = prices[i]
                break
            i = j
        i = above - 1  # the last point below the close
        while i >= 0 and prices[i] == c:
            i -= 1
        while i >= 0:
            j = i
            while j >= 0 and prices[j] >= prices[i] - tol:
                j -= 1
            if i - j >= min_touches:
                out[2, t] = prices[i]
                out[3, t] = prices[j + 1]
                break
            i = j
    return out
