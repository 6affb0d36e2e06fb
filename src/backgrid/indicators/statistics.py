"""Statistics: z-score, rolling correlation and beta, percent rank."""

from __future__ import annotations

import numpy as np

from backgrid.indicators.kernels import statistics_nb
from backgrid.indicators.spec import Output, Param, TalibRef, indicator

_OHLCV = ("open", "high", "low", "close", "volume")
# TA-Lib's CORREL and BETA read high and low by default; the same defaults keep them comparable.
_X = Param.choice("x", "high", _OHLCV, title="Series x", help="The first series (for beta: the benchmark).")
_Y = Param.choice("y", "low", _OHLCV, title="Series y", help="The second series (for beta: the one measured).")


@indicator("zscore", name="Z-score", category="statistics", tier="intermediate",
           description="How many standard deviations the close sits above or below its N-bar average.",
           inputs=("close",),
           params=(Param.int("period", 20, min=2, max=5000, title="Period", help="Bars in the mean and deviation."),),
           outputs=(Output("zscore", "line", "(close - SMA) / population standard deviation; 0 if flat"),),
           warmup=lambda period, **_: period - 1)
def zscore(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Rolling z-score: ``(close - SMA(N)) / STD(N)``, population deviation over the same N closes.

    The window includes the current close, so ``|z| <= sqrt(N - 1)``. A flat window
    (deviation 0) gives 0.
    """
    return {"zscore": statistics_nb.zscore_nb(close, period, *np.empty((2, close.size)))}


@indicator("correlation", name="Rolling correlation", category="statistics", tier="intermediate",
           description="Pearson correlation of two series (e.g. high and low) over the last N bars, -1 to +1.",
           inputs=_OHLCV,
           params=(Param.int("period", 20, min=2, max=5000, title="Period", help="Bars in the window."), _X, _Y),
           outputs=(Output("correlation", "oscillator", "-1 (opposite) to +1 (in step); 0 if either is flat",
                           range=(-1.0, 1.0)),),
           warmup=lambda period, **_: period - 1, talib=TalibRef("CORREL", {"period": "timeperiod"}))
def correlation(*, period: int, x: str, y: str, **series: np.ndarray) -> dict[str, np.ndarray]:
    """Rolling Pearson correlation of the levels of ``x`` and ``y`` (TA-Lib CORREL); ``series`` holds OHLCV."""
    return {"correlation": statistics_nb.correl_nb(series[x], series[y], period, np.empty(series[x].size))}


@indicator("beta", name="Rolling beta", category="statistics", tier="advanced",
           description="Slope of y's one-bar returns against x's over the last N returns (TA-Lib BETA).",
           inputs=_OHLCV,
           params=(Param.int("period", 20, min=2, max=5000, title="Period", help="Returns in the regression."),
                   _X, _Y),
           outputs=(Output("beta", "line", "cov(x returns, y returns) / var(x returns); 0 if x is flat"),),
           warmup=lambda period, **_: period, talib=TalibRef("BETA", {"period": "timeperiod"}))
def beta(*, period: int, x: str, y: str, **series: np.ndarray) -> dict[str, np.ndarray]:
    """Rolling beta of ``y`` on ``x``: the least-squares slope of ``y``'s returns on ``x``'s (TA-Lib BETA).

    ``series`` holds the OHLCV arrays. Returns are ``(p[t] - p[t-1]) / p[t-1]`` (0
    after a zero price); with ``x`` a benchmark and ``y`` an asset this is the
    asset's beta. N returns need N + 1 bars.
    """
    return {"beta": statistics_nb.beta_nb(series[x], series[y], period, np.empty(series[x].size))}


@indicator("percent_rank", name="Percent rank", category="statistics", tier="beginner",
           description="The share of the previous N closes that are strictly below the current close, 0 to 100.",
           inputs=("close",),
           params=(Param.int("period", 20, min=1, max=5000, title="Period",
                             help="Previous closes the current close is ranked against."),),
           outputs=(Output("percent_rank", "oscillator", "100 x (closes among the previous N below this one) / N",
                           range=(0.0, 100.0)),),
           warmup=lambda period, **_: period)
def percent_rank(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Percent rank: ``100 * #{k in 1..N : close[t-k] < close[t]} / N``.

    The current close is compared with the N closes before it (not with itself);
    ties do not count as below, so a close equal to all N gives 0 and a new N-bar
    high gives 100. The first value is at bar N.
    """
    return {"percent_rank": statistics_nb.percent_rank_nb(close, period, np.empty(close.size))}
