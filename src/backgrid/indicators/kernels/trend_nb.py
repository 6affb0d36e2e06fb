"""Trend kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Kernels that return several series return a tuple of float64 arrays in the order
their docstring names; kernels that take ``out`` (and ``*_into_nb`` kernels) fill
the caller's arrays instead. Where a TA-Lib function exists the loop follows its C
code (seeds, running sums, the zero tests) so that results agree to rounding.

Kernels avoid large temporaries: on 1M bars each extra array Numba allocates
costs a few milliseconds of page faults, often more than the arithmetic, so
windows are merged into one pass and arrays returned by core primitives are
reused as outputs where possible.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels import core_nb

#: TA-Lib's ``TA_IS_ZERO`` band (``TA_EPSILON``), used on dimensionless sums.
_TA_EPSILON = 1e-14
#: Rebuild running window sums at least this many windows apart (TA-Lib's interval).
RESEED_WINDOWS = 32


@njit(cache=True, nogil=True)
def mask_before_nb(x, start):
    """Set ``x[:start]`` to NaN in place and return ``x`` (aligns outputs on one warm-up)."""
    x[: min(start, x.size)] = np.nan
    return x


@njit(cache=True, nogil=True)
def rolling_extreme_index_nb(x, w, sign, out):
    """Fill ``out`` with the index (as a float) of the largest ``sign * x`` among the last ``w`` values.

    ``sign`` is 1.0 for the highest value and -1.0 for the lowest; ties go to the
    latest bar. ``out[:w - 1]`` is NaN. Van Herk / Gil-Werman block scan (as
    TA-Lib MAX): per block of ``w`` bars one backward pass of suffix extremes,
    one forward pass of prefix extremes and one merge, so the work per bar is a
    few comparisons whatever ``w`` is, with scratch of size ``w`` only. Returns ``out``.
    """
    n = x.size
    mask_before_nb(out, w - 1)
    suf_v = np.empty(w)
    suf_i = np.empty(w)
    pre_v = np.empty(w)
    pre_i = np.empty(w)
    b = 0
    while b + w <= n:
        best = sign * x[b + w - 1]
        at = b + w - 1.0
        suf_v[w - 1] = best
        suf_i[w - 1] = at
        for k in range(w - 2, -1, -1):  # backward: keep the later bar on ties
            v = sign * x[b + k]
            at = float(b + k) if v > best else at
            best = max(v, best)
            suf_v[k] = best
            suf_i[k] = at
        out[b + w - 1] = suf_i[0]
        nb = b + w
        avail = min(w - 1, n - nb)
        if avail > 0:
            best = sign * x[nb]
            at = float(nb)
            pre_v[0] = best
            pre_i[0] = at
            for k in range(1, avail):  # forward: the later bar wins ties
                v = sign * x[nb + k]
                at = float(nb + k) if v >= best else at
                best = max(v, best)
                pre_v[k] = best
                pre_i[k] = at
            for m in range(1, avail + 1):  # window = suffix[m:] of this block + prefix[:m] of the next
                out[nb - 1 + m] = pre_i[m - 1] if pre_v[m - 1] >= suf_v[m] else suf_i[m]
        b = nb
    return out


@njit(cache=True, nogil=True)
def high_low_into_nb(high, low, w, hh, ll):
    """Fill ``hh`` and ``ll`` with the highest high and lowest low of the last ``w`` bars (NaN before)."""
    rolling_extreme_index_nb(high, w, 1.0, hh)
    rolling_extreme_index_nb(low, w, -1.0, ll)
    for i in range(w - 1, high.size):
        hh[i] = high[int(hh[i])]
        ll[i] = low[int(ll[i])]


@njit(cache=True, nogil=True)
def midpoint_into_nb(high, low, w, out, scratch):
    """Fill ``out`` with ``(highest high + lowest low) / 2`` of the last ``w`` bars; ``scratch`` is overwritten."""
    high_low_into_nb(high, low, w, out, scratch)
    for i in range(w - 1, high.size):
        out[i] = (out[i] + scratch[i]) / 2.0


@njit(cache=True, nogil=True)
def _dm_step(high, low, i):
    """One-bar +DM and -DM at bar ``i`` (TA-Lib: the larger leg outside yesterday's range, or 0)."""
    diff_p = high[i] - high[i - 1]
    diff_m = low[i - 1] - low[i]
    plus = diff_p if (diff_p > 0.0 and diff_p - diff_m > 0.0) else 0.0
    minus = diff_m if (diff_m > 0.0 and diff_m - diff_p > 0.0) else 0.0
    return plus, minus


@njit(cache=True, nogil=True)
def _tr_step(high, low, close, i):
    """True range of bar ``i`` against the previous close."""
    pc = close[i - 1]
    return max(high[i], pc) - min(low[i], pc)


@njit(cache=True, nogil=True)
def dmi_nb(high, low, close, n, want_adx):
    """Wilder's directional system as TA-Lib PLUS_DI, MINUS_DI and ADX: ``(plus_di, minus_di, adx)``.

    +DM, -DM and the true range are summed over bars ``1 .. n-1`` and then
    Wilder-smoothed (``s - s/n + x``); the DIs start at bar ``n``. DX is summed over
    bars ``n .. 2n-1`` (a bar with zero true range or DI sum adds nothing) and its
    mean is the first ADX at bar ``2n-1``, smoothed after that. A zero true-range
    sum gives DIs of 0 and leaves the ADX unchanged. Only the ADX (``want_adx``)
    or only the DIs are filled; the others come back empty.
    """
    size = close.size
    plus_di = np.full(0 if want_adx else size, np.nan)
    minus_di = np.full(0 if want_adx else size, np.nan)
    adx = np.full(size if want_adx else 0, np.nan)
    if n < 2 or size <= n:
        return plus_di, minus_di, adx
    inv = 1.0 / n
    pdm = 0.0
    mdm = 0.0
    tr = 0.0
    for i in range(1, n):
        p, m = _dm_step(high, low, i)
        pdm += p
        mdm += m
        tr += _tr_step(high, low, close, i)
    sum_dx = 0.0
    prev_adx = 0.0
    for i in range(n, size):
        p, m = _dm_step(high, low, i)
        pdm = pdm - pdm * inv + p
        mdm = mdm - mdm * inv + m
        tr = tr - tr * inv + _tr_step(high, low, close, i)
        pdi = 100.0 * (pdm / tr) if tr > 0.0 else 0.0
        mdi = 100.0 * (mdm / tr) if tr > 0.0 else 0.0
        if not want_adx:
            plus_di[i] = pdi
            minus_di[i] = mdi
            continue
        total = mdi + pdi
        has_dx = tr > 0.0 and not -_TA_EPSILON < total < _TA_EPSILON
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
def aroon_nb(high, low, n):
    """``(up, down)`` as TA-Lib AROON over the last ``n + 1`` bars.

    ``up = 100/n * (n - bars since the highest high)``, ties going to the latest
    bar; ``down`` likewise with the lowest low.
    """
    up = rolling_extreme_index_nb(high, n + 1, 1.0, np.empty(high.size))
    down = rolling_extreme_index_nb(low, n + 1, -1.0, np.empty(high.size))
    factor = 100.0 / n
    for i in range(n, high.size):
        up[i] = factor * (n - (i - up[i]))
        down[i] = factor * (n - (i - down[i]))
    return up, down


@njit(cache=True, nogil=True)
def aroon_osc_nb(high, low, n):
    """Aroon up minus down as TA-Lib AROONOSC computes it: ``100/n * (index of high - index of low)``."""
    osc = rolling_extreme_index_nb(high, n + 1, 1.0, np.empty(high.size))
    low_at = rolling_extreme_index_nb(low, n + 1, -1.0, np.empty(high.size))
    factor = 100.0 / n
    for i in range(n, high.size):
        osc[i] = factor * (osc[i] - low_at[i])
    return osc


@njit(cache=True, nogil=True)
def ichimoku_nb(high, low, close, tenkan, kijun, senkou_b, displacement):
    """Causal Ichimoku: ``(tenkan, kijun, senkou_a, senkou_b, chikou)``.

    Each line is the midpoint of the highest high and lowest low over its period.
    The spans at bar ``t`` are the ones that apply to ``t``: computed at
    ``t - displacement`` (no future-shifted cloud). Chikou is the close of bar
    ``t`` itself (the chart draws it ``displacement`` bars back). Every output is
    NaN until the last of them has a value.
    """
    size = close.size
    t_line = np.empty(size)
    k_line = np.empty(size)
    span_a = np.full(size, np.nan)
    span_b = np.empty(size)
    chikou = np.empty(size)  # scratch until the end
    midpoint_into_nb(high, low, tenkan, t_line, chikou)
    midpoint_into_nb(high, low, kijun, k_line, chikou)
    midpoint_into_nb(high, low, senkou_b, span_b, chikou)
    for t in range(size - 1, displacement - 1, -1):  # shift forward in place, latest first
        span_b[t] = span_b[t - displacement]
        span_a[t] = (t_line[t - displacement] + k_line[t - displacement]) / 2.0
    chikou[:] = close
    start = max(kijun, tenkan, displacement + max(tenkan, kijun), displacement + senkou_b) - 1
    for x in (t_line, k_line, span_a, span_b, chikou):
        mask_before_nb(x, start)
    return t_line, k_line, span_a, span_b, chikou


@njit(cache=True, nogil=True)
def sar_nb(high, low, acceleration, maximum):
    """Parabolic SAR as TA-Lib SAR, and the side it is on: ``(sar, direction)``.

    The first bar's direction is short when its -DM (against bar 0) is positive,
    else long. ``sar[t]`` is the stop in force for bar ``t`` (reset to the extreme
    point on the bar that reverses it); ``direction[t]`` is +1 while long (stop
    below price) and -1 while short, after bar ``t``.
    """
    size = high.size
    sar_out = np.full(size, np.nan)
    direction = np.full(size, np.nan)
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
def supertrend_nb(high, low, close, n, multiplier):
    """Supertrend: ``(supertrend, direction, upper, lower)``.

    Basic bands are ``(high + low) / 2 ± multiplier * ATR(n)`` (TA-Lib ATR, first
    value at bar ``n``). The final lower band only rises and the final upper band
    only falls, unless the previous close crossed them. The trend starts down
    (as TradingView's ``ta.supertrend``) and turns up when the close rises above
    the upper band, down again when it falls below the lower band. ``upper`` has a
    value only while the trend is down, ``lower`` only while it is up;
    ``supertrend`` is the one in force.
    """
    size = close.size
    line = core_nb.atr_nb(high, low, close, n)  # read bar by bar, then overwritten with the band
    direction = np.full(size, np.nan)
    upper = np.full(size, np.nan)
    lower = np.full(size, np.nan)
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
    return (abs(high[i] - low[i - 1]), abs(low[i] - high[i - 1]),
            max(high[i], close[i - 1]) - min(low[i], close[i - 1]))


@njit(cache=True, nogil=True)
def vortex_nb(high, low, close, n):
    """Vortex indicator ``(vi_plus, vi_minus)``: sums of ``|high - previous low|`` and ``|low - previous high|``.

    Each sum over the last ``n`` bars is divided by the sum of true ranges over
    the same bars (0 when that sum is 0); the first value is at bar ``n``. The
    three window sums run in one pass.
    """
    size = close.size
    vi_plus = np.full(size, np.nan)
    vi_minus = np.full(size, np.nan)
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
def linreg_slope_nb(x, n):
    """Least-squares slope of the last ``n`` values per bar (TA-Lib LINEARREG_SLOPE).

    ``x`` runs ``n-1 .. 0`` bars ago, so the divisor is negative and the sign comes
    out right. The window sums slide in O(1) and are rebuilt from the window every
    ``32 * n`` bars, and on the bar a value leaves that outweighs what the window
    still holds (TA-Lib's re-anchoring), so rounding does not pile up.
    """
    out = np.full(x.size, np.nan)
    start = core_nb.first_valid_nb(x)
    if n < 2 or x.size - start < n:
        return out
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
def choppiness_nb(high, low, close, n):
    """Choppiness index: ``100 * log10(sum of true ranges / (highest high - lowest low)) / log10(n)``.

    Both run over the same last ``n`` bars; the true range needs the previous
    close, so the first value is at bar ``n``. A window with no range at all reads
    100 (fully sideways).
    """
    size = close.size
    out = np.empty(size)
    lowest = np.empty(size)
    high_low_into_nb(high, low, n, out, lowest)
    mask_before_nb(out, n)
    scale = 100.0 / np.log10(n)
    total = 0.0
    for i in range(1, size):
        total += _tr_step(high, low, close, i)
        if i < n:
            continue
        span = out[i] - lowest[i]
        out[i] = scale * np.log10(total / span) if span > 0.0 else 100.0
        total -= _tr_step(high, low, close, i - n + 1)
    return out
