"""Moving averages: lines on the price scale that smooth the close."""

from __future__ import annotations

import math

import numpy as np

from backgrid.indicators.kernels import core_nb, ma_nb
from backgrid.indicators.spec import Output, Param, TalibRef, indicator

_PERIOD = Param.int("period", 20, min=1, max=5000, title="Period", help="Bars in the average.")
_PERIOD_2 = Param.int("period", 20, min=2, max=5000, title="Period", help="Bars in each average.")
_TALIB_PERIOD = {"period": "timeperiod"}
#: Weights of the chained EMAs (EMA, EMA of EMA, ...) that DEMA and TEMA add up.
_DEMA_WEIGHTS = np.array([2.0, -1.0])
_TEMA_WEIGHTS = np.array([3.0, -3.0, 1.0])


def _chain(close: np.ndarray, period: int, weights: np.ndarray) -> np.ndarray:
    """``weights @ (EMA, EMA of EMA, ...)`` of ``close``, every EMA over ``period`` bars."""
    chained: np.ndarray = core_nb.ema_chain_nb(close, np.full(weights.size, period), weights, np.empty(close.size))
    return chained


@indicator("sma", name="Simple moving average", category="moving_average", tier="beginner",
           description="The plain average of the last N closes.", inputs=("close",), params=(_PERIOD,),
           outputs=(Output("sma", "price", "average of the last N closes"),),
           warmup=lambda period, **_: period - 1, talib=TalibRef("SMA", _TALIB_PERIOD))
def sma(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Simple moving average."""
    return {"sma": core_nb.sma_nb(close, period, np.empty(close.size))}


@indicator("ema", name="Exponential moving average", category="moving_average", tier="beginner",
           description="An average that weights recent closes more (factor 2 / (N + 1)).", inputs=("close",),
           params=(_PERIOD,), outputs=(Output("ema", "price", "exponential average, seeded by the SMA"),),
           warmup=lambda period, **_: period - 1, talib=TalibRef("EMA", _TALIB_PERIOD))
def ema(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Exponential moving average seeded by the simple average of the first N closes (as TA-Lib)."""
    return {"ema": core_nb.ema_nb(close, period, np.empty(close.size))}


@indicator("wma", name="Weighted moving average", category="moving_average", tier="beginner",
           description="An average of the last N closes with linear weights: newest N, oldest 1.",
           inputs=("close",), params=(_PERIOD,),
           outputs=(Output("wma", "price", "linearly weighted average of the last N closes"),),
           warmup=lambda period, **_: period - 1, talib=TalibRef("WMA", _TALIB_PERIOD))
def wma(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Linearly weighted moving average (TA-Lib WMA)."""
    return {"wma": core_nb.wma_nb(close, period, np.empty(close.size))}


@indicator("dema", name="Double exponential moving average", category="moving_average", tier="intermediate",
           description="Mulloy's DEMA: 2 x EMA - EMA of the EMA, an EMA with less lag.", inputs=("close",),
           params=(_PERIOD_2,), outputs=(Output("dema", "price", "2 x EMA(close) - EMA(EMA(close))"),),
           warmup=lambda period, **_: 2 * (period - 1), talib=TalibRef("DEMA", _TALIB_PERIOD))
def dema(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Double EMA; each EMA in the chain is seeded by the SMA of its first N inputs (TA-Lib DEMA)."""
    return {"dema": _chain(close, period, _DEMA_WEIGHTS)}


@indicator("tema", name="Triple exponential moving average", category="moving_average", tier="intermediate",
           description="Mulloy's TEMA: 3 x EMA - 3 x EMA of EMA + EMA of EMA of EMA; less lag than DEMA.",
           inputs=("close",), params=(_PERIOD_2,),
           outputs=(Output("tema", "price", "3 x EMA1 - 3 x EMA2 + EMA3 of chained EMAs"),),
           warmup=lambda period, **_: 3 * (period - 1), talib=TalibRef("TEMA", _TALIB_PERIOD))
def tema(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Triple EMA; each EMA in the chain is seeded by the SMA of its first N inputs (TA-Lib TEMA)."""
    return {"tema": _chain(close, period, _TEMA_WEIGHTS)}


@indicator("hma", name="Hull moving average", category="moving_average", tier="intermediate",
           description="Alan Hull's average: a WMA of 2 x WMA(N/2) - WMA(N) over sqrt(N) bars; smooth and fast.",
           inputs=("close",), params=(_PERIOD_2,),
           outputs=(Output("hma", "price", "WMA(2 x WMA(close, N // 2) - WMA(close, N), floor(sqrt(N)))"),),
           warmup=lambda period, **_: period + math.isqrt(period) - 2)
def hma(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Hull moving average; the half period is ``N // 2`` and the final period ``floor(sqrt(N))``."""
    return {"hma": ma_nb.hma_nb(close, period, *np.empty((2, close.size)))}


@indicator("zlema", name="Zero-lag exponential moving average", category="moving_average", tier="intermediate",
           description="An EMA of close + (close - close L bars ago), L = (N - 1) // 2, which cancels most lag.",
           inputs=("close",), params=(_PERIOD,),
           outputs=(Output("zlema", "price", "EMA of the lag-corrected close"),),
           warmup=lambda period, **_: (period - 1) // 2 + period - 1)
def zlema(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Zero-lag EMA (Ehlers and Way): the EMA, seeded by its SMA, of ``close + (close - close[t - L])``."""
    return {"zlema": ma_nb.zlema_nb(close, period, *np.empty((2, close.size)))}


@indicator("kama", name="Kaufman adaptive moving average", category="moving_average", tier="advanced",
           description="Kaufman's KAMA: fast (2-bar EMA) in clean trends, slow (30-bar EMA) in noise.",
           inputs=("close",),
           params=(Param.int("period", 10, min=2, max=5000, title="Efficiency period",
                             help="Bars over which net change is compared with the path travelled."),),
           outputs=(Output("kama", "price", "adaptive average; starts from the close N bars in"),),
           warmup=lambda period, **_: period, talib=TalibRef("KAMA", _TALIB_PERIOD))
def kama(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Kaufman's adaptive moving average (TA-Lib KAMA: starts from ``close[N - 1]``, first value at bar N)."""
    return {"kama": ma_nb.kama_nb(close, period, np.empty(close.size))}


@indicator("vwma", name="Volume-weighted moving average", category="moving_average", tier="beginner",
           description="The average of the last N closes, each weighted by its bar's volume.",
           inputs=("close", "volume"), params=(_PERIOD,),
           outputs=(Output("vwma", "price", "sum(close x volume) / sum(volume) over N bars"),),
           warmup=lambda period, **_: period - 1)
def vwma(close: np.ndarray, volume: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Volume-weighted moving average; a window without any volume gets the plain average of its closes."""
    return {"vwma": ma_nb.vwma_nb(close, volume, period, np.empty(close.size))}


@indicator("smma", name="Smoothed moving average (Wilder)", category="moving_average", tier="intermediate",
           description="Wilder's smoothing (SMMA, RMA): an EMA with factor 1 / N, seeded by the SMA.",
           inputs=("close",),
           params=(Param.int("period", 14, min=1, max=5000, title="Period", help="Bars in the smoothing."),),
           outputs=(Output("smma", "price", "Wilder-smoothed close"),),
           warmup=lambda period, **_: period - 1)
def smma(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Wilder's smoothed moving average: ``s = s + (close - s) / N``, seeded by the SMA of the first N closes."""
    return {"smma": core_nb.wilder_nb(close, period, np.empty(close.size))}


@indicator("t3", name="Tillson T3", category="moving_average", tier="advanced",
           description="Tillson's T3: six chained EMAs blended by a volume factor; very smooth, little lag.",
           inputs=("close",),
           params=(Param.int("period", 5, min=2, max=5000, title="Period", help="Bars in each of the six EMAs."),
                   Param.float("vfactor", 0.7, min=0.0, max=1.0, step=0.05, title="Volume factor",
                               help="0 gives a triple EMA of EMAs; 1 gives the most lag reduction (and overshoot).")),
           outputs=(Output("t3", "price", "Tillson T3 of the close"),),
           warmup=lambda period, **_: 6 * (period - 1),
           talib=TalibRef("T3", {"period": "timeperiod", "vfactor": "vfactor"}))
def t3(close: np.ndarray, *, period: int, vfactor: float) -> dict[str, np.ndarray]:
    """Tillson T3 (TA-Lib T3): ``c1 e6 + c2 e5 + c3 e4 + c4 e3`` of six chained EMAs, ``v = vfactor``.

    ``c1 = -v^3``, ``c2 = 3 v^2 + 3 v^3``, ``c3 = -6 v^2 - 3 v - 3 v^3``,
    ``c4 = 1 + 3 v + v^3 + 3 v^2`` (they sum to 1).
    """
    v2 = vfactor * vfactor
    c1 = -v2 * vfactor
    weights = np.array([0.0, 0.0, 1.0 + 3.0 * vfactor - c1 + 3.0 * v2, -6.0 * v2 - 3.0 * (vfactor - c1),
                        3.0 * (v2 - c1), c1])
    return {"t3": _chain(close, period, weights)}
