"""Validation kernel.

Conventions: ``ts`` is int64 nanoseconds (``NAT`` marks an unparsable time);
prices and volume are float64 1-D arrays of the same length. ``flags`` is a
uint16 array the kernel writes problem bits into (one bit per check, below), or
an empty array to count problems without storing them: on clean data the first
call then allocates nothing. ``order`` lists the rows to visit by increasing time;
an empty ``order`` visits rows as stored.
"""

from __future__ import annotations

import numpy as np
from numba import njit

NAT = np.iinfo(np.int64).min

MISSING_TS = 1
NON_FINITE = 2
NON_POSITIVE = 4
HIGH_LOW = 8
NEGATIVE_VOLUME = 16
DUPLICATE = 32
SPACING = 64
GAP = 128
OUTLIER = 256
ROW_LOCAL = MISSING_TS | NON_FINITE | NON_POSITIVE | HIGH_LOW | NEGATIVE_VOLUME

_FAST = 2.0 / 101.0  # EWMA weights of the spike detector's fast and slow variance
_SLOW = 2.0 / 2001.0


@njit(cache=True, nogil=True, inline="always")
def _row_bits(o, h, lo, c, v):
    if not (np.isfinite(o) and np.isfinite(h) and np.isfinite(lo) and np.isfinite(c) and np.isfinite(v)):
        return NON_FINITE
    f = 0
    if o <= 0.0 or h <= 0.0 or lo <= 0.0 or c <= 0.0:
        f |= NON_POSITIVE
    if h < max(o, c) or lo > min(o, c) or h < lo:
        f |= HIGH_LOW
    if v < 0.0:
        f |= NEGATIVE_VOLUME
    return f


@njit(cache=True, nogil=True)
def scan_nb(ts, o, h, lo, c, v, flags, order, tf_ns, continuous, outlier_k, warmup):
    """Check every row; return ``(backwards, problems)``.

    ``backwards`` counts places where time decreases in visiting order (when it is
    non-zero the order-dependent bits are meaningless: call again with ``order``).
    ``problems`` counts rows with any bit set. Bits: row-local ones; DUPLICATE,
    SPACING (closer than ``tf_ns``) and, when ``continuous``, GAP on the row after a
    hole; OUTLIER for spikes: a close-to-close log return beyond ``outlier_k`` EWMA
    deviations that the next bar takes back by at least half, or a wick beyond
    ``outlier_k`` deviations. A slow EWMA floors the fast one so that a quiet
    spell does not turn every later move into a spike. Returns and wicks are
    logarithmic, so that a jump up by a factor and a drop by the same factor are
    equally large: with simple returns a jump of x10 (+900 %) that the next bar
    takes back (-90 %) looked like no reversal at all, and went unreported.
    """
    store = flags.size > 0
    use_order = order.size > 0
    n_visit = order.size if use_order else ts.size
    backwards = 0
    problems = 0
    var = 0.0
    slow_var = 0.0
    seen = 0
    prev_t = NAT
    prev_c = np.nan
    pending = -1  # row of a candidate return spike waiting for the next bar
    pending_r = 0.0
    if store and use_order:  # rows left out of ``order`` (no time) still get their row-local bits
        for i in range(ts.size):
            flags[i] = _row_bits(o[i], h[i], lo[i], c[i], v[i]) | (MISSING_TS if ts[i] == NAT else 0)
    for k in range(n_visit):
        i = order[k] if use_order else k
        t = ts[i]
        ci = c[i]
        f = _row_bits(o[i], h[i], lo[i], ci, v[i])
        if t == NAT:
            f |= MISSING_TS
        else:
            if prev_t != NAT:
                d = t - prev_t
                if d < 0:
                    backwards += 1
                elif d == 0:
                    f |= DUPLICATE
                elif d < tf_ns:
                    f |= SPACING
                elif continuous and d > tf_ns:
                    f |= GAP
            prev_t = t
        if f & (ROW_LOCAL | DUPLICATE) == 0:
            if not np.isnan(prev_c):
                r = np.log(ci / prev_c)
                sd = np.sqrt(max(var, 0.1 * slow_var))
                if pending >= 0:
                    if r * pending_r < 0.0 and abs(r) > 0.5 * abs(pending_r):
                        problems += 1
                        if store:
                            flags[pending] |= OUTLIER
                    pending = -1
                capped = r * r
                if seen >= warmup and sd > 0.0:
                    limit = outlier_k * sd
                    if np.log(h[i] / max(o[i], ci)) > limit or np.log(min(o[i], ci) / lo[i]) > limit:
                        f |= OUTLIER
                    # a row already counted (a wick spike) is not counted again as a return spike
                    if abs(r) > limit and (store or f == 0):
                        pending = i
                        pending_r = r
                    capped = min(capped, limit * limit)
                if seen == 0:
                    var = capped
                    slow_var = capped
                else:
                    var = (1.0 - _FAST) * var + _FAST * capped
                    slow_var = (1.0 - _SLOW) * slow_var + _SLOW * capped
                seen += 1
            prev_c = ci
        if f != 0:
            problems += 1
        if store:
            flags[i] = f
    return backwards, problems
