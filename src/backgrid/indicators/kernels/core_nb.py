"""Building blocks shared by indicator kernels.

Conventions: inputs are 1-D float64 arrays; outputs are new float64 arrays of the
same length with NaN where a value is not yet defined. Leading NaNs in the input
(for example the warm-up of another indicator) are skipped: a window starts at the
first finite value, which is how TA-Lib chains its own functions. Seeds and
running sums follow TA-Lib's C code so that results agree to rounding.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def first_valid_nb(x):
    """Index of the first non-NaN value (``x.size`` if there is none)."""
    for i in range(x.size):
        if not np.isnan(x[i]):
            return i
    return x.size


@njit(cache=True, nogil=True)
def sma_nb(x, n):
    """Simple moving average over ``n`` values (TA-Lib SMA: running sum)."""
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return out
    total = 0.0
    for i in range(start, start + n - 1):
        total += x[i]
    for i in range(start + n - 1, x.size):
        total += x[i]
        out[i] = total / n
        total -= x[i - n + 1]
    return out


@njit(cache=True, nogil=True)
def ema_alpha_nb(x, n, alpha):
    """Exponential average with factor ``alpha``, seeded by the SMA of the first ``n`` values (TA-Lib)."""
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return out
    total = 0.0
    for i in range(start, start + n):
        total += x[i]
    prev = total / n
    out[start + n - 1] = prev
    for i in range(start + n, x.size):
        prev = (x[i] - prev) * alpha + prev
        out[i] = prev
    return out


@njit(cache=True, nogil=True)
def ema_nb(x, n):
    """Exponential moving average, ``alpha = 2 / (n + 1)`` (TA-Lib EMA)."""
    return ema_alpha_nb(x, n, 2.0 / (n + 1.0))


@njit(cache=True, nogil=True)
def wilder_nb(x, n):
    """Wilder's smoothing (SMMA/RMA), ``alpha = 1 / n``, seeded by an SMA."""
    return ema_alpha_nb(x, n, 1.0 / n)


@njit(cache=True, nogil=True)
def wma_nb(x, n):
    """Linearly weighted moving average, newest weight ``n`` (TA-Lib WMA)."""
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return out
    divider = n * (n + 1) / 2.0
    period_sum = 0.0  # plain sum of the window
    weighted = 0.0
    for k in range(n - 1):
        v = x[start + k]
        period_sum += v
        weighted += v * (k + 1)
    trailing = start
    for i in range(start + n - 1, x.size):
        v = x[i]
        weighted += v * n
        period_sum += v
        out[i] = weighted / divider
        weighted -= period_sum
        period_sum -= x[trailing]
        trailing += 1
    return out


@njit(cache=True, nogil=True)
def rolling_sum_nb(x, n):
    """Sum of the last ``n`` values."""
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return out
    total = 0.0
    for i in range(start, start + n - 1):
        total += x[i]
    for i in range(start + n - 1, x.size):
        total += x[i]
        out[i] = total
        total -= x[i - n + 1]
    return out


@njit(cache=True, nogil=True)
def rolling_max_nb(x, n):
    """Highest of the last ``n`` values (monotonic deque, O(len))."""
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return out
    dq = np.empty(x.size, dtype=np.int64)
    head = 0
    tail = 0
    for i in range(start, x.size):
        while tail > head and x[dq[tail - 1]] <= x[i]:
            tail -= 1
        dq[tail] = i
        tail += 1
        if dq[head] <= i - n:
            head += 1
        if i >= start + n - 1:
            out[i] = x[dq[head]]
    return out


@njit(cache=True, nogil=True)
def rolling_min_nb(x, n):
    """Lowest of the last ``n`` values (monotonic deque, O(len))."""
    return -rolling_max_nb(-x, n)


@njit(cache=True, nogil=True)
def rolling_argmax_age_nb(x, n):
    """Bars since the highest of the last ``n + 1`` values (TA-Lib AROON's window), the latest on ties."""
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    for i in range(start + n, x.size):
        best = i - n
        for j in range(i - n, i + 1):
            if x[j] >= x[best]:
                best = j
        out[i] = i - best
    return out


@njit(cache=True, nogil=True)
def rolling_var_nb(x, n):
    """Population variance of the last ``n`` values, from running sums as TA-Lib VAR computes it."""
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return out
    s1 = 0.0
    s2 = 0.0
    for i in range(start, start + n - 1):
        s1 += x[i]
        s2 += x[i] * x[i]
    for i in range(start + n - 1, x.size):
        v = x[i]
        s1 += v
        s2 += v * v
        mean1 = s1 / n
        mean2 = s2 / n
        out[i] = mean2 - mean1 * mean1
        old = x[i - n + 1]
        s1 -= old
        s2 -= old * old
    return out


@njit(cache=True, nogil=True)
def rolling_std_nb(x, n):
    """Population standard deviation of the last ``n`` values (TA-Lib STDDEV with nbdev 1)."""
    var = rolling_var_nb(x, n)
    out = np.full(x.size, np.nan)
    for i in range(x.size):
        if not np.isnan(var[i]):
            out[i] = np.sqrt(var[i]) if var[i] > 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def true_range_nb(high, low, close):
    """True range; the first bar has no previous close and is NaN (TA-Lib TRANGE)."""
    out = np.full(close.size, np.nan)
    for i in range(1, close.size):
        pc = close[i - 1]
        out[i] = max(high[i], pc) - min(low[i], pc)
    return out


@njit(cache=True, nogil=True)
def atr_nb(high, low, close, n):
    """Average true range: Wilder's smoothing of the true range, seeded by its SMA (TA-Lib ATR)."""
    return wilder_nb(true_range_nb(high, low, close), n)


@njit(cache=True, nogil=True)
def pivot_high_nb(high, left, right):
    """Confirmed swing highs, reported where they become known.

    Bar ``j`` is a swing high when its high is strictly above the ``left`` highs
    before it and at least as high as the ``right`` highs after it. That is known
    only at bar ``j + right``, so ``out[j + right] = high[j]`` and every other bar is
    NaN: the value appears ``right`` bars after the bar it describes.
    """
    out = np.full(high.size, np.nan)
    for t in range(left + right, high.size):
        j = t - right
        v = high[j]
        ok = True
        for k in range(j - left, j):
            if high[k] >= v:
                ok = False
                break
        if ok:
            for k in range(j + 1, t + 1):
                if high[k] > v:
                    ok = False
                    break
        if ok:
            out[t] = v
    return out


@njit(cache=True, nogil=True)
def pivot_low_nb(low, left, right):
    """Confirmed swing lows, mirror of :func:`pivot_high_nb` (``out[j + right] = low[j]``)."""
    return -pivot_high_nb(-low, left, right)
