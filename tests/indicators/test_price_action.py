"""Price-action family: hand-worked bar sequences, slow references on GOOG and random bars, confirmation rules."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import talib

from backgrid import indicators
from backgrid.testing import check_indicator
from tests.indicators.conftest import DATASETS, assert_matches

NAN = np.nan
HOUR = 3_600_000_000_000
ZONE_NAMES = ("bull_top", "bull_bottom", "bear_top", "bear_bottom")


def _arrays(*, ts=None, **columns):
    """Input arrays for compute_arrays (open defaults to close, volume to 1)."""
    close = np.asarray(columns["close"], dtype=float) if "close" in columns else None
    out = {k: np.asarray(v, dtype=float) for k, v in columns.items()}
    if close is not None:
        out.setdefault("open", close)
    n = len(next(iter(out.values())))
    out["volume"] = np.ones(n)
    out["ts"] = np.asarray(ts if ts is not None else np.arange(n, dtype=np.int64) * HOUR, dtype=np.int64)
    return out


def _run(id_, inputs, **params):
    return indicators.compute_arrays(id_, inputs, **params)


def _columns(bars):
    return {c: bars.column(c) for c in bars.columns} | {"ts": bars.ts, "calendar": bars.calendar}


def _same(ours, theirs, label):
    assert_matches(np.asarray(ours, dtype=float), np.asarray(theirs, dtype=float), label)


# ---------------------------------------------------------------------------------------------------------
# slow, obvious references
# ---------------------------------------------------------------------------------------------------------
def ref_pivots(high, low, left, right):
    """Swing levels at their confirmation bar ``j + right``."""
    n = len(high)
    sh, sl = [NAN] * n, [NAN] * n
    for j in range(left, n - right):
        before, after = range(j - left, j), range(j + 1, j + right + 1)
        if all(high[k] < high[j] for k in before) and all(high[k] <= high[j] for k in after):
            sh[j + right] = high[j]
        if all(low[k] > low[j] for k in before) and all(low[k] >= low[j] for k in after):
            sl[j + right] = low[j]
    return sh, sl


def ref_last_before(piv):
    """For each bar, the bar of the last confirmation strictly before it (-1 if none)."""
    out, last = [], -1
    for t, v in enumerate(piv):
        out.append(last)
        if not np.isnan(v):
            last = t
    return out


def ref_carry(piv):
    out, last = [], NAN
    for v in piv:
        last = last if np.isnan(v) else v
        out.append(last)
    return out


def ref_structure(high, low, close, left, right):
    """Per bar: break direction, bos, mss, trend, origin, ref level, ref origin (declarative form)."""
    n = len(close)
    sh, sl = ref_pivots(high, low, left, right)
    hc, lc = ref_last_before(sh), ref_last_before(sl)
    brk, origin, ref, ref_origin = [0] * n, [-1] * n, [NAN] * n, [-1] * n
    for t in range(n):
        c = hc[t]  # a swing high known before t, never closed above since, closed above now
        if c >= 0 and close[t] > sh[c] and all(close[k] <= sh[c] for k in range(c, t)):
            brk[t], origin[t] = 1, c - right
            o = lc[c]
            ref[t], ref_origin[t] = (sl[o], o - right) if o >= 0 else (NAN, -1)
        c = lc[t]
        if c >= 0 and close[t] < sl[c] and all(close[k] >= sl[c] for k in range(c, t)):
            assert brk[t] == 0, "a bar broke both sides"
            brk[t], origin[t] = -1, c - right
            o = hc[c]
            ref[t], ref_origin[t] = (sh[o], o - right) if o >= 0 else (NAN, -1)
    trend, bos, mss, state = [0] * n, [0] * n, [0] * n, 0
    for t in range(n):
        if brk[t]:
            if state == -brk[t]:
                mss[t] = brk[t]
            else:
                bos[t] = brk[t]
            state = brk[t]
        trend[t] = state
    return {"brk": brk, "bos": bos, "mss": mss, "trend": trend, "origin": origin, "ref": ref, "ref_origin": ref_origin}


def ref_order_block_candidates(o, h, lo, c, brk, origin):
    n = len(c)
    bull, bear = [None] * n, [None] * n
    for t in range(n):
        if brk[t] > 0:
            start = origin[t]
            m = max(range(start, t + 1), key=lambda i: (-lo[i], i))  # lowest low, latest on ties
            downs = [b for b in range(start, m + 1) if c[b] < o[b]]
            bull[t] = (h[downs[-1]], lo[downs[-1]]) if downs else None
        elif brk[t] < 0:
            start = origin[t]
            m = max(range(start, t + 1), key=lambda i: (h[i], i))
            ups = [b for b in range(start, m + 1) if c[b] > o[b]]
            bear[t] = (h[ups[-1]], lo[ups[-1]]) if ups else None
    return bull, bear


def ref_mitigation_candidates(o, h, lo, c, s):
    n = len(c)
    bull, bear = [None] * n, [None] * n
    for t in range(n):
        r, start = s["ref_origin"][t], s["origin"][t]
        if s["mss"][t] > 0 and r >= 0 and min(lo[start:t + 1]) >= s["ref"][t]:
            ups = [b for b in range(r, start + 1) if c[b] > o[b]]
            bull[t] = (h[ups[-1]], lo[ups[-1]]) if ups else None
        if s["mss"][t] < 0 and r >= 0 and max(h[start:t + 1]) <= s["ref"][t]:
            downs = [b for b in range(r, start + 1) if c[b] < o[b]]
            bear[t] = (h[downs[-1]], lo[downs[-1]]) if downs else None
    return bull, bear


def ref_zones(bull_new, bear_new, bull_price, bear_price, *, inclusive, k, flip=False):
    """Lists of (top, bottom) zones, newest last; returns the four bound series and the event series."""

    def dead(zone, price, support):
        edge = zone[1] if support else zone[0]
        beyond = price < edge if support else price > edge
        return beyond or (inclusive and price == edge)

    n = len(bull_new)
    sup, res, fsup, fres = [], [], [], []
    out = {name: [NAN] * n for name in ZONE_NAMES}
    event = [0] * n
    for t in range(n):
        if flip:
            fsup = [z for z in fsup if not dead(z, bull_price[t], True)]
            fres = [z for z in fres if not dead(z, bear_price[t], False)]
        gone = [z for z in sup if dead(z, bull_price[t], True)]
        sup = [z for z in sup if z not in gone]
        if flip and gone:
            event[t] -= 1
            fres = (fres + gone)[-k:]
        gone = [z for z in res if dead(z, bear_price[t], False)]
        res = [z for z in res if z not in gone]
        if flip and gone:
            event[t] += 1
            fsup = (fsup + gone)[-k:]
        if bull_new[t] is not None:
            sup = [*sup, bull_new[t]][-k:]
            event[t] += 0 if flip else 1
        if bear_new[t] is not None:
            res = [*res, bear_new[t]][-k:]
            event[t] -= 0 if flip else 1
        shown_sup, shown_res = (fsup, fres) if flip else (sup, res)
        if shown_sup:
            out["bull_top"][t], out["bull_bottom"][t] = shown_sup[-1]
        if shown_res:
            out["bear_top"][t], out["bear_bottom"][t] = shown_res[-1]
    return out, event


def ref_fvg_candidates(h, lo):
    n = len(h)
    bull = [(lo[t], h[t - 2]) if t >= 2 and lo[t] > h[t - 2] else None for t in range(n)]
    bear = [(lo[t - 2], h[t]) if t >= 2 and h[t] < lo[t - 2] else None for t in range(n)]
    return bull, bear


def ref_imbalance_candidates(o, c):
    n = len(c)
    bull, bear = [None] * n, [None] * n
    for t in range(1, n):
        prev, now = sorted((o[t - 1], c[t - 1])), sorted((o[t], c[t]))
        if now[0] > prev[1]:
            bull[t] = (now[0], prev[1])
        if now[1] < prev[0]:
            bear[t] = (prev[0], now[1])
    return bull, bear


def ref_untouched(piv, prices, c, t, above):
    """True when no price in (c, t) went beyond the level confirmed at c (above: highs over it)."""
    level = piv[c]
    return all((prices[k] <= level) if above else (prices[k] >= level) for k in range(c + 1, t))


def ref_sweeps(h, lo, c, left, right):
    n = len(c)
    sh, sl = ref_pivots(h, lo, left, right)
    hc, lc = ref_last_before(sh), ref_last_before(sl)
    sweep, hi_lvl, lo_lvl = [0] * n, [NAN] * n, [NAN] * n
    for t in range(n):
        k = hc[t]
        if k >= 0 and ref_untouched(sh, h, k, t, above=True) and h[t] > sh[k] and c[t] <= sh[k]:
            sweep[t] -= 1
            hi_lvl[t] = sh[k]
        k = lc[t]
        if k >= 0 and ref_untouched(sl, lo, k, t, above=False) and lo[t] < sl[k] and c[t] >= sl[k]:
            sweep[t] += 1
            lo_lvl[t] = sl[k]
    return sweep, hi_lvl, lo_lvl


def ref_inducement(h, lo, c, left, right, minor_left, minor_right):
    n = len(c)
    trend = ref_structure(h, lo, c, left, right)["trend"]
    sh, sl = ref_pivots(h, lo, left, right)
    mh, ml = ref_pivots(h, lo, minor_left, minor_right)
    hc, lc, mhc, mlc = (ref_last_before(p) for p in (sh, sl, mh, ml))
    signal, level = [0] * n, [NAN] * n
    for t in range(1, n):
        k, big = mlc[t], lc[t]
        if (k >= 0 and big >= 0 and trend[t - 1] > 0 and ref_untouched(ml, lo, k, t, above=False)
                and lo[t] < ml[k] and k - minor_right > big - right and lo[t] > sl[big]):
            signal[t], level[t] = 1, ml[k]
        k, big = mhc[t], hc[t]
        if (k >= 0 and big >= 0 and trend[t - 1] < 0 and ref_untouched(mh, h, k, t, above=True)
                and h[t] > mh[k] and k - minor_right > big - right and h[t] < sh[big]):
            signal[t], level[t] = -1, mh[k]
    return signal, level


def ref_kill_zones(ts, h, lo, windows, tz):
    """Zone flags and running range; local time from the zone's offset at noon of each UTC day."""
    zone = ZoneInfo(tz)
    n = len(ts)
    flags = [[0] * n for _ in windows]
    run_hi, run_lo = [NAN] * n, [NAN] * n
    key_prev = None
    for t in range(n):
        utc = datetime.fromtimestamp(int(ts[t]) // 10**9, tz=UTC)
        noon = datetime(utc.year, utc.month, utc.day, 12, tzinfo=UTC)
        local = (utc + noon.astimezone(zone).utcoffset()).replace(tzinfo=None)
        minute = local.hour * 60 + local.minute
        key = None
        for j, (start, end) in enumerate(windows):
            inside = start <= minute < end if start < end else (start > end and (minute >= start or minute < end))
            if inside:
                flags[j][t] = 1
                if key is None:
                    key = (j, (local - timedelta(minutes=start)).date())
        if key is not None:
            run_hi[t] = h[t] if key != key_prev else max(run_hi[t - 1], h[t])
            run_lo[t] = lo[t] if key != key_prev else min(run_lo[t - 1], lo[t])
        key_prev = key
    return flags, run_hi, run_lo


def ref_heikin_ashi(o, h, lo, c):
    ha_o, ha_h, ha_l, ha_c = [], [], [], []
    for t in range(len(c)):
        close = (o[t] + h[t] + lo[t] + c[t]) / 4
        opening = (o[0] + c[0]) / 2 if t == 0 else (ha_o[-1] + ha_c[-1]) / 2
        ha_o.append(opening)
        ha_c.append(close)
        ha_h.append(max(h[t], opening, close))
        ha_l.append(min(lo[t], opening, close))
    return ha_o, ha_h, ha_l, ha_c


# ---------------------------------------------------------------------------------------------------------
# hand-worked cases
# ---------------------------------------------------------------------------------------------------------
def test_swings_by_hand_appear_right_bars_late():
    # left = right = 1. Bar 1 (high 3 > 1, next 2 <= 3) is a swing high, known at bar 2; bar 3 (4 > 2, next 4
    # <= 4) is one, known at bar 4; bar 4 (4 is not > 4) is not. Bar 1's low 0.5 (< 1, next 1 >= 0.5) is a
    # swing low known at bar 2; bar 4's low 1 is not (next 0.8 is lower).
    inputs = _arrays(high=[1, 3, 2, 4, 4, 3], low=[1, 0.5, 1, 2, 1, 0.8])
    out = _run("swings", inputs, left=1, right=1)
    _same(out["swing_high"], [NAN, NAN, 3, NAN, 4, NAN], "swing_high")
    _same(out["last_swing_high"], [NAN, NAN, 3, 3, 4, 4], "last_swing_high")
    _same(out["swing_low"], [NAN, NAN, 0.5, NAN, NAN, NAN], "swing_low")
    _same(out["last_swing_low"], [NAN, NAN, 0.5, 0.5, 0.5, 0.5], "last_swing_low")


def test_premium_discount_by_hand():
    # Same swings as above. Bar 2: range 0.5..3, equilibrium 1.75, close 1.5 below it (discount, +1);
    # bar 3: close 3 (premium, -1); bar 4: the new high 4 makes it 2.25, close 2 (+1); bar 5: close 2.5 (-1).
    inputs = _arrays(high=[1, 3, 2, 4, 4, 3], low=[1, 0.5, 1, 2, 1, 0.8], close=[1, 2, 1.5, 3, 2, 2.5])
    out = _run("premium_discount", inputs, left=1, right=1)
    _same(out["equilibrium"], [NAN, NAN, 1.75, 1.75, 2.25, 2.25], "equilibrium")
    _same(out["range_high"], [NAN, NAN, 3, 3, 4, 4], "range_high")
    _same(out["range_low"], [NAN, NAN, 0.5, 0.5, 0.5, 0.5], "range_low")
    _same(out["position"], [NAN, NAN, 1, -1, 1, -1], "position")


# Eleven bars, left = right = 1. Swing highs: bar 1 (12, known at 2), bar 4 (12.5, known at 5), bar 6 (13,
# known at 7); swing lows: bar 2 (8, known at 3), bar 5 (7, known at 6), bar 8 (6, known at 9).
STRUCTURE = _arrays(
    open=[9.8, 9.5, 11, 8.5, 9.8, 12.3, 7.5, 12.8, 6.8, 6.2, 6.5],
    high=[10, 12, 11, 10, 12.5, 12.4, 13, 12.9, 7, 6.8, 6.6],
    low=[9, 9.4, 8, 8.5, 9.5, 7, 7.2, 6.5, 6, 6.1, 5.5],
    close=[9.5, 11, 8.5, 9.8, 12.3, 7.5, 12.8, 6.8, 6.2, 6.5, 5.8],
)


def test_market_structure_by_hand():
    # Bar 4 closes 12.3 > 12 with no trend yet: BOS up. Bar 5 closes 7.5 < 8 against the uptrend: MSS down.
    # Bar 6 closes 12.8 > 12.5: MSS up. Bar 7 closes 6.8 < 7: MSS down. Bar 10 closes 5.8 < 6 in the
    # downtrend: BOS down. The swing low of 7 broken at bar 7 cannot break again at bars 8-10.
    out = _run("market_structure", STRUCTURE, left=1, right=1)
    _same(out["bos"], [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, -1], "bos")
    _same(out["mss"], [0, 0, 0, 0, 0, -1, 1, -1, 0, 0, 0], "mss")
    _same(out["trend"], [0, 0, 0, 0, 1, -1, 1, -1, -1, -1, -1], "trend")


def test_order_blocks_by_hand():
    # Bar 4 breaks the high made at bar 1: lowest low of bars 1-4 is bar 2, the last down candle in 1..2 is
    # bar 2 -> bullish block 8..11. Bar 5 breaks the low made at 2: highest high of 2-5 is bar 4, the last up
    # candle in 2..4 is bar 4 -> bearish block 9.5..12.5; its close 7.5 < 8 kills the bullish block. Bar 6:
    # close 12.8 > 12.5 kills the bearish block; new bullish block = bar 5 (7..12.4). Bar 7: close 6.8 < 7
    # kills it; new bearish block = bar 6 (7.2..13). Bar 10 breaks the low of bar 8 but bars 8..8 hold no
    # up candle: no block.
    out = _run("order_blocks", STRUCTURE, left=1, right=1)
    _same(out["bull_top"], [NAN] * 4 + [11, NAN, 12.4] + [NAN] * 4, "bull_top")
    _same(out["bull_bottom"], [NAN] * 4 + [8, NAN, 7] + [NAN] * 4, "bull_bottom")
    _same(out["bear_top"], [NAN] * 5 + [12.5, NAN] + [13] * 4, "bear_top")
    _same(out["bear_bottom"], [NAN] * 5 + [9.5, NAN] + [7.2] * 4, "bear_bottom")
    _same(out["order_block"], [0, 0, 0, 0, 1, -1, 1, -1, 0, 0, 0], "order_block")


def test_breaker_blocks_by_hand():
    # From the blocks above: bar 5 closes through the bullish block 8..11 -> bearish breaker 8..11. Bar 6
    # closes 12.8 above that breaker (it dies) and through the bearish block 9.5..12.5 -> bullish breaker.
    # Bar 7 closes 6.8 below it (dies) and through the bullish block 7..12.4 -> bearish breaker, which
    # holds to the end (closes 6.2, 6.5, 5.8 stay below 12.4).
    out = _run("breaker_blocks", STRUCTURE, left=1, right=1)
    _same(out["bull_top"], [NAN] * 6 + [12.5] + [NAN] * 4, "bull_top")
    _same(out["bull_bottom"], [NAN] * 6 + [9.5] + [NAN] * 4, "bull_bottom")
    _same(out["bear_top"], [NAN] * 5 + [11, NAN] + [12.4] * 4, "bear_top")
    _same(out["bear_bottom"], [NAN] * 5 + [8, NAN] + [7] * 4, "bear_bottom")
    _same(out["breaker"], [0, 0, 0, 0, 0, -1, 1, -1, 0, 0, 0], "breaker")


def test_mitigation_blocks_by_hand():
    # left = right = 1. Bar 3 closes 19.2 below the swing low 20 (bar 1): downtrend. Swing low 18 (bar 4,
    # known at 5), then swing high 20 (bar 5, known at 6): the last swing low known before it is 18. Bars
    # 5-8 never trade below 18 (failure to make a lower low); bar 8 closes 20.4 > 20: MSS up, and the last
    # up-close candle in bars 4..5 is bar 5 -> bullish mitigation block 18.2..20. Bar 9 closes 18.0 below
    # 18.2 (it dies) and breaks the swing low 18.3 of bar 7 (MSS down), but the high of 20.5 at bar 8 took
    # out the swing high 20 first: no bearish mitigation block. STRUCTURE's shifts all made new extremes.
    inputs = _arrays(
        open=[21.5, 21.8, 20.2, 20.9, 19.2, 18.3, 19.7, 18.6, 18.8, 20.3],
        high=[22, 21.5, 21, 20.95, 19.5, 20, 19.7, 18.9, 20.5, 20.3],
        low=[21, 20, 20.1, 19, 18, 18.2, 18.5, 18.3, 18.7, 17.9],
        close=[21.8, 20.2, 20.9, 19.2, 18.3, 19.8, 18.6, 18.8, 20.4, 18.0],
    )
    structure = _run("market_structure", inputs, left=1, right=1)
    _same(structure["bos"], [0, 0, 0, -1, 0, 0, 0, 0, 0, 0], "bos")
    _same(structure["mss"], [0, 0, 0, 0, 0, 0, 0, 0, 1, -1], "mss")
    out = _run("mitigation_blocks", inputs, left=1, right=1)
    _same(out["bull_top"], [NAN] * 8 + [20, NAN], "bull_top")
    _same(out["bull_bottom"], [NAN] * 8 + [18.2, NAN], "bull_bottom")
    assert np.isnan(out["bear_top"]).all()
    _same(out["mitigation"], [0] * 8 + [1, 0], "mitigation")
    assert not _run("mitigation_blocks", STRUCTURE, left=1, right=1)["mitigation"].any()


def test_breaks_and_sweeps_judge_levels_known_before_the_bar():
    # left = right = 1. Swing high 100 (bar 1, known at 2). Bar 3 wicks to 110 but closes 99.8: a sweep of
    # 100, and no break. Bar 4 confirms bar 3's 110 as the new swing high, and its close 105 breaks 100,
    # the level known before it: BOS up at bar 4. For sweeps, 100 died at bar 3 (it was traded through).
    inputs = _arrays(high=[99, 100, 99.5, 110, 108], low=[98, 98.5, 98, 98.6, 104],
                     close=[98.5, 99, 98.7, 99.8, 105])
    _same(_run("market_structure", inputs, left=1, right=1)["bos"], [0, 0, 0, 0, 1], "bos")
    sweep = _run("liquidity_sweep", inputs, left=1, right=1)
    _same(sweep["sweep"], [0, 0, 0, -1, 0], "sweep")
    _same(sweep["swept_high"], [NAN, NAN, NAN, 100, NAN], "swept_high")


def test_liquidity_sweep_by_hand():
    # left = right = 1. Swing high 12 (bar 1, known at 2); swing low 9.5 (bar 2, known at 3). Bar 3: high
    # 12.5 > 12, close 11.8 <= 12 -> -1. Bar 4: low 9 < 9.5, close 10.5 -> +1; it also confirms the swing
    # high 12.5 of bar 3. Bar 5: high 13 > 12.5 but closes 12.8 above: a break, not a sweep; it confirms the
    # swing low 9 of bar 4. Bar 6: low 8.5 < 9, close 9.2 -> +1.
    inputs = _arrays(high=[10, 12, 11, 12.5, 11, 13, 12.9], low=[9, 10, 9.5, 10, 9, 10, 8.5],
                     close=[9.5, 11, 10, 11.8, 10.5, 12.8, 9.2])
    out = _run("liquidity_sweep", inputs, left=1, right=1)
    _same(out["sweep"], [0, 0, 0, -1, 1, 0, 1], "sweep")
    _same(out["swept_high"], [NAN, NAN, NAN, 12, NAN, NAN, NAN], "swept_high")
    _same(out["swept_low"], [NAN, NAN, NAN, NAN, 9.5, NAN, 9], "swept_low")


def test_fvg_by_hand():
    # Bar 2: low 11.5 > high[0] 10 -> bullish gap 10..11.5. Bar 3: low 12 > high[1] 11 -> gap 11..12 (newest).
    # Bar 4: low 10 reaches both bottoms (10 and 11): both filled. Bar 5: high 11.5 < low[3] 12 -> bearish
    # gap 11.5..12. Bar 6: high 9 < low[4] 10 -> bearish gap 9..10. Bar 7: high 11.8 fills 9..10 (reaches
    # its top) but not 11.5..12, which shows again; with max_zones=1 it was forgotten at bar 6.
    inputs = _arrays(high=[10, 11, 13, 14, 12, 11.5, 9, 11.8], low=[9, 10, 11.5, 12, 10, 9.5, 8, 8.5])
    out = _run("fvg", inputs)
    _same(out["bull_top"], [NAN, NAN, 11.5, 12, NAN, NAN, NAN, NAN], "bull_top")
    _same(out["bull_bottom"], [NAN, NAN, 10, 11, NAN, NAN, NAN, NAN], "bull_bottom")
    _same(out["bear_top"], [NAN] * 5 + [12, 10, 12], "bear_top")
    _same(out["bear_bottom"], [NAN] * 5 + [11.5, 9, 11.5], "bear_bottom")
    _same(out["fvg"], [0, 0, 1, 1, 0, -1, -1, 0], "fvg")
    _same(_run("fvg", inputs, max_zones=1)["bear_top"], [NAN] * 5 + [12, 10, NAN], "bear_top k=1")


def test_imbalance_by_hand():
    # Bodies: [10, 10.8], [11, 12], [12.2, 12.5], [10.5, 12], [9.6, 10]. Bar 1: 11 > 10.8 -> bullish
    # 10.8..11; bar 2: 12.2 > 12 -> bullish 12..12.2. Bar 3: low 10.4 fills both; body top 12 < 12.2 ->
    # bearish 12..12.2. Bar 4: body top 10 < 10.5 -> bearish 10..10.5 (newest); high 10.1 fills nothing.
    o, c = [10, 11, 12.5, 12, 10], [10.8, 12, 12.2, 10.5, 9.6]
    inputs = _arrays(open=o, close=c, high=np.maximum(o, c) + 0.1, low=np.minimum(o, c) - 0.1)
    out = _run("imbalance", inputs)
    _same(out["bull_top"], [NAN, 11, 12.2, NAN, NAN], "bull_top")
    _same(out["bull_bottom"], [NAN, 10.8, 12, NAN, NAN], "bull_bottom")
    _same(out["bear_top"], [NAN, NAN, NAN, 12.2, 10.5], "bear_top")
    _same(out["bear_bottom"], [NAN, NAN, NAN, 12, 10], "bear_bottom")
    _same(out["imbalance"], [0, 1, 1, -1, -1], "imbalance")


def test_displacement_by_hand():
    # ATR(1) is the true range. Bar 2: body +1.0 >= 1.5 x TR[1] 0.6 = 0.9 -> +1. Bar 3: body -1.2 < 1.5 x
    # TR[2] 1.1 = 1.65 -> 0. Bar 4: body -2.2 >= 1.5 x TR[3] 1.4 = 2.1 -> -1. Bars 0-1 have no prior ATR.
    inputs = _arrays(open=[10, 10.2, 10.4, 11.4, 10.2], high=[10.5, 10.6, 11.5, 11.4, 10.3],
                     low=[9.5, 10.0, 10.4, 10.0, 8.0], close=[10.2, 10.4, 11.4, 10.2, 8.0])
    _same(_run("displacement", inputs, period=1)["displacement"], [NAN, NAN, 1, 0, -1], "displacement")


def test_inducement_by_hand():
    # Major swings left = right = 2, minor 1/1. Major high 12 (bar 2, known at 4); bar 6 closes 12.4 above
    # it: uptrend; bar 6 also confirms the major low 8 (bar 4). Minor low 11 (bar 8, known at 9) lies inside
    # the leg from bar 4. Bar 10 trades down to 10.5: it takes 11 but stays above the major low 8 -> +1.
    inputs = _arrays(high=[10, 11, 12, 11.5, 11, 12, 12.5, 13.5, 13, 14, 13.9],
                     low=[9, 9.5, 10.5, 10, 8, 9, 10, 11.5, 11, 11.2, 10.5],
                     close=[9.5, 10.5, 11.5, 10.5, 8.5, 11.8, 12.4, 13, 11.5, 13.8, 10.8])
    out = _run("inducement", inputs, left=2, right=2, minor_left=1, minor_right=1)
    _same(out["inducement"], [0] * 10 + [1], "inducement")
    _same(out["inducement_level"], [NAN] * 10 + [11], "inducement_level")
    # The same bar reaching the major low is not an inducement (the leg's swing was reached).
    inputs["low"][10] = 7.9
    assert _run("inducement", inputs, left=2, right=2, minor_left=1, minor_right=1)["inducement"][10] == 0


def test_kill_zones_by_hand_follow_new_york_daylight_saving():
    # 2024-07-15 00:00 UTC is 20:00 EDT on the 14th: bars 0-3 are Asia (20-24), bars 6-8 London (02-05),
    # bars 11-13 New York (07-10), bar 14 (10:00) none. Running ranges restart at each zone.
    start = np.datetime64("2024-07-15T00:00", "ns").astype(np.int64)
    high = [5, 7, 6, 8, 1, 1, 3, 9, 4, 1, 1, 2, 2, 5, 9]
    low = [4, 3, 5, 2, 0, 0, 2, 1, 3, 0, 0, 1, 0.5, 4, 8]
    inputs = _arrays(high=high, low=low, ts=start + np.arange(15) * HOUR)
    out = _run("kill_zones", inputs)
    _same(out["asia"], [1, 1, 1, 1] + [0] * 11, "asia")
    _same(out["london"], [0] * 6 + [1, 1, 1] + [0] * 6, "london")
    _same(out["new_york"], [0] * 11 + [1, 1, 1, 0], "new_york")
    _same(out["kill_zone_high"], [5, 7, 7, 8, NAN, NAN, 3, 9, 9, NAN, NAN, 2, 2, 5, NAN], "high")
    _same(out["kill_zone_low"], [4, 3, 3, 2, NAN, NAN, 2, 1, 1, NAN, NAN, 1, 0.5, 0.5, NAN], "low")
    # In January (EST, UTC-5) 00:00 UTC is 19:00: outside Asia; 01:00 UTC is 20:00: inside.
    winter = np.datetime64("2024-01-15T00:00", "ns").astype(np.int64) + np.arange(2) * HOUR
    _same(_run("kill_zones", _arrays(high=[1, 1], low=[1, 1], ts=winter))["asia"], [0, 1], "asia in winter")


def test_kill_zones_restart_each_day_and_wrap_midnight():
    # Daily bars at 00:00 UTC fall in the Asia zone every summer day: each day is its own occurrence.
    days = np.datetime64("2024-07-01", "ns").astype(np.int64) + np.arange(5) * 24 * HOUR
    high, low = [3, 5, 4, 6, 2], [1, 2, 3, 1, 0]
    out = _run("kill_zones", _arrays(high=high, low=low, ts=days))
    _same(out["kill_zone_high"], high, "daily high")
    _same(out["kill_zone_low"], low, "daily low")
    # A 22:00-02:00 window wraps midnight: 22:00, 23:00, 00:00, 01:00 New York time are one occurrence;
    # 02:00 is outside it (the end is excluded) and in London.
    evening = np.datetime64("2024-07-15T01:00", "ns").astype(np.int64) + np.arange(6) * HOUR  # 21:00 .. 02:00
    out = _run("kill_zones", _arrays(high=[9, 1, 2, 4, 3, 9], low=[0, 1, 0.5, 2, 1, 0], ts=evening),
               asia_start=22.0, asia_end=2.0)
    _same(out["asia"], [0, 1, 1, 1, 1, 0], "wrapped asia")
    _same(out["kill_zone_high"], [NAN, 1, 2, 4, 4, 9], "wrapped high")  # 02:00 opens London: a new range
    _same(out["kill_zone_low"], [NAN, 1, 0.5, 0.5, 0.5, 0], "wrapped low")


def test_heikin_ashi_by_hand():
    # Bar 0: close (10+11+9+10.5)/4 = 10.125, open (10+10.5)/2 = 10.25. Bar 1: close 11, open
    # (10.25+10.125)/2 = 10.1875. Bar 2: close 11.4, open (10.1875+11)/2 = 10.59375, below the real low
    # 11.2, so it is the Heikin-Ashi low.
    inputs = _arrays(open=[10, 10.5, 11.5], high=[11, 12, 11.6], low=[9, 10, 11.2], close=[10.5, 11.5, 11.3])
    out = _run("heikin_ashi", inputs)
    _same(out["ha_open"], [10.25, 10.1875, 10.59375], "ha_open")
    _same(out["ha_close"], [10.125, 11, 11.4], "ha_close")
    _same(out["ha_high"], [11, 12, 11.6], "ha_high")
    _same(out["ha_low"], [9, 10, 10.59375], "ha_low")


# ---------------------------------------------------------------------------------------------------------
# references on GOOG and random bars
# ---------------------------------------------------------------------------------------------------------
SWING_PARAMS = [{"left": 5, "right": 5}, {"left": 3, "right": 2}]


@pytest.fixture(params=sorted(DATASETS), scope="module")
def data(request):
    bars = DATASETS[request.param]()
    return bars, {c: list(bars.column(c)) for c in ("open", "high", "low", "close")}


@pytest.mark.parametrize("params", SWING_PARAMS)
def test_swing_family_matches_references(data, params):
    bars, p = data
    h, lo, c = p["high"], p["low"], p["close"]
    sh, sl = ref_pivots(h, lo, **params)
    out = indicators.compute_arrays("swings", _columns(bars), **params)
    for name, ref in {"swing_high": sh, "swing_low": sl, "last_swing_high": ref_carry(sh),
                      "last_swing_low": ref_carry(sl)}.items():
        _same(out[name], ref, name)
    s = ref_structure(h, lo, c, **params)
    out = indicators.compute_arrays("market_structure", _columns(bars), **params)
    for name in ("bos", "mss", "trend"):
        _same(out[name], s[name], name)
    assert np.abs(out["bos"]).sum() > 5
    assert np.abs(out["mss"]).sum() > 5
    top, bottom = ref_carry(sh), ref_carry(sl)
    eq = [(a + b) / 2 for a, b in zip(top, bottom, strict=True)]
    position = [NAN if np.isnan(e) else float(np.sign(e - x)) for e, x in zip(eq, c, strict=True)]
    out = indicators.compute_arrays("premium_discount", _columns(bars), **params)
    _same(out["equilibrium"], eq, "equilibrium")
    _same(out["range_high"], [max(a, b) if not np.isnan(e) else NAN for a, b, e in zip(top, bottom, eq, strict=True)],
          "range_high")
    _same(out["range_low"], [min(a, b) if not np.isnan(e) else NAN for a, b, e in zip(top, bottom, eq, strict=True)],
          "range_low")
    _same(out["position"], position, "position")
    sweep, hi_lvl, lo_lvl = ref_sweeps(h, lo, c, **params)
    out = indicators.compute_arrays("liquidity_sweep", _columns(bars), **params)
    _same(out["sweep"], sweep, "sweep")
    _same(out["swept_high"], hi_lvl, "swept_high")
    _same(out["swept_low"], lo_lvl, "swept_low")
    assert np.abs(out["sweep"]).sum() > 5


@pytest.mark.parametrize(("params", "k"), [(SWING_PARAMS[0], 5), (SWING_PARAMS[1], 2)])
def test_blocks_match_references(data, params, k):
    bars, p = data
    o, h, lo, c = p["open"], p["high"], p["low"], p["close"]
    s = ref_structure(h, lo, c, **params)
    bull, bear = ref_order_block_candidates(o, h, lo, c, s["brk"], s["origin"])
    for id_, flip, event in (("order_blocks", False, "order_block"), ("breaker_blocks", True, "breaker")):
        zones, events = ref_zones(bull, bear, c, c, inclusive=False, k=k, flip=flip)
        out = indicators.compute_arrays(id_, _columns(bars), **params, max_zones=k)
        for name in ZONE_NAMES:
            _same(out[name], zones[name], f"{id_}.{name}")
        _same(out[event], events, f"{id_}.{event}")
        assert np.abs(out[event]).sum() > 5
    bull, bear = ref_mitigation_candidates(o, h, lo, c, s)
    zones, events = ref_zones(bull, bear, c, c, inclusive=False, k=k)
    out = indicators.compute_arrays("mitigation_blocks", _columns(bars), **params, max_zones=k)
    for name in ZONE_NAMES:
        _same(out[name], zones[name], f"mitigation_blocks.{name}")
    _same(out["mitigation"], events, "mitigation")
    assert (out["mitigation"] > 0).any()
    assert (out["mitigation"] < 0).any()


@pytest.mark.parametrize("k", [5, 1])
def test_gap_zones_match_references(data, k):
    bars, p = data
    o, h, lo, c = p["open"], p["high"], p["low"], p["close"]
    for id_, (bull, bear) in (("fvg", ref_fvg_candidates(h, lo)), ("imbalance", ref_imbalance_candidates(o, c))):
        zones, events = ref_zones(bull, bear, lo, h, inclusive=True, k=k)
        out = indicators.compute_arrays(id_, _columns(bars), max_zones=k)
        for name in ZONE_NAMES:
            _same(out[name], zones[name], f"{id_}.{name}")
        _same(out[id_], events, f"{id_}.{id_}")


@pytest.mark.parametrize("params", [{}, {"left": 4, "right": 3, "minor_left": 1, "minor_right": 1}])
def test_inducement_matches_reference(data, params):
    bars, p = data
    full = indicators.get("inducement").resolve(params)
    signal, level = ref_inducement(p["high"], p["low"], p["close"], **full)
    out = indicators.compute_arrays("inducement", _columns(bars), **params)
    _same(out["inducement"], signal, "inducement")
    _same(out["inducement_level"], level, "inducement_level")
    assert (out["inducement"] > 0).any()
    assert (out["inducement"] < 0).any()


@pytest.mark.parametrize("params", [{}, {"period": 5, "multiplier": 1.0}])
def test_displacement_matches_talib_atr_of_the_bar_before(data, params):
    bars, _ = data
    full = indicators.get("displacement").resolve(params)
    atr = np.r_[NAN, talib.ATR(bars.high, bars.low, bars.close, timeperiod=full["period"])[:-1]]
    body = bars.close - bars.open
    with np.errstate(invalid="ignore"):
        expected = np.where(np.isnan(atr), NAN, np.sign(body) * (np.abs(body) >= full["multiplier"] * atr))
    out = indicators.compute_arrays("displacement", _columns(bars), **params)["displacement"]
    _same(out, expected, "displacement")
    assert np.abs(out[np.isfinite(out)]).sum() > 5


@pytest.mark.parametrize("params", [{}, {"asia_start": 19.0, "asia_end": 1.5, "london_start": 1.0,
                                         "london_end": 4.25, "timezone": "Europe/London"}])
def test_kill_zones_match_reference(data, params):
    bars, p = data
    full = indicators.get("kill_zones").resolve(params)
    windows = [(round(full[f"{z}_start"] * 60), round(full[f"{z}_end"] * 60)) for z in ("asia", "london", "new_york")]
    flags, hi, lo = ref_kill_zones(bars.ts, p["high"], p["low"], windows, full["timezone"])
    out = indicators.compute_arrays("kill_zones", _columns(bars), **params)
    for name, ref in zip(("asia", "london", "new_york"), flags, strict=True):
        _same(out[name], ref, name)
    _same(out["kill_zone_high"], hi, "kill_zone_high")
    _same(out["kill_zone_low"], lo, "kill_zone_low")


def test_heikin_ashi_matches_reference(data):
    bars, p = data
    out = indicators.compute_arrays("heikin_ashi", _columns(bars))
    for name, ref in zip(("ha_open", "ha_high", "ha_low", "ha_close"),
                         ref_heikin_ashi(p["open"], p["high"], p["low"], p["close"]), strict=True):
        _same(out[name], ref, name)



@pytest.mark.parametrize(("id_", "params"), [
    ("swings", {"left": 2, "right": 3}),
    ("market_structure", {"left": 1, "right": 1}),
    ("order_blocks", {"left": 2, "right": 1, "max_zones": 1}),
    ("breaker_blocks", {"left": 3, "right": 2, "max_zones": 3}),
    ("mitigation_blocks", {"left": 2, "right": 2, "max_zones": 2}),
    ("liquidity_sweep", {"left": 1, "right": 4}),
    ("inducement", {"left": 3, "right": 3, "minor_left": 1, "minor_right": 1}),
    ("premium_discount", {"left": 1, "right": 1}),
    ("fvg", {"max_zones": 1}),
    ("imbalance", {"max_zones": 2}),
    ("displacement", {"period": 3, "multiplier": 0.5}),
    ("kill_zones", {"asia_start": 22.0, "asia_end": 3.0, "london_start": 2.5, "timezone": "Asia/Tokyo"}),
])
def test_causal_and_conformant_at_other_parameters(id_, params):
    check_indicator(indicators.get(id_), params=params, cuts=(1, 3, 37, 250, 511, 777, 900))
    check_indicator(indicators.get(id_), bars=DATASETS["goog"](), params=params, cuts=(5, 100, 1000, 2000))
