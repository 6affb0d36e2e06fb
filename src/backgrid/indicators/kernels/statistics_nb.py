"""Statistics kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Inputs are 1-D float64 arrays; kernels fill the caller's ``out`` (NaN during the
warm-up) and return it. CORREL and BETA follow the C code of the TA-Lib release
the tests pin (0.8): anchored running sums, their rebuild rules and zero tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.indicators.kernels.core_nb import TA_EPSILON, first_valid_nb, mask_before_nb, rolling_var_nb

#: ``of_returns`` flags for the window helpers: run on the values, or on their one-bar returns.
_LEVELS = False
_RETURNS = True


@njit(cache=True, nogil=True)
def zscore_nb(x, n, out, scratch):
    """``(x - mean) / std`` over the last ``n`` values (population deviation); 0 where the window is flat.

    The variance and the distance from the mean come from the shifted running sums
    of :func:`~backgrid.indicators.kernels.core_nb.rolling_var_nb` (TA-Lib 0.8's
    VAR): plain sums of ``x`` and ``x^2`` lose about half the digits on short
    windows (the z-score of a 2-bar window came out 1e-3 away from +-1), the
    shifted ones stay within about 1e-10 of a two-pass computation (VAR rebuilds
    its sums only once the variance falls below 1e-6 of their mean square). A flat
    window's variance is exactly 0 there, and reads 0. ``scratch`` is overwritten.
    """
    if n < 2:
        return mask_before_nb(out, x.size)
    rolling_var_nb(x, n, out, scratch)
    for i in range(first_valid_nb(x) + n - 1, x.size):
        out[i] = scratch[i] / np.sqrt(out[i]) if out[i] > 0.0 else 0.0
    return out


@njit(cache=True, nogil=True)
def _term_nb(x, j, of_returns):
    """``x[j]``, or with ``of_returns`` the one-bar return ``(x[j] - x[j-1]) / x[j-1]`` (0 after a zero price)."""
    if not of_returns:
        return x[j]
    prev = x[j - 1]
    return 0.0 if prev == 0.0 else (x[j] - prev) / prev


@njit(cache=True, nogil=True)
def _window_sum_nb(x, lo, hi, of_returns):
    """Sum of the terms ``lo..hi`` (inclusive), from 0 in index order as TA-Lib's rebuilds add them."""
    total = 0.0
    for j in range(lo, hi + 1):
        total += _term_nb(x, j, of_returns)
    return total


@njit(cache=True, nogil=True)
def _shifted_sums_nb(x, y, lo, hi, kx, ky, of_returns):
    """``(S dx, S dx^2, S dx dy, S dy, S dy^2)`` of the terms ``lo..hi`` less the anchors ``kx``, ``ky``."""
    sx = 0.0
    sxx = 0.0
    sxy = 0.0
    sy = 0.0
    syy = 0.0
    for j in range(lo, hi + 1):
        a = _term_nb(x, j, of_returns) - kx
        b = _term_nb(y, j, of_returns) - ky
        sx += a
        sxx += a * a
        sxy += a * b
        sy += b
        syy += b * b
    return sx, sxx, sxy, sy, syy


@njit(cache=True, nogil=True)
def _drop_nb(x, y, t, kx, ky, of_returns, sx, sxx, sxy, sy, syy):
    """Take bar ``t``'s terms out of the anchored sums: ``(sx, sxx, sxy, sy, syy, gone_xx, gone_yy)``.

    ``gone_*`` are the squares that left, which the callers' precision checks compare with the sums.
    """
    dx = _term_nb(x, t, of_returns) - kx
    dy = _term_nb(y, t, of_returns) - ky
    gone_xx = dx * dx
    gone_yy = dy * dy
    return sx - dx, sxx - gone_xx, sxy - dx * dy, sy - dy, syy - gone_yy, gone_xx, gone_yy


@njit(cache=True, nogil=True)
def correl_nb(x, y, n, out):
    """Pearson correlation of ``x`` and ``y`` over the last ``n`` bars, as TA-Lib 0.8 computes CORREL.

    Running sums are kept on values less an anchor (first ``x[0]``, ``y[0]``) so that
    large price levels do not cancel. When a check sees precision at risk (a
    variance below 1e-6 of its sum of squares, a departing square above 1e6 times
    the sum) or every ``32 n`` bars, the anchor moves to the window's mean and the
    sums are rebuilt from the window. A window where either series is flat gives 0;
    the result is clamped to [-1, 1].
    """
    if n < 2 or x.size < n:
        return mask_before_nb(out, x.size)
    mask_before_nb(out, n - 1)
    inv_n = 1.0 / n
    kx = x[0]
    ky = y[0]
    sx, sxx, sxy, sy, syy = _shifted_sums_nb(x, y, 0, n - 2, kx, ky, _LEVELS)
    budget = 32 * n
    gone_xx = 0.0  # squares of the pair that left the window last
    gone_yy = 0.0
    for i in range(n - 1, x.size):
        t = i - n + 1  # oldest bar in the window
        dx = x[i] - kx
        sx += dx
        sxx += dx * dx
        var_x = sxx - sx * sx * inv_n
        rebuild = 1e-6 * sxx > var_x
        if not rebuild:
            dy = y[i] - ky
            sy += dy
            syy += dy * dy
            var_y = syy - sy * sy * inv_n
            rebuild = 1e-6 * syy > var_y or gone_xx > 1e6 * sxx or gone_yy > 1e6 * syy
            if not rebuild:
                budget -= 1
                rebuild = budget == 0
        if rebuild:
            kx = _window_sum_nb(x, t, i, _LEVELS) * inv_n
            ky = _window_sum_nb(y, t, i, _LEVELS) * inv_n
            sx, sxx, sxy, sy, syy = _shifted_sums_nb(x, y, t, i, kx, ky, _LEVELS)
            var_x = max(sxx - sx * sx * inv_n, 0.0)
            var_y = max(syy - sy * sy * inv_n, 0.0)
            budget = 32 * n
        else:
            sxy = dx * dy + sxy
        cov = sxy - sx * sy * inv_n
        r = 0.0
        if var_x > TA_EPSILON * sxx and var_y > TA_EPSILON * syy and var_x * var_y > 0.0:
            r = min(1.0, max(-1.0, cov / np.sqrt(var_x * var_y)))
        out[i] = r
        sx, sxx, sxy, sy, syy, gone_xx, gone_yy = _drop_nb(x, y, t, kx, ky, _LEVELS, sx, sxx, sxy, sy, syy)
    return out


@njit(cache=True, nogil=True)
def beta_nb(x, y, n, out):
    """Slope of ``y``'s one-bar returns on ``x``'s over the last ``n`` returns, as TA-Lib 0.8 computes BETA.

    ``beta = (n Sxy - Sx Sy) / (n Sxx - Sx^2)``, i.e. ``cov(rx, ry) / var(rx)``, with
    returns ``(p[t] - p[t-1]) / p[t-1]`` (0 after a zero price); 0 where ``x``'s
    returns have no spread. As in :func:`correl_nb` the sums run on returns less an
    anchor (the first return, later the window's mean return) and are rebuilt when
    precision is at risk (variance below 1e-6 of ``n Sxx``, a departing square above
    1000 times the sum) or every ``32 n`` bars. The first value is at bar ``n``.
    """
    if n < 2 or x.size <= n:
        return mask_before_nb(out, x.size)
    mask_before_nb(out, n)
    kx = _term_nb(x, 1, _RETURNS)
    ky = _term_nb(y, 1, _RETURNS)
    sx, sxx, sxy, sy, syy = _shifted_sums_nb(x, y, 1, n - 1, kx, ky, _RETURNS)
    budget = 32 * n
    gone_xx = 0.0  # squares of the returns that left the window last
    gone_yy = 0.0
    for i in range(n, x.size):
        t = i - n + 1  # oldest return in the window
        dx = _term_nb(x, i, _RETURNS) - kx
        dy = _term_nb(y, i, _RETURNS) - ky
        sx += dx
        sxx += dx * dx
        nxx = n * sxx
        var_x = nxx - sx * sx
        rebuild = 1e-6 * nxx > var_x or gone_xx > 1000.0 * sxx
        if not rebuild:
            syy += dy * dy
            rebuild = gone_yy > 1000.0 * syy
            if not rebuild:
                budget -= 1
                rebuild = budget == 0
        if rebuild:
            kx = _window_sum_nb(x, t, i, _RETURNS) / n
            ky = _window_sum_nb(y, t, i, _RETURNS) / n
            sx, sxx, sxy, sy, syy = _shifted_sums_nb(x, y, t, i, kx, ky, _RETURNS)
            nxx = n * sxx
            var_x = max(nxx - sx * sx, 0.0)
            budget = 32 * n
        else:
            sy = dy + sy
            sxy = dx * dy + sxy
        out[i] = (sxy * n - sx * sy) / var_x if var_x > TA_EPSILON * nxx else 0.0
        sx, sxx, sxy, sy, syy, gone_xx, gone_yy = _drop_nb(x, y, t, kx, ky, _RETURNS, sx, sxx, sxy, sy, syy)
    return out


@njit(cache=True, nogil=True)
def percent_rank_nb(x, n, out):
    """Share, in percent, of the ``n`` values before each bar that are strictly below it; first value at ``n``.

    A direct count, O(len * n): it vectorises, and measured faster than a sorted
    window or a Fenwick tree over global ranks for windows up to a few hundred bars.
    """
    start = first_valid_nb(x)
    mask_before_nb(out, start + n)
    for i in range(start + n, x.size):
        v = x[i]
        below = 0
        for j in range(i - n, i):
            below += x[j] < v
        out[i] = 100.0 * below / n
    return out
