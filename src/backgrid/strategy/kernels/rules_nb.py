"""Rules of many parameter sets at once: comparisons and crosses written straight into (n, m) column-major
bool arrays, columns in parallel.

Each operand of a column is either a column of ``series`` (``col >= 0``, read ``ago`` bars back, NaN before
the start) or the number ``const`` (``col < 0``). A column is False before its ``warm`` bar. The values equal
numpy's comparisons of the shifted operands (a NaN compares False), as the one-set evaluator computes them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

GT, LT, GE, LE, EQ = 0, 1, 2, 3, 4
#: the comparison codes of the document's operators
OPS = {">": GT, "<": LT, ">=": GE, "<=": LE, "==": EQ}


@njit(cache=True, nogil=True, inline="always")
def _at(series, col, const, ago, i):
    if col < 0:
        return const
    k = i - ago
    if k < 0:
        return np.nan
    return series[k, col]


@njit(cache=True, nogil=True, inline="always")
def _compare(a, b, op):
    if op == GT:
        return a > b
    if op == LT:
        return a < b
    if op == GE:
        return a >= b
    if op == LE:
        return a <= b
    return a == b


@njit(cache=True, nogil=True, parallel=True)
def compare_nb(series, a_col, a_const, a_ago, b_col, b_const, b_ago, op, warm, out):
    """``out[i, j] = a_j(i) <op> b_j(i)`` from bar ``warm[j]`` on, False before."""
    n, m = out.shape
    for j in prange(m):
        w = min(warm[j], n)
        for i in range(w):
            out[i, j] = False
        ac, bc, ak, bk, ax, bx = a_col[j], b_col[j], a_ago[j], b_ago[j], a_const[j], b_const[j]
        for i in range(w, n):
            out[i, j] = _compare(_at(series, ac, ax, ak, i), _at(series, bc, bx, bk, i), op)
    return out


@njit(cache=True, nogil=True, parallel=True)
def cross_nb(series, a_col, a_const, a_ago, b_col, b_const, b_ago, warm, up, down):
    """``up[i, j]``: ``a_j`` above ``b_j`` at bar ``i`` after being at or below it at ``i - 1``; ``down[i, j]``:
    ``b_j`` above ``a_j`` after being at or below it (``a`` crossing below ``b``). From bar ``warm[j]`` on (never
    at bar 0), False before. Both come from one pass over the operands; a ``down`` of shape (0, 0) is not
    written (a rule wanting one direction only)."""
    n, m = up.shape
    both = down.shape[0] == n
    for j in prange(m):
        w = min(max(warm[j], 1), n)
        for i in range(w):
            up[i, j] = False
        if both:
            for i in range(w):
                down[i, j] = False
        ac, bc, ak, bk, ax, bx = a_col[j], b_col[j], a_ago[j], b_ago[j], a_const[j], b_const[j]
        if w >= n:
            continue
        # "at or below" is not "not above" (a NaN is neither): both are kept; & rather than `and`, no branch
        if ac >= 0 and bc >= 0 and ak == 0 and bk == 0:  # two arrays as they are: the sweep's usual cross
            if both:
                _plain_both(series[:, ac], series[:, bc], w, up[:, j], down[:, j])
            else:
                _plain_up(series[:, ac], series[:, bc], w, up[:, j])
            continue
        x = _at(series, ac, ax, ak, w - 1)
        y = _at(series, bc, bx, bk, w - 1)
        below = x <= y
        above = y <= x
        for i in range(w, n):
            x = _at(series, ac, ax, ak, i)
            y = _at(series, bc, bx, bk, i)
            up[i, j] = (x > y) & below
            if both:
                down[i, j] = (y > x) & above
            below = x <= y
            above = y <= x
    return up


@njit(cache=True, nogil=True, inline="always")
def _plain_up(a, b, w, up):
    below = a[w - 1] <= b[w - 1]
    for i in range(w, a.size):
        x = a[i]
        y = b[i]
        up[i] = (x > y) & below
        below = x <= y


@njit(cache=True, nogil=True, inline="always")
def _plain_both(a, b, w, up, down):
    below = a[w - 1] <= b[w - 1]
    above = b[w - 1] <= a[w - 1]
    for i in range(w, a.size):
        x = a[i]
        y = b[i]
        up[i] = (x > y) & below
        down[i] = (y > x) & above
        below = x <= y
        above = y <= x
