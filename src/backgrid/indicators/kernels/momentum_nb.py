"""Momentum kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def rsi_nb(close, n):
    """Wilder's RSI: smoothed gains over smoothed gains plus losses, x100 (TA-Lib RSI, unstable period 0)."""
    out = np.full(close.size, np.nan)
    if n < 2 or close.size <= n:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, n + 1):
        d = close[i] - close[i - 1]
        if d > 0.0:
            gain += d
        else:
            loss -= d
    gain /= n
    loss /= n
    total = gain + loss
    out[n] = 100.0 * gain / total if total != 0.0 else 0.0
    for i in range(n + 1, close.size):
        d = close[i] - close[i - 1]
        gain *= n - 1
        loss *= n - 1
        if d > 0.0:
            gain += d
        else:
            loss -= d
        gain /= n
        loss /= n
        total = gain + loss
        out[i] = 100.0 * gain / total if total != 0.0 else 0.0
    return out
