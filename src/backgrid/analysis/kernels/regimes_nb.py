"""Kernels of the market regimes (:mod:`backgrid.analysis.regimes`).

Conventions: inputs are 1-D (or, for observations, 2-D bars x states) float64 arrays; outputs are preallocated
float64 arrays of the input's length that the kernel fills and returns. Position ``t`` of every output uses
inputs at positions ``<= t`` only, so a kernel run on a prefix of the data writes the same values there.

* :func:`rolling_rank_nb` — the percentile rank of ``x[t]`` among the trailing ``lookback`` values
  ``x[t - lookback + 1], ..., x[t]`` (itself included), ties at their average rank:
  ``(below + (equal + 1) / 2) / lookback``, ``equal`` counting ``x[t]`` itself; in ``(0, 1]``. It equals
  pandas' ``Series.rolling(lookback).rank(method="average", pct=True)``. NaN before ``start + lookback - 1``.
  The window is kept sorted: each bar finds the leaving and the arriving value by binary search and shifts only
  the values between them, ``O(n (log L + d))`` with ``d`` their distance in the window (``L / 3`` on average
  for independent values) instead of the ``O(n L)`` of counting the window anew at every bar.
* :func:`forward_filter_nb` — the forward (filtering) recursion of a hidden Markov model:
  ``alpha_t = normalise((alpha_{t-1} @ transmat) * b_t)``, ``alpha_0 = normalise(startprob * b_0)``, with
  ``b_t = exp(log_b[t] - max_k log_b[t, k])`` (the shift cancels in the normalisation and keeps ``exp`` from
  underflowing), so that ``alpha_t[k] = P(state_t = k | x_0, ..., x_t)``. Rows before ``write_from`` are
  run but not written.
"""

# mypy: allow-untyped-defs

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def _left_nb(window, value):
    """First position in the sorted ``window`` whose value is not below ``value``."""
    lo, hi = 0, window.size
    while lo < hi:
        mid = (lo + hi) // 2
        if window[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def _right_nb(window, value):
    """First position in the sorted ``window`` whose value is above ``value``."""
    lo, hi = 0, window.size
    while lo < hi:
        mid = (lo + hi) // 2
        if window[mid] <= value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def rolling_rank_nb(x, lookback, start, out):
    """Percentile rank of each value among the trailing ``lookback`` values (see the module docstring).

    ``x[start:]`` must be finite; ``out[:start + lookback - 1]`` is NaN.
    """
    n = x.size
    out[:] = np.nan
    if n - start < lookback:
        return out
    window = np.sort(x[start:start + lookback])
    last = start + lookback - 1
    for t in range(last, n):
        value = x[t]
        if t > last:
            old = x[t - lookback]
            i = _left_nb(window, old)  # the leaving value itself (the window holds it)
            j = _left_nb(window, value)
            if j > i:  # shift the values between them one step towards the hole the leaving value leaves
                for k in range(i, j - 1):
                    window[k] = window[k + 1]
                window[j - 1] = value
            else:
                for k in range(i, j, -1):
                    window[k] = window[k - 1]
                window[j] = value
        below = _left_nb(window, value)
        equal = _right_nb(window, value) - below
        out[t] = (below + (equal + 1) / 2.0) / lookback
    return out


@njit(cache=True, nogil=True)
def forward_filter_nb(log_b, startprob, transmat, write_from, out):
    """Filtered state probabilities ``P(state_t | x_0..x_t)`` of every row of ``log_b`` (rows x states).

    ``log_b[t, k]`` is the log density of observation ``t`` under state ``k``; rows of ``out`` before
    ``write_from`` are left as they are.
    """
    n, m = log_b.shape
    alpha = startprob.copy()
    step = np.empty(m)
    for t in range(n):
        if t > 0:
            for k in range(m):
                total = 0.0
                for j in range(m):
                    total += alpha[j] * transmat[j, k]
                step[k] = total
        else:
            step[:] = startprob
        peak = log_b[t].max()
        norm = 0.0
        for k in range(m):
            alpha[k] = step[k] * np.exp(log_b[t, k] - peak)
            norm += alpha[k]
        for k in range(m):
            alpha[k] /= norm
        if t >= write_from:
            out[t] = alpha
    return out
