"""Kernel of the trade-order shuffle (:func:`backgrid.robustness.montecarlo.shuffle_trades`).

Conventions: ``pnl`` is a 1-D float64 array of trade PnL in money, ``cash`` the equity before the first trade;
``rng`` is a ``numpy.random.Generator`` (Numba draws from its bit generator, so a seeded Generator gives the
same paths on every run). Outputs are preallocated float64 arrays of length ``n_paths``. Drawdowns are
fractions of the running peak of equity (negative; the starting cash is the first peak).
"""

# mypy: allow-untyped-defs

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def shuffle_nb(pnl, cash, rng, out_final, out_max_drawdown, out_min_equity):
    """Per path: a fresh uniform permutation of ``pnl`` (Fisher–Yates), then its equity path's statistics.

    The running equity ``cash + pnl[0] + ... + pnl[k]`` is summed with an error term (Knuth's TwoSum, as in
    Ogita, Rump & Oishi's Sum2), so each value is as accurate as a sum in twice the precision, rounded once:
    the final equity is the correctly rounded total whatever the order (short of sums that cancel to within
    about 1e-16 of their terms), so it is the same number on every path.
    """
    m = pnl.size
    work = pnl.copy()  # each permutation shuffles the previous one: Fisher–Yates is uniform from any start
    for p in range(out_final.size):
        for i in range(m - 1, 0, -1):
            j = int(rng.random() * (i + 1))
            held = work[i]
            work[i] = work[j]
            work[j] = held
        s = cash
        err = 0.0
        peak = cash
        worst = 0.0
        low = cash
        for i in range(m):
            x = work[i]
            t = s + x
            back = t - s
            err += (s - (t - back)) + (x - back)
            s = t
            equity = s + err
            peak = max(peak, equity)
            worst = min(worst, equity / peak - 1.0)
            low = min(low, equity)
        out_final[p] = s + err
        out_max_drawdown[p] = worst
        out_min_equity[p] = low
