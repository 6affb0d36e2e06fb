"""Momentum kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Kernels that match a TA-Lib function follow the C code of the TA-Lib the tests
run against (0.8) step by step: seeds, running sums, the order and form of each
operation (``a / b * 100`` and ``100 * (a / b)`` round differently) and its zero
tests, so that results agree to the last bit or to rounding. Each docstring names
the function.

Speed: an EMA is bound by the latency of its recurrence, so chained EMAs (TRIX,
TSI, MACD's three) run as one loop where the recurrences overlap
(:func:`ema_chain_nb`, :func:`macd_nb`); rolling highs and lows use a branch-free
block algorithm (:func:`rolling_extreme_nb`), because branches on the data
mispredict on most bars.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels.core_nb import first_valid_nb, sma_nb, wma_nb

#: TA-Lib's ``TA_EPSILON`` (``ta_utility.h``), the band of its zero tests.
TA_EPSILON = 1e-14


@njit(cache=True, nogil=True)
def is_zero_scaled_nb(v, scale):
    """TA-Lib's ``TA_IS_ZERO_SCALED``: ``v``, a difference of numbers of size ``scale``, counts as 0."""
    return abs(v) <= TA_EPSILON * scale


@njit(cache=True, nogil=True)
def rolling_extreme_nb(x, n, sign):
    """Highest (``sign`` 1.0) or lowest (``sign`` -1.0) of the last ``n`` values; same values as ``rolling_max_nb``.

    Van Herk / Gil-Werman blocks, branch-free: the values are cut into blocks of
    ``n`` from the first finite one (leading NaNs of a chained input are skipped).
    A window ending at ``i`` is the tail of the previous block plus the head of the
    current one, so its extreme combines the previous block's suffix extreme with
    the current block's running one: three ``max`` per value (on ``sign * x``,
    which is exact), O(len) for any ``n``. The monotonic deque and TA-Lib's
    index-tracking scan both branch on the data, mispredict on most bars once
    compiled by LLVM, and were 5-9x slower here.
    """
    size = x.size
    out = np.full(size, np.nan)
    start = first_valid_nb(x)
    first_out = start + n - 1
    tail = np.empty(n)  # tail[k]: extreme of the previous block from its k-th value on
    block = start
    while block < size:
        end = min(block + n, size)
        head = sign * x[block]
        for i in range(block, end):
            head = max(head, sign * x[i])
            if i >= first_out:
                k = i - block + 1
                out[i] = sign * (max(tail[k], head) if k < n else head)
        if end - block == n:
            head = sign * x[end - 1]
            for k in range(n - 1, -1, -1):
                head = max(head, sign * x[block + k])
                tail[k] = head
        block = end
    return out


@njit(cache=True, nogil=True)
def rolling_high_low_nb(high, low, n):
    """Highest ``high`` and lowest ``low`` of the last ``n`` bars (:func:`rolling_extreme_nb`)."""
    return rolling_extreme_nb(high, n, 1.0), rolling_extreme_nb(low, n, -1.0)


@njit(cache=True, nogil=True)
def ema_chain_nb(x, periods):
    """EMA of an EMA of ... ``x``, one EMA per entry of ``periods``, in a single pass.

    Equal to the nested calls ``ema_nb(ema_nb(x, periods[0]), periods[1]) ...`` to
    the last bit: each stage is seeded by the SMA of its first ``period`` inputs,
    summed in order, then ``prev = (v - prev) * 2 / (period + 1) + prev``. The
    result starts at ``first_valid + sum(periods) - len(periods)``.
    """
    depth = periods.size
    out = np.full(x.size, np.nan)
    first = np.empty(depth + 1, dtype=np.int64)
    first[0] = first_valid_nb(x)
    for s in range(depth):
        first[s + 1] = first[s] + periods[s] - 1
    alpha = 2.0 / (periods + 1.0)
    prev = np.zeros(depth)
    for i in range(first[0], min(first[depth] + 1, x.size)):  # seeding: some stages still summing
        v = x[i]
        for s in range(depth):
            if i < first[s + 1]:
                prev[s] += v
                break
            if i == first[s + 1]:
                prev[s] = (prev[s] + v) / periods[s]
            else:
                prev[s] = (v - prev[s]) * alpha[s] + prev[s]
            v = prev[s]
        if i == first[depth]:
            out[i] = v
    for i in range(first[depth] + 1, x.size):  # every stage running: no branches
        v = x[i]
        for s in range(depth):
            v = (v - prev[s]) * alpha[s] + prev[s]
            prev[s] = v
        out[i] = v
    return out


@njit(cache=True, nogil=True)
def _wilder_oscillator_nb(close, n, cmo):
    """Wilder-smoothed gains ``g`` and losses ``l`` of the changes, as TA-Lib's RSI (``cmo`` false) or CMO.

    The first ``n`` changes are summed then averaged; each later bar gives
    ``(prev * (n - 1) + change) / n``. TA-Lib's RSI multiplies by ``1 / n`` where
    its CMO divides by ``n``, then reports ``100 * (g / (g + l))`` or
    ``100 * ((g - l) / (g + l))``, and 0 when ``g + l`` is 0. The first value is at bar ``n``.
    """
    out = np.full(close.size, np.nan)
    if n < 2 or close.size <= n:
        return out
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
        if d < 0.0:
            loss -= d
        else:
            gain += d
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
def rsi_nb(close, n):
    """Wilder's RSI: smoothed gains over smoothed gains plus losses, x100 (TA-Lib RSI, unstable period 0)."""
    return _wilder_oscillator_nb(close, n, cmo=False)


@njit(cache=True, nogil=True)
def cmo_nb(close, n):
    """Chande momentum oscillator on Wilder-smoothed gains and losses, x100 (TA-Lib CMO)."""
    return _wilder_oscillator_nb(close, n, cmo=True)


@njit(cache=True, nogil=True)
def stoch_fastk_nb(high, low, close, n):
    """Raw stochastic %K: where the close sits in the range of the last ``n`` bars, 0 to 100.

    TA-Lib's form: ``(close - lowest) / (highest - lowest) * 100``, and 0 for a
    range within 1e-14 of the prices' size (TA-Lib's scaled zero test).
    """
    highest, lowest = rolling_high_low_nb(high, low, n)
    out = np.full(close.size, np.nan)
    for i in range(close.size):
        hi = highest[i]
        lo = lowest[i]
        if not np.isnan(hi):
            flat = is_zero_scaled_nb(hi - lo, abs(hi) + abs(lo))
            out[i] = 0.0 if flat else (close[i] - lo) / (hi - lo) * 100.0
    return out


@njit(cache=True, nogil=True)
def stoch_nb(high, low, close, fastk, slowk, slowd):
    """Stochastic %K (raw %K smoothed by an SMA of ``slowk``) and %D (SMA of ``slowd``) (TA-Lib STOCH, SMA types).

    As TA-Lib, %K is reported only from the bar where %D exists. With ``slowk = 1``
    this is TA-Lib STOCHF (a moving average of one value is the value itself).
    """
    k = sma_nb(stoch_fastk_nb(high, low, close, fastk), slowk)
    d = sma_nb(k, slowd)
    k[np.isnan(d)] = np.nan
    return k, d


@njit(cache=True, nogil=True)
def willr_nb(high, low, close, n):
    """Williams %R: distance of the close below the highest high of ``n`` bars, -100 to 0 (TA-Lib WILLR).

    TA-Lib's form ``-100 * ((highest - close) / (highest - lowest))``; a flat range
    reads 0, with the zero test of :func:`stoch_fastk_nb`.
    """
    highest, lowest = rolling_high_low_nb(high, low, n)
    out = np.full(close.size, np.nan)
    for i in range(close.size):
        hi = highest[i]
        lo = lowest[i]
        if not np.isnan(hi):
            flat = is_zero_scaled_nb(hi - lo, abs(hi) + abs(lo))
            out[i] = 0.0 if flat else -100.0 * ((hi - close[i]) / (hi - lo))
    return out


@njit(cache=True, nogil=True)
def macd_nb(close, fast, slow, signal):
    """MACD line, signal and histogram as TA-Lib MACD computes them.

    TA-Lib starts both averages on the same bar: the slow EMA is seeded by the SMA
    of the first ``slow`` closes, and the fast EMA by the SMA of the ``fast``
    closes ending on that same bar (bar ``slow - 1``), not of the first ``fast``
    closes. The signal is the EMA of the MACD line, seeded by its first ``signal``
    values; every output starts at bar ``slow + signal - 2``. A fast period longer
    than the slow one is swapped, as TA-Lib does. The three EMAs run in one loop.
    """
    if slow < fast:
        fast, slow = slow, fast
    size = close.size
    line = np.full(size, np.nan)
    sig = np.full(size, np.nan)
    hist = np.full(size, np.nan)
    seed = slow - 1
    first_out = seed + signal - 1
    if size <= first_out:
        return line, sig, hist
    k_slow = 2.0 / (slow + 1.0)
    k_fast = 2.0 / (fast + 1.0)
    k_sig = 2.0 / (signal + 1.0)
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
        slow_ema = (close[i] - slow_ema) * k_slow + slow_ema
        fast_ema = (close[i] - fast_ema) * k_fast + fast_ema
        value = fast_ema - slow_ema
        sig_ema += value
    sig_ema /= signal
    line[first_out] = value
    sig[first_out] = sig_ema
    hist[first_out] = value - sig_ema
    for i in range(first_out + 1, size):
        slow_ema = (close[i] - slow_ema) * k_slow + slow_ema
        fast_ema = (close[i] - fast_ema) * k_fast + fast_ema
        value = fast_ema - slow_ema
        sig_ema = (value - sig_ema) * k_sig + sig_ema
        line[i] = value
        sig[i] = sig_ema
        hist[i] = value - sig_ema
    return line, sig, hist


@njit(cache=True, nogil=True)
def cci_nb(high, low, close, n):
    """Commodity channel index: (typical price - its mean) / (0.015 x mean absolute deviation) (TA-Lib CCI).

    The mean deviation has no running form, so each bar sums its window again,
    over a ring buffer in TA-Lib's slot order (O(len x n), as TA-Lib). As TA-Lib,
    the CCI is 0 when the distance or the mean deviation is within 1e-14 of the
    average's size (rounding residue of a flat window).
    """
    out = np.full(close.size, np.nan)
    if n < 2 or close.size < n:
        return out
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
def mfi_nb(high, low, close, volume, n):
    """Money flow index: RSI-like ratio of up-day to all money flow over ``n`` bars, 0 to 100 (TA-Lib MFI).

    As TA-Lib: a typical price that moved by less than 1e-14 of its size is no
    move; running sums subtract the bar leaving before adding the bar entering;
    ``n`` bars in a row without money flow reset the sums to exactly zero; a window
    without money flow reads 0.
    """
    out = np.full(close.size, np.nan)
    if n < 2 or close.size <= n:
        return out
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
def roc_nb(x, n):
    """Rate of change in percent, ``(x / x[t - n] - 1) * 100``; 0 where ``x[t - n]`` is 0 (TA-Lib ROC)."""
    out = np.full(x.size, np.nan)
    for i in range(n, x.size):
        before = x[i - n]
        out[i] = ((x[i] / before) - 1.0) * 100.0 if before != 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def mom_nb(x, n):
    """Momentum: ``x - x[t - n]`` (TA-Lib MOM)."""
    out = np.full(x.size, np.nan)
    for i in range(n, x.size):
        out[i] = x[i] - x[i - n]
    return out


@njit(cache=True, nogil=True)
def ultosc_nb(high, low, close, p1, p2, p3):
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
    out = np.full(size, np.nan)
    if size <= long:
        return out
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
def trix_nb(close, n):
    """TRIX: one-bar rate of change, in percent, of a triple EMA (TA-Lib TRIX)."""
    return roc_nb(ema_chain_nb(close, np.array([n, n, n])), 1)


@njit(cache=True, nogil=True)
def tsi_nb(close, long, short):
    """True strength index: doubly smoothed change over doubly smoothed absolute change, x100.

    Both smoothings are EMAs seeded by the SMA of their first values (as
    ``core_nb.ema_nb``), so the first value is at bar ``long + short - 1``; 0 while
    no price has moved yet.
    """
    diff = np.full(close.size, np.nan)
    for i in range(1, close.size):
        diff[i] = close[i] - close[i - 1]
    periods = np.array([long, short])
    num = ema_chain_nb(diff, periods)
    den = ema_chain_nb(np.abs(diff), periods)
    out = np.full(close.size, np.nan)
    for i in range(close.size):
        if not np.isnan(den[i]):
            out[i] = 100.0 * num[i] / den[i] if den[i] != 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def fisher_nb(high, low, n):
    """Ehlers' Fisher transform of the median price and its one-bar-old trigger.

    The median price is placed in its ``n``-bar range as ``v = 0.66 (pos - 0.5) +
    0.67 v[t-1]`` (``pos`` in 0..1, 0.5 for a flat range); ``v`` beyond ±0.99 is set
    to ±0.999, as in Ehlers' code, and ``fisher = 0.5 ln((1 + v) / (1 - v)) + 0.5
    fisher[t-1]``. The recursion starts at 0 on bar ``n - 1``, the first full
    window; both outputs are reported from bar ``n``, where the trigger exists.
    """
    fisher = np.full(high.size, np.nan)
    trigger = np.full(high.size, np.nan)
    median = (high + low) / 2.0
    highest, lowest = rolling_high_low_nb(median, median, n)
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
    return fisher, trigger


@njit(cache=True, nogil=True)
def coppock_nb(close, long_roc, short_roc, n):
    """Coppock curve: ``WMA(ROC(close, long) + ROC(close, short), n)``, ROCs in percent as :func:`roc_nb`."""
    return wma_nb(roc_nb(close, long_roc) + roc_nb(close, short_roc), n)


@njit(cache=True, nogil=True)
def dpo_nb(close, n):
    """Causal detrended price oscillator: ``close[t - (n // 2 + 1)] - SMA(close, n)[t]``."""
    lag = n // 2 + 1
    average = sma_nb(close, n)
    out = np.full(close.size, np.nan)
    for i in range(lag, close.size):
        out[i] = close[i - lag] - average[i]
    return out
