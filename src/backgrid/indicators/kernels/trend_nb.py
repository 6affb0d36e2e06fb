"""Trend kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Kernels fill the output arrays they are given (the wrappers allocate them with
NumPy), in the order their docstring names, and return them; ``scratch`` arrays
are overwritten. Where a TA-Lib function exists the loop follows its C code
(seeds, running sums, the zero tests) so that results agree to rounding.
Windows are merged into one pass where they can be: each extra pass over 1M bars
costs about a millisecond.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels import core_nb
from backgrid.indicators.kernels.core_nb import RESEED_WINDOWS, TA_EPSILON, mask_before_nb, true_range_at_nb


@njit(cache=True, nogil=True)
def midpoint_nb(high, low, w, out, scratch):
    """Fill ``out`` with ``(highest high + lowest low) / 2`` of the last ``w`` bars."""
    core_nb.rolling_extreme_nb(high, w, 1.0, out)
    core_nb.rolling_extreme_nb(low, w, -1.0, scratch)
    for i in range(high.size):
        out[i] = (out[i] + scratch[i]) / 2.0
    return out


@njit(cache=True, nogil=True)
def _dm_step(high, low, i):
    """One-bar +DM and -DM at bar ``i`` (TA-Lib: the larger leg outside yesterday's range, or 0)."""
    diff_p = high[i] - high[i - 1]
    diff_m = low[i - 1] - low[i]
    plus = diff_p if (diff_p > 0.0 and diff_p - diff_m > 0.0) else 0.0
    minus = diff_m if (diff_m > 0.0 and diff_m - diff_p > 0.0) else 0.0
    return plus, minus


@njit(cache=True, nogil=True)
def _directional_nb(high, low, close, n, want_adx, plus_di, minus_di, adx):
    """Wilder's directional system as TA-Lib PLUS_DI, MINUS_DI and ADX: ``(plus_di, minus_di, adx)``.

    +DM, -DM and the true range are summed over bars ``1 .. n-1`` and then
    Wilder-smoothed (``s - s/n + x``); the DIs start at bar ``n``. DX is summed over
    bars ``n .. 2n-1`` (a bar with zero true range or DI sum adds nothing) and its
    mean is the first ADX at bar ``2n-1``, smoothed after that. A zero true-range
    sum gives DIs of 0 and leaves the ADX unchanged. Only the ADX (``want_adx``)
    or only the DIs are filled; the others are not touched.
    """
    size = close.size
    warmup = size if n < 2 else (2 * n - 1 if want_adx else n)
    if want_adx:
        mask_before_nb(adx, warmup)
    else:
        mask_before_nb(plus_di, warmup)
        mask_before_nb(minus_di, warmup)
    if size <= warmup:
        return plus_di, minus_di, adx
    inv = 1.0 / n
    pdm = 0.0
    mdm = 0.0
    tr = 0.0
    for i in range(1, n):
        p, m = _dm_step(high, low, i)
        pdm += p
        mdm += m
        tr += true_range_at_nb(high, low, close, i)
    sum_dx = 0.0
    prev_adx = 0.0
    for i in range(n, size):
        p, m = _dm_step(high, low, i)
        pdm = pdm - pdm * inv + p
        mdm = mdm - mdm * inv + m
        tr = tr - tr * inv + true_range_at_nb(high, low, close, i)
        pdi = 100.0 * (pdm / tr) if tr > 0.0 else 0.0
        mdi = 100.0 * (mdm / tr) if tr > 0.0 else 0.0
        if not want_adx:
            plus_di[i] = pdi
            minus_di[i] = mdi
            continue
        total = mdi + pdi
        has_dx = tr > 0.0 and not -TA_EPSILON < total < TA_EPSILON
        dx = 100.0 * (abs(mdi - pdi) / total) if has_dx else 0.0
        if i < 2 * n - 1:
            sum_dx += dx
            continue
        if i == 2 * n - 1:
            prev_adx = (sum_dx + dx) / n
        elif has_dx:
            prev_adx = prev_adx - (prev_adx - dx) * inv
        adx[i] = prev_adx
    return plus_di, minus_di, adx


@njit(cache=True, nogil=True)
def dmi_nb(high, low, close, n, plus_di, minus_di):
    """Fill ``plus_di`` and ``minus_di`` as TA-Lib PLUS_DI and MINUS_DI (see :func:`_directional_nb`)."""
    _directional_nb(high, low, close, n, False, plus_di, minus_di, plus_di)
    return plus_di, minus_di


@njit(cache=True, nogil=True)
def adx_nb(high, low, close, n, out):
    """Fill ``out`` as TA-Lib ADX (see :func:`_directional_nb`)."""
    return _directional_nb(high, low, close, n, True, out, out, out)[2]


@njit(cache=True, nogil=True)
def aroon_nb(high, low, n, up, down):
    """Fill ``up`` and ``down`` as TA-Lib AROON over the last ``n + 1`` bars.

    ``up = 100/n * (n - bars since the highest high)``, ties going to the latest
    bar; ``down`` likewise with the lowest low.
    """
    core_nb.rolling_extreme_index_nb(high, n + 1, 1.0, up)
    core_nb.rolling_extreme_index_nb(low, n + 1, -1.0, down)
    factor = 100.0 / n
    for i in range(n, high.size):
        up[i] = factor * (n - (i - up[i]))
        down[i] = factor * (n - (i - down[i]))
    return up, down


@njit(cache=True, nogil=True)
def aroon_osc_nb(high, low, n, out, scratch):
    """Aroon up minus down as TA-Lib AROONOSC computes it: ``100/n * (index of high - index of low)``."""
    osc = core_nb.rolling_extreme_index_nb(high, n + 1, 1.0, out)
    low_at = core_nb.rolling_extreme_index_nb(low, n + 1, -1.0, scratch)
    factor = 100.0 / n
    for i in range(n, high.size):
        osc[i] = factor * (osc[i] - low_at[i])
    return osc


@njit(cache=True, nogil=True)
def ichimoku_nb(high, low, close, tenkan, kijun, senkou_b, displacement, t_line, k_line, span_a, span_b, chikou):
    """Causal Ichimoku: fill the tenkan, kijun, both spans and the chikou, in that order.

    Each line is the midpoint of the highest high and lowest low over its period.
    The spans at bar ``t`` are the ones that apply to ``t``: computed at
    ``t - displacement`` (no future-shifted cloud). Chikou is the close of bar
    ``t`` itself (the chart draws it ``displacement`` bars back). Every output is
    NaN until the last of them has a value.
    """
    size = close.size
    midpoint_nb(high, low, tenkan, t_line, chikou)  # chikou: scratch until the end
    midpoint_nb(high, low, kijun, k_line, chikou)
    midpoint_nb(high, low, senkou_b, span_b, chikou)
    mask_before_nb(span_a, size)
    for t in range(size - 1, displacement - 1, -1):  # shift forward in place, latest first
        span_b[t] = span_b[t - displacement]
        span_a[t] = (t_line[t - displacement] + k_line[t - displacement]) / 2.0
    chikou[:] = close
    start = max(kijun, tenkan, displacement + max(tenkan, kijun), displacement + senkou_b) - 1
    for x in (t_line, k_line, span_a, span_b, chikou):
        mask_before_nb(x, start)
    return t_line, k_line, span_a, span_b, chikou


@njit(cache=True, nogil=True)
def sar_nb(high, low, acceleration, maximum, sar_out, direction):
    """Parabolic SAR as TA-Lib SAR, and the side it is on: fill ``(sar_out, direction)``.

    The first bar's direction is short when its -DM (against bar 0) is positive,
    else long. ``sar[t]`` is the stop in force for bar ``t`` (reset to the extreme
    point on the bar that reverses it); ``direction[t]`` is +1 while long (stop
    below price) and -1 while short, after bar ``t``.
    """
    size = high.size
    mask_before_nb(sar_out, 1)
    mask_before_nb(direction, 1)
    if size < 2:
        return sar_out, direction
    acceleration = min(acceleration, maximum)
    af = acceleration
    diff_m = low[0] - low[1]
    is_long = not (diff_m > 0.0 and high[1] - high[0] < diff_m)
    if is_long:
        ep = high[1]
        sar = low[0]
    else:
        ep = low[1]
        sar = high[0]
    new_low = low[1]
    new_high = high[1]
    for t in range(1, size):
        prev_low = new_low
        prev_high = new_high
        new_low = low[t]
        new_high = high[t]
        if is_long:
            if new_low <= sar:
                is_long = False
                sar = max(ep, prev_high, new_high)
                sar_out[t] = sar
                af = acceleration
                ep = new_low
                sar = max(sar + af * (ep - sar), prev_high, new_high)
            else:
                sar_out[t] = sar
                if new_high > ep:
                    ep = new_high
                    af = min(af + acceleration, maximum)
                sar = min(sar + af * (ep - sar), prev_low, new_low)
        elif new_high >= sar:
            is_long = True
            sar = min(ep, prev_low, new_low)
            sar_out[t] = sar
            af = acceleration
            ep = new_high
            sar = min(sar + af * (ep - sar), prev_low, new_low)
        else:
            sar_out[t] = sar
            if new_low < ep:
                ep = new_low
                af = min(af + acceleration, maximum)
            sar = max(sar + af * (ep - sar), prev_high, new_high)
        direction[t] = 1.0 if is_long else -1.0
    return sar_out, direction


@njit(cache=True, nogil=True)
def supertrend_nb(high, low, close, n, multiplier, line, direction, upper, lower):
    """Supertrend: fill ``(line, direction, upper, lower)``, the supertrend, its direction and bands.

    Basic bands are ``(high + low) / 2 ± multiplier * ATR(n)`` (TA-Lib ATR, first
    value at bar ``n``). The final lower band only rises and the final upper band
    only falls, unless the previous close crossed them. The trend starts down
    (as TradingView's ``ta.supertrend``) and turns up when the close rises above
    the upper band, down again when it falls below the lower band. ``upper`` has a
    value only while the trend is down, ``lower`` only while it is up;
    ``supertrend`` is the one in force.
    """
    size = close.size
    core_nb.atr_nb(high, low, close, n, line)  # read bar by bar, then overwritten with the band
    for x in (direction, upper, lower):
        mask_before_nb(x, size)
    up = 0.0
    lo = 0.0
    trend = -1.0
    for t in range(n, size):
        mid = (high[t] + low[t]) / 2.0
        basic_up = mid + multiplier * line[t]
        basic_lo = mid - multiplier * line[t]
        if t == n:
            up = basic_up
            lo = basic_lo
        else:
            if basic_lo > lo or close[t - 1] < lo:
                lo = basic_lo
            if basic_up < up or close[t - 1] > up:
                up = basic_up
            if trend < 0.0 and close[t] > up:
                trend = 1.0
            elif trend > 0.0 and close[t] < lo:
                trend = -1.0
        direction[t] = trend
        if trend > 0.0:
            line[t] = lo
            lower[t] = lo
        else:
            line[t] = up
            upper[t] = up
    return line, direction, upper, lower


@njit(cache=True, nogil=True)
def _vortex_legs(high, low, close, i):
    """``|high - previous low|``, ``|low - previous high|`` and the true range of bar ``i``."""
    return abs(high[i] - low[i - 1]), abs(low[i] - high[i - 1]), true_range_at_nb(high, low, close, i)


@njit(cache=True, nogil=True)
def vortex_nb(high, low, close, n, vi_plus, vi_minus):
    """Vortex indicator ``(vi_plus, vi_minus)``: sums of ``|high - previous low|`` and ``|low - previous high|``.

    Each sum over the last ``n`` bars is divided by the sum of true ranges over
    the same bars (0 when that sum is 0); the first value is at bar ``n``. The
    three window sums run in one pass.
    """
    size = close.size
    mask_before_nb(vi_plus, n)
    mask_before_nb(vi_minus, n)
    s_plus = 0.0
    s_minus = 0.0
    s_tr = 0.0
    for i in range(1, size):
        p, m, tr = _vortex_legs(high, low, close, i)
        s_plus += p
        s_minus += m
        s_tr += tr
        if i < n:
            continue
        vi_plus[i] = s_plus / s_tr if s_tr > 0.0 else 0.0
        vi_minus[i] = s_minus / s_tr if s_tr > 0.0 else 0.0
        p, m, tr = _vortex_legs(high, low, close, i - n + 1)
        s_plus -= p
        s_minus -= m
        s_tr -= tr
    return vi_plus, vi_minus


@njit(cache=True, nogil=True)
def linreg_slope_nb(x, n, out):
    """Least-squares slope of the last ``n`` values per bar (TA-Lib LINEARREG_SLOPE).

    ``x`` runs ``n-1 .. 0`` bars ago, so the divisor is negative and the sign comes
    out right. The window sums slide in O(1) and are rebuilt from the window every
    ``32 * n`` bars, and on the bar a value leaves that outweighs what the window
    still holds (TA-Lib's re-anchoring), so rounding does not pile up.
    """
    start = core_nb.first_valid_nb(x)
    if n < 2 or x.size - start < n:
        return mask_before_nb(out, x.size)
    mask_before_nb(out, start + n - 1)
    sum_x = n * (n - 1) * 0.5
    sum_x_sqr = n * (n - 1) * (2 * n - 1) / 6.0
    divisor = sum_x * sum_x - n * sum_x_sqr
    first = start + n - 1
    sum_y, sum_xy, sum_abs = _linreg_sums(x, first, n)
    out[first] = (n * sum_xy - sum_x * sum_y) / divisor
    left = RESEED_WINDOWS * n
    for t in range(first + 1, x.size):
        trailing = x[t - n]
        weighted = n * trailing
        sum_xy = sum_xy + sum_y - weighted
        sum_y = sum_y - trailing + x[t]
        sum_abs = sum_abs - abs(trailing) + abs(x[t])
        left -= 1
        if left <= 0 or abs(weighted) > 100.0 * sum_abs:
            left = RESEED_WINDOWS * n
            sum_y, sum_xy, sum_abs = _linreg_sums(x, t, n)
        out[t] = (n * sum_xy - sum_x * sum_y) / divisor
    return out


@njit(cache=True, nogil=True)
def _linreg_sums(x, t, n):
    """Sum, bars-ago-weighted sum and sum of magnitudes of the window ending at ``t``, oldest first."""
    sum_y = 0.0
    sum_xy = 0.0
    sum_abs = 0.0
    weight = n - 1.0
    for j in range(t - n + 1, t + 1):
        v = x[j]
        sum_y += v
        sum_xy += weight * v
        sum_abs += abs(v)
        weight -= 1.0
    return sum_y, sum_xy, sum_abs


@njit(cache=True, nogil=True)
def choppiness_nb(high, low, close, n, out, scratch):
    """Choppiness index: ``100 * log10(sum of true ranges / (highest high - lowest low)) / log10(n)``.

    Both run over the same last ``n`` bars; the true range needs the previous
    close, so the first value is at bar ``n``. A window with no range at all reads
    100 (fully sideways).
    """
    size = close.size
    core_nb.rolling_extreme_nb(high, n, 1.0, out)
    lowest = core_nb.rolling_extreme_nb(low, n, -1.0, scratch)
    mask_before_nb(out, n)
    scale = 100.0 / np.log10(n)
    total = 0.0
    for i in range(1, size):
        total += true_range_at_nb(high, low, close, i)
        if i < n:
            continue
        span = out[i] - lowest[i]
        out[i] = scale * np.log10(total / span) if span > 0.0 else 100.0
        total -= true_range_at_nb(high, low, close, i - n + 1)
    return out
