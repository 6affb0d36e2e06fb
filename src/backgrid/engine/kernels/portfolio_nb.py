"""The shared-cash portfolio: many assets trading from one cash account.

Conventions are those of :mod:`.simulate_nb` (same parameter, state, trade and
order records; one state and one parameter row per asset; per-bar values have
one row per asset, or one row for all; the same grouped arguments), with one
account: ``account`` = (cash, max_positions), ``cash`` the starting cash;
``out`` = (state, trades, trade_start, orders, equity, cash_out, summary),
``equity`` and ``cash_out`` (n,) arrays; trades and orders carry ``col`` 0 and
``asset`` = the asset's column. The guards' state is kept in the first asset's
state row. A NaN open means the asset
has no bar then: it neither trades nor changes value (it is marked at its last
close), and its working orders wait.

Order inside a bar, on top of the single-account order of events:
0. at the open, each asset's corporate actions (``actions``, (n, k) arrays; see
   step 0 of :mod:`.simulate_nb`), in column order: a split also divides the
   asset's last close by its ratio (the mark of a later bar it has no price on),
   and cash in lieu and dividends go to the account's cash;
1. at the open, pending exits fill for every asset (in column order), then
   pending entries (in column order), each sized on the account's equity at that
   moment (other positions marked at their opens); an entry is refused while
   ``max_positions`` positions are open or when cash does not cover it;
2. stops of the positions held, in column order. With ``maintenance_margin``
   (a rate per asset) each held asset that has one is also tested for a margin
   call, as a stop level (see :func:`.simulate_nb._stops`): the price of the
   asset at which the account's equity falls to its maintenance margin (the sum
   over positions of rate x |units| x price), the other positions marked at
   their open in this bar (their last close when they have none) and the cash as
   it stands. When one is called, that asset fills at its level (or the open on a
   gap) and every other position of the account is closed at once at those marks
   (reason ``R_MARGIN``, in column order); the account goes on trading;
3. working limit / stop entry orders, in column order, each with the stops of
   the position it opens on the rest of the bar (sized and capped like entries
   at the open; one touched while ``max_positions`` positions are open is
   refused; a margin call there closes the account's positions as in 2);
4. borrow and the mark (every position at its last close); ruin when that
   equity is <= 0: every working order and every entry still waiting for its
   asset's next open is cancelled, every position is closed at its last close
   (``R_RUIN``, in column order) and the account stops, its equity 0 from this
   bar on (each asset's state has ``ruin_bar`` and the account's ``deficit``);
   otherwise the risk guards (``drawdown_limit``, ``daily_loss_limit``:
   the account's, read from the first parameter row) test that equity as in
   the single account;
   a trip cancels every working order and every entry still waiting for its
   asset's next open, and gives every position an exit (reason ``R_RISK``)
   unless one waits already; while halted no asset decides anything;
5. per asset, in column order: at a ``flat`` bar of the asset its position is
   closed at its close (``R_SESSION``; a guard's exit decided at this close is
   dropped) and its working order cancelled; otherwise the decisions at the
   close (with the same-close fill, filled at once after every asset has
   decided: exits first, then entries).

``max_exposure`` counts every position of the account: the others at the marks
their entry is sized on.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from backgrid.engine.kernels.codes import (
    EXIT,
    NONE,
    R_END,
    R_MARGIN,
    R_RISK,
    R_SESSION,
    R_SIGNAL,
    REJECTED,
    S_CASH,
    S_UNITS,
    X_MAX_POSITIONS,
)
from backgrid.engine.kernels.simulate_nb import (
    _accrue,
    _break_even,
    _cancel_orders,
    _cancel_working,
    _cell,
    _close,
    _decide,
    _excursion,
    _execute,
    _order,
    _place,
    _record,
    _ruin,
    _stop_exit,
    _stop_test,
    _work,
    corporate_action_nb,
    drawdown_nb,
    fired_nb,
    guards_nb,
    time_up_nb,
    trade_pnl_nb,
)


@njit(cache=True, nogil=True)
def portfolio_nb(ts, bar_ns, prices, signals, flat, day, actions, per_bar, params, modes, account, out):
    """Run the portfolio (see the module docstring)."""
    open_, high, low, close = prices
    entries, exits, short_entries, short_exits = signals
    sl_d, tp_d, tr_d, entry_px, vol = per_bar
    break_even, fill_same_close, ohlc_path, stops, trail, margin = modes
    cash, max_positions = account
    state, trades, trade_start, orders, equity, cash_out, summary = out
    k = open_.shape[1]
    last = np.full(k, np.nan)
    peak = trough = cash
    max_dd = 0.0
    trail_by_bar = tr_d.shape[1] > 0
    # ``flat`` and ``day`` are None when not given: each ``is None`` test is then a constant, and the kernel
    # compiled for it holds none of their code (see simulate_nb). The guards are the account's: their settings
    # are in every asset's parameter row, their state in the first asset's state row.
    halted = False  # a guard halts the account (decisions are skipped)
    working = 0  # how many assets have a working limit / stop entry order
    c = np.int64(0)  # the account: typed int64, not a literal (a literal argument compiles a copy of each callee)
    pending = 0  # orders waiting for the next fill phase: most bars have none, and skip it
    margined = False  # some asset has a maintenance margin: else no margin call is tested
    for a in range(k):
        margined |= params[a].maintenance_margin > 0.0
    for i in range(ts.size):
        mid = ts[i] + bar_ns // 2
        if actions is not None:  # 0. corporate actions at the open
            cash = _corporate_actions(state, params, actions[0][i], actions[1][i], open_[i], last, cash)
        if pending > 0:
            cash, pending = _fill_phase(open_[i], ts[i], i, state, params, last, cash, max_positions, trades,
                                        trade_start, orders)
        for a in range(k):
            s = state[a]
            if s.pos != 0.0 and not np.isnan(open_[i, a]):
                if stops is None:  # no stop level on any asset: the bar only moves the best and worst prices
                    _excursion(s, 1.0 if s.pos > 0.0 else -1.0, high[i, a], low[i, a])
                    continue
                s.cash = cash
                hit, raw, level = _stop_test(s, open_[i, a], high[i, a], low[i, a], close[i, a], params[a], ohlc_path,
                                             _cover(state, params, open_[i], last, a) if margined else 0.0, trail,
                                             margin)
                if hit >= 0:  # see simulate_nb._stops
                    _stop_exit(s, raw, level, mid, i, c, a, hit, params[a], trades, orders)
                if break_even is not None:
                    _break_even(s, params[a])
                cash = s.cash
                if hit == R_MARGIN:
                    cash = _liquidate(state, params, open_[i], last, cash, i, mid, trades, orders)
        if working > 0:
            held = _count_held(state)
            for a in range(k):
                s = state[a]
                if s.w_side != 0 and not np.isnan(open_[i, a]):
                    s.cash = cash
                    hit = _work(s, open_[i, a], high[i, a], low[i, a], close[i, a], ts[i], mid, i, c, a, params[a],
                                ohlc_path, trades, trade_start[a + 1], _positions_value(state, open_[i], last, a),
                                _positions_gross(state, open_[i], last, a, params[a].max_exposure),
                                _cover(state, params, open_[i], last, a) if margined else 0.0, orders,
                                held < max_positions)
                    cash = s.cash
                    if hit == R_MARGIN:
                        cash = _liquidate(state, params, open_[i], last, cash, i, mid, trades, orders)
                        held = 0
                    working -= s.w_side == 0
                    if s.pos != 0.0:
                        held += 1
        # the account is marked at this close (every asset's borrow and close) before anything is decided
        cash, held_value = _mark_closes(state, params, open_[i], close[i], last, cash, ts[i] + bar_ns)
        mark = cash + held_value
        moved = False  # a position changed after the mark (a session's close, a same-close fill)
        if mark <= 0.0:  # ruin: every position is closed out at this close and the account stops
            _ruin_account(state, params, last, cash, i, c, trades, orders)
            equity[i:] = 0.0
            cash_out[i:] = 0.0
            max_dd = 1.0
            break
        if day is not None:
            g = state[0]
            if guards_nb(g, params[0], mark, peak, i, day[i]):
                for a in range(k):
                    state[a].halt_bar = g.halt_bar
                _trip(state, params, i, c, orders)
                working = 0
                pending = _count_pending(state)
            halted = g.halt_bar >= 0 or g.day_halt
        for a in range(k):
            if np.isnan(open_[i, a]):
                continue
            s = state[a]
            if trail_by_bar:
                s.trail_d = _cell(tr_d, a, i)
            p = params[a]
            if flat is not None and flat[i, a]:  # the session ends: close at this close, decide nothing
                if s.w_side != 0:
                    _cancel_working(s, i, c, a, p, orders)
                    working -= 1
                if s.pending != NONE:  # a guard's exit decided at this close: the session's close comes first
                    s.pending = NONE
                    pending -= 1
                if s.pos != 0.0:
                    s.cash = cash
                    _close(s, close[i, a], np.nan, i, c, a, np.int64(R_SESSION), p, trades, orders)
                    cash = s.cash
                    moved = True
                continue
            if halted:
                continue
            long_out = fired_nb(exits, i, a)
            short_out = fired_nb(short_exits, i, a)
            want, reason = _decide(s, fired_nb(entries, i, a), long_out, fired_nb(short_entries, i, a), short_out,
                                   time_up_nb(s, p, i, fill_same_close))
            if want != NONE or s.w_side != 0:
                working -= s.w_side != 0
                want = _place(s, want, long_out, short_out, i, a, c, a, p, sl_d, tp_d, entry_px, vol, orders)
                working += s.w_side != 0
            if want != NONE:
                pending += s.pending == NONE
                s.pending = want
                s.pending_reason = reason
        if fill_same_close and pending > 0:
            cash, pending = _fill_phase(close[i], ts[i] + bar_ns, i, state, params, last, cash, max_positions,
                                        trades, trade_start, orders)
            moved = True
        value = cash + _positions_value(state, last, last, -1) if moved else mark
        if day is not None:
            state[0].equity = value
        equity[i] = value
        cash_out[i] = cash
        peak, trough, max_dd = drawdown_nb(value, peak, trough, max_dd)
    for a in range(k):
        s = state[a]
        if s.pos != 0.0 and s.k < trade_start[a + 1]:
            side = 1.0 if s.pos > 0.0 else -1.0
            units = abs(s.pos)
            _record(trades, s, c, a, side, _last_bar(open_[:, a]), units, last[a],
                    trade_pnl_nb(s, side, last[a], units, 0.0), s.entry_comm, s.entry_slip, R_END, True)
    if state[0].ruin_bar < 0:
        max_dd = drawdown_nb(np.inf, peak, trough, max_dd)[2]  # the last stretch below the peak
    summary[0, 0] = equity[-1] if ts.size else cash
    summary[0, 1] = max_dd


@njit(cache=True, nogil=True)
def _fill_phase(prices, when, i, state, params, last, cash, max_positions, trades, trade_start, orders):
    """Fill pending orders at ``prices``: every exit first, then entries in column order; return the cash and
    how many orders still wait (their asset has no price)."""
    k = prices.size
    c = np.int64(0)  # the account (int64, not a literal: see portfolio_nb)
    held = 0
    for a in range(k):
        s = state[a]
        if s.pending != NONE and not np.isnan(prices[a]) and s.pos != 0.0:
            if s.pending == EXIT or s.pending * s.pos < 0.0:
                s.cash = cash
                _accrue(s, prices[a], when, params[a].borrow_rate)
                _close(s, prices[a], np.nan, i, c, a, s.pending_reason if s.pending == EXIT else R_SIGNAL,
                       params[a], trades, orders)
                cash = s.cash
            if s.pending == EXIT:
                s.pending = NONE
        held += s.pos != 0.0
    left = 0
    for a in range(k):
        s = state[a]
        if s.pending == NONE:
            continue
        if np.isnan(prices[a]):
            left += 1
            continue
        if s.pos == 0.0:
            if held >= max_positions:
                s.rejected += 1
                _order(orders, s, c, a, i, s.pending, params[a].entry_type, np.int64(REJECTED),
                       np.int64(X_MAX_POSITIONS), np.nan, 0.0, np.nan, np.nan, 0.0)
            else:
                s.cash = cash
                p = params[a]
                # the other positions' value sizes the entry on equity; units and cash sizing need it only
                # for max_exposure
                sized = p.size_type not in (S_UNITS, S_CASH) or p.max_exposure > 0.0
                _execute(s, s.pending, s.pending_reason, prices[a], when, i, c, a, p, trades,
                         trade_start[a + 1], _positions_value(state, prices, last, a) if sized else 0.0,
                         _positions_gross(state, prices, last, a, p.max_exposure), orders)
                cash = s.cash
                if s.pos != 0.0:
                    held += 1
        s.pending = NONE
    return cash, left


@njit(cache=True, nogil=True)
def _corporate_actions(state, params, splits, dividends, opens, last, cash):
    """Every asset's corporate actions at this open (the assets with a price), on the account's ``cash``;
    return the cash."""
    for a in range(opens.size):
        if not np.isnan(opens[a]) and (splits[a] != 1.0 or dividends[a] != 0.0):
            s = state[a]
            s.cash = cash
            corporate_action_nb(s, params[a], splits[a], dividends[a], opens[a])
            cash = s.cash
            last[a] /= splits[a]
    return cash


@njit(cache=True, nogil=True)
def _mark_closes(state, params, opens, closes, last, cash, until):
    """Accrue every held asset's borrow to ``until`` and take its close as its last; return the cash and the
    positions' value at their last closes (summed like :func:`_positions_value`)."""
    total = 0.0
    for a in range(opens.size):
        s = state[a]
        if not np.isnan(opens[a]):
            if s.pos < 0.0 and params[a].borrow_rate > 0.0:
                s.cash = cash
                _accrue(s, closes[a], until, params[a].borrow_rate)
                cash = s.cash
            last[a] = closes[a]
        if s.pos != 0.0:
            total += s.pos * last[a]
    return cash, total


@njit(cache=True, nogil=True)
def _cover(state, params, prices, last, skip):
    """What every position but asset ``skip`` adds to equity beyond its maintenance margin, each marked at
    ``prices`` (its last close when NaN): sum of pos x mark - maintenance_margin x |pos| x mark."""
    total = 0.0
    for a in range(state.size):
        pos = state[a].pos
        if a != skip and pos != 0.0:
            mark = prices[a] if not np.isnan(prices[a]) else last[a]
            rate = params[a].maintenance_margin
            total += pos * mark - (rate * abs(pos) * mark if rate > 0.0 else 0.0)
    return total


@njit(cache=True, nogil=True)
def _liquidate(state, params, prices, last, cash, i, mid, trades, orders):
    """A margin call at bar ``i``: close every position left at ``prices`` (its last close when NaN), in column
    order (reason ``R_MARGIN``, borrow to mid-bar); return the cash."""
    c = np.int64(0)  # the account (int64, not a literal: see portfolio_nb)
    for a in range(state.size):
        s = state[a]
        if s.pos != 0.0:
            s.cash = cash
            _stop_exit(s, prices[a] if not np.isnan(prices[a]) else last[a], np.nan, mid, i, c, a,
                       np.int64(R_MARGIN), params[a], trades, orders)
            cash = s.cash
    return cash


@njit(cache=True, nogil=True)
def _ruin_account(state, params, last, cash, i, c, trades, orders):
    """Ruin at bar ``i``'s close: every asset's orders are cancelled and its position closed at its last close
    (:func:`.simulate_nb._ruin`); each asset's state keeps the bar and the account's deficit, its cash 0."""
    for a in range(state.size):
        s = state[a]
        s.cash = cash
        _ruin(s, last[a], i, c, a, params[a], trades, orders)
        cash = s.cash
    for a in range(state.size):
        state[a].ruin_bar = i
        state[a].deficit = min(0.0, cash)
        state[a].cash = 0.0


@njit(cache=True, nogil=True)
def _trip(state, params, i, c, orders):
    """A risk guard tripped at bar ``i``'s close: cancel working orders and entries still waiting for their
    asset's open; every position left gets an exit (reason RISK) unless one waits already."""
    for a in range(state.size):
        s = state[a]
        _cancel_orders(s, i, c, a, params[a], orders)
        if s.pos != 0.0 and s.pending == NONE:
            s.pending = EXIT
            s.pending_reason = R_RISK


@njit(cache=True, nogil=True, inline="always")
def _count_held(state):
    """Assets with an open position."""
    count = 0
    for a in range(state.size):
        if state[a].pos != 0.0:
            count += 1
    return count


@njit(cache=True, nogil=True, inline="always")
def _count_pending(state):
    """Assets whose order still waits (their asset had no bar to fill on)."""
    count = 0
    for a in range(state.size):
        if state[a].pending != NONE:
            count += 1
    return count


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
def _positions_gross(state, prices, last, skip, max_exposure):
    """Gross value (|units| x price) of every position but asset ``skip``, marked like :func:`_positions_value`;
    0 without ``max_exposure`` (the only reader)."""
    total = 0.0
    if max_exposure > 0.0:
        for a in range(state.size):
            if a != skip and state[a].pos != 0.0:
                mark = prices[a] if not np.isnan(prices[a]) else last[a]
                total += abs(state[a].pos) * mark
    return total


@njit(cache=True, nogil=True)
def _last_bar(column):
    for i in range(column.size - 1, -1, -1):
        if not np.isnan(column[i]):
            return i
    return 0
