"""Building blocks shared by indicator kernels.

Conventions: inputs are 1-D float64 arrays. Every primitive here fills ``out``, a
float64 array of the input's length, with NaN where a value is not yet defined,
and returns it; when ``out`` is omitted it allocates one (handy in tests and
plugins). Leading NaNs in the input (for example the warm-up of another
indicator) are skipped: a window starts at the first finite value, which is how
TA-Lib chains its own functions. Seeds and running sums follow TA-Lib's C code so
that results agree to rounding.

Speed on large inputs (the benchmark runs 1M bars):

* The wrappers allocate outputs with NumPy, one block per call
  (``np.empty((k, n))``), and pass them in as ``out``. NumPy backs large arrays
  with transparent huge pages; an array a kernel allocates is not, and glibc hands
  large freed blocks back to the OS, so each one is faulted in page by page:
  a few kernel-side arrays cost more than the arithmetic.
* Chains are fused into one loop instead of passing intermediate arrays.
* A loop that reads ``x[i - n]`` makes Numba test every access for a negative
  index, which stops LLVM from vectorising it; slices such as ``x[n:]`` do not.
* A recurrence (an EMA, a running sum) runs at the latency of its dependency
  chain, whatever the rest of the loop does. So every EMA here steps as
  ``k * x + (1 - k) * prev`` (TA-Lib's T3 form), a chain of one multiply and one
  add, rather than TA-Lib EMA's ``(x - prev) * k + prev``: the same value to
  rounding (TA-Lib's compiler fuses that multiply-add anyway, so its own last
  bits differ from either), about a third faster.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: TA-Lib's ``TA_EPSILON`` (``ta_utility.h``), the band of its zero tests.
TA_EPSILON = 1e-14
#: Rebuild running window sums at least this many windows apart (TA-Lib's interval).
RESEED_WINDOWS = 32
#: The longest EMA chain :func:`ema_chain_nb` runs (T3's six).
_MAX_CHAIN = 6


@njit(cache=True, nogil=True)
def is_zero_scaled_nb(v, scale):
    """TA-Lib's ``TA_IS_ZERO_SCALED``: ``v``, a difference of numbers of size ``scale``, counts as 0."""
    return abs(v) <= TA_EPSILON * scale


@njit(cache=True, nogil=True)
def first_valid_nb(x):
    """Index of the first non-NaN value (``x.size`` if there is none)."""
    for i in range(x.size):
        if not np.isnan(x[i]):
            return i
    return x.size


@njit(cache=True, nogil=True)
def _output_nb(size, out):
    """``out``, or a new array of ``size`` values when it is None (the primitives' optional output)."""
    if out is None:
        return np.empty(size)
    return out


@njit(cache=True, nogil=True)
def mask_before_nb(x, start):
    """Set ``x[:start]`` to NaN in place and return ``x`` (aligns outputs on one warm-up)."""
    x[: max(0, min(start, x.size))] = np.nan
    return x


@njit(cache=True, nogil=True)
def _window_sum_nb(x, n, divisor, out):
    """Fill ``out`` with the sum of the last ``n`` values over ``divisor`` (TA-Lib SMA's running sum)."""
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return mask_before_nb(out, x.size)
    mask_before_nb(out, start + n - 1)
    total = 0.0
    for i in range(start, start + n - 1):
        total += x[i]
    for i in range(start + n - 1, x.size):
        total += x[i]
        out[i] = total / divisor  # off the dependency chain: free
        total -= x[i - n + 1]
    return out


@njit(cache=True, nogil=True)
def sma_nb(x, n, out=None):
    """Simple moving average over ``n`` values (TA-Lib SMA: running sum)."""
    return _window_sum_nb(x, n, float(n), _output_nb(x.size, out))


@njit(cache=True, nogil=True)
def rolling_sum_nb(x, n, out=None):
    """Sum of the last ``n`` values."""
    return _window_sum_nb(x, n, 1.0, _output_nb(x.size, out))


@njit(cache=True, nogil=True)
def ema_alpha_nb(x, n, alpha, out=None):
    """Exponential average with factor ``alpha``, seeded by the SMA of the first ``n`` values (TA-Lib).

    Steps as ``alpha * x + (1 - alpha) * prev`` (see the module docstring).
    """
    out = _output_nb(x.size, out)
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return mask_before_nb(out, x.size)
    mask_before_nb(out, start + n - 1)
    total = 0.0
    for i in range(start, start + n):
        total += x[i]
    prev = total / n
    out[start + n - 1] = prev
    keep = 1.0 - alpha
    for i in range(start + n, x.size):
        prev = alpha * x[i] + keep * prev
        out[i] = prev
    return out


@njit(cache=True, nogil=True)
def ema_nb(x, n, out=None):
    """Exponential moving average, ``alpha = 2 / (n + 1)`` (TA-Lib EMA)."""
    return ema_alpha_nb(x, n, 2.0 / (n + 1.0), out)


@njit(cache=True, nogil=True)
def wilder_nb(x, n, out=None):
    """Wilder's smoothing (SMMA/RMA), ``alpha = 1 / n``, seeded by an SMA."""
    return ema_alpha_nb(x, n, 1.0 / n, out)


@njit(cache=True, nogil=True)
def ema_chain_nb(x, periods, weights, out=None):
    """``sum(weights[j] * e[j])`` over a chain of at most six EMAs, all run in one pass.

    ``e[0]`` is the EMA of ``x`` over ``periods[0]`` values and ``e[j]`` the EMA of
    ``e[j - 1]`` over ``periods[j]``; each is seeded, as TA-Lib does, by the plain
    average of the first values it receives and then steps as :func:`ema_alpha_nb`
    does, so ``e[j]`` equals the nested ``ema_nb`` calls to the last bit. The output
    starts at ``first_valid + sum(periods) - len(periods)``. DEMA weighs ``(n, n)``
    by ``(2, -1)``, TEMA ``(n, n, n)`` by ``(3, -3, 1)``, T3 six EMAs by
    ``(0, 0, c4, c3, c2, c1)``; TRIX and TSI take the last EMA alone. The EMAs'
    recurrences overlap in one loop, so the chain costs about what one EMA does.
    """
    out = _output_nb(x.size, out)
    depth = periods.size
    start = first_valid_nb(x)
    lead = 0  # bars before the first output
    for j in range(depth):
        lead += periods[j] - 1
    if depth < 1 or depth > _MAX_CHAIN or periods.min() < 1 or x.size - start <= lead:
        return mask_before_nb(out, x.size)
    mask_before_nb(out, start + lead)
    k = np.zeros(_MAX_CHAIN)
    q = np.ones(_MAX_CHAIN)  # 1 - k
    w = np.zeros(_MAX_CHAIN)
    e = np.zeros(_MAX_CHAIN)  # EMA j while seeding: the sum of its inputs so far
    seeded = np.empty(depth, dtype=np.int64)  # age (bars from start) at which EMA j has its seed
    age = 0
    for j in range(depth):
        k[j] = 2.0 / (periods[j] + 1.0)
        q[j] = 1.0 - k[j]
        w[j] = weights[j]
        age += periods[j] - 1
        seeded[j] = age
    for i in range(start, start + lead + 1):
        v = x[i]
        for j in range(depth):
            if i - start < seeded[j]:
                e[j] += v
                break
            e[j] = (e[j] + v) / periods[j] if i - start == seeded[j] else k[j] * v + q[j] * e[j]
            v = e[j]
    # Steady state on scalars: an array here costs a store and a load per step. EMAs past ``depth``
    # stay 0 with weight 0; the guards are loop-invariant, so they cost nothing.
    e0, e1, e2, e3, e4, e5 = e[0], e[1], e[2], e[3], e[4], e[5]
    k0, k1, k2, k3, k4, k5 = k[0], k[1], k[2], k[3], k[4], k[5]
    q0, q1, q2, q3, q4, q5 = q[0], q[1], q[2], q[3], q[4], q[5]
    w0, w1, w2, w3, w4, w5 = w[0], w[1], w[2], w[3], w[4], w[5]
    out[start + lead] = w0 * e0 + w1 * e1 + w2 * e2 + w3 * e3 + w4 * e4 + w5 * e5
    for i in range(start + lead + 1, x.size):
        e0 = k0 * x[i] + q0 * e0
        if depth > 1:
            e1 = k1 * e0 + q1 * e1
        if depth > 2:
            e2 = k2 * e1 + q2 * e2
        if depth > 3:
            e3 = k3 * e2 + q3 * e3
        if depth > 4:
            e4 = k4 * e3 + q4 * e4
        if depth > 5:
            e5 = k5 * e4 + q5 * e5
        out[i] = w0 * e0 + w1 * e1 + w2 * e2 + w3 * e3 + w4 * e4 + w5 * e5
    return out


@njit(cache=True, nogil=True)
def wma_nb(x, n, out=None):
    """Linearly weighted moving average, newest weight ``n`` (TA-Lib WMA)."""
    out = _output_nb(x.size, out)
    start = first_valid_nb(x)
    if n < 1 or x.size - start < n:
        return mask_before_nb(out, x.size)
    mask_before_nb(out, start + n - 1)
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
def rolling_extreme_nb(x, n, sign, out=None):
    """Highest (``sign`` 1.0) or lowest (``sign`` -1.0) of the last ``n`` values.

    Van Herk / Gil-Werman blocks, branch-free: the values are cut into blocks of
    ``n`` from the first finite one. A window ending at ``i`` is the tail of the
    previous block plus the head of the current one, so its extreme combines the
    previous block's suffix extreme with the current block's running one: three
    ``max`` per value (on ``sign * x``, which is exact), O(len) for any ``n``. A
    monotonic deque or TA-Lib's index-tracking scan branch on the data, mispredict
    on most bars once compiled by LLVM, and were 5-9x slower here.
    """
    out = _output_nb(x.size, out)
    size = x.size
    start = first_valid_nb(x)
    if n < 1 or size - start < n:
        return mask_before_nb(out, size)
    first_out = start + n - 1
    mask_before_nb(out, first_out)
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
def rolling_extreme_index_nb(x, n, sign, out=None):
    """Index (as a float) of the largest ``sign * x`` among the last ``n`` values, the latest bar on ties.

    ``sign`` is 1.0 for the highest value and -1.0 for the lowest. The same block
    scan as :func:`rolling_extreme_nb` (as TA-Lib MAX): per block of ``n`` bars one
    backward pass of suffix extremes, one forward pass of prefix extremes and one
    merge, so the work per bar is a few comparisons whatever ``n`` is.
    """
    out = _output_nb(x.size, out)
    size = x.size
    start = first_valid_nb(x)
    if n < 1 or size - start < n:
        return mask_before_nb(out, size)
    mask_before_nb(out, start + n - 1)
    suf_v = np.empty(n)
    suf_i = np.empty(n)
    pre_v = np.empty(n)
    pre_i = np.empty(n)
    b = start
    while b + n <= size:
        best = sign * x[b + n - 1]
        at = b + n - 1.0
        suf_v[n - 1] = best
        suf_i[n - 1] = at
        for k in range(n - 2, -1, -1):  # backward: the bar held so far is the later one
            v = sign * x[b + k]
            at = float(b + k) if v > best else at
            best = max(v, best)
            suf_v[k] = best
            suf_i[k] = at
        out[b + n - 1] = suf_i[0]
        nb = b + n
        avail = min(n - 1, size - nb)
        if avail > 0:
            best = sign * x[nb]
            at = float(nb)
            pre_v[0] = best
            pre_i[0] = at
            for k in range(1, avail):  # forward: the new bar is the later one
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
def _shifted_sums_nb(x, lo, hi, shift):
    """Sums of ``x - shift`` and of its squares over ``x[lo:hi + 1]``."""
    s1 = 0.0
    s2 = 0.0
    for j in range(lo, hi + 1):
        d = x[j] - shift
        s1 += d
        s2 += d * d
    return s1, s2


@njit(cache=True, nogil=True)
def rolling_var_nb(x, n, out=None, deviation=None):
    """Population variance of the last ``n`` values without cancellation (as TA-Lib 0.8 VAR).

    The running sums hold deviations from a shift near the data, not raw values,
    so ``mean(d**2) - mean(d)**2`` subtracts variance-sized numbers. The sums are
    rebuilt by a two-pass scan every ``32 * n`` bars and whenever the variance
    falls below 1e-6 of the largest mean square held since the last rebuild (a
    window that settled or lost an outlier); a flat window is re-anchored on its
    last value and a variance left at rounding level reads exactly 0. With
    ``deviation``, also fill it with each value less its window's mean, taken from
    the same shifted sums (so the price level never cancels against the mean).
    """
    out = _output_nb(x.size, out)
    start = first_valid_nb(x)
    first = start + n - 1 if n >= 1 and x.size - start >= n else x.size
    mask_before_nb(out, first)
    if deviation is not None:
        mask_before_nb(deviation, first)
    if first == x.size:
        return out
    inv = 1.0 / n
    shift = x[start]
    s1, s2 = _shifted_sums_nb(x, start, start + n - 2, shift)
    left = RESEED_WINDOWS * n
    peak = s2
    for i in range(first, x.size):
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
            s1, s2 = _shifted_sums_nb(x, lo, i, shift)
            mean = s1 * inv
            var = s2 * inv - mean * mean
            if var < 1e-6 * (s2 * inv):
                shift = x[i]
                s1, s2 = _shifted_sums_nb(x, lo, i, shift)
                mean = s1 * inv
                var = s2 * inv - mean * mean
            peak = s2
            if var < 1e-12 * (s2 * inv):
                var = 0.0
            d = x[lo] - shift
            s1 -= d
            s2 -= d * d
        out[i] = var
        if deviation is not None:
            deviation[i] = (x[i] - shift) - mean
    return out


@njit(cache=True, nogil=True)
def true_range_at_nb(high, low, close, i):
    """True range of bar ``i`` (``i >= 1``) against the previous close (TA-Lib TRANGE)."""
    pc = close[i - 1]
    return max(high[i], pc) - min(low[i], pc)


@njit(cache=True, nogil=True)
def atr_nb(high, low, close, n, out=None):
    """Average true range as TA-Lib ATR; first value at bar ``n``.

    The mean of the first ``n`` true ranges (bars ``1..n``), then Wilder's smoothing
    ``atr = q * atr + tr / n`` with ``q = 1 - 1 / n``, the true range computed in the
    same loop. The smoothing is a recurrence, so its speed is the latency of its
    dependency chain; it advances two bars a step, ``atr[t + 1] = q^2 atr[t - 1] +
    (q a[t] + a[t + 1])`` with ``a = tr / n``, which halves that chain. That rounds
    differently from TA-Lib's ``(atr * (n - 1) + tr) / n`` in the last bits only.
    """
    out = _output_nb(close.size, out)
    size = close.size
    if n < 1 or size <= n:
        return mask_before_nb(out, size)
    mask_before_nb(out, n)
    total = 0.0
    for i in range(1, n + 1):
        total += true_range_at_nb(high, low, close, i)
    prev = total / n
    out[n] = prev
    k = 1.0 / n
    q = 1.0 - k
    q2 = q * q
    i = n + 1
    while i + 1 < size:
        a = k * true_range_at_nb(high, low, close, i)
        b = k * true_range_at_nb(high, low, close, i + 1)
        out[i] = q * prev + a
        prev = q2 * prev + (q * a + b)
        out[i + 1] = prev
        i += 2
    if i < size:
        out[i] = q * prev + k * true_range_at_nb(high, low, close, i)
    return out


@njit(cache=True, nogil=True)
def _pivot_nb(x, left, right, sign, out):
    """Fill ``out`` with the swing extremes of ``sign * x`` (see :func:`pivot_high_nb`).

    Bar ``j`` is a swing exactly when it is the *earliest* bar holding the extreme
    of the ``left + right + 1`` bars around it (``j - left .. j + right``): strictly
    beyond the bars before it, at least level with the bars after it. So one
    :func:`rolling_extreme_nb` pass over windows ending at ``t = j + right`` finds
    the candidates (``x[j]`` equal to the extreme), and only they look back for a
    tie among their ``left`` bars; no negated copy of ``x`` is made.
    """
    rolling_extreme_nb(x, left + right + 1, sign, out)
    for t in range(left + right, x.size):
        j = t - right
        v = x[j]
        swing = v == out[t]
        if swing:
            for k in range(j - left, j):
                if x[k] == v:
                    swing = False
                    break
        out[t] = v if swing else np.nan
    return out


@njit(cache=True, nogil=True)
def pivot_high_nb(high, left, right, out=None):
    """Confirmed swing highs, reported where they become known.

    Bar ``j`` is a swing high when its high is strictly above the ``left`` highs
    before it and at least as high as the ``right`` highs after it. That is known
    only at bar ``j + right``, so ``out[j + right] = high[j]`` and every other bar is
    NaN: the value appears ``right`` bars after the bar it describes.
    """
    return _pivot_nb(high, left, right, 1.0, _output_nb(high.size, out))


@njit(cache=True, nogil=True)
def pivot_low_nb(low, left, right, out=None):
    """Confirmed swing lows, mirror of :func:`pivot_high_nb` (``out[j + right] = low[j]``)."""
    return _pivot_nb(low, left, right, -1.0, _output_nb(low.size, out))


@njit(cache=True, nogil=True)
def swings_nb(high, low, left, right, swing_high, swing_low):
    """Fill ``swing_high`` with the :func:`pivot_high_nb` of ``high``, ``swing_low`` with the lows' pivots."""
    return pivot_high_nb(high, left, right, swing_high), pivot_low_nb(low, left, right, swing_low)
