"""The shared-cash portfolio: many assets trading from one cash account.

Conventions are those of :mod:`.simulate_nb` (same parameter, state and trade
records; one state and one parameter row per asset), with one account: ``cash``
is the starting cash, ``equity`` and ``cash_out`` are (n,) arrays, trades carry
``col`` 0 and ``asset`` = the asset's column. A NaN open means the asset has no
bar then: it neither trades nor changes value (it is marked at its last close).

Order inside a bar, on top of the single-account order of events:
1. at the open, pending exits fill for every asset (in column order), then
   pending entries (in column order), each sized on the account's equity at that
   moment; an entry is refused while ``max_positions`` positions are open or when
   cash does not cover it;
2. stops, in column order; 3. borrow and the mark; 4. decisions at the close
   (with the same-close fill, filled at once: exits first, then entries).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.engine.kernels.simulate_nb import (
    EXIT,
    NONE,
    R_END,
    _accrue,
    _close,
    _decide,
    _execute,
    _record,
    _stops,
    time_up_nb,
)


@njit(cache=True, nogil=True)
def portfolio_nb(ts, bar_ns, open_, high, low, close, entries, exits, short_entries, short_exits, params,
                 cash, max_positions, fill_same_close, ohlc_path, state, trades, trade_start, equity, cash_out,
                 summary):
    """Run the portfolio (see the module docstring)."""
    k = open_.shape[1]
    last = np.full(k, np.nan)
    peak = cash
    max_dd = 0.0
    for i in range(ts.size):
        cash = _fill_phase(open_[i], ts[i], i, state, params, last, cash, max_positions, trades, trade_start)
        for a in range(k):
            s = state[a]
            if s.pos != 0.0 and not np.isnan(open_[i, a]):
                s.cash = cash
                _stops(s, open_[i, a], high[i, a], low[i, a], close[i, a], ts[i] + bar_ns // 2, i, 0, a, params[a],
                       ohlc_path, trades)
                cash = s.cash
        for a in range(k):
            if np.isnan(open_[i, a]):
                continue
            s = state[a]
            if s.pos != 0.0:
                s.cash = cash
                _accrue(s, close[i, a], ts[i] + bar_ns, params[a].borrow_rate)
                cash = s.cash
            last[a] = close[i, a]
            p = params[a]
            want, reason = _decide(s, entries[i, a], exits[i, a], short_entries[i, a], short_exits[i, a],
                                   time_up_nb(s, p, i, fill_same_close))
            if want != NONE:
                s.pending = want
                s.pending_reason = reason
        if fill_same_close:
            cash = _fill_phase(close[i], ts[i] + bar_ns, i, state, params, last, cash, max_positions, trades,
                               trade_start)
        value = cash + _positions_value(state, last, last, -1)
        equity[i] = value
        cash_out[i] = cash
        peak = max(peak, value)
        if peak > 0.0:
            max_dd = max(max_dd, 1.0 - value / peak)
    for a in range(k):
        s = state[a]
        if s.pos != 0.0 and s.k < trade_start[a + 1]:
            side = 1.0 if s.pos > 0.0 else -1.0
            units = abs(s.pos)
            _record(trades, s, 0, a, side, _last_bar(open_[:, a]), units, last[a],
                    side * (last[a] - s.entry_px) * units - s.entry_comm - s.borrow, s.entry_comm, s.entry_slip,
                    R_END, True)
    summary[0, 0] = equity[-1] if ts.size else cash
    summary[0, 1] = max_dd


@njit(cache=True, nogil=True)
def _fill_phase(prices, when, i, state, params, last, cash, max_positions, trades, trade_start):
    """Fill pending orders at ``prices``: every exit first, then entries in column order; return the cash."""
    k = prices.size
    for a in range(k):
        s = state[a]
        if s.pending == NONE or np.isnan(prices[a]) or s.pos == 0.0:
            continue
        if s.pending == EXIT or s.pending * s.pos < 0.0:
            s.cash = cash
            _accrue(s, prices[a], when, params[a].borrow_rate)
            _close(s, prices[a], i, 0, a, s.pending_reason if s.pending == EXIT else 0, params[a], trades)
            cash = s.cash
        if s.pending == EXIT:
            s.pending = NONE
    held = 0
    for a in range(k):
        if state[a].pos != 0.0:
            held += 1
    for a in range(k):
        s = state[a]
        if s.pending == NONE or np.isnan(prices[a]):
            continue
        if s.pos == 0.0:
            if held >= max_positions:
                s.rejected += 1
            else:
                s.cash = cash
                _execute(s, s.pending, s.pending_reason, prices[a], when, i, 0, a, params[a], trades,
                         trade_start[a + 1], _positions_value(state, prices, last, a))
                cash = s.cash
                if s.pos != 0.0:
                    held += 1
        s.pending = NONE
    return cash


@njit(cache=True, nogil=True, inline="always")
def _positions_value(state, prices, last, skip):
    """Value of every position but asset ``skip`` (-1: none) at ``prices``, or its last close when NaN."""
    total = 0.0
    for a in range(state.size):
        if a != skip and state[a].pos != 0.0:
            mark = prices[a] if not np.isnan(prices[a]) else last[a]
            total += state[a].pos * mark
    return total


@njit(cache=True, nogil=True)
def _last_bar(column):
    for i in range(column.size - 1, -1, -1):
        if not np.isnan(column[i]):
            return i
    return 0
