"""Plain Numba loops: the simplest code that does each engine workload's work, the floor backgrid is held to.

Each loop is written from the workload's rules, not from backgrid's kernels, and the benchmark checks that it
agrees with backgrid (trade count, final equity within 1e-9) before it reports a time. They know one workload
each: no options, no records beyond a count, no order log. Arrays: prices (n,) float64 (W4: (n, k), one
column per symbol), signals bool of the same shape; every loop returns (trades, final equity) and fills the
equity array it is given when it has one (W1, W4: one value per bar, marked at the close).

Rules shared by all: an order decided at a bar's close fills at the next bar's open; commission is
``comm`` x traded value; an entry signal while flat (W1, W2, W4) or an opposite signal (W3, a reversal) is
acted on, an exit signal while long closes; a trade still open at the end counts, marked at the last close.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def all_in_nb(open_, close, up, down, cash, comm, equity):  # noqa: PLR0917  # numba: positional only
    """W1: long only, all in (units = equity / (px x (1 + comm)), so value plus commission is the equity)."""
    pos = 0.0
    want = 0  # 1 buy, -1 sell at the next open
    trades = 0
    for i in range(open_.size):
        if want == 1:
            px = open_[i]
            pos = cash / (px * (1.0 + comm))
            cash -= pos * px * (1.0 + comm)
            trades += 1
        elif want == -1:
            cash += pos * open_[i] * (1.0 - comm)
            pos = 0.0
        want = 0
        if pos == 0.0 and up[i]:
            want = 1
        elif pos > 0.0 and down[i]:
            want = -1
        if equity.size:
            equity[i] = cash + pos * close[i]
    return trades, cash + pos * close[-1]


@njit(cache=True, nogil=True)
def all_in_columns_nb(open_, close, up, down, cash, comm, trades, final):  # noqa: PLR0917  # numba: positional only
    """W2: :func:`all_in_nb` on every column of (n, m) signals in turn (one thread), no equity curve."""
    none = np.empty(0)
    for j in range(up.shape[1]):
        trades[j], final[j] = all_in_nb(open_, close, up[:, j], down[:, j], cash, comm, none)


@njit(cache=True, nogil=True)
def reversal_stops_nb(open_, high, low, close, up, down, units, cash, comm, stop, take):  # noqa: PLR0917  # numba: positional only
    """W3: ``units`` long on ``up``, short on ``down`` (a reversal when holding the other side).

    Stops are fractions of the entry fill: stop-loss at entry x (1 - side x stop), take-profit at
    entry x (1 + side x take), tested from the entry bar on against the bar's low and high; a bar that opens
    beyond a level fills at the open; when both are touched inside the bar the stop-loss fills.
    """
    side = 0.0  # +1 long, -1 short, 0 flat
    want = 0.0  # the side to hold after the next open (0: no order)
    sl = tp = 0.0
    trades = 0
    for i in range(open_.size):
        o = open_[i]
        if want != 0.0:
            if side != 0.0:  # close the other side first
                cash += side * units * o - units * o * comm
            side = want
            cash -= side * units * o + units * o * comm
            sl = o * (1.0 - side * stop)
            tp = o * (1.0 + side * take)
            trades += 1
            want = 0.0
        if side != 0.0:
            exit_px = np.nan
            if side * (o - sl) <= 0.0 or side * (o - tp) >= 0.0:  # opened beyond a level
                exit_px = o
            elif (low[i] <= sl) if side > 0.0 else (high[i] >= sl):
                exit_px = sl
            elif (high[i] >= tp) if side > 0.0 else (low[i] <= tp):
                exit_px = tp
            if not np.isnan(exit_px):
                cash += side * units * exit_px - units * exit_px * comm
                side = 0.0
        if up[i] and not down[i] and side <= 0.0:
            want = 1.0
        elif down[i] and not up[i] and side >= 0.0:
            want = -1.0
    return trades, cash + side * units * close[-1]


@njit(cache=True, nogil=True)
def shared_cash_nb(open_, close, up, down, units, cash, comm, equity):  # noqa: PLR0917  # numba: positional only
    """W4: ``units`` of each of k symbols, long only, from one cash account.

    At each open the exits fill first, then the entries in column order; an entry whose value and commission
    exceed the cash is refused. Equity is the cash plus every position at its close.
    """
    n, k = open_.shape
    pos = np.zeros(k)
    want = np.zeros(k, dtype=np.int8)
    trades = 0
    for i in range(n):
        for a in range(k):
            if want[a] == -1:
                cash += pos[a] * open_[i, a] * (1.0 - comm)
                pos[a] = 0.0
        for a in range(k):
            if want[a] == 1:
                cost = units * open_[i, a] * (1.0 + comm)
                if cost <= cash:
                    cash -= cost
                    pos[a] = units
                    trades += 1
        value = cash
        for a in range(k):
            want[a] = 0
            if pos[a] == 0.0 and up[i, a]:
                want[a] = 1
            elif pos[a] > 0.0 and down[i, a]:
                want[a] = -1
            value += pos[a] * close[i, a]
        equity[i] = value
    return trades, equity[-1] if n else cash
