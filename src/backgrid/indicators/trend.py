"""Trend indicators (family module: the registry collects the decorated functions here).

Direction and strength of the trend: Wilder's directional system, Aroon,
Ichimoku, Parabolic SAR, Supertrend, Vortex, regression slope and the choppiness
index. Every value at bar ``t`` uses bars up to ``t`` only; Ichimoku's classic
forward-shifted cloud and backward-shifted chikou are turned into their causal
equivalents (see :func:`ichimoku`).
"""

from __future__ import annotations

import numpy as np

from backgrid.indicators.kernels import trend_nb
from backgrid.indicators.spec import Output, Param, TalibRef, indicator

Arrays = dict[str, np.ndarray]

_DI_PERIOD = Param.int("period", 14, min=2, max=1000, title="Period",
                       help="Bars in Wilder's smoothing of the directional movement and true range.")
_AROON_PERIOD = Param.int("period", 14, min=2, max=1000, title="Period",
                          help="Bars to look back for the highest high and lowest low.")
_PERCENT = (0.0, 100.0)
_HLC = ("high", "low", "close")


@indicator("adx", name="Average directional index", category="trend", tier="intermediate",
           description="Wilder's ADX: how strong the trend is, whichever its direction, 0 to 100.",
           inputs=_HLC, params=(_DI_PERIOD,),
           outputs=(Output("adx", "oscillator", "trend strength: above 25 trending, below 20 ranging",
                           range=_PERCENT),),
           warmup=lambda period, **_: 2 * period - 1, talib=TalibRef("ADX", {"period": "timeperiod"}))
def adx(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int) -> Arrays:
    """Average directional index (TA-Lib ADX)."""
    return {"adx": trend_nb.adx_nb(high, low, close, period, np.empty(close.size))}


@indicator("dmi", name="Directional movement index", category="trend", tier="intermediate",
           description="Wilder's +DI and -DI: the share of the true range made by up moves and by down moves.",
           inputs=_HLC, params=(_DI_PERIOD,),
           outputs=(Output("plus_di", "oscillator", "+DI: smoothed up moves as a percent of the true range",
                           range=_PERCENT),
                    Output("minus_di", "oscillator", "-DI: smoothed down moves as a percent of the true range",
                           range=_PERCENT)),
           warmup=lambda period, **_: period,
           talib=TalibRef("PLUS_DI", {"period": "timeperiod"}, {"plus_di": "real"}))
def dmi(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int) -> Arrays:
    """Directional indicators (TA-Lib PLUS_DI and MINUS_DI; the ADX is its own module)."""
    plus_di, minus_di = trend_nb.dmi_nb(high, low, close, period, *np.empty((2, close.size)))
    return {"plus_di": plus_di, "minus_di": minus_di}


@indicator("aroon", name="Aroon", category="trend", tier="intermediate",
           description="How recently the highest high (up) and lowest low (down) of the period were made, 0 to 100.",
           inputs=("high", "low"), params=(_AROON_PERIOD,),
           outputs=(Output("up", "oscillator", "100 on a new high, falling to 0 as it ages", range=_PERCENT),
                    Output("down", "oscillator", "100 on a new low, falling to 0 as it ages", range=_PERCENT)),
           warmup=lambda period, **_: period,
           talib=TalibRef("AROON", {"period": "timeperiod"}, {"up": "aroonup", "down": "aroondown"}))
def aroon(high: np.ndarray, low: np.ndarray, *, period: int) -> Arrays:
    """Aroon up and down over the last ``period + 1`` bars (TA-Lib AROON)."""
    up, down = trend_nb.aroon_nb(high, low, period, *np.empty((2, high.size)))
    return {"up": up, "down": down}


@indicator("aroon_osc", name="Aroon oscillator", category="trend", tier="intermediate",
           description="Aroon up minus Aroon down: positive when the recent high is newer than the recent low.",
           inputs=("high", "low"), params=(_AROON_PERIOD,),
           outputs=(Output("aroon_osc", "oscillator", "-100 (fresh lows) to +100 (fresh highs)",
                           range=(-100.0, 100.0)),),
           warmup=lambda period, **_: period, talib=TalibRef("AROONOSC", {"period": "timeperiod"}))
def aroon_osc(high: np.ndarray, low: np.ndarray, *, period: int) -> Arrays:
    """Aroon oscillator (TA-Lib AROONOSC)."""
    return {"aroon_osc": trend_nb.aroon_osc_nb(high, low, period, *np.empty((2, high.size)))}


def _ichimoku_warmup(tenkan_period: int, kijun_period: int, senkou_b_period: int, displacement: int,
                     **_: object) -> int:
    return max(tenkan_period, kijun_period, displacement + max(tenkan_period, kijun_period),
               displacement + senkou_b_period) - 1


@indicator("ichimoku", name="Ichimoku cloud", category="trend", tier="advanced",
           description="Ichimoku Kinko Hyo: conversion and base lines, the cloud spans in force now, and the close.",
           inputs=_HLC,
           params=(Param.int("tenkan_period", 9, min=1, max=1000, title="Conversion line period",
                             help="Bars for the tenkan-sen, the midpoint of the high-low range."),
                   Param.int("kijun_period", 26, min=1, max=1000, title="Base line period",
                             help="Bars for the kijun-sen."),
                   Param.int("senkou_b_period", 52, min=1, max=1000, title="Leading span B period",
                             help="Bars for senkou span B."),
                   Param.int("displacement", 26, min=1, max=1000, title="Displacement",
                             help="Bars the cloud is drawn ahead; the spans at a bar were computed that many "
                                  "bars earlier.")),
           outputs=(Output("tenkan", "price", "conversion line: midpoint of the short high-low range"),
                    Output("kijun", "price", "base line: midpoint of the medium high-low range"),
                    Output("senkou_a", "price", "leading span A in force at this bar (computed `displacement` "
                                                "bars ago)"),
                    Output("senkou_b", "price", "leading span B in force at this bar (computed `displacement` "
                                                "bars ago)"),
                    Output("chikou", "price", "lagging span: this bar's close (charts draw it `displacement` "
                                              "bars back)")),
           warmup=_ichimoku_warmup,
           confirmation="none: the cloud at a bar is the one projected `displacement` bars earlier, and the "
                        "lagging span is the current close rather than a value drawn back in time")
def ichimoku(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, tenkan_period: int, kijun_period: int,
             senkou_b_period: int, displacement: int) -> Arrays:
    """Ichimoku lines, made causal: spans as they apply to each bar, chikou as the close itself.

    All five outputs share one warm-up (until senkou span B first applies), so the
    conversion and base lines are NaN for the first bars although they could be
    computed earlier.
    """
    lines = trend_nb.ichimoku_nb(high, low, close, tenkan_period, kijun_period, senkou_b_period, displacement,
                                 *np.empty((5, close.size)))
    return dict(zip(("tenkan", "kijun", "senkou_a", "senkou_b", "chikou"), lines, strict=True))


@indicator("psar", name="Parabolic SAR", category="trend", tier="beginner",
           description="Wilder's stop-and-reverse: a trailing stop that speeds up as the trend extends.",
           inputs=("high", "low"),
           params=(Param.float("acceleration", 0.02, min=0.001, max=1.0, step=0.001, title="Acceleration",
                               help="Step added to the acceleration factor on each new extreme (and its start)."),
                   Param.float("maximum", 0.2, min=0.001, max=1.0, step=0.01, title="Maximum",
                               help="Cap on the acceleration factor.")),
           outputs=(Output("sar", "price", "the stop in force for this bar"),
                    Output("direction", "signal", "+1 while long (stop below price), -1 while short")),
           warmup=lambda **_: 1,
           talib=TalibRef("SAR", {"acceleration": "acceleration", "maximum": "maximum"}, {"sar": "real"}))
def psar(high: np.ndarray, low: np.ndarray, *, acceleration: float, maximum: float) -> Arrays:
    """Parabolic SAR (TA-Lib SAR) with the side it is on."""
    sar, direction = trend_nb.sar_nb(high, low, acceleration, maximum, *np.empty((2, high.size)))
    return {"sar": sar, "direction": direction}


@indicator("supertrend", name="Supertrend", category="trend", tier="beginner",
           description="An ATR band that trails price and flips side when the close crosses it.",
           inputs=_HLC,
           params=(Param.int("period", 10, min=1, max=1000, title="ATR period", help="Bars in the ATR."),
                   Param.float("multiplier", 3.0, min=0.1, max=20.0, step=0.1, title="Multiplier",
                               help="ATRs between the midpoint of the bar and the band.")),
           outputs=(Output("supertrend", "price", "the band in force: below price in an uptrend, above in a "
                                                  "downtrend"),
                    Output("direction", "signal", "+1 in an uptrend, -1 in a downtrend"),
                    Output("upper", "zone", "the upper band, shown while the trend is down", sparse=True),
                    Output("lower", "zone", "the lower band, shown while the trend is up", sparse=True)),
           warmup=lambda period, **_: period)
def supertrend(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int,
               multiplier: float) -> Arrays:
    """Supertrend on the bar midpoint with TA-Lib's ATR; starts in a downtrend like TradingView's."""
    line, direction, upper, lower = trend_nb.supertrend_nb(high, low, close, period, multiplier,
                                                           *np.empty((4, close.size)))
    return {"supertrend": line, "direction": direction, "upper": upper, "lower": lower}


@indicator("vortex", name="Vortex indicator", category="trend", tier="intermediate",
           description="VI+ and VI-: upward and downward price travel over the period, relative to the true range.",
           inputs=_HLC, params=(Param.int("period", 14, min=2, max=1000, title="Period", help="Bars summed."),),
           outputs=(Output("vi_plus", "line", "sum of |high - previous low| over the sum of true ranges"),
                    Output("vi_minus", "line", "sum of |low - previous high| over the sum of true ranges")),
           warmup=lambda period, **_: period)
def vortex(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int) -> Arrays:
    """Vortex indicator (Botes and Siepman)."""
    vi_plus, vi_minus = trend_nb.vortex_nb(high, low, close, period, *np.empty((2, close.size)))
    return {"vi_plus": vi_plus, "vi_minus": vi_minus}


@indicator("linreg_slope", name="Linear regression slope", category="trend", tier="intermediate",
           description="Slope of the least-squares line through the last N closes, in price per bar.",
           inputs=("close",),
           params=(Param.int("period", 14, min=2, max=5000, title="Period", help="Bars in the regression."),),
           outputs=(Output("linreg_slope", "line", "price change per bar along the fitted line"),),
           warmup=lambda period, **_: period - 1, talib=TalibRef("LINEARREG_SLOPE", {"period": "timeperiod"}))
def linreg_slope(close: np.ndarray, *, period: int) -> Arrays:
    """Linear regression slope (TA-Lib LINEARREG_SLOPE)."""
    return {"linreg_slope": trend_nb.linreg_slope_nb(close, period, np.empty(close.size))}


@indicator("choppiness", name="Choppiness index", category="trend", tier="intermediate",
           description="Whether the market trends (low) or moves sideways (high): summed true range vs net range.",
           inputs=_HLC,
           params=(Param.int("period", 14, min=2, max=1000, title="Period", help="Bars in the window."),),
           outputs=(Output("choppiness", "line", "about 0 to 100: above 61.8 choppy, below 38.2 trending (a gap "
                                                 "into the window can push it past 100)"),),
           warmup=lambda period, **_: period)
def choppiness(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int) -> Arrays:
    """Choppiness index (E.W. Dreiss), true ranges and high-low range over the same bars."""
    return {"choppiness": trend_nb.choppiness_nb(high, low, close, period, *np.empty((2, close.size)))}
