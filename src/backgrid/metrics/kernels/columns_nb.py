"""Metrics of many columns at once, one column per (parallel) loop iteration, repeating numpy's arithmetic.

Conventions: ``equity`` is float64 ``(n, m)``, one account per column; outputs are float64 ``(m, k)``
with one row per column and one field per metric, in the order of the ``*_FIELDS`` tuples below (counts
are whole numbers, converted to int64 by the wrapper in :mod:`backgrid.metrics.columns`).

Each value is computed with the same operations, in the same order, as the per-column formulas of
:mod:`backgrid.metrics.returns`, :mod:`backgrid.metrics.trades` and :mod:`backgrid.metrics.registry`,
so the results are equal bit for bit, not only to rounding:

* sums are numpy's pairwise sum (:func:`psum`: eight running sums in blocks of at most 128 values,
  halved above that), which is what ``np.sum`` and ``np.mean`` do on a float64 array;
* a sum over a field of the trade records (``TRADE`` is a packed dtype, so its fields are unaligned
  views) goes through numpy's buffered reduction: pairwise sums of chunks of 8192 values, added in
  turn (:func:`bsum`);
* products (``np.prod``, ``np.cumprod``) run in order; minima and maxima propagate NaN like
  ``np.minimum`` / ``np.maximum``;
* powers use ``**`` on floats (libm's ``pow``, as Python's float power does);
* percentiles take their order statistics from ``np.partition`` (exact values, whatever the algorithm)
  and interpolate as :func:`backgrid.metrics.returns.quantile` does; the expected shortfall sums the
  lowest returns in the formula's fixed order (bar order, then the cut's value repeated).

Kernel modules import only numpy and numba: the probabilistic Sharpe ratio comes out as its ``z`` score
and the wrapper applies ``math.erf``.
"""
# mypy: allow-untyped-defs

from __future__ import annotations

import numpy as np
from numba import njit, prange

#: numpy's reduction buffer (``np.getbufsize()``): unaligned inputs are summed in chunks of this many values
BUFSIZE = 8192

#: columns copied out of the equity array together (see ``equity_stats_nb``)
BLOCK = 32
#: rows copied per tile
TILE = 64

EQUITY_FIELDS = (
    "final_equity", "total_return", "annual_return", "cagr", "annual_volatility", "sharpe_ratio",
    "sortino_ratio", "calmar_ratio", "omega_ratio", "psr_z", "max_drawdown", "max_drawdown_duration",
    "avg_drawdown", "ulcer_index", "alpha", "beta", "value_at_risk", "conditional_value_at_risk", "tail_ratio",
    "ulcer_performance_index", "information_ratio", "tracking_error", "up_capture", "down_capture",
)

TRADE_FIELDS = (
    "trades", "closed_trades", "win_rate", "best_trade", "worst_trade", "avg_trade", "avg_bars_held",
    "profit_factor", "expectancy", "sqn", "kelly_criterion", "long_trades", "long_win_rate", "long_pnl",
    "short_trades", "short_win_rate", "short_pnl", "commission_paid", "slippage_paid", "borrow_paid",
    "exposure", "risk_of_ruin",
)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _leaf(a, lo, n):
    """numpy's sum of at most 128 values: in order below 8, else eight running sums and the rest in order."""
    if n < 8:
        res = 0.0
        for i in range(lo, lo + n):
            res += a[i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    stop = n - n % 8
    while i < stop:
        k = lo + i
        r0 += a[k]
        r1 += a[k + 1]
        r2 += a[k + 2]
        r3 += a[k + 3]
        r4 += a[k + 4]
        r5 += a[k + 5]
        r6 += a[k + 6]
        r7 += a[k + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True, nogil=True, error_model="numpy")
def psum(a, lo, n):
    """numpy's pairwise sum of ``a[lo:lo + n]`` (``np.add.reduce`` of a float64 array).

    Above 128 values numpy halves the range (the first half a multiple of 8) and adds the halves' sums;
    this walks the same tree with a stack (numba does not cache recursive functions safely).
    """
    if n <= 128:
        return _leaf(a, lo, n)
    starts = np.empty(64, dtype=np.int64)  # the depth is log2(n / 128): 64 levels cover any array
    sizes = np.empty(64, dtype=np.int64)
    stage = np.zeros(64, dtype=np.int64)  # 0: left half next, 1: right half next, 2: both summed
    sums = np.empty(64)
    top = 0
    depth = 0
    starts[0] = lo
    sizes[0] = n
    stage[0] = 0
    while top >= 0:
        f_lo = starts[top]
        f_n = sizes[top]
        if f_n <= 128:
            sums[depth] = _leaf(a, f_lo, f_n)
            depth += 1
            top -= 1
            continue
        half = f_n // 2
        half -= half % 8
        if stage[top] == 0:
            stage[top] = 1
            top += 1
            starts[top], sizes[top], stage[top] = f_lo, half, 0
        elif stage[top] == 1:
            stage[top] = 2
            top += 1
            starts[top], sizes[top], stage[top] = f_lo + half, f_n - half, 0
        else:
            depth -= 1
            sums[depth - 1] = sums[depth - 1] + sums[depth]
            top -= 1
    return sums[0]


@njit(cache=True, nogil=True, error_model="numpy")
def bsum(a, lo, n):
    """numpy's buffered sum of ``a[lo:lo + n]``: pairwise sums of chunks of :data:`BUFSIZE`, in turn."""
    res = 0.0
    k = 0
    while k < n:
        c = min(BUFSIZE, n - k)
        res += psum(a, lo + k, c)
        k += c
    return res


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _nanmax(a, b):
    """``np.maximum(a, b)``: NaN when either is NaN."""
    return a if (a >= b or np.isnan(a)) else b


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _nanmin(a, b):
    """``np.minimum(a, b)``: NaN when either is NaN."""
    return a if (a <= b or np.isnan(a)) else b


@njit(cache=True, nogil=True, error_model="numpy")
def _equity_column(e, cash, b, bc, sbb, flat, ppy, inv_years, cut, bu, bd, tails, active, o, w):
    """The ``EQUITY_FIELDS`` of one column ``e`` into ``o``; ``w`` is ``(8, e.size)`` scratch.

    Two passes over the bars compute everything that does not need the mean return, then everything that
    does; each quantity summed later is written to its own row of ``w`` (numpy sums them pairwise).
    """
    n = e.size
    nan = np.nan
    o[:] = nan
    o[0] = e[n - 1] if n else cash
    r, down2, down, up, c3, c4, dd2, runs_min = w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]
    # pass 1: returns (the first against the starting cash), their product and extremes, the drawdown of
    # cumprod(1 + r) from 1 (calmar), the drawdowns of the equity from the starting cash
    prev = cash
    p = 1.0
    has_nan = False
    hi = -np.inf
    lo = np.inf
    c = 1.0
    peak_c = 0.0
    mdd_c = np.inf
    peak = 0.0
    mdd = 0.0
    longest = 0
    runs = 0
    run = 0
    for i in range(n):
        v = e[i] / prev - 1.0
        prev = e[i]
        r[i] = v
        g = 1.0 + v
        p *= g
        if np.isnan(v):
            has_nan = True
        else:
            hi = max(hi, v)
            lo = min(lo, v)
        c = c * g if i else g
        peak_c = _nanmax(peak_c, c) if i else c
        mdd_c = _nanmin(mdd_c, c / _nanmax(peak_c, 1.0) - 1.0)
        peak = _nanmax(peak, e[i]) if i else e[i]
        d = e[i] / _nanmax(peak, cash) - 1.0
        mdd = _nanmin(mdd, d) if i else d
        if d < 0:
            if run == 0:
                runs_min[runs] = d  # the run's deepest point
                runs += 1
            else:
                runs_min[runs - 1] = _nanmin(runs_min[runs - 1], d)
            run += 1
            longest = max(longest, run)
        else:
            run = 0
        dd2[i] = d * d
    total = p - 1.0 if n else 0.0
    o[1] = e[n - 1] / cash - 1.0 if n else 0.0  # the registry's total return: final over start, one rounding
    annual = nan
    if n:
        growth = 1.0 + total
        annual = growth ** (ppy / n) - 1.0 if growth > 0 else -1.0
    o[2] = annual
    if n and inv_years > 0:
        growth = e[n - 1] / cash
        if growth > 0:
            o[3] = growth ** inv_years - 1.0
    constant = n > 0 and not has_nan and hi == lo
    if n and mdd_c < 0:
        ratio = annual / -mdd_c
        if np.isfinite(ratio):
            o[7] = ratio
    o[10] = mdd
    o[11] = longest
    o[12] = psum(runs_min, 0, runs) / runs if runs else 0.0
    o[13] = np.sqrt(psum(dd2, 0, n) / n) if n else 0.0
    # pass 2: centred returns and their powers (np.std, the probabilistic Sharpe ratio's moments), the
    # downside (sortino) and the losses and gains around 0 (omega)
    mean = psum(r, 0, n) / n if n else nan
    c2 = dd2  # done with the squared drawdowns
    for i in range(n):
        x = r[i] - mean
        y = x * x
        c2[i] = y
        c3[i] = y * x
        c4[i] = y * y
        d = _nanmin(r[i] - 0.0, 0.0)  # np.minimum(r - 0, 0): NaN stays NaN
        down[i] = d
        down2[i] = d * d
        up[i] = _nanmax(r[i] - 0.0, 0.0)
    sq = psum(c2, 0, n)
    if n > 1:
        std = np.sqrt(sq / (n - 1))
        o[4] = std * np.sqrt(ppy)
        if not constant:
            o[5] = mean / std * np.sqrt(ppy)
        downside = np.sqrt(psum(down2, 0, n) / n)
        if downside != 0.0:
            o[6] = mean / downside * np.sqrt(ppy)
        loss = -psum(down, 0, n)
        if loss > 0:
            o[8] = psum(up, 0, n) / loss
    if n > 2 and not constant:
        m2 = sq / n
        sr = mean / np.sqrt(m2 * n / (n - 1))
        skew = psum(c3, 0, n) / n / m2 ** 1.5
        kurt = psum(c4, 0, n) / n / m2 ** 2.0
        denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
        if not denom <= 0:
            o[9] = (sr - 0.0) * np.sqrt(float(n - 1)) / np.sqrt(denom)
    # alpha and beta against buy and hold, from the second bar on
    k = n - 1
    if k >= 2 and not flat:
        rm = psum(r, 1, k) / k
        z = c3  # done with the cubes
        for i in range(k):
            z[i] = bc[i] * (r[i + 1] - rm)
        beta = psum(z, 0, k) / sbb
        for i in range(k):
            z[i] = r[i + 1] - beta * b[i]
        base = 1.0 + psum(z, 0, k) / k
        o[14] = base ** ppy - 1.0 if base >= 0 else nan
        o[15] = beta
    if tails and n and not has_nan:
        _tails(r, n, cut, o, w[2], w[3])
    if n and o[13] != 0.0:  # ulcer performance index: annual return over the ulcer index
        ratio = annual / o[13]
        if np.isfinite(ratio):
            o[19] = ratio
    if active:
        _active(r, b, k, ppy, bu, bd, o, w[1], w[2])


@njit(cache=True, nogil=True, error_model="numpy")
def select(a, lo, hi, k, limit=64):
    """Reorder ``a[lo:hi]`` (no NaN) in place so that ``a[k]`` is the value sorting puts there, none above it
    before it and none below it after it (``np.partition``'s contract, ``lo <= k < hi``).

    Quickselect around the median of three, each round in branch-free passes: the values below the pivot
    to the front, then (when ``k`` is not among them) the values equal to it, so that runs of equal values
    are done with at once. After ``limit`` rounds (a pathological order) the rest is sorted.
    """
    rounds = 0
    while hi - lo > 1:
        if rounds == limit:
            a[lo:hi].sort()
            return
        rounds += 1
        x, y, z = a[lo], a[(lo + hi - 1) // 2], a[hi - 1]
        pivot = max(min(x, y), min(max(x, y), z))
        below = _front(a, lo, hi, pivot, False)
        if k < below:
            hi = below
            continue
        equal = _front(a, below, hi, pivot, True)  # everything from ``below`` on is >= pivot: <= is ==
        if k < equal:
            return
        lo = equal


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _front(a, lo, hi, pivot, inclusive):
    """Move the values of ``a[lo:hi]`` below ``pivot`` (``inclusive``: at or below) to the front; return their end."""
    store = lo
    for i in range(lo, hi):
        x = a[i]
        a[i] = a[store]
        a[store] = x
        store += (x <= pivot) if inclusive else (x < pivot)
    return store


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _lowest(a, lo, hi):
    res = a[lo]
    for i in range(lo + 1, hi):
        res = min(res, a[i])
    return res


@njit(cache=True, nogil=True, error_model="numpy")
def _tails(r, n, cut, o, s, t):
    """Value at risk, expected shortfall and tail ratio of the ``n`` returns ``r`` (no NaN) into ``o[16:19]``.

    ``s`` and ``t`` are scratch: ``s`` a copy of ``r`` that :func:`select` orders, ``t`` the lowest returns.
    """
    for i in range(n):
        s[i] = r[i]
    h = cut * (n - 1)
    k = int(h)
    h_hi = (1.0 - cut) * (n - 1)
    k_hi = int(h_hi)
    select(s, 0, n, k)
    v = s[k]
    above = _lowest(s, k + 1, n) if k + 1 < n else v  # the next order statistic (the last value: itself)
    var = v + (above - v) * (h - k)
    o[16] = var
    if k_hi > k:  # the upper quantile, among the values above the lower one
        select(s, k + 1, n, k_hi)
    top = s[k_hi]
    top_above = _lowest(s, k_hi + 1, n) if k_hi + 1 < n else top
    count = 0
    for i in range(n):
        if r[i] < v:
            t[count] = r[i]
            count += 1
    for i in range(count, k + 1):
        t[i] = v
    o[17] = psum(t, 0, k + 1) / (k + 1)
    if var != 0.0:
        o[18] = abs(top + (top_above - top) * (h_hi - k_hi)) / abs(var)


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _annual(p, count, ppy):
    """``annual_return`` of ``count`` returns whose ``prod(1 + r)`` is ``p``."""
    growth = 1.0 + (p - 1.0)
    return growth ** (ppy / count) - 1.0 if growth > 0 else -1.0


@njit(cache=True, nogil=True, inline="always", error_model="numpy")
def _capture(p, count, ppy, theirs):
    """``capture_ratio``: the annual return of ``count`` returns of product ``p`` over ``theirs``."""
    if count and theirs != 0.0:
        ratio = _annual(p, count, ppy) / theirs
        if np.isfinite(ratio):
            return ratio
    return np.nan


@njit(cache=True, nogil=True, error_model="numpy")
def _active(r, b, k, ppy, bu, bd, o, a, a2):
    """Information ratio, tracking error, up and down capture against buy and hold into ``o[20:24]``.

    ``b`` are buy and hold's ``k`` returns from the second bar on, ``bu`` and ``bd`` its annual returns
    over the bars it rose and fell; ``a`` and ``a2`` are scratch.
    """
    p_up = 1.0
    p_down = 1.0
    n_up = 0
    n_down = 0
    has_nan = False
    hi = -np.inf
    lo = np.inf
    for i in range(k):
        x = r[i + 1] - b[i]
        a[i] = x
        if np.isnan(x):
            has_nan = True
        else:
            hi = max(hi, x)
            lo = min(lo, x)
        if b[i] > 0:
            p_up *= 1.0 + r[i + 1]
            n_up += 1
        elif b[i] < 0:
            p_down *= 1.0 + r[i + 1]
            n_down += 1
    if k >= 2:
        mean = psum(a, 0, k) / k
        for i in range(k):
            d = a[i] - mean
            a2[i] = d * d
        std = np.sqrt(psum(a2, 0, k) / (k - 1))
        o[21] = std * np.sqrt(ppy)
        if has_nan or hi != lo:
            o[20] = mean / std * np.sqrt(ppy)
    o[22] = _capture(p_up, n_up, ppy, bu)
    o[23] = _capture(p_down, n_down, ppy, bd)


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def equity_stats_nb(equity, cash, b, bc, sbb, flat, ppy, inv_years, cut, bu, bd, tails, active, out):
    """``EQUITY_FIELDS`` of every column of ``equity`` into ``out`` ``(m, k)``.

    ``b`` are buy and hold's returns from the second bar on, ``bc`` the same less their mean and ``sbb``
    ``sum(bc * bc)`` (one benchmark for every column); ``flat``: the benchmark's returns are constant
    (alpha and beta are NaN). ``inv_years`` is ``1 / years`` of the run (``<= 0``: CAGR is NaN). ``cut`` is
    the tail of the value at risk (0.05); ``bu`` and ``bd`` are buy and hold's annual returns over the bars
    it rose and fell (up and down capture). ``tails`` (value at risk, expected shortfall, tail ratio) and
    ``active`` (information ratio, tracking error, captures) say whether to compute those fields (else NaN).
    """
    n, m = equity.shape
    # a column of a row-major (n, m) array is one value per page: copy BLOCK columns at a time into rows
    # of a contiguous buffer (a few hundred bytes read per row) and work on those
    blocks = (m + BLOCK - 1) // BLOCK
    for q in prange(blocks):
        j0 = q * BLOCK
        w = min(BLOCK, m - j0)
        buf = np.empty((w, n))
        for i0 in range(0, n, TILE):  # in tiles, so that both the reads and the writes stay on a few pages
            i1 = min(n, i0 + TILE)
            for c in range(w):
                for i in range(i0, i1):
                    buf[c, i] = equity[i, j0 + c]
        scratch = np.empty((8, n))
        for c in range(w):
            _equity_column(buf[c], cash[j0 + c], b, bc, sbb, flat, ppy, inv_years, cut, bu, bd, tails, active,
                           out[j0 + c], scratch)
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def _win_rate(pnl, k):
    if not k:
        return np.nan
    wins = 0
    for i in range(k):
        if pnl[i] > 0:
            wins += 1
    return wins / k


@njit(cache=True, nogil=True, error_model="numpy")
def _trade_column(lo, hi, n, open_, side, entry, exit_, pnl, ret, held, commission, slippage, borrow, o,
                  cp, cr, w, loss, lp, sp, starts, ends):
    """The ``TRADE_FIELDS`` of the trade records ``lo:hi`` of one column into ``o`` (the rest is scratch)."""
    nan = np.nan
    o[:] = nan
    o[0] = hi - lo
    k = 0
    nl = 0
    ns = 0
    bars = 0
    for t in range(lo, hi):
        if not open_[t]:
            cp[k] = pnl[t]
            cr[k] = ret[t]
            bars += held[t]
            k += 1
            if side[t] == 1:
                lp[nl] = pnl[t]
                nl += 1
            elif side[t] == -1:
                sp[ns] = pnl[t]
                ns += 1
    o[1] = k
    o[2] = _win_rate(cp, k)
    if k:
        o[21] = ((1.0 - o[2]) / (1.0 + o[2])) ** float(k)  # risk of ruin
        best = cr[0]
        worst = cr[0]
        for i in range(1, k):
            best = _nanmax(best, cr[i])
            worst = _nanmin(worst, cr[i])
        o[3] = best
        o[4] = worst
        o[5] = bsum(cr, 0, k) / k
        o[6] = float(bars) / k
        o[8] = bsum(cp, 0, k) / k
    nw = 0
    nlo = 0
    for i in range(k):
        if cp[i] > 0:
            w[nw] = cp[i]
            nw += 1
        elif cp[i] < 0:
            loss[nlo] = cp[i]
            nlo += 1
    gross_loss = -psum(loss, 0, nlo)
    if gross_loss > 0:
        o[7] = psum(w, 0, nw) / gross_loss
    if k >= 2:
        mean = bsum(cp, 0, k) / k
        for i in range(k):
            d = cp[i] - mean
            cr[i] = d * d  # the returns are done with
        sd = np.sqrt(psum(cr, 0, k) / (k - 1))
        if sd != 0.0:
            o[9] = np.sqrt(float(k)) * mean / sd
    if nw and nlo:
        wr = nw / k
        o[10] = wr - (1.0 - wr) / ((psum(w, 0, nw) / nw) / -(psum(loss, 0, nlo) / nlo))
    o[11] = nl
    o[12] = _win_rate(lp, nl)
    o[13] = bsum(lp, 0, nl)
    o[14] = ns
    o[15] = _win_rate(sp, ns)
    o[16] = bsum(sp, 0, ns)
    o[17] = bsum(commission, lo, hi - lo)
    o[18] = bsum(slippage, lo, hi - lo)
    o[19] = bsum(borrow, lo, hi - lo)
    if n:
        # bars closing with a position: the union of the trades' [entry, exit) (an open trade to the end), which
        # is where the registry's running count of open trades is above 0
        k = 0
        for t in range(lo, hi):
            end = exit_[t] + (1 if open_[t] else 0)
            if end > entry[t]:
                starts[k] = entry[t]
                ends[k] = end
                k += 1
        held_bars = 0
        if k:
            order = np.argsort(starts[:k])
            cur_lo = starts[order[0]]
            cur_hi = ends[order[0]]
            for q in range(1, k):
                a = starts[order[q]]
                if a <= cur_hi:
                    cur_hi = max(cur_hi, ends[order[q]])
                else:
                    held_bars += cur_hi - cur_lo
                    cur_lo = a
                    cur_hi = ends[order[q]]
            held_bars += cur_hi - cur_lo
        o[20] = held_bars / n


@njit(cache=True, nogil=True, parallel=True, error_model="numpy")
def trade_stats_nb(bounds, n, open_, side, entry, exit_, pnl, ret, held, commission, slippage, borrow, out):
    """``TRADE_FIELDS`` of every column into ``out`` ``(m, k)``; column ``j``'s records are ``bounds[j]:bounds[j + 1]``.

    The record fields come as contiguous 1-D arrays (``open_`` bool, ``side``, ``entry``, ``exit_`` and
    ``held`` int64, the rest float64); ``n`` is the number of bars (exposure).
    """
    m = bounds.size - 1
    for j in prange(m):
        lo = bounds[j]
        hi = bounds[j + 1]
        size = hi - lo
        _trade_column(lo, hi, n, open_, side, entry, exit_, pnl, ret, held, commission, slippage, borrow, out[j],
                      np.empty(size), np.empty(size), np.empty(size), np.empty(size), np.empty(size),
                      np.empty(size), np.empty(size, dtype=np.int64), np.empty(size, dtype=np.int64))
    return out
