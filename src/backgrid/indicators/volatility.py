"""Volatility indicators (family module: the registry collects the decorated functions here).

How far and how fast price moves: true range averages, standard deviations and
the channels built on them (Bollinger, Keltner, Donchian), historical and
Chaikin volatility.
"""

from __future__ import annotations

import numpy as np

from backgrid.indicators.kernels import core_nb, volatility_nb
from backgrid.indicators.spec import Output, Param, TalibRef, indicator

Arrays = dict[str, np.ndarray]

_HLC = ("high", "low", "close")
_ATR_PERIOD = Param.int("period", 14, min=1, max=1000, title="Period",
                        help="Bars in Wilder's smoothing of the true range.")
_BB_PERIOD = Param.int("period", 20, min=2, max=5000, title="Period", help="Bars in the average and deviation.")
_BB_DEVS = (Param.float("deviations_up", 2.0, min=0.1, max=10.0, step=0.1, title="Deviations up",
                        help="Standard deviations from the middle band to the upper band."),
            Param.float("deviations_down", 2.0, min=0.1, max=10.0, step=0.1, title="Deviations down",
                        help="Standard deviations from the middle band to the lower band."))
_BANDS_TALIB = TalibRef("BBANDS", {"period": "timeperiod", "deviations_up": "nbdevup",
                                   "deviations_down": "nbdevdn"},
                        {"upper": "upperband", "middle": "middleband", "lower": "lowerband"}, fixed={"matype": 0})


@indicator("atr", name="Average true range", category="volatility", tier="beginner",
           description="Wilder's average of the true range: the typical size of a bar, gaps included.",
           inputs=_HLC, params=(_ATR_PERIOD,),
           outputs=(Output("atr", "line", "average true range, in price units"),),
           warmup=lambda period, **_: period, talib=TalibRef("ATR", {"period": "timeperiod"}))
def atr(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int) -> Arrays:
    """Average true range (TA-Lib ATR)."""
    return {"atr": core_nb.atr_nb(high, low, close, period, np.empty(close.size))}


@indicator("natr", name="Normalized average true range", category="volatility", tier="intermediate",
           description="The ATR as a percentage of the close, comparable across prices and symbols.",
           inputs=_HLC,
           # From 2: TA-Lib's NATR at period 1 returns the raw true range, not a percentage.
           params=(Param.int("period", 14, min=2, max=1000, title="Period",
                             help="Bars in Wilder's smoothing of the true range."),),
           outputs=(Output("natr", "line", "average true range in percent of the close"),),
           warmup=lambda period, **_: period, talib=TalibRef("NATR", {"period": "timeperiod"}))
def natr(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int) -> Arrays:
    """Normalized average true range (TA-Lib NATR)."""
    return {"natr": volatility_nb.natr_nb(high, low, close, period, np.empty(close.size))}


@indicator("bbands", name="Bollinger Bands", category="volatility", tier="beginner",
           description="A simple moving average with bands a number of standard deviations above and below.",
           inputs=("close",), params=(_BB_PERIOD, *_BB_DEVS),
           outputs=(Output("upper", "price", "middle band plus the up deviations"),
                    Output("middle", "price", "simple moving average"),
                    Output("lower", "price", "middle band minus the down deviations")),
           warmup=lambda period, **_: period - 1, talib=_BANDS_TALIB)
def bbands(close: np.ndarray, *, period: int, deviations_up: float, deviations_down: float) -> Arrays:
    """Bollinger Bands on the simple average with the population standard deviation (TA-Lib BBANDS, matype 0)."""
    upper, middle, lower = volatility_nb.bbands_nb(close, period, deviations_up, deviations_down,
                                                   *np.empty((3, close.size)))
    return {"upper": upper, "middle": middle, "lower": lower}


@indicator("bb_width", name="Bollinger band width", category="volatility", tier="intermediate",
           description="Distance between the Bollinger Bands relative to the middle band; low values mark squeezes.",
           inputs=("close",), params=(_BB_PERIOD, *_BB_DEVS),
           outputs=(Output("bb_width", "line", "(upper - lower) / middle"),),
           warmup=lambda period, **_: period - 1)
def bb_width(close: np.ndarray, *, period: int, deviations_up: float, deviations_down: float) -> Arrays:
    """Bollinger band width as a fraction of the middle band."""
    return {"bb_width": volatility_nb.bb_width_nb(close, period, deviations_up, deviations_down,
                                                  *np.empty((2, close.size)))}


@indicator("bb_percent", name="Bollinger %B", category="volatility", tier="intermediate",
           description="Where the close sits between the Bollinger Bands: 0 on the lower band, 1 on the upper.",
           inputs=("close",), params=(_BB_PERIOD, *_BB_DEVS),
           outputs=(Output("bb_percent", "line", "(close - lower) / (upper - lower); beyond 0..1 outside the "
                                                 "bands"),),
           warmup=lambda period, **_: period - 1)
def bb_percent(close: np.ndarray, *, period: int, deviations_up: float, deviations_down: float) -> Arrays:
    """Bollinger %B (0.5 when the bands meet on a flat window)."""
    return {"bb_percent": volatility_nb.bb_percent_nb(close, period, deviations_up, deviations_down,
                                                      *np.empty((2, close.size)))}


@indicator("keltner", name="Keltner channel", category="volatility", tier="intermediate",
           description="An EMA of the close with bands a multiple of the ATR above and below.",
           inputs=_HLC,
           params=(Param.int("period", 20, min=1, max=5000, title="EMA period", help="Bars in the middle EMA."),
                   Param.int("atr_period", 10, min=1, max=1000, title="ATR period", help="Bars in the ATR."),
                   Param.float("multiplier", 2.0, min=0.1, max=10.0, step=0.1, title="Multiplier",
                               help="ATRs from the middle line to each band.")),
           outputs=(Output("upper", "price", "middle plus multiplier x ATR"),
                    Output("middle", "price", "exponential moving average of the close"),
                    Output("lower", "price", "middle minus multiplier x ATR")),
           warmup=lambda period, atr_period, **_: max(period - 1, atr_period))
def keltner(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int, atr_period: int,
            multiplier: float) -> Arrays:
    """Keltner channel (modern form: EMA ± ATR, both as TA-Lib seeds them)."""
    upper, middle, lower = volatility_nb.keltner_nb(high, low, close, period, atr_period, multiplier,
                                                    *np.empty((3, close.size)))
    return {"upper": upper, "middle": middle, "lower": lower}


@indicator("donchian", name="Donchian channel", category="volatility", tier="beginner",
           description="The highest high and lowest low of the last N bars, and their midpoint.",
           inputs=("high", "low"),
           params=(Param.int("period", 20, min=1, max=5000, title="Period",
                             help="Bars in the window, the current bar included."),),
           outputs=(Output("upper", "price", "highest high of the window"),
                    Output("middle", "price", "midpoint of the upper and lower lines"),
                    Output("lower", "price", "lowest low of the window")),
           warmup=lambda period, **_: period - 1)
def donchian(high: np.ndarray, low: np.ndarray, *, period: int) -> Arrays:
    """Donchian channel over the last ``period`` bars including the current one."""
    upper, middle, lower = volatility_nb.donchian_nb(high, low, period, *np.empty((3, high.size)))
    return {"upper": upper, "middle": middle, "lower": lower}


@indicator("stddev", name="Standard deviation", category="volatility", tier="beginner",
           description="Population standard deviation of the last N closes, times a multiplier.",
           inputs=("close",),
           params=(Param.int("period", 20, min=2, max=5000, title="Period", help="Bars in the window."),
                   Param.float("deviations", 1.0, min=0.1, max=10.0, step=0.1, title="Deviations",
                               help="Multiplier applied to the standard deviation.")),
           outputs=(Output("stddev", "line", "standard deviation in price units"),),
           warmup=lambda period, **_: period - 1,
           talib=TalibRef("STDDEV", {"period": "timeperiod", "deviations": "nbdev"}))
def stddev(close: np.ndarray, *, period: int, deviations: float) -> Arrays:
    """Standard deviation (TA-Lib STDDEV)."""
    return {"stddev": volatility_nb.stddev_nb(close, period, deviations, np.empty(close.size))}


@indicator("hist_vol", name="Historical volatility", category="volatility", tier="intermediate",
           description="Annualised standard deviation of log returns over N bars, in percent.",
           inputs=("close",),
           params=(Param.int("period", 20, min=2, max=5000, title="Period", help="Returns in the window."),
                   Param.float("periods_per_year", 252.0, min=1.0, max=1_000_000.0, step=1.0,
                               title="Periods per year",
                               help="Bars in a year: 252 for daily stock bars, 365 for daily crypto, "
                                    "8760 for hourly crypto.")),
           outputs=(Output("hist_vol", "line", "annualised volatility in percent"),),
           warmup=lambda period, **_: period)
def hist_vol(close: np.ndarray, *, period: int, periods_per_year: float) -> Arrays:
    """Historical volatility: sample (n - 1) standard deviation of log returns, annualised."""
    return {"hist_vol": volatility_nb.hist_vol_nb(close, period, periods_per_year, *np.empty((2, close.size)))}


@indicator("chaikin_vol", name="Chaikin volatility", category="volatility", tier="advanced",
           description="Percent change over N bars of the EMA of the high-low range: widening or narrowing bars.",
           inputs=("high", "low"),
           params=(Param.int("period", 10, min=1, max=1000, title="EMA period",
                             help="Bars in the EMA of the high-low range."),
                   Param.int("roc_period", 10, min=1, max=1000, title="Change period",
                             help="Bars over which the change of the average is measured.")),
           outputs=(Output("chaikin_vol", "line", "percent change of the average high-low range"),),
           warmup=lambda period, roc_period, **_: period - 1 + roc_period)
def chaikin_vol(high: np.ndarray, low: np.ndarray, *, period: int, roc_period: int) -> Arrays:
    """Chaikin volatility (EMA seeded by its SMA, as TA-Lib's EMA)."""
    return {"chaikin_vol": volatility_nb.chaikin_vol_nb(high, low, period, roc_period, *np.empty((2, high.size)))}
