"""Volume kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Kernels fill the output arrays they are given (the wrappers allocate them with
NumPy), in the order their docstring names, and return them. ``ids`` arguments
are int64 period ids (:func:`backgrid.indicators.periods.period_ids`): equal
within one period, different from one period to the next.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels.core_nb import mask_before_nb, rolling_sum_nb


@njit(cache=True, nogil=True)
def obv_nb(close, volume, out):
    """On-balance volume, starting from the first bar's volume (TA-Lib OBV)."""
    if close.size == 0:
        return out
    total = volume[0]
    prev = close[0]
    for i in range(close.size):
        c = close[i]
        if c > prev:
            total += volume[i]
        elif c < prev:
            total -= volume[i]
        out[i] = total
        prev = c
    return out


@njit(cache=True, nogil=True)
def _money_flow_nb(h, lo, c, v):
    """Close location in the bar's range (-1 .. +1) times volume; 0 on a bar with no range (TA-Lib AD's term)."""
    rng = h - lo
    if rng > 0.0:
        return (c - lo - (h - c)) / rng * v
    return 0.0


@njit(cache=True, nogil=True)
def cmf_nb(high, low, close, volume, n, out, scratch):
    """Chaikin money flow: sum of money-flow volume over sum of volume, last ``n`` bars (0 without volume).

    ``scratch`` is ``(2, len)`` and overwritten.
    """
    flow = scratch[0]
    for i in range(close.size):
        flow[i] = _money_flow_nb(high[i], low[i], close[i], volume[i])
    rolling_sum_nb(flow, n, out)
    total = rolling_sum_nb(volume, n, scratch[1])
    for i in range(close.size):
        if np.isnan(total[i]):
            out[i] = np.nan
        else:
            out[i] = out[i] / total[i] if total[i] != 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def ad_nb(high, low, close, volume, out):
    """Accumulation/distribution line: running sum of the money-flow volume (TA-Lib AD)."""
    total = 0.0
    for i in range(close.size):
        total += _money_flow_nb(high[i], low[i], close[i], volume[i])
        out[i] = total
    return out


@njit(cache=True, nogil=True)
def adosc_nb(high, low, close, volume, fast, slow, out):
    """Chaikin oscillator: fast EMA minus slow EMA of the A/D line, both seeded with its first value (TA-Lib ADOSC).

    The first ``max(fast, slow) - 1`` bars only run the averages in and are NaN.
    """
    lookback = max(fast, slow) - 1
    mask_before_nb(out, lookback)
    if close.size == 0:
        return out
    fast_k = 2.0 / (fast + 1.0)
    slow_k = 2.0 / (slow + 1.0)
    ad = _money_flow_nb(high[0], low[0], close[0], volume[0])
    fast_ema = ad
    slow_ema = ad
    for i in range(1, close.size):
        ad += _money_flow_nb(high[i], low[i], close[i], volume[i])
        fast_ema = fast_k * ad + (1.0 - fast_k) * fast_ema
        slow_ema = slow_k * ad + (1.0 - slow_k) * slow_ema
        if i >= lookback:
            out[i] = fast_ema - slow_ema
    return out


@njit(cache=True, nogil=True)
def vwap_nb(price, volume, ids, vwap, std):
    """Volume-weighted average ``price`` since the start of each period, and the weighted standard deviation.

    Fills ``(vwap, std)``. The deviation is updated with West's weighted form of
    Welford's algorithm (no cancellation between large sums). While the period has
    had no volume yet the VWAP is the bar's own price and the deviation 0.
    """
    n = price.size
    pv = 0.0
    weight = 0.0
    mean = 0.0
    m2 = 0.0
    for i in range(n):
        if i == 0 or ids[i] != ids[i - 1]:
            pv = 0.0
            weight = 0.0
            mean = 0.0
            m2 = 0.0
        x = price[i]
        w = volume[i]
        if w > 0.0:
            pv += x * w
            weight += w
            delta = x - mean
            mean += delta * (w / weight)
            m2 += w * delta * (x - mean)
        if weight > 0.0:
            vwap[i] = pv / weight
            std[i] = np.sqrt(m2 / weight) if m2 > 0.0 else 0.0
        else:
            vwap[i] = x
            std[i] = 0.0
    return vwap, std


@njit(cache=True, nogil=True)
def _price_bin_nb(price, lo, scale, bins):
    """Bin of ``price`` on a grid of ``bins`` bins from ``lo``, ``scale`` bins per unit of price."""
    k = int((price - lo) * scale)
    return min(max(k, 0), bins - 1)


@njit(cache=True, nogil=True)
def volume_profile_nb(price, volume, window_volume, lowest, highest, n, bins, area_share, poc, vah, val):
    """Rolling volume profile of the last ``n`` bars: point of control and value area.

    ``lowest``/``highest`` are the window's lowest low and highest high (NaN during
    the warm-up); the range between them is cut into ``bins`` equal bins and each
    bar's whole volume goes to the bin holding its ``price``. The point of control
    is the middle of the fullest bin (the lowest one on ties). The value area
    starts at that bin and grows one bin at a time towards the fuller neighbour
    (upwards on ties) until it holds ``area_share`` of the window's volume
    ``window_volume`` (the rolling sum of ``volume``). Fills ``(poc, vah, val)``.

    While the window's range stays the same, no bar changes bin, so the
    histogram is updated by the bar that leaves and the bar that enters (O(bins)
    per bar); it is rebuilt from the window (O(n)) only when the range moves.
    A bin that holds no bar is exactly 0. Sums are exact for whole-number
    volumes; fractional volumes can differ from a fresh sum in the last bits.
    """
    size = price.size
    for x in (poc, vah, val):
        mask_before_nb(x, size)
    # bins 1..bins of `hist`; the sentinels at both ends stop the value area's growth without bound checks
    hist = np.full(bins + 2, -1.0)
    count = np.zeros(bins + 2, dtype=np.int64)
    slot = np.zeros(max(n, 1), dtype=np.int64)  # bin of each bar in the window, a ring indexed by bar modulo n
    pos = n - 1  # ring position of bar t (t modulo n)
    prev_lo = np.nan
    prev_hi = np.nan
    for t in range(n - 1, size):
        lo = lowest[t]
        hi = highest[t]
        if np.isnan(lo) or np.isnan(hi):
            prev_lo = np.nan
        else:
            scale = bins / (hi - lo) if hi > lo else 0.0
            if lo == prev_lo and hi == prev_hi:
                k = slot[pos]  # the bar leaving the window held this ring position
                count[k] -= 1
                hist[k] = hist[k] - volume[t - n] if count[k] > 0 else 0.0
                k = 1 + _price_bin_nb(price[t], lo, scale, bins)
                slot[pos] = k
                hist[k] += volume[t]
                count[k] += 1
            else:
                hist[1:bins + 1] = 0.0
                count[:] = 0
                p = pos + 1
                for i in range(t - n + 1, t + 1):
                    p = 0 if p == n else p
                    k = 1 + _price_bin_nb(price[i], lo, scale, bins)
                    slot[p] = k
                    hist[k] += volume[i]
                    count[k] += 1
                    p += 1
            prev_lo = lo
            prev_hi = hi
            fullest = hist[1]
            for k in range(2, bins + 1):
                fullest = max(fullest, hist[k])
            best = 1
            while hist[best] != fullest:
                best += 1
            target = area_share * window_volume[t]
            area = hist[best]
            below = best
            above = best
            while area < target:
                up = hist[above + 1]
                down = hist[below - 1]
                if up >= down:
                    if up < 0.0:  # both neighbours are sentinels: every bin is in
                        break
                    area += up
                    above += 1
                else:
                    area += down
                    below -= 1
            width = (hi - lo) / bins
            poc[t] = lo + (best - 0.5) * width
            vah[t] = lo + above * width
            val[t] = lo + (below - 1) * width
        pos += 1
        pos = 0 if pos == n else pos
    return poc, vah, val


@njit(cache=True, nogil=True)
def ease_of_movement_nb(high, low, volume, scale, out):
    """One-bar ease of movement: move of the bar's midpoint over the box ratio ``(volume / scale) / (high - low)``.

    The first bar (no previous midpoint) is NaN; bars with no range or no volume give 0.
    """
    mask_before_nb(out, 1)
    for i in range(1, high.size):
        rng = high[i] - low[i]
        if rng > 0.0 and volume[i] > 0.0:
            move = (high[i] + low[i]) / 2.0 - (high[i - 1] + low[i - 1]) / 2.0
            out[i] = move / ((volume[i] / scale) / rng)
        else:
            out[i] = 0.0
    return out
