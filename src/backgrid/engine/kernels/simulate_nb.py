"""The simulator: one independent account per column, over bars in time order.

Array conventions
-----------------
- ``ts`` (n,) int64 bar open times in ns; ``bar_ns`` the bar length.
- ``open_``, ``high``, ``low``, ``close`` (n, k) float64; column ``c`` trades price
  column ``price_col[c]``. A NaN open means that column has no bar then: nothing
  trades or changes value on it, and working orders wait.
- signals (n, 1) or (n, m) bool; one column broadcasts to all; None for a
  signal not given (never fires: the kernel compiled for it reads nothing).
  ``flat`` (the session's end) likewise, without the broadcast column.
- ``day`` (n,) int64 the trading day of each bar (the data calendar's session
  date), given when some column has ``drawdown_limit`` or ``daily_loss_limit``.
- ``actions`` (split, dividend), each (n, k) float64 like the prices: the split
  ratio applied at each bar (1.0 none; 2.0 = 2-for-1) and the cash dividend per
  share going ex there (0.0 none); given when some bar has one.
- ``flat``, ``day`` and ``actions`` are None when not given, and ``break_even``
  is True when some column has a break-even, else None: Numba compiles a kernel per argument
  type, and the one for None holds none of that feature's code (a runtime test
  in the bar loop cost 5-10 % even with the feature off). Likewise ``stops``
  (some column has a stop level: a stop-loss, take-profit, trailing stop, margin
  call or break-even), ``trail`` (some column has a trailing stop) and
  ``margin`` (some column has a maintenance margin), each True or None: a kernel
  compiled for None holds no stop test (the bar then only moves the best and
  worst prices), no trail, no margin call.
- per-bar values, each (1, n) or (m, n) float64 (time along the rows; one row
  broadcasts), or (1, 0) when not given; NaN means none: ``sl_d`` / ``tp_d`` /
  ``tr_d`` stop-loss, take-profit and trailing distances in price units,
  ``entry_px`` the limit or stop price of an entry decided at that bar (long or
  short: one bar decides at most one entry), ``vol`` the asset's annualised
  volatility (volatility sizing).
- The kernels take them grouped in tuples: ``prices`` = (open_, high, low,
  close), ``signals`` = (entries, exits, short_entries, short_exits),
  ``per_bar`` = (sl_d, tp_d, tr_d, entry_px, vol), ``modes`` = (break_even,
  fill_same_close, ohlc_path, stops, trail, margin) and ``out`` = (state, trades, trade_start,
  orders, equity, summary), the arrays the run fills; ``flat`` and ``day`` stay
  arguments of their own (Numba drops a branch on an argument that is None, not
  on a tuple's member).
- ``params`` (m,) ``records.COLUMN_PARAMS``; ``state`` (m,) ``records.COLUMN_STATE``
  (zeroed, with ``ko`` / ``ko_end`` bounding each column's order rows, the
  ``sl_px``, ``tp_px``, ``trail_d``, ``o_*`` fields NaN, ``halt_bar`` and ``ruin_bar`` -1,
  ``day`` the first bar's trading day, ``day_ref`` and ``equity`` the starting
  cash; left holding each column's final state); ``trades`` a flat ``records.TRADE`` buffer where column
  ``c`` owns rows ``trade_start[c]`` up to ``trade_start[c + 1]``; ``orders`` a
  flat ``records.ORDER`` buffer, column ``c`` owning rows ``state[c].ko`` up to
  ``state[c].ko_end``.
- ``equity`` (n, m) float64 to fill, or (0, m) to skip it; ``summary`` (m, 2):
  final equity and maximum drawdown (a fraction of the peak).

Order of events in a bar (the engine's contract)
------------------------------------------------
0. corporate actions (``actions``) at the open, before anything fills: a split
   of ratio r multiplies the position's units by r and divides its entry price,
   stop-loss, take-profit and trailing levels, best and worst prices (the
   trail's and MFE / MAE's anchors), trailing distance and a working order's
   price by r (and the stop distances an entry waiting for this open was
   decided with): no cash moves and the position's value is unchanged. With
   ``lot_size`` (whole quantities) the units are rounded down to whole units,
   as a broker rounds shares (to the lot where the lot is below one unit), and
   the fraction left over is paid out as cash in lieu at this open (the raw,
   post-split price), its PnL realised into the trade's; a position a reverse
   split leaves below one such step keeps its fraction. Then a dividend D credits the units held (the
   position carried over the previous close) with units x D: a long receives
   it, a short pays it, on the trade's ``dividends`` and in its PnL. A position
   opened at this open gets none; one closed at this open gets it;
1. orders decided at the previous close fill at this open: the exit first, then
   the entry (a reversal is both), sized on the equity after the exit;
2. a working limit or stop entry order (``entry_type``) is tested against the
   bar: a buy limit fills when the low reaches its price, at min(open, limit); a
   buy stop when the high reaches it, at max(open, stop); sells mirrored. It is
   sized at the fill like a market entry (refused orders are dropped); left
   unfilled, it counts down one of its ``entry_expiry`` bars and expires after
   the last. The stops of a position it opens are tested in the same bar on the
   part of the bar after the fill, conservatively: if the bar opened beyond the
   order's price the fill is at the open and the whole bar follows (as for a
   market entry); otherwise the adverse extreme (a long's low, a short's high) is
   assumed to come after the fill (for a limit entry it must: the price passes
   the limit on its way there), the favourable extreme only for a stop entry
   (the price passes the stop on its way there) and otherwise just the close,
   and when stop-loss and take-profit are both touched the stop-loss fills,
   whatever ``stop_policy``. The trail, MFE and MAE move with that part of the
   bar only. (Limit and stop entries need next-open fills: the wrapper refuses
   them with the same-close fill.);
3. stops are tested inside the bar against its high and low, a position entered
   at this open included. A bar that opens beyond a level (a gap through the stop,
   or past the take-profit) fills that level at the open. Otherwise, when stop-loss
   and take-profit are both touched, ``stop_first`` fills the stop; ``ohlc_path``
   assumes open -> low -> high -> close on an up bar (close >= open) and
   open -> high -> low -> close on a down bar. A trailing stop is tested at its
   level from before the bar, then moves with the bar's extreme. Levels: a
   fraction of the entry fill price (``stop_loss``, ``take_profit``) or a price
   distance from it taken at the bar whose close decided the entry and fixed for
   the trade (``sl_d``, ``tp_d``); a trailing stop sits a fraction
   (``trailing_stop``) or a distance behind the best price, the distance being
   the one at the column's previous bar (the distance at each bar applies to the
   level tested in the next bar). Break-even: once the best price since entry
   has moved ``break_even`` (a fraction of the entry fill price) in the
   position's favour (long: best >= entry x (1 + break_even); short: best <=
   entry x (1 - break_even)), the stop-loss level moves to the entry fill price
   when that is better than the level it has (also when it has none). Like the
   trail, this is decided with the bar's extreme after the bar's test, so it
   applies from the next bar's test; its fill is a stop-loss (``R_STOP``).
   Margin call (``maintenance_margin`` = mm): one more stop level, the price P*
   at which equity (cash + units x P) falls to mm x |units| x P, from the cash
   before this bar's borrow: P* = -cash / (units (1 - mm)) for a long (only a
   long on borrowed cash has one), cash / (|units| (1 + mm)) for a short. The
   nearer of it and the stop-loss (or trail) is the stop level tested (the
   stop-loss on a tie), so it fills at P* (the open on a gap) with reason
   ``R_MARGIN``, stop-first against the take-profit like a stop; the column
   trades on afterwards;
4. borrow cost accrues on shorts for the calendar time elapsed (to the fill time
   for exits at an open, to mid-bar for stops, to the close otherwise; a short
   entered inside the bar by a limit or stop order accrues from mid-bar), and
   equity is marked at the close;
5. ruin: when that mark (cash + the position at the close) is <= 0, the
   working entry order is cancelled, the position is closed at this close
   (reason ``R_RUIN``, its trade keeping its real PnL) and the column stops: no
   more decisions or fills for the rest of the run. Its equity curve is 0 from
   this bar on, ``state.ruin_bar`` is this bar and ``state.deficit`` what the
   close-out left below zero (<= 0; 0 when it left zero or more), the cash 0;
6. the risk guards test that mark (positions at the close, before any fill at
   the close): at or below (1 - ``drawdown_limit``) x the peak of the equity
   curve before this bar (the starting cash included) the column halts for the
   rest of the run; at or below (1 - ``daily_loss_limit``) x the equity
   curve's value at the last bar of the previous trading day (``day``; the
   starting cash on the first day) it halts until the next trading day. A trip
   cancels the working entry order and exits the position, decided at this
   close like a signal exit (reason ``R_RISK``; next open, or this close with
   the same-close fill); while halted the signals are ignored
   (``state.halt_bar``: the bar of the ``drawdown_limit`` trip);
7. at a ``flat`` bar the position is closed at this close (reason
   ``R_SESSION``; it replaces a guard's exit decided at this close), the
   working entry order is cancelled and nothing is decided (no order is left
   for the next open);
8. otherwise signals at this close decide the order for the next open; with the
   same-close fill they fill at this close instead. Long and short entries on
   one bar cancel; an entry with an exit of the same side is ignored; an
   opposite entry reverses the position. With limit or stop entries an entry
   becomes a working order priced at ``entry_px`` of this bar (none when NaN:
   refused), working from the next bar; the exit half of a reversal still fills
   at the next open. A working order is cancelled by an exit signal of its side
   or by a new entry signal (an opposite one, or one of its side, which replaces
   it with the new price).

A bar a column has no price on skips all of this (``flat`` there included).

Sizing reads ``size`` by ``size_type``: units, cash, a fraction of equity, the
fraction of equity lost at the stop-loss (risk: equity x size / stop distance),
or an annualised volatility target (equity x size / (vol x price), capped at
leverage x equity, costs included), ``vol`` and the stop distance taken at the
deciding bar. An entry whose value and commission exceed cash x leverage is
refused, unless ``partial_fills``: then it fills the affordable part, rounded
down to the lot. Before that, with ``max_exposure``, the units are cut so that
the gross value of the account's positions after the fill (|units| x fill
price, other positions at their marks) is at most max_exposure x the equity the
entry is sized on, rounded down to the lot; an entry with nothing left is
refused (``X_MAX_EXPOSURE``).

Every fill and every order that does not fill is written to ``orders``, in the
order it happens; orders still pending or working when the data ends are not.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from numba.extending import overload

from backgrid.engine.kernels.codes import (
    E_LIMIT,
    E_MARKET,
    EXIT,
    FILLED,
    GO_LONG,
    GO_SHORT,
    NONE,
    R_END,
    R_MARGIN,
    R_RISK,
    R_RUIN,
    R_SESSION,
    R_SIGNAL,
    R_STOP,
    R_TAKE,
    R_TIME,
    R_TRAIL,
    REJECTED,
    S_CASH,
    S_EQUITY,
    S_RISK,
    S_UNITS,
    T_SIGNAL_EXIT,
    T_STOP_LOSS,
    X_CANCELLED,
    X_EXPIRED,
    X_MAX_EXPOSURE,
    X_MAX_POSITIONS,
    X_NO_CASH,
    X_NO_PRICE,
    X_NONE,
    X_SIZE_ZERO,
)

YEAR_NS = 365.25 * 86_400e9


@njit(cache=True, nogil=True)
def simulate_nb(ts, bar_ns, prices, price_col, signals, flat, day, actions, per_bar, params, modes, out):
    """Run every column, one after the other (see the module docstring for the arguments)."""
    state, trade_start = out[0], out[2]
    for c in range(params.size):
        _column_nb(c, ts, bar_ns, prices, price_col[c], signals, flat, day, actions, per_bar, params[c], modes,
                   state[c], trade_start[c + 1], out)


@njit(cache=True, nogil=True, parallel=True)
def simulate_parallel_nb(ts, bar_ns, prices, price_col, signals, flat, day, actions, per_bar, params, modes,
                         out):
    """Run every column, columns spread over all cores; results equal :func:`simulate_nb`'s."""
    state, trade_start = out[0], out[2]
    for j in prange(params.size):
        c = np.int64(j)  # parfor lowering otherwise types the index as float64 inside _column_nb
        _column_nb(c, ts, bar_ns, prices, price_col[c], signals, flat, day, actions, per_bar, params[c], modes,
                   state[c], trade_start[c + 1], out)


@njit(cache=True, nogil=True)
def _column_nb(c, ts, bar_ns, prices, pc, signals, flat, day, actions, per_bar, p, modes, s, t_hi, out):
    open_, high, low, close = prices
    entries, exits, short_entries, short_exits = signals
    sl_d, tp_d, tr_d, entry_px, vol = per_bar
    break_even, fill_same_close, ohlc_path, stops, trail, margin = modes
    trades, orders, equity, summary = out[1], out[3], out[4], out[5]
    keep_equity = equity.shape[0] > 0
    half = bar_ns // 2  # stops fill at mid-bar (borrow)
    trail_by_bar = tr_d.shape[1] > 0
    sc_e = signal_column_nb(entries, c)
    sc_x = signal_column_nb(exits, c)
    sc_se = signal_column_nb(short_entries, c)
    sc_sx = signal_column_nb(short_exits, c)
    # the session's end and the guards live out of line, their state in ``s``; not given, ``flat`` and ``day``
    # are None: this is a constant and the kernel compiled for it holds none of their code
    special = flat is not None or day is not None
    s.cash = p.cash
    peak = trough = p.cash
    max_dd = 0.0
    last_close = np.nan
    last_i = np.int64(-1)
    working = False  # a limit / stop entry order is working (mirrors s.w_side != 0, kept in a register)
    a = np.int64(0)  # the asset: typed int64, not a literal (a literal argument compiles a copy of each callee)
    n = ts.size
    i = np.int64(-1)
    while i < n - 1:
        i += 1
        o = open_[i, pc]
        if np.isnan(o):
            if keep_equity:
                equity[i, c] = s.cash + s.pos * last_close if last_i >= 0 else s.cash
            continue
        if actions is not None and acted_nb(actions, i, pc):  # 0. corporate actions at the open
            corporate_action_nb(s, p, actions[0][i, pc], actions[1][i, pc], o)
        if (not special and s.pos == 0.0 and s.pending == NONE and not working and s.cash > 0.0
                and not fired_nb(entries, i, sc_e) and not fired_nb(short_entries, i, sc_se)):
            # flat, nothing to fill, no entry signal: nothing happens in this bar. Its equity is the cash, as at
            # the previous bar (the drawdown's peak and trough hold it), and no ruin (cash > 0). So for the bars
            # after it alike (a price, no entry signal), in a loop of their own: it holds few values, the bar
            # loop many
            cash = s.cash
            while True:
                if keep_equity:
                    equity[i, c] = cash
                if (i + 1 == n or np.isnan(open_[i + 1, pc]) or fired_nb(entries, i + 1, sc_e)
                        or fired_nb(short_entries, i + 1, sc_se)):
                    break
                i += 1
            last_close = close[i, pc]  # the stretch's last bar: its close, read once (no bar in it reads it)
            last_i = i
            continue
        if (not special and trail is None and margin is None and break_even is None and not trail_by_bar
                and s.pos != 0.0 and s.pending == NONE and not working and not (s.pos < 0.0 and p.borrow_rate > 0.0)):
            # holding, nothing to fill, nothing accruing: a bar whose stops do not fill, whose close does not ruin
            # the account and whose signals decide nothing only moves the best and worst prices and is marked. So
            # for the bars after it alike, in a loop of their own (as for flat bars); the first bar that is not
            # takes the whole way below. Tested before the stops: a stop test that fills changes nothing before it
            side = 1.0 if s.pos > 0.0 else -1.0
            cash, units, best, worst = s.cash, s.pos, s.best, s.worst  # in registers for the loop
            marked = False
            while True:
                cl = close[i, pc]
                if cash + units * cl <= 0.0 or _decide(s, fired_nb(entries, i, sc_e), fired_nb(exits, i, sc_x),
                                                         fired_nb(short_entries, i, sc_se),
                                                         fired_nb(short_exits, i, sc_sx),
                                                         time_up_nb(s, p, i, fill_same_close))[0] != NONE:
                    break
                if stops is None:
                    best, worst = _moved(side, best, worst, high[i, pc], low[i, pc])
                elif _stop_test(s, open_[i, pc], high[i, pc], low[i, pc], cl, p, ohlc_path, 0.0, trail,
                                margin)[0] >= 0:
                    break
                last_close = cl
                last_i = i
                value = cash + units * cl
                if keep_equity:
                    equity[i, c] = value
                peak, trough, max_dd = drawdown_nb(value, peak, trough, max_dd)
                if i + 1 == n or np.isnan(open_[i + 1, pc]) or acted_nb(actions, i + 1, pc):
                    marked = True  # the next bar is taken below (a corporate action changes the position)
                    break
                i += 1
            if stops is None:
                s.best, s.worst = best, worst
            if marked:
                continue
            o = open_[i, pc]
        h = high[i, pc]
        lo = low[i, pc]
        cl = close[i, pc]
        if s.pending != NONE:  # 1. orders decided at the previous close
            _execute(s, s.pending, s.pending_reason, o, ts[i], i, c, a, p, trades, t_hi, 0.0, 0.0, orders)
            s.pending = NONE
        if working:  # 2. a working entry order, and the stops of the position it opens
            _work(s, o, h, lo, cl, ts[i], ts[i] + half, i, c, a, p, ohlc_path, trades, t_hi, 0.0, 0.0,
                  0.0, orders, np.bool_(True))
            working = s.w_side != 0
        elif s.pos != 0.0:  # 3. stops inside the bar
            if stops is None:  # no stop level on any column: the bar only moves the best and worst prices
                _excursion(s, 1.0 if s.pos > 0.0 else -1.0, h, lo)
            else:
                hit, raw, level = _stop_test(s, o, h, lo, cl, p, ohlc_path, 0.0, trail, margin)  # see _stops
                if hit >= 0:
                    _stop_exit(s, raw, level, ts[i] + half, i, c, a, hit, p, trades, orders)
                if break_even is not None:
                    _break_even(s, p)
        if s.pos < 0.0 and p.borrow_rate > 0.0:  # 4. costs of time
            _accrue(s, cl, ts[i] + bar_ns, p.borrow_rate)
        if trail_by_bar:
            s.trail_d = _cell(tr_d, c, i)
        last_close = cl
        last_i = i
        if s.cash + s.pos * cl <= 0.0:  # 5. ruin: the account is closed out at this close and stops
            _ruin(s, cl, i, c, a, p, trades, orders)
            s.ruin_bar = i
            s.deficit = min(0.0, s.cash)
            s.cash = 0.0
            break
        if special and _close_rules(s, p, flat, day, cl, peak, ts[i] + bar_ns, i, c, a, fill_same_close, trades,
                                    t_hi, orders):
            working = False  # 6-7. the risk guards or the session's end took this close's decisions
        else:  # 8. decisions at the close
            long_out = fired_nb(exits, i, sc_x)
            short_out = fired_nb(short_exits, i, sc_sx)
            want, reason = _decide(s, fired_nb(entries, i, sc_e), long_out, fired_nb(short_entries, i, sc_se),
                                   short_out, time_up_nb(s, p, i, fill_same_close))
            if want in (GO_LONG, GO_SHORT) or working:  # an exit alone passes through _place unchanged
                want = _place(s, want, long_out, short_out, i, c, c, a, p, sl_d, tp_d, entry_px, vol, orders)
                working = s.w_side != 0
            if want != NONE:
                if fill_same_close:
                    _execute(s, want, reason, cl, ts[i] + bar_ns, i, c, a, p, trades, t_hi, 0.0, 0.0, orders)
                else:
                    s.pending = want
                    s.pending_reason = reason
        value = s.cash + s.pos * cl
        if special:
            s.equity = value
        if keep_equity:
            equity[i, c] = value
        peak, trough, max_dd = drawdown_nb(value, peak, trough, max_dd)
    if s.ruin_bar >= 0:  # the equity curve is 0 from the ruin's close on
        if keep_equity:
            equity[s.ruin_bar:, c] = 0.0
        max_dd = 1.0
    else:
        max_dd = drawdown_nb(np.inf, peak, trough, max_dd)[2]  # the last stretch below the peak
    if s.pos != 0.0 and s.k < t_hi:  # still open: marked at the last close, flagged
        side = 1.0 if s.pos > 0.0 else -1.0
        units = abs(s.pos)
        _record(trades, s, c, a, side, last_i, units, last_close, trade_pnl_nb(s, side, last_close, units, 0.0),
                s.entry_comm, s.entry_slip, R_END, True)
    summary[c, 0] = s.cash + s.pos * last_close if last_i >= 0 else s.cash
    summary[c, 1] = max_dd


@njit(cache=True, nogil=True)
def _ruin(s, price, i, c, a, p, trades, orders):
    """Ruin at bar ``i``'s close: cancel the working and the pending order, close the position at ``price``
    (reason ``R_RUIN``). The caller keeps the account's deficit and zeroes its cash."""
    _cancel_orders(s, i, c, a, p, orders)
    s.pending = NONE
    if s.pos != 0.0:
        _close(s, price, np.nan, i, c, a, np.int64(R_RUIN), p, trades, orders)


@njit(cache=True, nogil=True)
def _cancel_orders(s, i, c, a, p, orders):
    """Cancel the working limit / stop entry order and an entry still waiting for the asset's next open."""
    if s.w_side != 0:
        _cancel_working(s, i, c, a, p, orders)
    if s.pending in (GO_LONG, GO_SHORT):
        _order(orders, s, c, a, i, s.pending, p.entry_type, np.int64(REJECTED), np.int64(X_CANCELLED), np.nan,
               0.0, np.nan, np.nan, 0.0)
        s.pending = NONE


@njit(cache=True, nogil=True)
def _close_rules(s, p, flat, day, cl, peak, when, i, c, a, fill_same_close, trades, t_hi, orders):
    """Steps 6 and 7 of bar ``i`` (the risk guards, the session's end); True when they take the close's decisions.

    ``peak`` is the equity curve's peak before this bar, ``s.equity`` its value at the column's previous bar.
    """
    flat_now = False
    if flat is not None:
        flat_now = flat[i, c if flat.shape[1] > 1 else 0]
    trip = False
    if day is not None:
        trip = guards_nb(s, p, s.cash + s.pos * cl, peak, i, day[i])
    if not (trip or flat_now or s.day_halt or s.halt_bar >= 0):
        return False
    if s.w_side != 0:
        _cancel_working(s, i, c, a, p, orders)
    if s.pos != 0.0:
        if flat_now:  # borrow is accrued to the close already
            _close(s, cl, np.nan, i, c, a, np.int64(R_SESSION), p, trades, orders)
        elif fill_same_close:
            _execute(s, np.int64(EXIT), np.int64(R_RISK), cl, when, i, c, a, p, trades, t_hi, 0.0, 0.0, orders)
        else:
            s.pending = EXIT
            s.pending_reason = R_RISK
    return True


@njit(cache=True, nogil=True)
def guards_nb(s, p, mark, peak, i, today):
    """Test the risk guards of an account on ``mark``, its equity at bar ``i``'s close; True when one trips.

    ``s`` holds the guards' state (``halt_bar``, ``day_halt``, ``day``, ``day_ref``, and ``equity``: the
    equity curve's value at the previous bar), ``p`` their settings; ``peak`` is the equity curve's peak
    before this bar, ``today`` bar ``i``'s trading day.
    """
    if p.daily_loss_limit > 0.0 and today != s.day:
        s.day = today
        s.day_ref = s.equity
        s.day_halt = False
    trip = False
    if s.halt_bar < 0 and not s.day_halt and mark <= (1.0 - p.daily_loss_limit) * s.day_ref:
        s.day_halt = trip = True
    if s.halt_bar < 0 and mark <= (1.0 - p.drawdown_limit) * peak:
        s.halt_bar = i
        trip = True
    return trip


@njit(cache=True, nogil=True)
def corporate_action_nb(s, p, split, dividend, o):
    """Apply a bar's corporate actions to the state ``s`` at its open ``o``: the split ratio ``split`` (1.0 none),
    then the dividend per share ``dividend`` (0.0 none); see step 0 of the module docstring."""
    if split != 1.0:
        if s.pos != 0.0:
            units = s.pos * split
            if p.lot_size > 0.0:  # whole shares: a split leaves no fraction of one (of a lot below one unit)
                step = min(p.lot_size, 1.0)
                lots = abs(units) / step
                whole = np.round(lots)
                if abs(lots - whole) > 1e-9:  # a whole number up to float rounding stays whole
                    whole = np.floor(lots)
                if whole > 0.0:  # else a reverse split left less than one step: the fraction is kept
                    kept = np.copysign(whole * step, units)
                    fraction = units - kept
                    s.cash += fraction * o
                    s.lieu += fraction * (o - s.entry_px / split)
                    units = kept
            s.pos = units
            s.entry_px /= split
            s.sl_px /= split
            s.tp_px /= split
            s.best /= split
            s.worst /= split
            s.trail_d /= split
        s.w_px /= split
        s.o_sl /= split
        s.o_tp /= split
    if dividend != 0.0 and s.pos != 0.0:
        paid = s.pos * dividend
        s.cash += paid
        s.dividends += paid


def acted_nb(actions, i, j):
    """Whether bar ``i`` of price column ``j`` has a corporate action; False without any (None)."""
    return actions is not None and (actions[0][i, j] != 1.0 or actions[1][i, j] != 0.0)


@overload(acted_nb)  # compiled per type, like fired_nb: for None it reads nothing
def _acted_overload(actions, i, j):
    if isinstance(actions, types.NoneType):
        return lambda actions, i, j: False  # noqa: ARG005  # an overload takes the function's arguments
    return lambda actions, i, j: actions[0][i, j] != 1.0 or actions[1][i, j] != 0.0


@njit(cache=True, nogil=True, inline="always")
def drawdown_nb(value, peak, trough, max_dd):
    """The next bar of a running maximum drawdown: ``(peak, trough, max_dd)`` after the equity ``value``.

    The drawdown 1 - value / peak is largest at the lowest value below each peak (division is monotone),
    so it is taken once per stretch below a peak, when a new peak (or the end: ``value`` = inf) closes it,
    rather than once per bar.
    """
    if value >= peak:
        if trough < peak:
            max_dd = max(max_dd, 1.0 - trough / peak)
        return value, value, max_dd
    return peak, min(trough, value), max_dd


def fired_nb(signal, i, j):
    """``signal[i, j]``; False for a signal not given (None). Compiled per type: for None it reads nothing."""
    return False if signal is None else bool(signal[i, j])


@overload(fired_nb)  # not inline="always": Numba 0.68 inlined it into _column_nb wrongly (W3's summary was lost)
def _fired_overload(signal, i, j):
    if isinstance(signal, types.NoneType):
        return lambda signal, i, j: False  # noqa: ARG005  # an overload takes the function's arguments
    return lambda signal, i, j: signal[i, j]


def signal_column_nb(signal, c):
    """The column of ``signal`` that column ``c`` reads: ``c``, or 0 when one column broadcasts (or None)."""
    return 0 if signal is None or signal.shape[1] == 1 else c


@overload(signal_column_nb)  # once a column; inline="always" lost _column_nb's own ``c`` (Numba 0.68)
def _signal_column_overload(signal, c):
    if isinstance(signal, types.NoneType):
        return lambda signal, c: 0  # noqa: ARG005  # an overload takes the function's arguments

    def column(signal, c):
        if signal.shape[1] > 1:
            return c
        return 0
    return column


@njit(cache=True, nogil=True, inline="always")
def _cell(values, j, i):
    """``values[j, i]`` of a (w, n) per-bar array, one row broadcasting; NaN when it was not given (n = 0)."""
    if values.shape[1] == 0:
        return np.nan
    return values[j if values.shape[0] > 1 else 0, i]


@njit(cache=True, nogil=True, inline="always")
def _fill_price(price, side, p):
    """Price paid (side +1 buys) or received (side -1 sells): slippage (fraction, then ticks) and half the
    spread, all adverse."""
    return price * (1.0 + side * (p.slippage + 0.5 * p.spread)) + side * p.slippage_abs


@njit(cache=True, nogil=True, inline="always")
def _commission(value, p):
    return min(max(p.commission_min, p.commission_fixed + p.commission * abs(value)), p.commission_max)


@njit(cache=True, nogil=True)
def _units(px, equity, p, s):
    """Quantity for a new position filled at ``px``, rounded down to the lot (0: nothing affordable)."""
    if p.size_type == S_UNITS:
        units = p.size
    elif p.size_type == S_CASH:
        units = p.size / px
    elif p.size_type == S_EQUITY:
        units = (equity * p.size - p.commission_fixed) / (px * (1.0 + p.commission))
    elif p.size_type == S_RISK:  # lose ``size`` of equity if the stop-loss fills
        if s.o_sl > 0.0:
            units = equity * p.size / s.o_sl
        elif p.stop_loss > 0.0:
            units = equity * p.size / (px * p.stop_loss)
        else:
            return 0.0
    else:  # S_VOLATILITY: aim at ``size`` annualised volatility, at most leverage x equity (costs included)
        if not s.o_vol >= 0.0:
            return 0.0
        units = (equity * p.leverage - p.commission_fixed) / (px * (1.0 + p.commission))
        if s.o_vol > 0.0:
            units = min(units, equity * p.size / (s.o_vol * px))
    if p.lot_size > 0.0:
        units = (units // p.lot_size) * p.lot_size
    return units


@njit(cache=True, nogil=True, inline="always")
def _affordable(px, budget, p):
    """The most units whose value and commission ``budget`` covers, rounded down to the lot.

    value + commission <= budget holds below the cap (the commission at least its minimum) or at the cap.
    """
    units = max(min((budget - p.commission_fixed) / (px * (1.0 + p.commission)), (budget - p.commission_min) / px),
                (budget - p.commission_max) / px)
    if p.lot_size > 0.0:
        units = (units // p.lot_size) * p.lot_size
    return units


@njit(cache=True, nogil=True, inline="always")
def _execute(s, want, reason, raw, when, i, c, a, p, trades, t_hi, others, gross, orders):
    """Fill ``want`` at ``raw`` (before slippage): close the position if asked or reversed, then enter.

    ``others`` is the value of the account's other positions: the entry is sized on
    ``s.cash + others``, the account's equity after the close; ``gross`` their gross value
    (``max_exposure``). Inlined, like :func:`_place`: an out-of-line call takes a reference count on each
    array it is given (atomic operations), ~20 % of a W1 bar's time with a fill every ~35 bars.
    """
    if s.pos != 0.0 and (want == EXIT or want * s.pos < 0.0):
        _accrue(s, raw, when, p.borrow_rate)
        _close(s, raw, np.nan, i, c, a, reason if want == EXIT else R_SIGNAL, p, trades, orders)
    if want == EXIT or s.pos != 0.0:
        return
    _enter(s, want, raw, when, i, c, a, p, trades, t_hi, others, gross, orders)


@njit(cache=True, nogil=True)
def _enter(s, want, raw, when, i, c, a, p, trades, t_hi, others, gross, orders):
    """Open a ``want`` (+1 long, -1 short) position at ``raw`` (before slippage), or refuse it; record the order.

    ``others`` and ``gross``: the net and gross value of the account's other positions.
    """
    level = s.w_px if p.entry_type != E_MARKET else np.nan
    px = _fill_price(raw, want, p)
    equity = s.cash + others
    units = _units(px, equity, p, s)
    requested = units
    exposed = False  # the max_exposure cut left nothing
    if p.max_exposure > 0.0 and units * px > p.max_exposure * equity - gross:
        units = (p.max_exposure * equity - gross) / px
        if p.lot_size > 0.0:
            units = (units // p.lot_size) * p.lot_size
        exposed = not units > 0.0
    budget = s.cash * p.leverage
    if p.partial_fills and units > 0.0 and units * px + _commission(units * px, p) > budget * (1.0 + 1e-12):
        units = min(units, _affordable(px, budget, p))
    comm = _commission(units * px, p)
    if not units > 0.0 or s.k >= t_hi or units * px + comm > budget * (1.0 + 1e-12):
        s.rejected += 1
        reason = X_SIZE_ZERO if not requested > 0.0 else X_MAX_EXPOSURE if exposed else X_NO_CASH
        _order(orders, s, c, a, i, want, p.entry_type, np.int64(REJECTED), np.int64(reason), requested, 0.0,
               np.nan, level, 0.0)
        return
    _order(orders, s, c, a, i, want, p.entry_type, np.int64(FILLED), np.int64(X_NONE), requested, units, px, level,
           comm)
    s.cash -= want * units * px + comm
    s.pos = want * units
    s.entry_px = px
    s.entry_idx = i
    s.entry_comm = comm
    s.entry_slip = units * abs(px - raw)
    s.borrow = 0.0
    s.dividends = 0.0
    s.lieu = 0.0
    s.accrued_until = when
    s.best = px
    s.worst = px
    if s.o_sl > 0.0:
        s.sl_px = px - want * s.o_sl
    elif p.stop_loss > 0.0:
        s.sl_px = px * (1.0 - want * p.stop_loss)
    else:
        s.sl_px = -np.inf * want
    if s.o_tp > 0.0:
        s.tp_px = px + want * s.o_tp
    elif p.take_profit > 0.0:
        s.tp_px = px * (1.0 + want * p.take_profit)
    else:
        s.tp_px = np.inf * want


@njit(cache=True, nogil=True)
def _work(s, o, h, lo, cl, t_open, mid, i, c, a, p, ohlc_path, trades, t_hi, others, gross, cover, orders, room):
    """Test the working entry order in the bar: fill it (then its stops on the rest of the bar) or count down.

    ``others`` and ``gross``: the net and gross value of the account's other positions (sizing, exposure);
    ``cover`` what they add to equity beyond their maintenance margin (:func:`_stops`). ``room`` is False when the
    account may open no more positions (the portfolio's ``max_positions``). Returns the exit reason of a stop
    that closed the new position in this bar, else -1.
    """
    side = s.w_side
    price = s.w_px
    if p.entry_type == E_LIMIT:
        touched = lo <= price if side > 0 else h >= price
        raw = min(o, price) if side > 0 else max(o, price)
    else:
        touched = h >= price if side > 0 else lo <= price
        raw = max(o, price) if side > 0 else min(o, price)
    if not touched:
        s.w_left -= 1
        if s.w_left <= 0:
            _order(orders, s, c, a, i, side, p.entry_type, np.int64(REJECTED), np.int64(X_EXPIRED), np.nan, 0.0,
                   np.nan, price, 0.0)
            s.w_side = 0
        return np.int64(-1)
    s.w_side = 0
    if not room:
        s.rejected += 1
        _order(orders, s, c, a, i, side, p.entry_type, np.int64(REJECTED), np.int64(X_MAX_POSITIONS), np.nan, 0.0,
               np.nan, price, 0.0)
        return np.int64(-1)
    at_open = raw == o
    _enter(s, side, raw, t_open if at_open else mid, i, c, a, p, trades, t_hi, others, gross, orders)
    if s.pos == 0.0:
        return np.int64(-1)
    if not at_open:  # else the bar opened beyond the price: all of it comes after the fill
        o = raw
        ohlc_path = False
        if p.entry_type == E_LIMIT:  # the adverse extreme follows the fill; the favourable one only for a stop
            if side > 0:
                h = max(raw, cl)
            else:
                lo = min(raw, cl)
    hit = _stops(s, o, h, lo, cl, mid, i, c, a, p, ohlc_path, trades, orders, cover)
    _break_even(s, p)
    return hit


@njit(cache=True, nogil=True, inline="always")
def _place(s, want, long_out, short_out, i, j, c, a, p, sl_d, tp_d, entry_px, vol, orders):
    """Apply the order ``want`` decided at bar ``i``'s close (``j``: this column's row of the per-bar values).

    Cancels the working entry order when asked; for an entry, keeps the values the entry will need
    (stop distances, volatility) and, with limit or stop entries, makes it the working order. Returns
    the market order left to fill: ``want`` itself, the exit half of a reversal, or nothing.
    """
    if s.w_side != 0 and (want in (GO_LONG, GO_SHORT) or (long_out if s.w_side > 0 else short_out)):
        _cancel_working(s, i, c, a, p, orders)
    if want not in (GO_LONG, GO_SHORT):
        return want
    s.o_sl = _cell(sl_d, j, i)
    s.o_tp = _cell(tp_d, j, i)
    s.o_vol = _cell(vol, j, i)
    if p.entry_type == E_MARKET:
        return want
    price = _cell(entry_px, j, i)
    if price > 0.0:
        s.w_side = want
        s.w_px = price
        s.w_left = p.entry_expiry
    else:
        s.rejected += 1
        _order(orders, s, c, a, i, want, p.entry_type, np.int64(REJECTED), np.int64(X_NO_PRICE), np.nan, 0.0,
               np.nan, np.nan, 0.0)
    return EXIT if s.pos != 0.0 else NONE


@njit(cache=True, nogil=True)
def _cancel_working(s, i, c, a, p, orders):
    """Cancel the working limit / stop entry order at bar ``i``; record it."""
    _order(orders, s, c, a, i, s.w_side, p.entry_type, np.int64(REJECTED), np.int64(X_CANCELLED), np.nan, 0.0,
           np.nan, s.w_px, 0.0)
    s.w_side = 0


@njit(cache=True, nogil=True)
def _stops(s, o, h, lo, cl, mid, i, c, a, p, ohlc_path, trades, orders, cover):
    """:func:`_stop_test` and the exit it asks for (borrow to ``mid``); returns the exit reason, else -1."""
    reason, raw, level = _stop_test(s, o, h, lo, cl, p, ohlc_path, cover, True, True)
    if reason >= 0:
        _stop_exit(s, raw, level, mid, i, c, a, reason, p, trades, orders)
    return reason


@njit(cache=True, nogil=True, inline="always")
def _stop_test(s, o, h, lo, cl, p, ohlc_path, cover, trail_on, margin_on):
    """Test the stop-loss, trailing stop, margin call and take-profit inside the bar: the exit it asks for as
    (exit reason, fill price before slippage, level), or (-1, NaN, NaN) once the bar has moved the best and
    worst prices.

    With ``maintenance_margin`` the margin call is one more stop level: the price at which the account's
    equity falls to the maintenance margin, ``cover`` being what the account's other positions add to
    equity beyond their own maintenance margin (0 for one asset); the nearer of it and the stop-loss (or
    trail) is the level tested, the stop-loss on a tie. ``trail_on`` and ``margin_on`` are None when no
    column has a trailing stop or a maintenance margin: the code testing them is then not compiled. Inlined
    in :func:`_stops`, which runs on every bar a position is held, and given no arrays: each array an
    inlined function takes costs a reference count increment and decrement per call (atomic operations),
    more than the test itself.
    """
    side = 1.0 if s.pos > 0.0 else -1.0
    level = s.sl_px
    stop_reason = R_STOP
    if trail_on is not None:
        trail = np.nan
        if p.trailing_stop > 0.0:
            trail = s.best * (1.0 - side * p.trailing_stop)
        elif s.trail_d > 0.0:
            trail = s.best - side * s.trail_d
        if side * (trail - level) > 0.0:
            level = trail
            stop_reason = R_TRAIL
    if margin_on is not None and p.maintenance_margin > 0.0:
        margin = margin_level_nb(s.cash + cover, s.pos, p.maintenance_margin)
        if side * (margin - level) > 0.0:
            level = margin
            stop_reason = R_MARGIN
    take = s.tp_px
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
    if hit_stop:  # a gap through the level fills at the open
        return np.int64(stop_reason), min(o, level) if side > 0.0 else max(o, level), level
    if hit_take:
        return np.int64(R_TAKE), max(o, take) if side > 0.0 else min(o, take), take
    _excursion(s, side, h, lo)
    return np.int64(-1), np.nan, np.nan


@njit(cache=True, nogil=True, inline="always")
def margin_level_nb(free, pos, rate):
    """The price at which a position of ``pos`` units (signed) brings equity down to its maintenance margin.

    ``free`` is the cash plus what the account's other positions hold beyond their own maintenance margin:
    equity ``free + pos x P`` equals ``rate x |pos| x P`` at P = free / (rate x |pos| - pos). Long: the price
    falls to it (none, <= 0, unless the cash is borrowed); short: the price rises to it.
    """
    return free / (rate * abs(pos) - pos)


@njit(cache=True, nogil=True, inline="always")
def _break_even(s, p):
    """After the bar's stop test, with ``s.best`` moved by the bar: lift the stop-loss to the entry fill price
    once the best price has gained ``break_even`` of it (applies from the next bar's test)."""
    if s.pos != 0.0 and p.break_even > 0.0:
        side = 1.0 if s.pos > 0.0 else -1.0
        if side * (s.best - s.entry_px * (1.0 + side * p.break_even)) >= 0.0 and side * (s.entry_px - s.sl_px) > 0.0:
            s.sl_px = s.entry_px


@njit(cache=True, nogil=True)
def _stop_exit(s, raw, level, mid, i, c, a, reason, p, trades, orders):
    """Close the position at ``raw`` for a stop (``level``: the level it was tested at), borrow to mid-bar."""
    _accrue(s, raw, mid, p.borrow_rate)
    _close(s, raw, level, i, c, a, reason, p, trades, orders)


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
    """Move the best and worst prices since entry with a bar's (or a fill's) high and low."""
    s.best, s.worst = _moved(side, s.best, s.worst, hi, lo)


@njit(cache=True, nogil=True, inline="always")
def _moved(side, best, worst, hi, lo):
    """The best and worst prices since entry after a bar's (or a fill's) high and low."""
    if side > 0.0:
        return max(best, hi), min(worst, lo)
    return min(best, lo), max(worst, hi)


@njit(cache=True, nogil=True, inline="always")
def _mfe_mae(s, side):
    """The trade's maximum favourable and adverse excursions (fractions of the entry price) from the best and
    worst prices: a ratio taken once at the record equals the extreme of the per-bar ratios (division is
    monotone), without a division per bar."""
    up = (s.best if side > 0.0 else s.worst) / s.entry_px - 1.0
    down = (s.worst if side > 0.0 else s.best) / s.entry_px - 1.0
    if side > 0.0:
        return max(0.0, up), min(0.0, down)
    return max(0.0, -down), min(0.0, -up)


@njit(cache=True, nogil=True, inline="always")
def _accrue(s, price, until, rate):
    """Charge a short's borrow cost from ``s.accrued_until`` to ``until`` (ns), valued at ``price``."""
    if s.pos < 0.0 and rate > 0.0 and until > s.accrued_until:
        cost = -s.pos * price * rate * (until - s.accrued_until) / YEAR_NS
        s.cash -= cost
        s.borrow += cost
    s.accrued_until = max(s.accrued_until, until)


@njit(cache=True, nogil=True, inline="always")
def trade_pnl_nb(s, side, px, units, comm):
    """The open trade's PnL valued at ``px``: the price move, less the entry's commission, the exit's ``comm``
    (0.0 for a trade still open) and the borrow, plus the dividends and a split's cash in lieu."""
    return side * (px - s.entry_px) * units - s.entry_comm - comm - s.borrow + s.dividends + s.lieu


@njit(cache=True, nogil=True)
def _close(s, raw, level, i, c, a, reason, p, trades, orders):
    """Close the whole position at ``raw`` (before slippage; ``level``: the stop's, NaN for signals); record it."""
    side = 1.0 if s.pos > 0.0 else -1.0
    units = abs(s.pos)
    _excursion(s, side, raw, raw)  # the exit price is part of the trade's path too
    px = _fill_price(raw, -side, p)
    comm = _commission(units * px, p)
    s.cash += s.pos * px - comm
    pnl = trade_pnl_nb(s, side, px, units, comm)
    _record(trades, s, c, a, side, i, units, px, pnl, s.entry_comm + comm, s.entry_slip + units * abs(px - raw),
            reason, False)
    _order(orders, s, c, a, i, np.int64(-side), np.int64(T_SIGNAL_EXIT if reason == R_SIGNAL else
                                                       T_STOP_LOSS - R_STOP + reason),
           np.int64(FILLED), np.int64(X_NONE), units, units, px, level, comm)
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
    t.dividends = s.dividends
    t.exit_reason = reason
    t.mfe, t.mae = _mfe_mae(s, side)
    t.bars_held = exit_idx - s.entry_idx
    t.open = still_open
    s.k += 1


@njit(cache=True, nogil=True)
def _order(orders, s, c, a, i, side, kind, status, reason, requested, units, px, level, comm):
    """Write one ``records.ORDER`` row for the column's state ``s`` (silently full: never, by the capacity)."""
    if s.ko >= s.ko_end:
        return
    r = orders[s.ko]
    r.col = c
    r.asset = a
    r.bar = i
    r.side = int(side)
    r.type = kind
    r.status = status
    r.reason = reason
    r.requested = requested
    r.size = units
    r.price = px
    r.order_price = level
    r.commission = comm
    s.ko += 1
