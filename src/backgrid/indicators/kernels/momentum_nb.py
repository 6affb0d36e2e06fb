"""Momentum kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Kernels fill the output arrays they are given (the wrappers allocate them with
NumPy) and return them; ``scratch`` arrays are overwritten. Kernels that match a
TA-Lib function follow the C code of the TA-Lib the tests run against (0.8) step
by step: seeds, running sums, the order and form of each operation (``a / b *
100`` and ``100 * (a / b)`` round differently) and its zero tests, so that
results agree to the last bit or to rounding. Each docstring names the function.

Speed: an EMA is bound by the latency of its recurrence, so chained EMAs (TRIX,
TSI, MACD's three) run as one loop where the recurrences overlap
(:func:`~backgrid.indicators.kernels.core_nb.ema_chain_nb`, :func:`macd_nb`);
rolling highs and lows use the branch-free block algorithm of
:func:`~backgrid.indicators.kernels.core_nb.rolling_extreme_nb`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels.core_nb import (
    ema_chain_nb,
    is_zero_scaled_nb,
    mask_before_nb,
    rolling_extreme_nb,
    sma_nb,
    wma_nb,
)


@njit(cache=True, nogil=True)
def _wilder_oscillator_nb(close, n, cmo, out):
    """Wilder-smoothed gains ``g`` and losses ``l`` of the changes, as TA-Lib's RSI (``cmo`` false) or CMO.

    The first ``n`` changes are summed then averaged; each later bar gives
    ``(prev * (n - 1) + change) / n``. TA-Lib's RSI multiplies by ``1 / n`` where
    its CMO divides by ``n``, then reports ``100 * (g / (g + l))`` or
    ``100 * ((g - l) / (g + l))``, and 0 when ``g + l`` is 0. The first value is at bar ``n``.
    """
    if n < 2 or close.size <= n:
        return mask_before_nb(out, close.size)
    mask_before_nb(out, n)
    inv = 1.0 / n
    gain = 0.0
    loss = 0.0
    prev = close[0]
    for i in range(1, close.size):
        d = close[i] - prev
        prev = close[i]
        if i > n:
            gain *= n - 1
            loss *= n - 1
        # selects, not a branch on the data (it mispredicts on every other bar); -d is exact
        gain += max(d, 0.0)
        loss += -d if d < 0.0 else 0.0
        if i < n:
            continue
        if cmo:
            gain /= n
            loss /= n
        else:
            gain *= inv
            loss *= inv
        total = gain + loss
        if total == 0.0:
            out[i] = 0.0
        elif cmo:
            out[i] = 100.0 * ((gain - loss) / total)
        else:
            out[i] = 100.0 * (gain / total)
    return out


@njit(cache=True, nogil=True)
def rsi_nb(close, n, out):
    """Wilder's RSI: smoothed gains over smoothed gains plus losses, x100 (TA-Lib RSI, unstable period 0)."""
    return _wilder_oscillator_nb(close, n, False, out)


@njit(cache=True, nogil=True)
def cmo_nb(close, n, out):
    """Chande momentum oscillator on Wilder-smoothed gains and losses, x100 (TA-Lib CMO)."""
    return _wilder_oscillator_nb(close, n, True, out)


@njit(cache=True, nogil=True)
def _range_position_nb(high, low, close, n, williams, out, scratch):
    """Fill ``out`` with where each close sits in the range of the last ``n`` bars; ``scratch`` is overwritten.

    Stochastic %K (TA-Lib's form ``(close - lowest) / (highest - lowest) * 100``,
    0 to 100) or, with ``williams``, Williams %R (``-100 * ((highest - close) /
    (highest - lowest))``, -100 to 0). A range within 1e-14 of the prices' size
    reads 0 (TA-Lib's scaled zero test).
    """
    rolling_extreme_nb(high, n, 1.0, out)
    rolling_extreme_nb(low, n, -1.0, scratch)
    for i in range(close.size):  # NaN during the warm-up stays NaN
        hi = out[i]
        span = hi - scratch[i]
        # ``span == 0`` is part of the flat test anyway; stating it lets Numba drop its zero-division check
        # and vectorise the loop
        if span == 0.0 or is_zero_scaled_nb(span, abs(hi) + abs(scratch[i])):
            out[i] = 0.0
        elif williams:
            out[i] = -100.0 * ((hi - close[i]) / span)
        else:
            out[i] = (close[i] - scratch[i]) / span * 100.0
    return out


@njit(cache=True, nogil=True)
def stoch_fastk_nb(high, low, close, n, out, scratch):
    """Raw stochastic %K: where the close sits in the range of the last ``n`` bars, 0 to 100 (TA-Lib's form)."""
    return _range_position_nb(high, low, close, n, False, out, scratch)


@njit(cache=True, nogil=True)
def stoch_nb(high, low, close, fastk, slowk, slowd, k, d):
    """Fill ``k`` and ``d`` with stochastic %K (raw %K smoothed by an SMA of ``slowk``) and %D (SMA of ``slowd``).

    TA-Lib STOCH with SMA types. As TA-Lib, %K is reported only from the bar where
    %D exists. With ``slowk = 1`` this is TA-Lib STOCHF (a moving average of one
    value is the value itself). Returns ``(k, d)``.
    """
    stoch_fastk_nb(high, low, close, fastk, d, k)
    sma_nb(d, slowk, k)
    sma_nb(k, slowd, d)
    for i in range(k.size):
        if np.isnan(d[i]):
            k[i] = np.nan
    return k, d


@njit(cache=True, nogil=True)
def willr_nb(high, low, close, n, out, scratch):
    """Williams %R: distance of the close below the highest high of ``n`` bars, -100 to 0 (TA-Lib WILLR).

    TA-Lib's form ``-100 * ((highest - close) / (highest - lowest))``; a flat range
    reads 0, with the zero test of :func:`stoch_fastk_nb`.
    """
    return _range_position_nb(high, low, close, n, True, out, scratch)


@njit(cache=True, nogil=True)
def macd_nb(close, fast, slow, signal, line, sig, hist):
    """Fill ``line``, ``sig`` and ``hist`` with the MACD line, signal and histogram as TA-Lib MACD computes them.

    TA-Lib starts both averages on the same bar: the slow EMA is seeded by the SMA
    of the first ``slow`` closes, and the fast EMA by the SMA of the ``fast``
    closes ending on that same bar (bar ``slow - 1``), not of the first ``fast``
    closes. The signal is the EMA of the MACD line, seeded by its first ``signal``
    values; every output starts at bar ``slow + signal - 2``. A fast period longer
    than the slow one is swapped, as TA-Lib does. The three EMAs run in one loop and
    step as :func:`~backgrid.indicators.kernels.core_nb.ema_nb` does.
    """
    if slow < fast:
        fast, slow = slow, fast
    size = close.size
    seed = slow - 1
    first_out = seed + signal - 1
    for x in (line, sig, hist):
        mask_before_nb(x, first_out)
    if size <= first_out:
        return line, sig, hist
    k_slow = 2.0 / (slow + 1.0)
    k_fast = 2.0 / (fast + 1.0)
    k_sig = 2.0 / (signal + 1.0)
    q_slow = 1.0 - k_slow
    q_fast = 1.0 - k_fast
    q_sig = 1.0 - k_sig
    slow_ema = 0.0
    fast_ema = 0.0
    for i in range(slow):
        slow_ema += close[i]
    for i in range(slow - fast, slow):
        fast_ema += close[i]
    slow_ema /= slow
    fast_ema /= fast
    value = fast_ema - slow_ema
    sig_ema = value
    for i in range(seed + 1, first_out + 1):
        slow_ema = k_slow * close[i] + q_slow * slow_ema
        fast_ema = k_fast * close[i] + q_fast * fast_ema
        value = fast_ema - slow_ema
        sig_ema += value
    sig_ema /= signal
    line[first_out] = value
    sig[first_out] = sig_ema
    hist[first_out] = value - sig_ema
    for i in range(first_out + 1, size):
        slow_ema = k_slow * close[i] + q_slow * slow_ema
        fast_ema = k_fast * close[i] + q_fast * fast_ema
        value = fast_ema - slow_ema
        sig_ema = k_sig * value + q_sig * sig_ema
        line[i] = value
        sig[i] = sig_ema
        hist[i] = value - sig_ema
    return line, sig, hist


@njit(cache=True, nogil=True)
def cci_nb(high, low, close, n, out):
    """Commodity channel index: (typical price - its mean) / (0.015 x mean absolute deviation) (TA-Lib CCI).

    The mean deviation has no running form, so each bar sums its window again,
    over a ring buffer in TA-Lib's slot order (O(len x n), as TA-Lib). As TA-Lib,
    the CCI is 0 when the distance or the mean deviation is within 1e-14 of the
    average's size (rounding residue of a flat window).
    """
    if n < 2 or close.size < n:
        return mask_before_nb(out, close.size)
    mask_before_nb(out, n - 1)
    ring = np.empty(n)
    for i in range(n - 1):
        ring[i] = (high[i] + low[i] + close[i]) / 3.0
    slot = n - 1
    for i in range(n - 1, close.size):
        last = (high[i] + low[i] + close[i]) / 3.0
        ring[slot] = last
        average = 0.0
        for j in range(n):
            average += ring[j]
        average /= n
        deviation = 0.0
        for j in range(n):
            deviation += abs(ring[j] - average)
        distance = last - average
        scale = abs(average)
        if is_zero_scaled_nb(distance, scale) or is_zero_scaled_nb(deviation, n * scale):
            out[i] = 0.0
        else:
            out[i] = distance / (0.015 * (deviation / n))
        slot = slot + 1 if slot < n - 1 else 0
    return out


@njit(cache=True, nogil=True)
def mfi_nb(high, low, close, volume, n, out):
    """Money flow index: RSI-like ratio of up-day to all money flow over ``n`` bars, 0 to 100 (TA-Lib MFI).

    As TA-Lib: a typical price that moved by less than 1e-14 of its size is no
    move; running sums subtract the bar leaving before adding the bar entering;
    ``n`` bars in a row without money flow reset the sums to exactly zero; a window
    without money flow reads 0.
    """
    if n < 2 or close.size <= n:
        return mask_before_nb(out, close.size)
    mask_before_nb(out, n)
    pos_ring = np.zeros(n)
    neg_ring = np.zeros(n)
    pos_sum = 0.0
    neg_sum = 0.0
    null_run = 0
    slot = 0
    prev = (high[0] + low[0] + close[0]) / 3.0
    for i in range(1, close.size):
        if i > n:
            pos_sum -= pos_ring[slot]
            neg_sum -= neg_ring[slot]
        typical = (high[i] + low[i] + close[i]) / 3.0
        move = typical - prev
        scale = abs(typical) + abs(prev)
        prev = typical
        flow = 0.0 if is_zero_scaled_nb(move, scale) else typical * volume[i]
        pos_flow = 0.0 if move < 0.0 else flow
        neg_flow = flow if move < 0.0 else 0.0
        pos_ring[slot] = pos_flow
        neg_ring[slot] = neg_flow
        pos_sum += pos_flow
        neg_sum += neg_flow
        null_run = null_run + 1 if flow == 0.0 else 0
        if null_run >= n:
            null_run = n
            pos_sum = 0.0
            neg_sum = 0.0
        if i >= n:
            total = pos_sum + neg_sum
            clamped = 0.0 if pos_sum < 0.0 else min(pos_sum, total)
            out[i] = 0.0 if total <= 0.0 else 100.0 * (clamped / total)
        slot = slot + 1 if slot < n - 1 else 0
    return out


@njit(cache=True, nogil=True)
def _change_nb(x, n, percent, out):
    """Change of ``x`` over ``n`` bars: in percent (:func:`roc_nb`) or in units of ``x`` (:func:`mom_nb`)."""
    mask_before_nb(out, n)
    if x.size <= n:
        return out
    now = x[n:]  # views: no negative-index test per access, so the loop vectorises
    before = x[:x.size - n]
    ys = out[n:]
    for i in range(now.size):
        if percent:
            ys[i] = ((now[i] / before[i]) - 1.0) * 100.0 if before[i] != 0.0 else 0.0
        else:
            ys[i] = now[i] - before[i]
    return out


@njit(cache=True, nogil=True)
def roc_nb(x, n, out):
    """Rate of change in percent, ``(x / x[t - n] - 1) * 100``; 0 where ``x[t - n]`` is 0 (TA-Lib ROC)."""
    return _change_nb(x, n, True, out)


@njit(cache=True, nogil=True)
def mom_nb(x, n, out):
    """Momentum: ``x - x[t - n]`` (TA-Lib MOM)."""
    return _change_nb(x, n, False, out)


@njit(cache=True, nogil=True)
def ultosc_nb(high, low, close, p1, p2, p3, out):
    """Ultimate oscillator: weighted 4:2:1 average of buying pressure over true range, 0 to 100 (TA-Lib ULTOSC).

    As TA-Lib: the periods are sorted so the shortest gets weight 4 and the
    longest weight 1; the first value is at bar ``max(p1, p2, p3)``; running sums
    add the entering bar, give the value, then drop the leaving bar, whose terms
    are read back from a ring of the last ``max(p1, p2, p3)`` bars; a window made
    only of bars without range has its sums reset to exactly zero (rather than
    keeping rounding residue) and adds nothing.
    """
    short, medium, long = np.sort(np.array([p1, p2, p3]))
    size = close.size
    if size <= long:
        return mask_before_nb(out, size)
    mask_before_nb(out, long)
    ring_bp = np.zeros(long)  # bar t's terms sit in slot t % long
    ring_tr = np.zeros(long)
    a1 = a2 = a3 = b1 = b2 = b3 = 0.0
    flat_run = 0
    slot = 1 % long
    for t in range(1, size):
        prev = close[t - 1]
        tr = high[t] - low[t]
        tr = max(tr, abs(prev - high[t]))
        tr = max(tr, abs(prev - low[t]))
        bp = close[t] - min(low[t], prev)
        ring_bp[slot] = bp
        ring_tr[slot] = tr
        flat_run = flat_run + 1 if tr == 0.0 else 0
        if t > long - short:
            a1 += bp
            b1 += tr
        if t > long - medium:
            a2 += bp
            b2 += tr
        a3 += bp
        b3 += tr
        if flat_run >= short:
            a1 = b1 = 0.0
            if flat_run >= medium:
                a2 = b2 = 0.0
                if flat_run >= long:
                    a3 = b3 = 0.0
        slot = slot + 1 if slot < long - 1 else 0
        if t < long:
            continue
        total = 0.0
        if b1 != 0.0:
            total += 4.0 * (a1 / b1)
        if b2 != 0.0:
            total += 2.0 * (a2 / b2)
        if b3 != 0.0:
            total += a3 / b3
        out[t] = 100.0 * (total / 7.0)
        # slot now holds bar t - long + 1, the one leaving the longest window
        s1 = slot + long - short
        s1 = s1 - long if s1 >= long else s1
        s2 = slot + long - medium
        s2 = s2 - long if s2 >= long else s2
        a1 -= ring_bp[s1]
        b1 -= ring_tr[s1]
        a2 -= ring_bp[s2]
        b2 -= ring_tr[s2]
        a3 -= ring_bp[slot]
        b3 -= ring_tr[slot]
    return out


@njit(cache=True, nogil=True)
def trix_nb(close, n, out, scratch):
    """TRIX: one-bar rate of change, in percent, of a triple EMA (TA-Lib TRIX)."""
    return roc_nb(ema_chain_nb(close, np.array([n, n, n]), np.array([0.0, 0.0, 1.0]), scratch), 1, out)


@njit(cache=True, nogil=True)
def tsi_nb(close, long, short, out, scratch):
    """True strength index: doubly smoothed change over doubly smoothed absolute change, x100.

    Both smoothings are EMAs seeded by the SMA of their first values (as
    ``core_nb.ema_nb``), so the first value is at bar ``long + short - 1``; 0 while
    no price has moved yet. ``scratch`` is ``(2, len)`` and overwritten.
    """
    diff = scratch[0]
    den = scratch[1]
    mom_nb(close, 1, diff)
    periods = np.array([long, short])
    last = np.array([0.0, 1.0])
    ema_chain_nb(diff, periods, last, out)
    for i in range(diff.size):
        diff[i] = abs(diff[i])
    ema_chain_nb(diff, periods, last, den)
    for i in range(close.size):
        if not np.isnan(den[i]):
            out[i] = 100.0 * out[i] / den[i] if den[i] != 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def fisher_nb(high, low, n, fisher, trigger, scratch):
    """Fill ``fisher`` and ``trigger`` with Ehlers' Fisher transform of the median price and its one-bar-old value.

    The median price is placed in its ``n``-bar range as ``v = 0.66 (pos - 0.5) +
    0.67 v[t-1]`` (``pos`` in 0..1, 0.5 for a flat range); ``v`` beyond ±0.99 is set
    to ±0.999, as in Ehlers' code, and ``fisher = 0.5 ln((1 + v) / (1 - v)) + 0.5
    fisher[t-1]``. The recursion starts at 0 on bar ``n - 1``, the first full
    window; both outputs are reported from bar ``n``, where the trigger exists.
    ``scratch`` is overwritten; until bar ``i`` is reached, ``fisher`` holds the
    median price and ``trigger`` the highest one.
    """
    median = fisher
    for i in range(high.size):
        median[i] = (high[i] + low[i]) / 2.0
    highest = rolling_extreme_nb(median, n, 1.0, trigger)
    lowest = rolling_extreme_nb(median, n, -1.0, scratch)
    value = 0.0
    fish = 0.0
    for i in range(n - 1, high.size):
        span = highest[i] - lowest[i]
        pos = (median[i] - lowest[i]) / span if span != 0.0 else 0.5
        value = 0.66 * (pos - 0.5) + 0.67 * value
        if value > 0.99:
            value = 0.999
        elif value < -0.99:
            value = -0.999
        previous = fish
        fish = 0.5 * np.log((1.0 + value) / (1.0 - value)) + 0.5 * previous
        if i >= n:
            fisher[i] = fish
            trigger[i] = previous
    mask_before_nb(fisher, n)
    mask_before_nb(trigger, n)
    return fisher, trigger


@njit(cache=True, nogil=True)
def coppock_nb(close, long_roc, short_roc, n, out, scratch):
    """Coppock curve: ``WMA(ROC(close, long) + ROC(close, short), n)``, ROCs in percent as :func:`roc_nb`."""
    roc_nb(close, long_roc, scratch)
    roc_nb(close, short_roc, out)
    for i in range(close.size):
        scratch[i] += out[i]
    return wma_nb(scratch, n, out)


@njit(cache=True, nogil=True)
def dpo_nb(close, n, out):
    """Causal detrended price oscillator: ``close[t - (n // 2 + 1)] - SMA(close, n)[t]``."""
    lag = n // 2 + 1
    sma_nb(close, n, out)
    for i in range(lag, close.size):
        out[i] = close[i - lag] - out[i]
    return mask_before_nb(out, lag)
