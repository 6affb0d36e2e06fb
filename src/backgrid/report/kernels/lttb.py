"""Largest-Triangle-Three-Buckets downsampling (Steinarsson 2013, "Downsampling Time Series for Visual
Representation", MSc thesis, University of Iceland, section 4.2).

Arrays: ``x`` and ``y`` are float64 of one length ``n`` (``x`` increasing, every value finite); the kernel
returns the int64 positions of the ``m`` points kept, increasing. The first and the last point are always
kept; the ``n - 2`` points between them fall into ``m - 2`` buckets, bucket ``i`` holding positions
``floor(i * e) + 1`` up to ``floor((i + 1) * e) + 1`` (excluded), ``e = (n - 2) / (m - 2)``. From each bucket
the point kept is the one forming the largest triangle with the point kept from the previous bucket and the
mean of the next bucket (the last bucket's "next" is the last point). Ties keep the first point. The caller
ensures ``3 <= m < n``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def lttb_nb(x: np.ndarray, y: np.ndarray, m: int) -> np.ndarray:
    n = x.size
    out = np.empty(m, dtype=np.int64)
    out[0] = 0
    out[m - 1] = n - 1
    every = (n - 2) / (m - 2)
    a = 0
    for i in range(m - 2):
        start = int(np.floor((i + 1) * every)) + 1
        stop = min(int(np.floor((i + 2) * every)) + 1, n)
        avg_x = 0.0
        avg_y = 0.0
        for j in range(start, stop):
            avg_x += x[j]
            avg_y += y[j]
        avg_x /= stop - start
        avg_y /= stop - start
        lo = int(np.floor(i * every)) + 1
        hi = int(np.floor((i + 1) * every)) + 1
        ax = x[a]
        ay = y[a]
        best = -1.0
        chosen = lo
        for j in range(lo, hi):
            area = abs((ax - avg_x) * (y[j] - ay) - (ax - x[j]) * (avg_y - ay))
            if area > best:
                best = area
                chosen = j
        out[i + 1] = chosen
        a = chosen
    return out
