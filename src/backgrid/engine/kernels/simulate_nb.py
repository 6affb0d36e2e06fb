"""The simulator: one independent account per column, over bars in time order.

Array conventions
-----------------
- ``ts`` (n,) int64 bar open times in ns; ``bar_ns`` the bar length.
- ``open_``, ``high``, ``low``, ``close`` (n, k) float64; column ``c`` trades price
  column ``price_col[c]``. A NaN open means that column has no bar then: nothing
  trades or changes value on it.
- signals (n, 1) or (n, m) bool; one column broadcasts to all.
- ``params`` (m,) ``records.COLUMN_PARAMS``; ``state`` (m,) ``records.COLUMN_STATE``
  (zeroed; left holding each column's final state); ``trades`` a flat
  ``records.TRADE`` buffer where column ``c`` owns rows ``trade_start[c]`` up to
  ``trade_start[c + 1]``.
- ``equity`` (n, m) float64 to fill, or (0, m) to skip it; ``summary`` (m, 2):
  final equity and maximum drawdown (a fraction of the peak).

Order of events in a bar (the engine's contract)
------------------------------------------------
1. orders decided at the previous close fill at this open: the exit first, then
   the entry (a reversal is both), sized on the equity after the exit;
2. stops are tested inside the bar against its high and low, a position entered
   at this open included. A bar that opens beyond a level (a gap through the stop,
   or past the take-profit) fills that level at the open. Otherwise, when stop-loss
   and take-profit are both touched, ``stop_first`` fills the stop; ``ohlc_path``
   assumes open -> low -> high -> close on an up bar (close >= open) and
   open -> high -> low -> close on a down bar. A trailing stop is tested at its
   level from before the bar, then moves with the bar's extreme;
3. borrow cost accrues on shorts for the calendar time elapsed (to the fill time
   for exits at an open, to mid-bar for stops, to the close otherwise), and
   equity is marked at the close;
4. signals at this close decide the order for the next open; with the
   same-close fill they fill at this close instead. Long and short entries on
   one bar cancel; an entry with an exit of the same side is ignored; an
   opposite entry reverses the position.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

NONE = 0
GO_LONG = 1
GO_SHORT = -1
EXIT = 2
YEAR_NS = 365.25 * 86_400e9

R_SIGNAL = 0
R_STOP = 1
R_TAKE = 2
R_TRAIL = 3
R_TIME = 4
R_END = 5

S_UNITS = 0
S_CASH = 1
S_PERCENT = 2
S_RISK = 3


@njit(cache=True, nogil=True)
def simulate_nb(ts, bar_ns, open_, high, low, close, price_col, entries, exits, short_entries,
                short_exits, params, fill_same_close, ohlc_path, state, trades, trade_start, equity, summary):
    """Run every column, one after the other (see the module docstring)."""
    for c in range(params.size):
        _column_nb(c, ts, bar_ns, open_, high, low, close, price_col[c], entries, exits, short_entries,
                   short_exits, params[c], fill_same_close, ohlc_path, state[c], trades, trade_start[c + 1],
                   equity, summary)


@njit(cache=True, nogil=True, parallel=True)
def simulate_parallel_nb(ts, bar_ns, open_, high, low, close, price_col, entries, exits, short_entries,
                         short_exits, params, fill_same_close, ohlc_path, state, trades, trade_start, equity,
                         summary):
    """Run every column, columns spread over all cores; results equal :func:`simulate_nb`'s."""
    for j in prange(params.size):
        c = np.int64(j)  # parfor lowering otherwise types the index as float64 inside _column_nb
        _column_nb(c, ts, bar_ns, open_, high, low, close, price_col[c], entries, exits, short_entries,
                   short_exits, params[c], fill_same_close, ohlc_path, state[c], trades, trade_start[c + 1],
                   equity, summary)


@njit(cache=True, nogil=True)
def _column_nb(c, ts, bar_ns, open_, high, low, close, pc, entries, exits, short_entries, short_exits,
               p, fill_same_close, ohlc_path, s, trades, t_hi, equity, summary):
    keep_equity = equity.shape[0] > 0
    sc_e = c if entries.shape[1] > 1 else 0
    sc_x = c if exits.shape[1] > 1 else 0
    sc_se = c if short_entries.shape[1] > 1 else 0
    sc_sx = c if short_exits.shape[1] > 1 else 0
    s.cash = p.cash
    peak = p.cash
    max_dd = 0.0
    last_close = np.nan
    last_i = -1
    for i in range(ts.size):
        o = open_[i, pc]
        if np.isnan(o):
            if keep_equity:
                equity[i, c] = s.cash + s.pos * last_close if last_i >= 0 else s.cash
            continue
        h = high[i, pc]
        lo = low[i, pc]
        cl = close[i, pc]
        if s.pending != NONE:  # 1. orders decided at the previous close
            _execute(s, s.pending, s.pending_reason, o, ts[i], i, c, 0, p, trades, t_hi, 0.0)
            s.pending = NONE
        if s.pos != 0.0:  # 2. stops inside the bar
            _stops(s, o, h, lo, cl, ts[i] + bar_ns // 2, i, c, 0, p, ohlc_path, trades)
        if s.pos != 0.0:  # 3. costs of time
            _accrue(s, cl, ts[i] + bar_ns, p.borrow_rate)
        last_close = cl
        last_i = i
        # 4. decisions at the close
        want, reason = _decide(s, entries[i, sc_e], exits[i, sc_x], short_entries[i, sc_se],
                               short_exits[i, sc_sx], time_up_nb(s, p, i, fill_same_close))
        if want != NONE:
            if fill_same_close:
                _execute(s, want, reason, cl, ts[i] + bar_ns, i, c, 0, p, trades, t_hi, 0.0)
            else:
                s.pending = want
                s.pending_reason = reason
        value = s.cash + s.pos * cl
        if keep_equity:
            equity[i, c] = value
        if value >= peak:
            peak = value
        elif peak > 0.0:
            max_dd = max(max_dd, 1.0 - value / peak)
    if s.pos != 0.0 and s.k < t_hi:  # still open: marked at the last close, flagged
        side = 1.0 if s.pos > 0.0 else -1.0
        units = abs(s.pos)
        _record(trades, s, c, 0, side, last_i, units, last_close,
                side * (last_close - s.entry_px) * units - s.entry_comm - s.borrow, s.entry_comm, s.entry_slip,
                R_END, True)
    summary[c, 0] = s.cash + s.pos * last_close if last_i >= 0 else s.cash
    summary[c, 1] = max_dd


@njit(cache=True, nogil=True, inline="always")
def _fill_price(price, side, p):
    """Price paid (side +1 buys) or received (side -1 sells): slippage and half the spread, adverse."""
    return price * (1.0 + side * (p.slippage_pct + 0.5 * p.spread_pct))


@njit(cache=True, nogil=True, inline="always")
def _commission(value, p):
    return max(p.commission_min, p.commission_fixed + p.commission_pct * abs(value))


@njit(cache=True, nogil=True)
def _units(px, equity, p):
    """Quantity for a new position filled at ``px``, rounded down to the lot (0: nothing affordable)."""
    if p.size_type == S_UNITS:
        units = p.size
    elif p.size_type == S_CASH:
        units = p.size / px
    elif p.size_type == S_PERCENT:
        units = (equity * p.size - p.commission_fixed) / (px * (1.0 + p.commission_pct))
    else:  # lose ``size`` of equity if the stop-loss fills
        if not p.stop_loss > 0.0:
            return 0.0
        units = equity * p.size / (px * p.stop_loss)
    if p.lot > 0.0:
        units = (units // p.lot) * p.lot
    return units


@njit(cache=True, nogil=True)
def _execute(s, want, reason, raw, when, i, c, a, p, trades, t_hi, others):
    """Fill ``want`` at ``raw`` (before slippage): close the position if asked or reversed, then enter.

    ``others`` is the value of the account's other positions: the entry is sized on
    ``s.cash + others``, the account's equity after the close.
    """
    if s.pos != 0.0 and (want == EXIT or want * s.pos < 0.0):
        _accrue(s, raw, when, p.borrow_rate)
        _close(s, raw, i, c, a, reason if want == EXIT else R_SIGNAL, p, trades)
    if want == EXIT or s.pos != 0.0:
        return
    px = _fill_price(raw, want, p)
    units = _units(px, s.cash + others, p)
    comm = _commission(units * px, p)
    if not units > 0.0 or s.k >= t_hi or units * px + comm > s.cash * p.leverage * (1.0 + 1e-12):
        s.rejected += 1
        return
    s.cash -= want * units * px + comm
    s.pos = want * units
    s.entry_px = px
    s.entry_idx = i
    s.entry_comm = comm
    s.entry_slip = units * abs(px - raw)
    s.borrow = 0.0
    s.accrued_until = when
    s.best = px
    s.fav = 0.0
    s.adv = 0.0


@njit(cache=True, nogil=True)
def _stops(s, o, h, lo, cl, mid, i, c, a, p, ohlc_path, trades):
    """Test the stop-loss, trailing stop and take-profit inside the bar; exit or move the trail."""
    side = 1.0 if s.pos > 0.0 else -1.0
    level = -np.inf * side
    stop_reason = R_STOP
    if p.stop_loss > 0.0:
        level = s.entry_px * (1.0 - side * p.stop_loss)
    if p.trailing_stop > 0.0:
        trail = s.best * (1.0 - side * p.trailing_stop)
        if side * (trail - level) > 0.0:
            level = trail
            stop_reason = R_TRAIL
    take = s.entry_px * (1.0 + side * p.take_profit) if p.take_profit > 0.0 else np.inf * side
    # when both are touched inside the bar, the policy decides (see the module docstring)
    if side * (o - level) <= 0.0 or side * (o - take) >= 0.0:
        # the bar opens beyond a level: the open comes first, whatever the policy
        hit_stop = side * (o - level) <= 0.0
        hit_take = not hit_stop
    else:
        hit_stop = lo <= level if side > 0.0 else h >= level
        hit_take = h >= take if side > 0.0 else lo <= take
        if hit_stop and hit_take:
            up_bar = cl >= o
            stop_first = (not ohlc_path) or (up_bar if side > 0.0 else not up_bar)
            hit_take = not stop_first
            hit_stop = stop_first
    if hit_stop or hit_take:
        if hit_stop:  # a gap through the level fills at the open
            raw = min(o, level) if side > 0.0 else max(o, level)
        else:
            raw = max(o, take) if side > 0.0 else min(o, take)
        _accrue(s, raw, mid, p.borrow_rate)
        _close(s, raw, i, c, a, stop_reason if hit_stop else R_TAKE, p, trades)
        return
    _excursion(s, side, h, lo)
    s.best = max(s.best, h) if side > 0.0 else min(s.best, lo)


@njit(cache=True, nogil=True, inline="always")
def time_up_nb(s, p, i, fill_same_close):
    """Whether the position has been held ``max_bars`` bars once the order decided at bar ``i`` fills.

    Entered at an open, bars ``entry..i`` are held and the exit fills at the next open; entered at a
    close (same-close fills), the bars after the entry bar count and the exit fills at this close.
    """
    if p.max_bars <= 0 or s.pos == 0.0:
        return False
    return i - s.entry_idx + (0 if fill_same_close else 1) >= p.max_bars


@njit(cache=True, nogil=True, inline="always")
def _decide(s, long_in, long_out, short_in, short_out, time_up):
    """The order the signals at a close ask for, and the exit reason it carries."""
    go_long = long_in and not short_in and not long_out
    go_short = short_in and not long_in and not short_out
    if s.pos > 0.0:
        if go_short:
            return GO_SHORT, R_SIGNAL
        if long_out:
            return EXIT, R_SIGNAL
        if time_up:
            return EXIT, R_TIME
    elif s.pos < 0.0:
        if go_long:
            return GO_LONG, R_SIGNAL
        if short_out:
            return EXIT, R_SIGNAL
        if time_up:
            return EXIT, R_TIME
    elif go_long:
        return GO_LONG, R_SIGNAL
    elif go_short:
        return GO_SHORT, R_SIGNAL
    return NONE, R_SIGNAL


@njit(cache=True, nogil=True, inline="always")
def _excursion(s, side, hi, lo):
    up = hi / s.entry_px - 1.0
    down = lo / s.entry_px - 1.0
    if side > 0.0:
        s.fav = max(s.fav, up)
        s.adv = min(s.adv, down)
    else:
        s.fav = max(s.fav, -down)
        s.adv = min(s.adv, -up)


@njit(cache=True, nogil=True, inline="always")
def _accrue(s, price, until, rate):
    """Charge a short's borrow cost from ``s.accrued_until`` to ``until`` (ns), valued at ``price``."""
    if s.pos < 0.0 and rate > 0.0 and until > s.accrued_until:
        cost = -s.pos * price * rate * (until - s.accrued_until) / YEAR_NS
        s.cash -= cost
        s.borrow += cost
    s.accrued_until = max(s.accrued_until, until)


@njit(cache=True, nogil=True)
def _close(s, raw, i, c, a, reason, p, trades):
    """Close the whole position at ``raw`` (before slippage) and write the trade."""
    side = 1.0 if s.pos > 0.0 else -1.0
    units = abs(s.pos)
    _excursion(s, side, raw, raw)  # the exit price is part of the trade's path too
    px = _fill_price(raw, -side, p)
    comm = _commission(units * px, p)
    s.cash += s.pos * px - comm
    pnl = side * (px - s.entry_px) * units - s.entry_comm - comm - s.borrow
    _record(trades, s, c, a, side, i, units, px, pnl, s.entry_comm + comm, s.entry_slip + units * abs(px - raw),
            reason, False)
    s.pos = 0.0


@njit(cache=True, nogil=True, inline="always")
def _record(trades, s, c, a, side, exit_idx, units, exit_px, pnl, comm, slip, reason, still_open):
    t = trades[s.k]
    t.col = c
    t.asset = a
    t.side = int(side)
    t.entry_idx = s.entry_idx
    t.exit_idx = exit_idx
    t.size = units
    t.entry_price = s.entry_px
    t.exit_price = exit_px
    t.pnl = pnl
    t["return"] = pnl / (s.entry_px * units)
    t.commission = comm
    t.slippage = slip
    t.borrow = s.borrow
    t.exit_reason = reason
    t.mfe = s.fav
    t.mae = s.adv
    t.bars_held = exit_idx - s.entry_idx
    t.open = still_open
    s.k += 1
