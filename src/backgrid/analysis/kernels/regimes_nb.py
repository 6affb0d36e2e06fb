"""Kernels of the market regimes (:mod:`backgrid.analysis.regimes`).

Conventions: inputs are 1-D (or, for observations, 2-D bars x states) float64 arrays; outputs are preallocated
float64 arrays of the input's length that the kernel fills and returns. Position ``t`` of every output uses
inputs at positions ``<= t`` only, so a kernel run on a prefix of the data writes the same values there.

* :func:`rolling_rank_nb` — the percentile rank of ``x[t]`` among the trailing ``lookback`` values
  ``x[t - lookback + 1], ..., x[t]`` (itself included), ties at their average rank:
  ``(below + (equal + 1) / 2) / lookback``, ``equal`` counting ``x[t]`` itself; in ``(0, 1]``. It equals
  pandas' ``Series.rolling(lookback).rank(method="average", pct=True)``. NaN before ``start + lookback - 1``.
  Each bar compares its value with the whole window, ``O(n L)``: the comparisons vectorise (SIMD, no branch),
  which at ``L = 252`` runs five times faster than a sorted window updated by binary search and shifts,
  ``O(n (log L + d))``, whose searches mispredict at every step (measured on 1M bars: 0.09 s against 0.5 s).
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
def rolling_rank_nb(x, lookback, start, out):
    """Percentile rank of each value among the trailing ``lookback`` values (see the module docstring).

    ``x[start:]`` must be finite; ``out[:start + lookback - 1]`` is NaN.
    """
    out[:] = np.nan
    for t in range(start + lookback - 1, x.size):
        window = x[t - lookback + 1:t + 1]  # a slice: no negative-index test in the loop, which vectorises
        value = x[t]
        below = 0
        equal = 0
        for k in range(window.size):
            below += window[k] < value
            equal += window[k] == value
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
