"""Resampling kernel.

Conventions: ``ts`` int64 UTC nanoseconds, sorted; float64 price/volume arrays.
Local wall-clock time is ``ts + day_offsets[ts // DAY - first_day]`` (one offset
per UTC day, so no per-bar time-zone work). Bins, in local time:

- ``tf_ns >= WEEK``: the Monday 00:00 of the bar's week, labelled there;
- ``tf_ns == DAY``: the bar's local date 00:00, labelled there (as daily files are);
- shorter: ``open_ns`` after local midnight plus whole multiples of ``tf_ns``,
  labelled at the bin's start converted back to UTC.

Outputs are written into preallocated arrays; the count of bins is returned.
"""

from __future__ import annotations

import numpy as np
from numba import njit

DAY = 86_400_000_000_000
WEEK = 7 * DAY
MONDAY = 4  # 1970-01-01 was a Thursday; the first Monday is 4 days later


@njit(cache=True, nogil=True, inline="always")
def _label(t, tf_ns, open_ns, first_day, day_offsets):
    off = day_offsets[t // DAY - first_day]
    local = t + off
    day = local // DAY
    if tf_ns >= WEEK:
        return ((day - MONDAY) // 7 * 7 + MONDAY) * DAY
    if tf_ns == DAY:
        return day * DAY
    anchor = day * DAY + open_ns
    return anchor + ((local - anchor) // tf_ns) * tf_ns - off


@njit(cache=True, nogil=True)
def resample_nb(ts, o, h, lo, c, v, sf, dv, tf_ns, open_ns, first_day, day_offsets,
                out_ts, out_o, out_h, out_lo, out_c, out_v, out_sf, out_dv):
    """Aggregate bars into bins: first open, max high, min low, last close, summed volume.

    ``sf`` (split factors) multiply and ``dv`` (dividends) add within a bin; pass
    empty arrays when the series has none (their outputs are then left alone).
    """
    n = ts.size
    has_sf = sf.size > 0
    has_dv = dv.size > 0
    k = -1
    current = np.iinfo(np.int64).min
    for i in range(n):
        label = _label(ts[i], tf_ns, open_ns, first_day, day_offsets)
        if label != current:
            k += 1
            current = label
            out_ts[k] = label
            out_o[k] = o[i]
            out_h[k] = h[i]
            out_lo[k] = lo[i]
            out_v[k] = 0.0
            if has_sf:
                out_sf[k] = 1.0
            if has_dv:
                out_dv[k] = 0.0
        else:
            out_h[k] = max(out_h[k], h[i])
            out_lo[k] = min(out_lo[k], lo[i])
        out_c[k] = c[i]
        out_v[k] += v[i]
        if has_sf:
            out_sf[k] *= sf[i]
        if has_dv:
            out_dv[k] += dv[i]
    return k + 1
