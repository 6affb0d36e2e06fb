"""Moving averages: lines on the price scale that smooth the close."""

from __future__ import annotations

import numpy as np

from backgrid.indicators.kernels import core_nb
from backgrid.indicators.spec import Output, Param, TalibRef, indicator

_PERIOD = Param.int("period", 20, min=1, max=5000, title="Period", help="Bars in the average.")


@indicator("sma", name="Simple moving average", category="moving_average", tier="beginner",
           description="The plain average of the last N closes.", inputs=("close",), params=(_PERIOD,),
           outputs=(Output("sma", "price", "average of the last N closes"),),
           warmup=lambda period: period - 1, talib=TalibRef("SMA", {"period": "timeperiod"}))
def sma(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Simple moving average."""
    return {"sma": core_nb.sma_nb(close, period)}


@indicator("ema", name="Exponential moving average", category="moving_average", tier="beginner",
           description="An average that weights recent closes more (factor 2 / (N + 1)).", inputs=("close",),
           params=(_PERIOD,), outputs=(Output("ema", "price", "exponential average, seeded by the SMA"),),
           warmup=lambda period: period - 1, talib=TalibRef("EMA", {"period": "timeperiod"}))
def ema(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Exponential moving average seeded by the simple average of the first N closes (as TA-Lib)."""
    return {"ema": core_nb.ema_nb(close, period)}
