"""Moving-average kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Inputs are 1-D float64 arrays, outputs new float64 arrays of the same length with
NaN during the warm-up; leading NaNs in the input are skipped. The TA-Lib twins
(DEMA, TEMA, T3, KAMA) follow the C code of TA-Lib 0.8 in seeds, lookbacks and
edge rules. TA-Lib fuses its multiply-adds (``fma``), which Numba does not do
without fast-math flags that would make results depend on the CPU; that leaves
differences in the last bits (about 1e-15 relative).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels.core_nb import ema_nb, first_valid_nb, wma_nb

#: KAMA's fastest and slowest smoothing constants: EMA factors of 2 and 30 bars.
_KAMA_SLOW = 2.0 / (30.0 + 1.0)
_KAMA_SPAN = 2.0 / (2.0 + 1.0) - _KAMA_SLOW
#: The longest EMA chain :func:`ema_cascade_nb` runs (T3's six).
_MAX_CASCADE = 6


@njit(cache=True, nogil=True)
def ema_cascade_nb(x, n, weights):
    """Weighted sum of ``weights.size`` (at most 6) chained EMAs of ``x``, all computed in one pass.

    EMA ``j + 1`` smooths EMA ``j``; each is seeded, as TA-Lib does, by the plain
    average of the first ``n`` values it receives, so the output starts at
    ``start + weights.size * (n - 1)``. ``out = sum(weights[j] * ema_j)``: DEMA is
    ``(2, -1)``, TEMA ``(3, -3, 1)``, T3 ``(0, 0, c4, c3, c2, c1)``. Each step is
    ``k * v + (1 - k) * e``, T3's form: its dependency chain is one multiply shorter
    than ``(v - e) * k + e``.
    """
    depth = weights.size
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    lead = depth * (n - 1)  # bars before the first output
    if n < 1 or depth > _MAX_CASCADE or x.size - start <= lead:
        return out
    k = 2.0 / (n + 1.0)
    one_minus_k = 1.0 - k
    e = np.zeros(_MAX_CASCADE)  # EMA j while seeding: the sum of its inputs so far
    for i in range(start, start + lead + 1):
        age = i - start
        v = x[i]
        for j in range(depth):
            ready = (j + 1) * (n - 1)  # age at which EMA j has its seed
            if age < ready:
                e[j] += v
                break
            e[j] = (e[j] + v) / n if age == ready else k * v + one_minus_k * e[j]
            v = e[j]
    w = np.zeros(_MAX_CASCADE)
    w[:depth] = weights
    # Steady state on scalars: an array here costs a store and a load per step. EMAs
    # past ``depth`` have zero weight, so running them is harmless; the guards spare
    # DEMA and TEMA that work.
    e0, e1, e2, e3, e4, e5 = e[0], e[1], e[2], e[3], e[4], e[5]
    w0, w1, w2, w3, w4, w5 = w[0], w[1], w[2], w[3], w[4], w[5]
    out[start + lead] = w0 * e0 + w1 * e1 + w2 * e2 + w3 * e3 + w4 * e4 + w5 * e5
    for i in range(start + lead + 1, x.size):
        e0 = k * x[i] + one_minus_k * e0
        if depth > 1:
            e1 = k * e0 + one_minus_k * e1
        if depth > 2:
            e2 = k * e1 + one_minus_k * e2
        if depth > 3:
            e3 = k * e2 + one_minus_k * e3
            e4 = k * e3 + one_minus_k * e4
            e5 = k * e4 + one_minus_k * e5
        out[i] = w0 * e0 + w1 * e1 + w2 * e2 + w3 * e3 + w4 * e4 + w5 * e5
    return out


@njit(cache=True, nogil=True)
def hma_nb(x, n):
    """Hull moving average: ``WMA(2 * WMA(x, n // 2) - WMA(x, n), isqrt(n))``; first value at ``n + isqrt(n) - 2``."""
    root = int(np.sqrt(n))  # exact: a correctly rounded square root never crosses an integer below 2**52
    return wma_nb(2.0 * wma_nb(x, n // 2) - wma_nb(x, n), root)


@njit(cache=True, nogil=True)
def zlema_nb(x, n):
    """Zero-lag EMA: the EMA of ``x + (x - x[lag])`` with ``lag = (n - 1) // 2`` (first value at ``lag + n - 1``)."""
    lag = (n - 1) // 2
    adjusted = np.full(x.size, np.nan)
    for i in range(first_valid_nb(x) + lag, x.size):
        adjusted[i] = x[i] + (x[i] - x[i - lag])
    return ema_nb(adjusted, n)


@njit(cache=True, nogil=True)
def kama_nb(x, n):
    """Kaufman's adaptive moving average (TA-Lib 0.8 KAMA, unstable period 0); first value at ``start + n``.

    The efficiency ratio ``|x[t] - x[t-n]| / sum(|x[i] - x[i-1]|)`` over the last ``n``
    changes sets ``sc = (er * (2/3 - 2/31) + 2/31) ** 2`` and ``kama += sc * (x - kama)``,
    starting from ``x[start + n - 1]``. As in TA-Lib: the ratio is 1 when the path is
    not positive or the signed net change reaches it, and at most 1 otherwise; after
    ``n`` unchanged closes the running path is reset to exactly 0, so residue from
    earlier moves cannot linger.
    """
    out = np.full(x.size, np.nan)
    start = first_valid_nb(x)
    if n < 2 or x.size - start <= n:
        return out
    xs = x[start:]  # views from the first value: plain indices run measurably faster
    ys = out[start:]
    path = 0.0
    moved = 0  # last bar whose close differs from the one before
    for i in range(1, n + 1):
        step = xs[i - 1] - xs[i]
        path += abs(step)
        if step != 0.0:
            moved = i
    kama = xs[n - 1]
    for i in range(n, xs.size):
        if i > n:
            step = xs[i] - xs[i - 1]
            if step != 0.0:
                moved = i
            if i - moved >= n:  # n unchanged closes: the path is exactly 0
                path = 0.0
            else:
                path -= abs(xs[i - n - 1] - xs[i - n])
                path += abs(step)
        change = xs[i] - xs[i - n]
        ratio = 1.0 if path <= 0.0 or change >= path else min(1.0, abs(change / path))
        sc = ratio * _KAMA_SPAN + _KAMA_SLOW
        sc *= sc
        kama = sc * xs[i] + (1.0 - sc) * kama  # one multiply shorter a chain than (x - kama) * sc + kama
        ys[i] = kama
    return out


@njit(cache=True, nogil=True)
def vwma_nb(close, volume, n):
    """Volume-weighted average of the last ``n`` closes: ``sum(close * volume) / sum(volume)``.

    A window whose volumes are all zero has no weights; it gets the plain average
    of its closes. Zero volumes are counted exactly, so running-sum residue never
    decides that case.
    """
    out = np.full(close.size, np.nan)
    start = first_valid_nb(close)
    if n < 1 or close.size - start < n:
        return out
    pv = 0.0
    vol = 0.0
    plain = 0.0
    traded = 0  # bars in the window with volume
    for i in range(start, close.size):
        pv += close[i] * volume[i]
        vol += volume[i]
        plain += close[i]
        if volume[i] != 0.0:
            traded += 1
        if i >= start + n - 1:
            out[i] = pv / vol if traded > 0 else plain / n
            j = i - n + 1
            pv -= close[j] * volume[j]
            vol -= volume[j]
            plain -= close[j]
            if volume[j] != 0.0:
                traded -= 1
    return out
