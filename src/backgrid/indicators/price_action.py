"""Price action: swings, market structure and the ICT zone concepts, kill zones, Heikin-Ashi.

None of these has a TA-Lib counterpart, so each is defined here exactly. Shared rules:

* **Swings.** Bar ``j`` is a swing high when its high is strictly above the ``left``
  highs before it and at least as high as the ``right`` highs after it (lows mirror
  it). That is known only at bar ``j + right``: every swing is reported there,
  never at ``j``.
* **Levels known before a bar.** Breaks, sweeps and inducements judge bar ``t``
  against the swings confirmed up to bar ``t - 1``; the swings confirmed at ``t``
  count from ``t + 1`` on (their own confirmation bar can never cross them).
* **Breaks.** A swing level is broken once, by the first close strictly beyond it.
* **Zones** (gaps and blocks) are ``(top, bottom)`` price bands. Each side keeps
  its ``max_zones`` newest live zones; the outputs show the newest one, and when it
  dies the previous live one shows again. A zone is judged from the bar after the
  one that creates it. Bullish zones lie below price (support) and die when price
  goes below their bottom, bearish ones lie above (resistance) and die above their
  top: gaps die when a low/high *touches or passes* the far edge (fully filled),
  blocks when a *close* passes it.

Every output at bar ``t`` uses bars up to ``t`` only and never changes afterwards.
"""

from __future__ import annotations

import numpy as np

from backgrid.data.calendar import day_offsets
from backgrid.indicators.kernels import core_nb, price_action_nb
from backgrid.indicators.spec import Output, Param, indicator

_LEFT = Param.int("left", 5, min=1, max=500, title="Bars to the left",
                  help="A swing high must be higher than this many bars before it (a swing low lower).")
_RIGHT = Param.int("right", 5, min=1, max=500, title="Bars to the right",
                   help="Bars after a swing that must not go beyond it; the swing is confirmed this many bars later.")
_ZONES = Param.int("max_zones", 5, min=1, max=100, title="Zones remembered",
                   help="Live zones kept per side; when the newest dies, the previous live one shows again.")
_SWING_DELAY = "swings are confirmed `right` bars after the bar that made them"
_ZONE_OUTPUTS = (
    Output("bull_top", "zone", "top of the newest live bullish zone", sparse=True),
    Output("bull_bottom", "zone", "bottom of the newest live bullish zone", sparse=True),
    Output("bear_top", "zone", "top of the newest live bearish zone", sparse=True),
    Output("bear_bottom", "zone", "bottom of the newest live bearish zone", sparse=True),
)

Arrays = dict[str, np.ndarray]
Events = tuple[np.ndarray, ...]
ZoneEvents = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # at, sign, top, bottom


def _pivots(high: np.ndarray, low: np.ndarray, left: int, right: int) -> tuple[np.ndarray, np.ndarray]:
    swings: tuple[np.ndarray, np.ndarray] = core_nb.swings_nb(high, low, left, right, *np.empty((2, high.size)))
    return swings


def _breaks(high: np.ndarray, low: np.ndarray, close: np.ndarray, left: int, right: int) -> Events:
    """Break events ``(at, sign, shift, origin, ref, ref_origin)`` (see ``structure_nb``)."""
    events: Events = price_action_nb.structure_nb(close, *_pivots(high, low, left, right), right)
    return events


def _zones(n: int, events: ZoneEvents, bull_price: np.ndarray, bear_price: np.ndarray, event: str, *,
           max_zones: int, touch: bool, flip: bool = False) -> Arrays:
    names = ("bull_top", "bull_bottom", "bear_top", "bear_bottom", event)
    result = price_action_nb.zones_nb(n, *events, bull_price, bear_price, touch, max_zones, flip, np.empty((5, n)))
    return dict(zip(names, result, strict=True))


def _order_blocks(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,  # noqa: A002
                  *, left: int, right: int) -> ZoneEvents:
    at, sign, _, origin, _, _ = _breaks(high, low, close, left, right)
    events: ZoneEvents = price_action_nb.order_block_candidates_nb(open, high, low, close, at, sign, origin)
    return events


@indicator("swings", name="Swing highs and lows", category="price_action", tier="beginner",
           description="Confirmed swing highs and lows (pivots), shown when confirmed, with the last of each held.",
           inputs=("high", "low"), params=(_LEFT, _RIGHT),
           outputs=(Output("swing_high", "zone", "a new swing high's level, on the bar that confirms it",
                           sparse=True),
                    Output("swing_low", "zone", "a new swing low's level, on the bar that confirms it", sparse=True),
                    Output("last_swing_high", "zone", "the last confirmed swing high, held", sparse=True),
                    Output("last_swing_low", "zone", "the last confirmed swing low, held", sparse=True)),
           warmup=lambda left, right, **_: left + right,
           confirmation="a swing is reported `right` bars after the bar that made it (on the bar that confirms it)")
def swings(high: np.ndarray, low: np.ndarray, *, left: int, right: int) -> Arrays:
    """Swing highs and lows, each at the bar that confirms it, and the last of each carried forward."""
    sh, sl, last_high, last_low = np.empty((4, high.size))
    core_nb.swings_nb(high, low, left, right, sh, sl)
    return {"swing_high": sh, "swing_low": sl, "last_swing_high": price_action_nb.carry_nb(sh, last_high),
            "last_swing_low": price_action_nb.carry_nb(sl, last_low)}


@indicator("market_structure", name="Market structure (BOS / MSS)", category="price_action", tier="intermediate",
           description="Breaks of structure and market-structure shifts: closes beyond the last confirmed swing.",
           inputs=("high", "low", "close"), params=(_LEFT, _RIGHT),
           outputs=(Output("bos", "signal", "break of structure: +1 close above the last swing high in an "
                                            "uptrend (or none yet), -1 below the last swing low in a downtrend"),
                    Output("mss", "signal", "market-structure shift (change of character): a break against "
                                            "the trend, +1 up, -1 down"),
                    Output("trend", "signal", "+1 up, -1 down: direction of the last break; 0 before any")),
           warmup=lambda **_: 0,
           confirmation=f"{_SWING_DELAY}; a break is reported at the bar whose close crosses the level")
def market_structure(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, left: int, right: int) -> Arrays:
    """Break of structure, market-structure shift and trend from confirmed swings.

    The last confirmed swing high breaks at the first close strictly above it (once
    per swing); the swing low mirrors it. A break with the trend, or while no trend
    is set, is a BOS; a break against it is an MSS. Either sets the trend.
    """
    at, sign, shift, *_ = _breaks(high, low, close, left, right)
    bos, mss, trend = price_action_nb.structure_series_nb(close.size, at, sign, shift, *np.empty((3, close.size)))
    return {"bos": bos, "mss": mss, "trend": trend}


@indicator("fvg", name="Fair value gaps", category="price_action", tier="intermediate",
           description="Three-candle gaps: the newest unfilled bullish and bearish fair value gap and new-gap events.",
           inputs=("high", "low"), params=(_ZONES,),
           outputs=(*_ZONE_OUTPUTS, Output("fvg", "signal", "+1 a bullish gap forms on this bar, -1 a bearish one")),
           warmup=lambda **_: 0,
           confirmation="a gap is reported at the close of its third candle; fills count from the next bar")
def fvg(high: np.ndarray, low: np.ndarray, *, max_zones: int) -> Arrays:
    """Fair value gaps.

    Bullish at bar ``t`` when ``low[t] > high[t-2]`` (zone ``high[t-2]`` .. ``low[t]``);
    bearish when ``high[t] < low[t-2]`` (zone ``high[t]`` .. ``low[t-2]``). A bullish
    gap is filled (dies) at the first later bar whose low reaches its bottom, a
    bearish one when a high reaches its top.
    """
    events = price_action_nb.gap_candidates_nb(high, low, 2, body=False)
    return _zones(high.size, events, low, high, "fvg", max_zones=max_zones, touch=True)


@indicator("order_blocks", name="Order blocks", category="price_action", tier="advanced",
           description="The last opposite candle before a move that breaks structure (newest live block per side).",
           inputs=("open", "high", "low", "close"), params=(_LEFT, _RIGHT, _ZONES),
           outputs=(*_ZONE_OUTPUTS, Output("order_block", "signal", "+1 a bullish block forms on this bar, "
                                                                    "-1 a bearish one")),
           warmup=lambda **_: 0,
           confirmation=f"{_SWING_DELAY}; a block is reported at the bar that breaks structure, after its candle")
def order_blocks(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, *,  # noqa: A002
                 left: int, right: int, max_zones: int) -> Arrays:
    """Order blocks.

    At a bullish break (see ``market_structure``) at bar ``t`` of the swing high made
    at bar ``h``, the move's origin ``m`` is the lowest low in ``[h, t]`` (the latest
    on ties) and the block is the last down-close candle in ``[h, m]``, from its
    low to its high (none if there is no such candle). Bearish blocks mirror it
    (highest high, last up-close candle). A block dies at a close beyond its far side.
    """
    events = _order_blocks(open, high, low, close, left=left, right=right)
    return _zones(close.size, events, close, close, "order_block", max_zones=max_zones, touch=False)


@indicator("breaker_blocks", name="Breaker blocks", category="price_action", tier="advanced",
           description="Order blocks that price closed through, flipped: broken support becomes resistance and back.",
           inputs=("open", "high", "low", "close"), params=(_LEFT, _RIGHT, _ZONES),
           outputs=(*_ZONE_OUTPUTS, Output("breaker", "signal", "+1 a bullish breaker forms on this bar (a bearish "
                                                                "block closed through), -1 a bearish one")),
           warmup=lambda **_: 0,
           confirmation=f"{_SWING_DELAY}; a breaker is reported at the bar whose close goes through its order block")
def breaker_blocks(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, *,  # noqa: A002
                   left: int, right: int, max_zones: int) -> Arrays:
    """Breaker blocks.

    A live bullish order block (as ``order_blocks`` keeps them, ``max_zones`` per
    side) that a close goes below becomes a bearish breaker with the same bounds;
    a bearish block closed above becomes a bullish breaker. Breakers die like
    blocks: a bearish breaker at a close above its top, a bullish one below its
    bottom. ``breaker`` is 0 on a bar that makes one of each.
    """
    events = _order_blocks(open, high, low, close, left=left, right=right)
    return _zones(close.size, events, close, close, "breaker", max_zones=max_zones, touch=False, flip=True)


@indicator("mitigation_blocks", name="Mitigation blocks", category="price_action", tier="advanced",
           description="The swing candle of a failure swing (no new extreme), flipped by a structure shift through it.",
           inputs=("open", "high", "low", "close"), params=(_LEFT, _RIGHT, _ZONES),
           outputs=(*_ZONE_OUTPUTS, Output("mitigation", "signal", "+1 a bullish mitigation block forms on this "
                                                                   "bar, -1 a bearish one")),
           warmup=lambda **_: 0,
           confirmation=f"{_SWING_DELAY}; a block is reported at the shift bar, after its candle")
def mitigation_blocks(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, *,  # noqa: A002
                      left: int, right: int, max_zones: int) -> Arrays:
    """Mitigation blocks: the swing candle of a failure swing, flipped by a market-structure shift.

    Bullish: at a bullish shift (``market_structure``'s ``mss`` = +1) at bar ``t``,
    breaking the swing high made at bar ``h``, let ``L`` (made at bar ``r``) be the
    last swing low confirmed before that high was. If no low in ``[h, t]`` went
    below ``L`` (the downtrend failed to make a new low), the block is the last
    up-close candle in ``[r, h]`` (the candle that made the high, or the last up
    candle before it), low to high. Bearish mirrors it. Unlike a breaker, no order
    block had to form and fail: the old extreme was never taken. Blocks die at a
    close beyond their far side.
    """
    events = price_action_nb.mitigation_candidates_nb(open, high, low, close, *_breaks(high, low, close, left, right))
    return _zones(close.size, events, close, close, "mitigation", max_zones=max_zones, touch=False)


@indicator("liquidity_sweep", name="Liquidity sweeps", category="price_action", tier="intermediate",
           description="A wick beyond the last confirmed swing high or low that closes back inside on the same bar.",
           inputs=("high", "low", "close"), params=(_LEFT, _RIGHT),
           outputs=(Output("sweep", "signal", "-1 swing high swept, +1 swing low swept, 0 none (or both)"),
                    Output("swept_high", "zone", "the swing high swept on this bar", sparse=True),
                    Output("swept_low", "zone", "the swing low swept on this bar", sparse=True)),
           warmup=lambda **_: 0,
           confirmation=f"{_SWING_DELAY}; a sweep is judged on its own bar")
def liquidity_sweep(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, left: int, right: int) -> Arrays:
    """Liquidity sweeps.

    The last confirmed swing high is live until the first bar whose high goes above
    it; if that bar closes at or below the level it swept the buy-side liquidity
    (-1), otherwise it broke it (no sweep). Swing lows mirror it (+1). A bar that
    sweeps both sides gives 0 and both levels.
    """
    sweep, swept_high, swept_low = price_action_nb.sweeps_nb(high, low, close, *_pivots(high, low, left, right),
                                                             *np.empty((3, close.size)))
    return {"sweep": sweep, "swept_high": swept_high, "swept_low": swept_low}


@indicator("displacement", name="Displacement", category="price_action", tier="beginner",
           description="A strong candle: body at least k times the average true range, +1 up, -1 down.",
           inputs=("open", "high", "low", "close"),
           params=(Param.int("period", 14, min=1, max=1000, title="ATR period", help="Bars in the average true range."),
                   Param.float("multiplier", 1.5, min=0.1, max=20.0, title="Body / ATR",
                               help="How many ATRs the body must span.")),
           outputs=(Output("displacement", "signal", "+1 up displacement, -1 down, 0 none"),),
           warmup=lambda period, **_: period + 1)
def displacement(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, *,  # noqa: A002
                 period: int, multiplier: float) -> Arrays:
    """Displacement candles.

    +1 when ``close - open >= multiplier * ATR`` and -1 when ``open - close >= multiplier
    * ATR`` (non-zero body), where ATR is TA-Lib's ``ATR(period)`` of the bars before
    this one, so that the candle is measured against the volatility preceding it.
    """
    out, atr = np.empty((2, close.size))
    core_nb.atr_nb(high, low, close, period, atr)
    return {"displacement": price_action_nb.displacement_nb(open, close, atr, multiplier, out)}


@indicator("imbalance", name="Imbalance zones", category="price_action", tier="intermediate",
           description="Volume imbalances and opening gaps: the gap between two consecutive candle bodies.",
           inputs=("open", "high", "low", "close"), params=(_ZONES,),
           outputs=(*_ZONE_OUTPUTS, Output("imbalance", "signal", "+1 a bullish imbalance forms on this bar, "
                                                                  "-1 a bearish one")),
           warmup=lambda **_: 0,
           confirmation="a zone is reported at the close of its second candle; fills count from the next bar")
def imbalance(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray, *,  # noqa: A002
              max_zones: int) -> Arrays:
    """Imbalance (body-gap) zones.

    Bullish at bar ``t`` when the lower end of its body is strictly above the upper
    end of bar ``t-1``'s body (zone: ``max(open, close)[t-1]`` .. ``min(open, close)[t]``),
    whether or not the wicks overlap (volume imbalance or opening gap); bearish
    mirrors it. Zones are filled like fair value gaps: a later low (high) reaching
    the bottom (top).
    """
    events = price_action_nb.gap_candidates_nb(open, close, 1, body=True)
    return _zones(close.size, events, low, high, "imbalance", max_zones=max_zones, touch=True)


@indicator("inducement", name="Inducement", category="price_action", tier="advanced",
           description="A minor swing inside the current leg taken out before the leg's major swing is reached.",
           inputs=("high", "low", "close"),
           params=(_LEFT, _RIGHT,
                   Param.int("minor_left", 2, min=1, max=500, title="Minor bars to the left",
                             help="Left bars of the minor (internal) swings."),
                   Param.int("minor_right", 2, min=1, max=500, title="Minor bars to the right",
                             help="Right bars of the minor swings; they are confirmed this many bars later.")),
           outputs=(Output("inducement", "signal", "+1 a minor low taken in an uptrend above the major low, "
                                                   "-1 a minor high taken in a downtrend below the major high"),
                    Output("inducement_level", "zone", "the minor level taken on this bar", sparse=True)),
           warmup=lambda **_: 0,
           confirmation="major swings are confirmed `right` bars after they form, minor ones `minor_right`; "
                        "the event is reported at the bar that takes the minor level")
def inducement(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, left: int, right: int,
               minor_left: int, minor_right: int) -> Arrays:
    """Inducement.

    The trend is ``market_structure``'s (``left``/``right`` swings) as of the bar
    before. A minor swing (``minor_left``/``minor_right``) is live from its
    confirmation until the first bar that trades beyond it. In an uptrend, when that
    bar takes a minor low made after the last confirmed major swing low (inside the
    current leg) while its own low stays above that major low (the leg's swing not
    reached), the signal is +1; a minor high taken in a downtrend below the last
    major swing high gives -1.
    """
    sh, sl = _pivots(high, low, left, right)
    at, sign, *_ = price_action_nb.structure_nb(close, sh, sl, right)
    minor_sh, minor_sl = _pivots(high, low, minor_left, minor_right)
    signal, level = price_action_nb.inducement_nb(high, low, at, sign, sh, sl, right, minor_sh, minor_sl,
                                                  minor_right, *np.empty((2, high.size)))
    return {"inducement": signal, "inducement_level": level}


@indicator("premium_discount", name="Premium / discount zones", category="price_action", tier="beginner",
           description="The midpoint of the last swing high and low: above it is premium, below it discount.",
           inputs=("high", "low", "close"), params=(_LEFT, _RIGHT),
           outputs=(Output("equilibrium", "zone", "midpoint of the last swing high and swing low", sparse=True),
                    Output("range_high", "zone", "the higher of the two swing levels", sparse=True),
                    Output("range_low", "zone", "the lower of the two swing levels", sparse=True),
                    Output("position", "signal", "+1 close in discount (below equilibrium), -1 in premium, "
                                                 "0 on it", sparse=True)),
           warmup=lambda left, right, **_: left + right,
           confirmation=f"{_SWING_DELAY}; the range includes swings confirmed on the bar itself")
def premium_discount(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, left: int, right: int) -> Arrays:
    """Premium and discount from the last confirmed swing high and swing low (NaN until both exist)."""
    eq, top, bottom, position = price_action_nb.premium_discount_nb(close, *_pivots(high, low, left, right),
                                                                    *np.empty((4, close.size)))
    return {"equilibrium": eq, "range_high": top, "range_low": bottom, "position": position}


def _hour(name: str, default: float, title: str) -> Param:
    return Param.float(name, default, min=0.0, max=24.0, step=0.25, title=title,
                       help="Hour of day in the chosen time zone (24 = midnight; 7.5 = 07:30).")


@indicator("kill_zones", name="ICT kill zones", category="price_action", tier="beginner",
           description="Asia, London and New York kill zones (New York time by default) and the zone's running range.",
           inputs=("high", "low", "ts"),
           params=(_hour("asia_start", 20.0, "Asia start"), _hour("asia_end", 24.0, "Asia end"),
                   _hour("london_start", 2.0, "London start"), _hour("london_end", 5.0, "London end"),
                   _hour("new_york_start", 7.0, "New York start"), _hour("new_york_end", 10.0, "New York end"),
                   Param.choice("timezone", "America/New_York",
                                ("America/New_York", "Europe/London", "UTC", "Asia/Tokyo"), title="Time zone",
                                help="Wall clock the hours are read in; daylight saving follows it.")),
           outputs=(Output("asia", "signal", "1 while in the Asia kill zone, else 0"),
                    Output("london", "signal", "1 while in the London kill zone, else 0"),
                    Output("new_york", "signal", "1 while in the New York kill zone, else 0"),
                    Output("kill_zone_high", "zone", "highest high of the current kill zone so far", sparse=True),
                    Output("kill_zone_low", "zone", "lowest low of the current kill zone so far", sparse=True)),
           warmup=lambda **_: 0)
def kill_zones(high: np.ndarray, low: np.ndarray, ts: np.ndarray, *, asia_start: float, asia_end: float,
               london_start: float, london_end: float, new_york_start: float, new_york_end: float,
               timezone: str) -> Arrays:
    """Kill zones.

    A bar is in a zone when its open time, on the ``timezone`` wall clock, falls in
    ``[start, end)``; a window with ``end < start`` wraps midnight and one with
    ``end == start`` is empty. The running high/low cover the bars of the current
    zone occurrence (one zone, one local day's window) up to and including this
    bar; where windows overlap they follow the first of Asia, London, New York.
    The wall clock is the one :func:`~backgrid.indicators.periods.local_minutes`
    reads: the zone's UTC offset on each UTC day (taken at noon), so on the day of
    a daylight-saving switch the hours before it are read with the new offset.
    """
    hours = np.array([[asia_start, london_start, new_york_start], [asia_end, london_end, new_york_end]])
    minutes = np.rint(hours * 60).astype(np.int64)
    ts = np.ascontiguousarray(ts, dtype=np.int64)
    first_day, offsets = day_offsets(ts, timezone)
    out = np.empty((5, high.size))
    price_action_nb.kill_zones_nb(ts, first_day, offsets, high, low, minutes[0], minutes[1], out[:3], out[3], out[4])
    return dict(zip(("asia", "london", "new_york", "kill_zone_high", "kill_zone_low"), out, strict=True))


@indicator("heikin_ashi", name="Heikin-Ashi", category="price_action", tier="beginner",
           description="Heikin-Ashi candles: averaged bars that smooth the trend.",
           inputs=("open", "high", "low", "close"),
           outputs=(Output("ha_open", "price", "midpoint of the previous Heikin-Ashi open and close"),
                    Output("ha_high", "price", "max of high, ha_open and ha_close"),
                    Output("ha_low", "price", "min of low, ha_open and ha_close"),
                    Output("ha_close", "price", "(open + high + low + close) / 4")),
           warmup=lambda **_: 0)
def heikin_ashi(open: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray) -> Arrays:  # noqa: A002
    """Heikin-Ashi candles; the first ``ha_open`` is ``(open + close) / 2`` of the first bar."""
    ha_open, ha_high, ha_low, ha_close = price_action_nb.heikin_ashi_nb(open, high, low, close,
                                                                        *np.empty((4, close.size)))
    return {"ha_open": ha_open, "ha_high": ha_high, "ha_low": ha_low, "ha_close": ha_close}
