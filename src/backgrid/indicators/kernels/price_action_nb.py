"""Price-action (ICT) kernels (conventions as in :mod:`backgrid.indicators.kernels.core_nb`).

Swings come from :func:`~backgrid.indicators.kernels.core_nb.pivot_high_nb` and
``pivot_low_nb``: a pivot array holds a swing's level at the bar that *confirms* it
(``right`` bars after the bar that made it, its *origin*) and NaN elsewhere.

Per-bar outputs are filled into the arrays the caller passes (allocated with
NumPy), in the order the docstring names them, and returned.

Stepping kernels judge bar ``t`` against the levels known at the end of bar
``t - 1`` and only then take in the swings confirmed at ``t`` (a swing can never be
crossed by its own confirmation bar, so nothing is lost by that order).

Sparse events (breaks, new zones) are returned as parallel arrays sorted by bar,
``at`` holding each event's bar. A zone event is ``(at, sign, top, bottom)`` with
``sign`` +1 for a bullish zone, -1 for a bearish one.

Zone stacks hold at most ``k`` zones per side as ``(top, bottom)`` pairs, oldest
first: a new zone goes on top (the oldest is forgotten when the stack is full),
a zone that is breached is removed wherever it sits, and the *active* zone is the
newest one left. A support (bullish) zone is breached when a price goes below its
bottom, a resistance (bearish) zone when a price goes above its top; ``inclusive``
counts touching the far edge as a breach.
"""

from __future__ import annotations

import numpy as np
from numba import njit

DAY_NS = 86_400_000_000_000
MINUTE_NS = 60_000_000_000


@njit(cache=True, nogil=True)
def carry_nb(x, out):
    """Each bar's most recent non-NaN value of ``x`` (NaN until the first): a sparse level held forward."""
    last = np.nan
    for i in range(x.size):
        if not np.isnan(x[i]):
            last = x[i]
        out[i] = last
    return out


@njit(cache=True, nogil=True)
def structure_nb(close, sh, sl, right):
    """Breaks of confirmed swings, as events ``(at, sign, shift, origin, ref, ref_origin)``.

    A swing level can be broken once, by the first close beyond it after it is
    confirmed. Each break is one event: its bar ``at``, ``sign`` (+1 up, -1 down),
    ``shift`` (True when it goes against the trend set by the previous break, a
    market-structure shift; False for a break of structure, including the first
    break), ``origin`` (the bar that made the broken swing) and ``ref``/``ref_origin``
    (level and origin of the last opposite swing confirmed before the broken one
    was; NaN / -1 if none). A bar cannot break a swing high and a swing low at once
    when ``right >= 1`` (with both live, one of them would lie on the wrong side of
    an earlier close), so the bullish test going first decides nothing.
    """
    n = close.size
    at = np.empty(n, dtype=np.int64)
    sign = np.empty(n)
    shift = np.empty(n, dtype=np.bool_)
    origin = np.empty(n, dtype=np.int64)
    ref = np.empty(n)
    ref_origin = np.empty(n, dtype=np.int64)
    m = 0
    hi = lo = hi_ref = lo_ref = np.nan
    hi_at = lo_at = hi_ref_at = lo_ref_at = -1
    hi_live = lo_live = False
    state = 0.0
    for t in range(n):
        d = 0.0
        if hi_live and close[t] > hi:
            hi_live = False
            d, origin[m], ref[m], ref_origin[m] = 1.0, hi_at, hi_ref, hi_ref_at
        elif lo_live and close[t] < lo:
            lo_live = False
            d, origin[m], ref[m], ref_origin[m] = -1.0, lo_at, lo_ref, lo_ref_at
        if d != 0.0:
            at[m], sign[m], shift[m] = t, d, state == -d
            state = d
            m += 1
        prev_hi, prev_hi_at, prev_lo, prev_lo_at = hi, hi_at, lo, lo_at
        if not np.isnan(sh[t]):
            hi, hi_at, hi_live, hi_ref, hi_ref_at = sh[t], t - right, True, prev_lo, prev_lo_at
        if not np.isnan(sl[t]):
            lo, lo_at, lo_live, lo_ref, lo_ref_at = sl[t], t - right, True, prev_hi, prev_hi_at
    return at[:m], sign[:m], shift[:m], origin[:m], ref[:m], ref_origin[:m]


@njit(cache=True, nogil=True)
def structure_series_nb(n, at, sign, shift, bos, mss, trend):
    """Per-bar ``(bos, mss, trend)`` from break events: the break's sign on its bar, and the last sign held."""
    e = 0
    state = 0.0
    for t in range(n):
        bos[t] = 0.0
        mss[t] = 0.0
        if e < at.size and at[e] == t:
            state = sign[e]
            if shift[e]:
                mss[t] = state
            else:
                bos[t] = state
            e += 1
        trend[t] = state
    return bos, mss, trend


@njit(cache=True, nogil=True)
def _leg_extreme_nb(x, start, stop, sign):
    """Bar of the lowest (``sign > 0``) or highest (``sign < 0``) ``x`` in ``[start, stop]``, the latest on ties."""
    best = start
    for i in range(start, stop + 1):
        if sign * x[i] <= sign * x[best]:
            best = i
    return best


@njit(cache=True, nogil=True)
def _last_candle_nb(open_, close, start, stop, colour):
    """Latest bar in ``[start, stop]`` closing up (``colour > 0``) or down (``colour < 0``); -1 if none."""
    for i in range(stop, start - 1, -1):
        if colour * (close[i] - open_[i]) > 0.0:
            return i
    return -1


@njit(cache=True, nogil=True)
def _zone_events_nb(capacity):
    """Empty zone event buffers ``(at, sign, top, bottom)`` for up to ``capacity`` events."""
    return np.empty(capacity, dtype=np.int64), np.empty(capacity), np.empty(capacity), np.empty(capacity)


@njit(cache=True, nogil=True, inline="always")
def _add_zone_nb(events, m, at, sign, top, bottom):
    """Write zone event ``m`` into ``events`` (from :func:`_zone_events_nb`); return the new count."""
    events[0][m], events[1][m], events[2][m], events[3][m] = at, sign, top, bottom
    return m + 1


@njit(cache=True, nogil=True)
def _first_events_nb(events, m):
    """The first ``m`` events of each buffer."""
    return events[0][:m], events[1][:m], events[2][:m], events[3][:m]


@njit(cache=True, nogil=True)
def order_block_candidates_nb(open_, high, low, close, at, sign, origin):
    """New order blocks as zone events ``(at, sign, top, bottom)``, from break events.

    At a bullish break at ``t`` of the swing high made at ``h``, the leg's origin
    ``m`` is the lowest low in ``[h, t]`` and the block is the last down-close candle
    in ``[h, m]`` (its low to high); a bearish break mirrors it. No candle, no block.
    """
    events = _zone_events_nb(at.size)
    m = 0
    for e in range(at.size):
        t, h, d = at[e], origin[e], sign[e]
        leg = _leg_extreme_nb(low if d > 0.0 else high, h, t, d)
        b = _last_candle_nb(open_, close, h, leg, -d)
        if b >= 0:
            m = _add_zone_nb(events, m, t, d, high[b], low[b])
    return _first_events_nb(events, m)


@njit(cache=True, nogil=True)
def mitigation_candidates_nb(open_, high, low, close, at, sign, shift, origin, ref, ref_origin):
    """New mitigation blocks as zone events ``(at, sign, top, bottom)``, from the shift events.

    At a bullish shift at ``t`` of the swing high made at ``h``: when no low in
    ``[h, t]`` went below the swing low ``ref`` that preceded the high (a failure
    swing: a higher or equal low), the block is the last up-close candle in
    ``[ref_origin, h]``. A bearish shift mirrors it.
    """
    events = _zone_events_nb(at.size)
    m = 0
    for e in range(at.size):
        if not shift[e] or ref_origin[e] < 0:
            continue
        t, h, d = at[e], origin[e], sign[e]
        x = low if d > 0.0 else high
        if d * (x[_leg_extreme_nb(x, h, t, d)] - ref[e]) < 0.0:
            continue
        b = _last_candle_nb(open_, close, ref_origin[e], h, d)
        if b >= 0:
            m = _add_zone_nb(events, m, t, d, high[b], low[b])
    return _first_events_nb(events, m)


@njit(cache=True, nogil=True, inline="always")
def _span_nb(a, b, t, body):
    """Upper and lower end of bar ``t``: ``a[t]`` and ``b[t]``, or with ``body`` their max and min."""
    if body:
        return max(a[t], b[t]), min(a[t], b[t])
    return a[t], b[t]


@njit(cache=True, nogil=True)
def gap_candidates_nb(a, b, lag, body):
    """New gaps between bar ``t - lag`` and bar ``t`` as zone events ``(at, sign, top, bottom)`` at bar ``t``.

    Each bar spans ``b`` .. ``a`` (with ``body``: ``min(a, b)`` .. ``max(a, b)``).
    Bullish when bar ``t`` lies wholly above bar ``t - lag`` (zone: the older upper
    end .. the newer lower end), bearish when wholly below. A fair value gap is the
    gap between the wicks (``high``, ``low``) of bars ``t - 2`` and ``t``; an
    imbalance the gap between the bodies (``open``, ``close``, ``body``) of bars
    ``t - 1`` and ``t``.
    """
    events = _zone_events_nb(a.size)
    m = 0
    for t in range(lag, a.size):
        upper, lower = _span_nb(a, b, t, body)
        upper_then, lower_then = _span_nb(a, b, t - lag, body)
        if lower > upper_then:
            m = _add_zone_nb(events, m, t, 1.0, lower, upper_then)
        elif upper < lower_then:
            m = _add_zone_nb(events, m, t, -1.0, lower_then, upper)
    return _first_events_nb(events, m)


@njit(cache=True, nogil=True, inline="always")
def _edge_nb(top, bot, count, side):
    """The nearest far edge: highest bottom of support zones (``side`` +1), lowest top of resistance (-1).

    A price can breach a zone only if it breaches this edge, so a quiet bar needs one comparison per side.
    """
    edge = -np.inf if side > 0 else np.inf
    for i in range(count):
        edge = max(edge, bot[i]) if side > 0 else min(edge, top[i])
    return edge


@njit(cache=True, nogil=True, inline="always")
def _breaches_nb(edge, price, side, inclusive):
    """True when ``price`` is beyond ``edge`` on ``side`` (or on it, when ``inclusive``)."""
    beyond = side * (edge - price)
    return beyond > 0.0 or (inclusive and beyond == 0.0)


@njit(cache=True, nogil=True, inline="always")
def _push_nb(top, bot, count, new_top, new_bot, side):
    """Put a zone on a stack, forgetting the oldest when full; return ``(count, edge)``."""
    if count == top.size:
        for i in range(count - 1):
            top[i] = top[i + 1]
            bot[i] = bot[i + 1]
        count -= 1
    top[count] = new_top
    bot[count] = new_bot
    return count + 1, _edge_nb(top, bot, count + 1, side)


@njit(cache=True, nogil=True, inline="always")
def _breach_nb(top, bot, count, price, side, inclusive, gone_top, gone_bot):
    """Remove the zones ``price`` breaches (copied, oldest first, into ``gone_*``); return ``(count, gone, edge)``.

    ``side`` is +1 for support zones (breached below the bottom), -1 for resistance (above the top).
    """
    kept = 0
    gone = 0
    for i in range(count):
        if _breaches_nb(bot[i] if side > 0 else top[i], price, side, inclusive):
            gone_top[gone] = top[i]
            gone_bot[gone] = bot[i]
            gone += 1
        else:
            top[kept] = top[i]
            bot[kept] = bot[i]
            kept += 1
    return kept, gone, _edge_nb(top, bot, kept, side)


@njit(cache=True, nogil=True)
def zones_nb(n, at, sign, top, bottom, bull_price, bear_price, inclusive, k, flip, out):
    """Track zone stacks over ``n`` bars; fill ``out`` (``(5, n)``) with the active zones and the events.

    The rows of ``out`` are ``bull_top, bull_bottom, bear_top, bear_bottom, event``.

    Zone events ``(at, sign, top, bottom)`` (sorted by bar) create bullish
    (``sign > 0``, support) and bearish (resistance) zones. At each bar: zones
    breached by this bar's ``bull_price`` (support side) and ``bear_price``
    (resistance side) are removed, then this bar's new zones are pushed, so a zone
    is never judged on the bar that creates it. ``event`` is the sum of this bar's
    new zones' signs.

    With ``flip`` the outputs are instead the *flipped* zones: a breached support
    zone becomes a resistance zone with the same bounds (and a breached resistance
    a support), tracked on stacks of their own with the same breach rule; ``event``
    is then +1 when a support appears this way, -1 for a resistance, 0 for both.
    """
    bull_top, bull_bot, bear_top, bear_bot, event = out[0], out[1], out[2], out[3], out[4]
    # stacks, oldest first: s = support (bullish), r = resistance, f = flipped; g receives breached zones
    st, sb, rt, rb = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    fst, fsb, frt, frb = np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    gt, gb = np.empty(k), np.empty(k)
    ns = nr = nfs = nfr = 0
    s_edge = fs_edge = -np.inf
    r_edge = fr_edge = np.inf
    shown = np.full(4, np.nan)  # the active bounds, held while nothing happens
    e = 0
    t = 0
    while t < n:
        # Quiet bars (no breach, no new zone) only repeat the active bounds. Keeping the stack helpers out
        # of this loop matters: with them in it, Numba's reference counting costs more than the loop itself.
        stop = at[e] if e < at.size else n
        sup_edge, res_edge = max(s_edge, fs_edge), min(r_edge, fr_edge)
        while (t < stop and not _breaches_nb(sup_edge, bull_price[t], 1.0, inclusive)
               and not _breaches_nb(res_edge, bear_price[t], -1.0, inclusive)):
            bull_top[t], bull_bot[t], bear_top[t], bear_bot[t] = shown[0], shown[1], shown[2], shown[3]
            event[t] = 0.0
            t += 1
        if t == n:
            break
        ev = 0.0
        up, down = bull_price[t], bear_price[t]
        if _breaches_nb(fs_edge, up, 1.0, inclusive):
            nfs, _, fs_edge = _breach_nb(fst, fsb, nfs, up, 1.0, inclusive, gt, gb)
        if _breaches_nb(fr_edge, down, -1.0, inclusive):
            nfr, _, fr_edge = _breach_nb(frt, frb, nfr, down, -1.0, inclusive, gt, gb)
        if _breaches_nb(s_edge, up, 1.0, inclusive):
            ns, gone, s_edge = _breach_nb(st, sb, ns, up, 1.0, inclusive, gt, gb)
            if flip:
                ev -= 1.0
                for i in range(gone):
                    nfr, fr_edge = _push_nb(frt, frb, nfr, gt[i], gb[i], -1.0)
        if _breaches_nb(r_edge, down, -1.0, inclusive):
            nr, gone, r_edge = _breach_nb(rt, rb, nr, down, -1.0, inclusive, gt, gb)
            if flip:
                ev += 1.0
                for i in range(gone):
                    nfs, fs_edge = _push_nb(fst, fsb, nfs, gt[i], gb[i], 1.0)
        while e < at.size and at[e] == t:
            if sign[e] > 0.0:
                ns, s_edge = _push_nb(st, sb, ns, top[e], bottom[e], 1.0)
            else:
                nr, r_edge = _push_nb(rt, rb, nr, top[e], bottom[e], -1.0)
            ev += 0.0 if flip else sign[e]
            e += 1
        sup_n, res_n = (nfs, nfr) if flip else (ns, nr)
        shown[:] = np.nan
        if sup_n:
            shown[0], shown[1] = (fst[sup_n - 1], fsb[sup_n - 1]) if flip else (st[sup_n - 1], sb[sup_n - 1])
        if res_n:
            shown[2], shown[3] = (frt[res_n - 1], frb[res_n - 1]) if flip else (rt[res_n - 1], rb[res_n - 1])
        bull_top[t], bull_bot[t], bear_top[t], bear_bot[t] = shown[0], shown[1], shown[2], shown[3]
        event[t] = ev
        t += 1
    return out


@njit(cache=True, nogil=True)
def sweeps_nb(high, low, close, sh, sl, sweep, high_level, low_level):
    """Liquidity sweeps ``(sweep, high_level, low_level)`` of the last confirmed swings.

    A swing level is live from its confirmation until the first bar that trades
    beyond it. That bar sweeps it when it closes back at or inside the level:
    -1 for a swing high (level in ``high_level``), +1 for a swing low; a bar that
    sweeps both sides gives 0 with both levels set.
    """
    n = close.size
    hi = lo = np.nan
    hi_live = lo_live = False
    for t in range(n):
        sweep[t] = 0.0
        high_level[t] = np.nan
        low_level[t] = np.nan
        if hi_live and high[t] > hi:
            hi_live = False
            if close[t] <= hi:
                sweep[t] -= 1.0
                high_level[t] = hi
        if lo_live and low[t] < lo:
            lo_live = False
            if close[t] >= lo:
                sweep[t] += 1.0
                low_level[t] = lo
        if not np.isnan(sh[t]):
            hi, hi_live = sh[t], True
        if not np.isnan(sl[t]):
            lo, lo_live = sl[t], True
    return sweep, high_level, low_level


@njit(cache=True, nogil=True)
def inducement_nb(high, low, at, sign, sh, sl, right, minor_sh, minor_sl, minor_right, signal, level):
    """Inducement ``(signal, level)``: a minor swing inside the leg taken before the leg's major swing.

    The trend is the sign of the last break event (``at``, ``sign`` from
    :func:`structure_nb`) before the bar. A minor swing level is live from its
    confirmation until the first bar that trades beyond it. When that bar takes a
    minor low in an uptrend, the minor low was made after the last confirmed major
    swing low, and the bar's low stays above that major low, the signal is +1 and
    ``level`` the minor low; a minor high taken in a downtrend mirrors it with -1.
    """
    n = high.size
    hi = lo = m_hi = m_lo = np.nan
    hi_at = lo_at = m_hi_at = m_lo_at = -1
    m_hi_live = m_lo_live = False
    state = 0.0
    e = 0
    for t in range(n):
        signal[t] = 0.0
        level[t] = np.nan
        if m_lo_live and low[t] < m_lo:
            m_lo_live = False
            if state > 0.0 and lo_at >= 0 and m_lo_at > lo_at and low[t] > lo:
                signal[t] = 1.0
                level[t] = m_lo
        if m_hi_live and high[t] > m_hi:
            m_hi_live = False
            if state < 0.0 and hi_at >= 0 and m_hi_at > hi_at and high[t] < hi:
                signal[t] = -1.0
                level[t] = m_hi
        if e < at.size and at[e] == t:
            state = sign[e]
            e += 1
        if not np.isnan(sh[t]):
            hi, hi_at = sh[t], t - right
        if not np.isnan(sl[t]):
            lo, lo_at = sl[t], t - right
        if not np.isnan(minor_sh[t]):
            m_hi, m_hi_at, m_hi_live = minor_sh[t], t - minor_right, True
        if not np.isnan(minor_sl[t]):
            m_lo, m_lo_at, m_lo_live = minor_sl[t], t - minor_right, True
    return signal, level


@njit(cache=True, nogil=True)
def premium_discount_nb(close, sh, sl, eq, top, bottom, position):
    """``(equilibrium, range_high, range_low, position)`` from the last confirmed swing high and low.

    The equilibrium is their midpoint; ``position`` is +1 when the close is below
    it (discount), -1 above (premium), 0 on it. All NaN until both swings exist.
    """
    n = close.size
    hi = lo = np.nan
    for t in range(n):
        if not np.isnan(sh[t]):
            hi = sh[t]
        if not np.isnan(sl[t]):
            lo = sl[t]
        mid = (hi + lo) / 2.0
        eq[t] = mid
        top[t] = max(hi, lo) if not np.isnan(mid) else np.nan
        bottom[t] = min(hi, lo) if not np.isnan(mid) else np.nan
        position[t] = np.nan if np.isnan(mid) else (1.0 if close[t] < mid else (-1.0 if close[t] > mid else 0.0))
    return eq, top, bottom, position


@njit(cache=True, nogil=True)
def displacement_nb(open_, close, atr, k, out):
    """+1 / -1 where the body is non-zero and at least ``k`` times the previous bar's ``atr``, else 0.

    NaN while the previous ATR is NaN.
    """
    n = close.size
    for t in range(n):
        prev = atr[t - 1] if t > 0 else np.nan
        body = close[t] - open_[t]
        if np.isnan(prev):
            out[t] = np.nan
        elif body != 0.0 and abs(body) >= k * prev:
            out[t] = 1.0 if body > 0.0 else -1.0
        else:
            out[t] = 0.0
    return out


@njit(cache=True, nogil=True)
def kill_zones_nb(ts, first_day, offsets, high, low, starts, ends, flags, run_high, run_low):
    """Fill kill-zone membership ``flags[zone, bar]`` (0/1) and the running ``(run_high, run_low)`` of the zone.

    Local wall-clock time is ``ts + offsets[ts // day - first_day]`` (one UTC
    offset per UTC day, as :func:`backgrid.data.calendar.day_offsets` gives). A bar
    is in zone ``j`` when its local minute of day ``m`` satisfies
    ``starts[j] <= m < ends[j]`` (the window wraps midnight when
    ``ends[j] < starts[j]``; equal bounds make it empty). The running high/low
    follow the first zone a bar is in and restart when that zone or its occurrence
    (the local day its window opened) changes; NaN outside all zones.
    """
    n = high.size
    flags[:] = 0.0
    prev_zone = -1
    prev_day = 0
    hi = lo = np.nan
    for t in range(n):
        local = ts[t] + offsets[ts[t] // DAY_NS - first_day]
        minute = (local % DAY_NS) // MINUTE_NS
        zone = -1
        day = 0
        for j in range(starts.size):
            s, e = starts[j], ends[j]
            inside = (s <= minute < e) if s < e else (s > e and (minute >= s or minute < e))
            if inside:
                flags[j, t] = 1.0
                if zone < 0:
                    zone = j
                    day = (local - s * MINUTE_NS) // DAY_NS
        if zone >= 0:
            if zone != prev_zone or day != prev_day:
                hi, lo = high[t], low[t]
            else:
                hi, lo = max(hi, high[t]), min(lo, low[t])
            run_high[t], run_low[t] = hi, lo
        else:
            run_high[t], run_low[t] = np.nan, np.nan
        prev_zone, prev_day = zone, day
    return flags, run_high, run_low


@njit(cache=True, nogil=True)
def heikin_ashi_nb(open_, high, low, close, ha_open, ha_high, ha_low, ha_close):
    """Heikin-Ashi candles ``(open, high, low, close)``; the first open is ``(open + close) / 2`` of bar 0."""
    n = close.size
    for t in range(n):
        c = (open_[t] + high[t] + low[t] + close[t]) / 4.0
        o = (open_[t] + close[t]) / 2.0 if t == 0 else (ha_open[t - 1] + ha_close[t - 1]) / 2.0
        ha_open[t] = o
        ha_close[t] = c
        ha_high[t] = max(high[t], o, c)
        ha_low[t] = min(low[t], o, c)
    return ha_open, ha_high, ha_low, ha_close
