"""Support and resistance: price levels from the previous period, from swings and from clusters of swings.

Every level here is reported only once it is knowable: pivot points from the first
bar of the period after the one they are computed from, swing-based levels
``right`` bars after the swing bar (the bars that confirm it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np

from backgrid.data.calendar import Calendar
from backgrid.indicators.kernels import core_nb, levels_nb
from backgrid.indicators.periods import period_ids
from backgrid.indicators.spec import Output, Param, indicator

_PIVOT_INPUTS = ("high", "low", "close", "ts", "calendar")
_PIVOT_PERIOD = Param.choice("period", "day", ("day", "week", "month"), title="Period",
                             help="Levels come from the previous completed day, week or month "
                                  "(in the market's time zone).")
_PIVOT_CONFIRMATION = ("levels of a period come from the previous completed period and apply from the first bar "
                       "of the period on; the first period in the data has none")
_LEFT = Param.int("left", 5, min=1, max=200, title="Bars left",
                  help="A swing high must be above this many bars before it (a swing low below).")
_RIGHT = Param.int("right", 5, min=1, max=200, title="Bars right",
                   help="Bars after the swing that confirm it (the delay before it is reported).")
_SWING_CONFIRMATION = "a swing is used from `right` bars after the bar that made it, when it is confirmed"

Period = Literal["day", "week", "month"]


Levels = dict[str, np.ndarray]


def _classic(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> Levels:
    p = (h + lo + c) / 3.0
    return {"pivot": p, "r1": 2.0 * p - lo, "r2": p + (h - lo), "r3": h + 2.0 * (p - lo),
            "s1": 2.0 * p - h, "s2": p - (h - lo), "s3": lo - 2.0 * (h - p)}


def _fibonacci(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> Levels:
    p = (h + lo + c) / 3.0
    return {"pivot": p, **{f"r{k}": p + f * (h - lo) for k, f in enumerate((0.382, 0.618, 1.0), start=1)},
            **{f"s{k}": p - f * (h - lo) for k, f in enumerate((0.382, 0.618, 1.0), start=1)}}


def _camarilla(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> Levels:
    return {**{f"r{k}": c + (h - lo) * 1.1 / d for k, d in enumerate((12.0, 6.0, 4.0, 2.0), start=1)},
            **{f"s{k}": c - (h - lo) * 1.1 / d for k, d in enumerate((12.0, 6.0, 4.0, 2.0), start=1)}}


def _woodie(h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> Levels:
    p = (h + lo + 2.0 * c) / 4.0
    return {"pivot": p, "r1": 2.0 * p - lo, "r2": p + (h - lo), "s1": 2.0 * p - h, "s2": p - (h - lo)}


def _pivots(formula: Callable[[np.ndarray, np.ndarray, np.ndarray], Levels], high: np.ndarray, low: np.ndarray,
            close: np.ndarray, ts: np.ndarray, *, calendar: Calendar, period: Period) -> Levels:
    """Apply a pivot ``formula`` to the previous completed period's high, low and close, on every bar.

    Every pivot formula is a weighted sum of H, L and C, so the formula run on the
    unit vectors gives its weights, and one kernel pass applies them.
    """
    weights = formula(*np.eye(3))
    hlc = levels_nb.previous_period_hlc_nb(high, low, close, period_ids(ts, calendar, period),
                                           np.empty((3, close.size)))
    levels = levels_nb.weighted_levels_nb(hlc, np.array(list(weights.values())),
                                          np.empty((len(weights), close.size)))
    return dict(zip(weights, levels, strict=True))


def _zones(names: tuple[str, ...], what: str) -> tuple[Output, ...]:
    return tuple(Output(name, "zone", f"{name.upper()} {what}", sparse=True) for name in names)


@indicator("pivots_classic", name="Pivot points (classic)", category="support_resistance", tier="beginner",
           description="Floor-trader pivot P and three resistances and supports from the previous period's H, L, C.",
           inputs=_PIVOT_INPUTS, params=(_PIVOT_PERIOD,),
           outputs=(Output("pivot", "zone", "P = (H + L + C) / 3", sparse=True),
                    *_zones(("r1", "r2", "r3", "s1", "s2", "s3"), "level (classic)")),
           warmup=lambda **_: 0, confirmation=_PIVOT_CONFIRMATION)
def pivots_classic(high: np.ndarray, low: np.ndarray, close: np.ndarray, ts: np.ndarray, calendar: Calendar, *,
                   period: Period) -> Levels:
    """Classic pivots: R1 = 2P - L, S1 = 2P - H, R2/S2 = P ± (H - L), R3 = H + 2(P - L), S3 = L - 2(H - P)."""
    return _pivots(_classic, high, low, close, ts, calendar=calendar, period=period)


@indicator("pivots_fibonacci", name="Pivot points (Fibonacci)", category="support_resistance",
           tier="intermediate",
           description="Pivot P of the previous period plus and minus 38.2%, 61.8% and 100% of its range.",
           inputs=_PIVOT_INPUTS, params=(_PIVOT_PERIOD,),
           outputs=(Output("pivot", "zone", "P = (H + L + C) / 3", sparse=True),
                    *_zones(("r1", "r2", "r3", "s1", "s2", "s3"), "level: P ± 0.382, 0.618, 1 × (H - L)")),
           warmup=lambda **_: 0, confirmation=_PIVOT_CONFIRMATION)
def pivots_fibonacci(high: np.ndarray, low: np.ndarray, close: np.ndarray, ts: np.ndarray, calendar: Calendar, *,
                     period: Period) -> Levels:
    """Fibonacci pivots: R/S k = P ± (0.382, 0.618, 1.0) × (H - L)."""
    return _pivots(_fibonacci, high, low, close, ts, calendar=calendar, period=period)


@indicator("pivots_camarilla", name="Pivot points (Camarilla)", category="support_resistance", tier="advanced",
           description="Camarilla levels: previous close ± 1.1/12, 1.1/6, 1.1/4 and 1.1/2 of the previous range.",
           inputs=_PIVOT_INPUTS, params=(_PIVOT_PERIOD,),
           outputs=_zones(("r1", "r2", "r3", "r4", "s1", "s2", "s3", "s4"), "level: C ± 1.1 × (H - L) / (12, 6, 4, 2)"),
           warmup=lambda **_: 0, confirmation=_PIVOT_CONFIRMATION)
def pivots_camarilla(high: np.ndarray, low: np.ndarray, close: np.ndarray, ts: np.ndarray, calendar: Calendar, *,
                     period: Period) -> Levels:
    """Camarilla pivots: R/S k = C ± (H - L) × 1.1 / (12, 6, 4, 2) for k = 1..4."""
    return _pivots(_camarilla, high, low, close, ts, calendar=calendar, period=period)


@indicator("pivots_woodie", name="Pivot points (Woodie)", category="support_resistance", tier="intermediate",
           description="Woodie pivots: P = (H + L + 2C) / 4 of the previous period, two resistances, two supports.",
           inputs=_PIVOT_INPUTS, params=(_PIVOT_PERIOD,),
           outputs=(Output("pivot", "zone", "P = (H + L + 2C) / 4", sparse=True),
                    *_zones(("r1", "r2", "s1", "s2"), "level (Woodie)")),
           warmup=lambda **_: 0, confirmation=_PIVOT_CONFIRMATION)
def pivots_woodie(high: np.ndarray, low: np.ndarray, close: np.ndarray, ts: np.ndarray, calendar: Calendar, *,
                  period: Period) -> Levels:
    """Woodie's pivots: R1 = 2P - L, S1 = 2P - H, R2/S2 = P ± (H - L)."""
    return _pivots(_woodie, high, low, close, ts, calendar=calendar, period=period)


_FIB_RATIOS = (0.0, 0.236, 0.382, 0.5, 0.618, 0.786, 1.0)
_FIB_NAMES = tuple(f"fib_{round(r * 1000):d}" for r in _FIB_RATIOS)


@indicator("fib_retracement", name="Fibonacci retracement", category="support_resistance", tier="intermediate",
           description="Retracement levels (0 to 100%) of the move between the latest confirmed swing high and low.",
           inputs=("high", "low"), params=(_LEFT, _RIGHT),
           outputs=tuple(Output(name, "zone", f"{r:.1%} of the way back from the last swing to the one before",
                                sparse=True) for name, r in zip(_FIB_NAMES, _FIB_RATIOS, strict=True)),
           warmup=lambda left, right, **_: left + right, confirmation=_SWING_CONFIRMATION)
def fib_retracement(high: np.ndarray, low: np.ndarray, *, left: int, right: int) -> Levels:
    """Fibonacci retracement of the last confirmed swing.

    Swings are :func:`~backgrid.indicators.kernels.core_nb.pivot_high_nb` /
    ``pivot_low_nb`` points. Once a swing high and a swing low are both confirmed,
    the move runs from the older of the two to the newer: after a swing up
    (low, then high) 0% is the high and 100% the low; after a swing down 0% is
    the low and 100% the high. If one bar made both, it counts as a swing up.
    """
    swing_high, swing_low = np.empty((2, high.size))
    core_nb.swings_nb(high, low, left, right, swing_high, swing_low)
    levels = levels_nb.swing_retracement_nb(swing_high, swing_low, right, np.asarray(_FIB_RATIOS),
                                            np.empty((len(_FIB_RATIOS), high.size)))
    return dict(zip(_FIB_NAMES, levels, strict=True))


@indicator("sr_zones", name="Support/resistance zones", category="support_resistance", tier="advanced",
           description="Nearest zones above and below the close where recent swing highs and lows cluster.",
           inputs=("high", "low", "close"),
           params=(_LEFT, _RIGHT,
                   Param.int("lookback", 200, min=10, max=5000, title="Lookback",
                             help="Swings made in this many last bars are clustered."),
                   Param.float("tolerance", 0.5, min=0.01, max=10.0, step=0.05, title="Tolerance (ATR)",
                               help="Swings within this many ATRs of a zone's first point join it."),
                   Param.int("atr_period", 14, min=1, max=1000, title="ATR period", help="Bars in the ATR."),
                   Param.int("min_touches", 2, min=1, max=50, title="Minimum touches",
                             help="Swings a cluster needs to count as a zone.")),
           outputs=(Output("resistance_upper", "zone", "top of the nearest resistance zone above the close",
                           sparse=True),
                    Output("resistance_lower", "zone", "bottom of the nearest resistance zone above the close",
                           sparse=True),
                    Output("support_upper", "zone", "top of the nearest support zone below the close", sparse=True),
                    Output("support_lower", "zone", "bottom of the nearest support zone below the close",
                           sparse=True)),
           warmup=lambda left, right, atr_period, **_: max(left + right, atr_period),
           confirmation=_SWING_CONFIRMATION)
def sr_zones(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, left: int, right: int, lookback: int,
             tolerance: float, atr_period: int, min_touches: int) -> Levels:
    """Support and resistance zones from clustered swings.

    Points: the confirmed swing highs and lows (``pivot_high_nb``/``pivot_low_nb``)
    made in the last ``lookback`` bars, highs and lows alike (a broken resistance
    becomes support). Resistance: walk up from the lowest point strictly above the
    close; a cluster starts at a point ``p`` and takes every further point up to
    ``p + tolerance × ATR``; the first cluster with at least ``min_touches`` points
    is the zone, bounded by its lowest and highest point. Support mirrors this
    downwards from the highest point strictly below the close. A zone the close is
    inside is neither: its points split into the two sides.
    """
    swing_high, swing_low, atr = np.empty((3, close.size))
    core_nb.swings_nb(high, low, left, right, swing_high, swing_low)
    core_nb.atr_nb(high, low, close, atr_period, atr)
    zones = levels_nb.sr_zones_nb(close, swing_high, swing_low, atr, right, lookback, tolerance, min_touches,
                                  np.empty((4, close.size)))
    return dict(zip(("resistance_upper", "resistance_lower", "support_upper", "support_lower"), zones, strict=True))
