"""Rules of many parameter sets at once: comparisons and crosses written straight into (n, m) column-major
bool arrays, blocks of rows in parallel.

Each operand of a column is either a column of ``series`` (``col >= 0``, read ``ago`` bars back, NaN before
the start) or the number ``const`` (``col < 0``). A column is False before its ``warm`` bar. The values equal
numpy's comparisons of the shifted operands (a NaN compares False), as the one-set evaluator computes them.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

GT, LT, GE, LE, EQ = 0, 1, 2, 3, 4  # an operator's mirror (a < b is b > a) is its code ^ 1, but EQ's
#: rows a thread writes for every column before the next rows: the operands' arrays are read a block at a time
#: (2,048 bars of 80 distinct arrays: 1.3 MB, within a core's cache) instead of one whole array per column
BLOCK = 2048
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
    for block in prange((n + BLOCK - 1) // BLOCK):
        i0 = block * BLOCK
        i1 = min(n, i0 + BLOCK)
        for j in range(m):
            start = max(i0, min(warm[j], i1))
            for i in range(i0, start):
                out[i, j] = False
            ac, bc, ak, bk, ax, bx = a_col[j], b_col[j], a_ago[j], b_ago[j], a_const[j], b_const[j]
            if ac >= 0 and ak == 0 and bc >= 0 and bk == 0:  # the plain cases: loops LLVM vectorises
                _compare_arrays(series[start:i1, ac], series[start:i1, bc], op, out[start:i1, j])
            elif ac >= 0 and ak == 0 and bc < 0:
                _compare_number(series[start:i1, ac], bx, op, out[start:i1, j])
            elif ac < 0 and bc >= 0 and bk == 0:  # a number first: the array's comparison the other way round
                _compare_number(series[start:i1, bc], ax, op if op == EQ else op ^ 1, out[start:i1, j])
            else:
                for i in range(start, i1):
                    out[i, j] = _compare(_at(series, ac, ax, ak, i), _at(series, bc, bx, bk, i), op)
    return out


@njit(cache=True, nogil=True, inline="always")
def _compare_arrays(x, y, op, out):
    for i in range(x.size):  # LLVM takes the operator's branch out of the loop
        out[i] = _compare(x[i], y[i], op)


@njit(cache=True, nogil=True, inline="always")
def _compare_number(x, number, op, out):
    for i in range(x.size):
        out[i] = _compare(x[i], number, op)


@njit(cache=True, nogil=True, parallel=True)
def cross_nb(series, a_col, a_const, a_ago, b_col, b_const, b_ago, warm, up, down):
    """``up[i, j]``: ``a_j`` above ``b_j`` at bar ``i`` after being at or below it at ``i - 1``; ``down[i, j]``:
    ``b_j`` above ``a_j`` after being at or below it (``a`` crossing below ``b``). From bar ``warm[j]`` on (never
    at bar 0), False before. Both come from one pass over the operands; a ``down`` of shape (0, 0) is not
    written (a rule wanting one direction only)."""
    n, m = up.shape
    both = down.shape[0] == n
    for block in prange((n + BLOCK - 1) // BLOCK):
        i0 = block * BLOCK
        i1 = min(n, i0 + BLOCK)
        for j in range(m):
            start = max(i0, min(max(warm[j], 1), i1))
            for i in range(i0, start):
                up[i, j] = False
            if both:
                for i in range(i0, start):
                    down[i, j] = False
            if start >= i1:
                continue
            ac, bc, ak, bk, ax, bx = a_col[j], b_col[j], a_ago[j], b_ago[j], a_const[j], b_const[j]
            # "at or below" is not "not above" (a NaN is neither): both are kept; & rather than `and`, no branch
            if ac >= 0 and bc >= 0 and ak == 0 and bk == 0:  # two arrays as they are: the sweep's usual cross
                if both:
                    _plain_both(series[:, ac], series[:, bc], start, i1, up[:, j], down[:, j])
                else:
                    _plain_up(series[:, ac], series[:, bc], start, i1, up[:, j])
                continue
            x = _at(series, ac, ax, ak, start - 1)
            y = _at(series, bc, bx, bk, start - 1)
            below = x <= y
            above = y <= x
            for i in range(start, i1):
                x = _at(series, ac, ax, ak, i)
                y = _at(series, bc, bx, bk, i)
                up[i, j] = (x > y) & below
                if both:
                    down[i, j] = (y > x) & above
                below = x <= y
                above = y <= x
    return up


# The two below read the bar before through a second slice rather than a value carried from the last step:
# no carried value and a loop from 0 over slices (no negative index to wrap) let LLVM vectorise them, ~4x faster
# (2.4 -> 0.6 ns a bar for both directions).

@njit(cache=True, nogil=True, inline="always")
def _plain_up(a, b, start, stop, up):
    x, y, px, py, u = a[start:stop], b[start:stop], a[start - 1:stop - 1], b[start - 1:stop - 1], up[start:stop]
    for i in range(x.size):
        u[i] = (x[i] > y[i]) & (px[i] <= py[i])


@njit(cache=True, nogil=True, inline="always")
def _plain_both(a, b, start, stop, up, down):
    x, y, px, py = a[start:stop], b[start:stop], a[start - 1:stop - 1], b[start - 1:stop - 1]
    u, d = up[start:stop], down[start:stop]
    for i in range(x.size):
        u[i] = (x[i] > y[i]) & (px[i] <= py[i])
        d[i] = (y[i] > x[i]) & (py[i] <= px[i])
