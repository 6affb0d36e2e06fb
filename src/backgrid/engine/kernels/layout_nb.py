"""Memory layout helpers: (n, m) arrays to column-major, in parallel blocks; counts per column; record buffers
compacted."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

BLOCK = 64


@njit(cache=True, nogil=True, parallel=True)
def to_column_major_nb(src, dst):
    """Copy ``src`` (n, m) into ``dst`` (n, m, Fortran order), in cache-sized tiles, columns in parallel."""
    n, m = src.shape
    for jb in prange((m + BLOCK - 1) // BLOCK):
        j0 = jb * BLOCK
        j1 = min(m, j0 + BLOCK)
        for i0 in range(0, n, BLOCK):
            i1 = min(n, i0 + BLOCK)
            for j in range(j0, j1):
                for i in range(i0, i1):
                    dst[i, j] = src[i, j]


@njit(cache=True, nogil=True, parallel=True)
def count_true_nb(values):
    """How many of each column's (n, m) bool ``values`` are True: (m,) int64, columns in parallel (a NumPy sum
    over a column-major sweep's signals walks them row by row, ~5x slower)."""
    n, m = values.shape
    counts = np.zeros(m, dtype=np.int64)
    for j in prange(m):
        total = 0
        for i in range(n):
            total += values[i, j]
        counts[j] = total
    return counts


@njit(cache=True, nogil=True)
def compact_rows_nb(raw, width, start, stop):
    """Move the rows ``start[j]`` up to ``stop[j]`` of every column ``j`` of a record buffer (``raw``: its bytes,
    ``width`` bytes a row) down to follow each other, in place; return how many rows that is. A column's rows
    move as one block (Numba copies a block that overlaps its destination before the move)."""
    end = 0
    for j in range(stop.size):
        first, last = start[j], stop[j]
        if last > first:
            if first != end:
                raw[end * width:(end + last - first) * width] = raw[first * width:last * width]
            end += last - first
    return end
