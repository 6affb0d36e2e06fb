"""Moving-average kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Inputs are 1-D float64 arrays; kernels fill the caller's ``out`` (NaN during the
warm-up) and return it, and overwrite ``scratch``. Leading NaNs in the input are
skipped. The TA-Lib twins (DEMA, TEMA and T3 are
:func:`~backgrid.indicators.kernels.core_nb.ema_chain_nb`; KAMA here) follow the C
code of TA-Lib 0.8 in seeds, lookbacks and edge rules. TA-Lib fuses its
multiply-adds (``fma``), which Numba does not do without fast-math flags that
would make results depend on the CPU; that leaves differences in the last bits
(about 1e-15 relative).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels.core_nb import ema_nb, first_valid_nb, mask_before_nb, wma_nb

#: KAMA's fastest and slowest smoothing constants: EMA factors of 2 and 30 bars.
_KAMA_SLOW = 2.0 / (30.0 + 1.0)
_KAMA_SPAN = 2.0 / (2.0 + 1.0) - _KAMA_SLOW


@njit(cache=True, nogil=True)
def hma_nb(x, n, out, scratch):
    """Hull moving average: ``WMA(2 * WMA(x, n // 2) - WMA(x, n), isqrt(n))``; first value at ``n + isqrt(n) - 2``."""
    root = int(np.sqrt(n))  # exact: a correctly rounded square root never crosses an integer below 2**52
    wma_nb(x, n // 2, scratch)
    wma_nb(x, n, out)
    for i in range(x.size):
        scratch[i] = 2.0 * scratch[i] - out[i]
    return wma_nb(scratch, root, out)


@njit(cache=True, nogil=True)
def zlema_nb(x, n, out, scratch):
    """Zero-lag EMA: the EMA of ``x + (x - x[lag])`` with ``lag = (n - 1) // 2`` (first value at ``lag + n - 1``)."""
    lag = (n - 1) // 2
    start = first_valid_nb(x) + lag
    adjusted = mask_before_nb(scratch, start)
    for i in range(start, x.size):
        adjusted[i] = x[i] + (x[i] - x[i - lag])
    return ema_nb(adjusted, n, out)


@njit(cache=True, nogil=True)
def kama_nb(x, n, out):
    """Kaufman's adaptive moving average (TA-Lib 0.8 KAMA, unstable period 0); first value at ``start + n``.

    The efficiency ratio ``|x[t] - x[t-n]| / sum(|x[i] - x[i-1]|)`` over the last ``n``
    changes sets ``sc = (er * (2/3 - 2/31) + 2/31) ** 2`` and ``kama += sc * (x - kama)``,
    starting from ``x[start + n - 1]``. As in TA-Lib: the ratio is 1 when the path is
    not positive or the signed net change reaches it, and at most 1 otherwise; after
    ``n`` unchanged closes the running path is reset to exactly 0, so residue from
    earlier moves cannot linger.
    """
    start = first_valid_nb(x)
    if n < 2 or x.size - start <= n:
        return mask_before_nb(out, x.size)
    mask_before_nb(out, start + n)
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
def vwma_nb(close, volume, n, out):
    """Volume-weighted average of the last ``n`` closes: ``sum(close * volume) / sum(volume)``.

    A window whose volumes are all zero has no weights; it gets the plain average
    of its closes. Zero volumes are counted exactly, so running-sum residue never
    decides that case.
    """
    start = first_valid_nb(close)
    if n < 1 or close.size - start < n:
        return mask_before_nb(out, close.size)
    mask_before_nb(out, start + n - 1)
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
