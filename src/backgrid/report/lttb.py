"""Downsample a series for display with LTTB (see :mod:`.kernels.lttb`); statistics never use it."""

from __future__ import annotations

import numpy as np

from backgrid.errors import ReportError
from backgrid.report.kernels.lttb import lttb_nb

__all__ = ["lttb"]


def lttb(x: np.ndarray, y: np.ndarray, max_points: int = 2000) -> np.ndarray:
    """Positions of at most ``max_points`` points of ``(x, y)`` that keep its visual shape, increasing.

    Points with a non-finite ``y`` are left out (a chart does not draw them). A series of ``max_points``
    points or fewer is kept whole.

    >>> lttb(np.arange(7.0), np.array([0.0, 1, 0, 5, 0, 1, 0]), 4).tolist()
    [0, 2, 3, 6]
    """
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        msg = f"lttb: x and y must be 1-d of one length, got shapes {xs.shape} and {ys.shape}"
        raise ReportError(msg)
    if isinstance(max_points, bool) or not isinstance(max_points, int | np.integer) or max_points < 3:
        msg = f"lttb: max_points must be an int >= 3, got {max_points!r}"
        raise ReportError(msg)
    finite = np.flatnonzero(np.isfinite(ys) & np.isfinite(xs))
    if finite.size <= max_points:
        return finite
    return np.asarray(finite[lttb_nb(xs[finite], ys[finite], int(max_points))])
