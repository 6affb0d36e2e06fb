"""Momentum: oscillators and lines that measure the speed and strength of moves."""

from __future__ import annotations

import numpy as np

from backgrid.indicators.kernels import momentum_nb
from backgrid.indicators.spec import Output, Param, TalibRef, indicator


@indicator("rsi", name="Relative strength index", category="momentum", tier="beginner",
           description="Wilder's RSI: the share of recent gains in all recent moves, 0 to 100.",
           inputs=("close",), params=(Param.int("period", 14, min=2, max=1000, help="Bars in the smoothing."),),
           outputs=(Output("rsi", "oscillator", "0 (all losses) to 100 (all gains)", range=(0.0, 100.0)),),
           warmup=lambda period: period, talib=TalibRef("RSI", {"period": "timeperiod"}))
def rsi(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Relative strength index."""
    return {"rsi": momentum_nb.rsi_nb(close, period)}
