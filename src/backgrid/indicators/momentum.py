"""Momentum: oscillators and lines that measure the speed and strength of moves."""

from __future__ import annotations

import numpy as np

from backgrid.indicators.kernels import core_nb, momentum_nb
from backgrid.indicators.spec import Output, Param, TalibRef, indicator

_PERCENT = (0.0, 100.0)
_CENTRED = (-100.0, 100.0)


def _period(name: str, default: int, help: str, *, minimum: int = 2, title: str = "") -> Param:  # noqa: A002
    """A window-length parameter in ``[minimum, 1000]``."""
    return Param.int(name, default, min=minimum, max=1000, title=title, help=help)


@indicator("rsi", name="Relative strength index", category="momentum", tier="beginner",
           description="Wilder's RSI: the share of recent gains in all recent moves, 0 to 100.",
           inputs=("close",), params=(Param.int("period", 14, min=2, max=1000, help="Bars in the smoothing."),),
           outputs=(Output("rsi", "oscillator", "0 (all losses) to 100 (all gains)", range=(0.0, 100.0)),),
           warmup=lambda period: period, talib=TalibRef("RSI", {"period": "timeperiod"}))
def rsi(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Relative strength index."""
    return {"rsi": momentum_nb.rsi_nb(close, period, np.empty(close.size))}


@indicator("stoch", name="Stochastic", category="momentum", tier="beginner",
           description="Slow stochastic: where the close sits in the recent high-low range (smoothed %K), "
                       "with its average %D.",
           inputs=("high", "low", "close"),
           params=(_period("fastk_period", 14, "Bars whose high-low range the close is placed in.", minimum=1,
                           title="%K period"),
                   _period("slowk_period", 3, "Bars in the simple average that smooths raw %K into %K.",
                           minimum=1, title="%K smoothing"),
                   _period("slowd_period", 3, "Bars in the simple average of %K that gives %D.", minimum=1,
                           title="%D period")),
           outputs=(Output("k", "oscillator", "%K: 0 at the lowest low of the range, 100 at the highest high",
                           range=_PERCENT),
                    Output("d", "oscillator", "%D: simple average of %K", range=_PERCENT)),
           warmup=lambda fastk_period, slowk_period, slowd_period, **_: fastk_period + slowk_period + slowd_period - 3,
           talib=TalibRef("STOCH", {"fastk_period": "fastk_period", "slowk_period": "slowk_period",
                                    "slowd_period": "slowd_period"}, {"k": "slowk", "d": "slowd"},
                          fixed={"slowk_matype": 0, "slowd_matype": 0}))
def stoch(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, fastk_period: int, slowk_period: int,
          slowd_period: int) -> dict[str, np.ndarray]:
    """Slow stochastic with simple-average smoothing (TA-Lib STOCH, both MA types SMA)."""
    k, d = momentum_nb.stoch_nb(high, low, close, fastk_period, slowk_period, slowd_period,
                                *np.empty((2, close.size)))
    return {"k": k, "d": d}


@indicator("stochrsi", name="Stochastic RSI", category="momentum", tier="intermediate",
           description="The fast stochastic of the RSI: where the RSI sits in its own recent range, 0 to 100.",
           inputs=("close",),
           params=(_period("period", 14, "Bars in the RSI.", title="RSI period"),
                   _period("fastk_period", 5, "RSI values whose range %K places the RSI in.", minimum=1,
                           title="%K period"),
                   _period("fastd_period", 3, "Bars in the simple average of %K that gives %D.", minimum=1,
                           title="%D period")),
           outputs=(Output("k", "oscillator", "%K: 0 at the lowest RSI of the range, 100 at the highest",
                           range=_PERCENT),
                    Output("d", "oscillator", "%D: simple average of %K", range=_PERCENT)),
           warmup=lambda period, fastk_period, fastd_period, **_: period + fastk_period + fastd_period - 2,
           talib=TalibRef("STOCHRSI", {"period": "timeperiod", "fastk_period": "fastk_period",
                                       "fastd_period": "fastd_period"}, {"k": "fastk", "d": "fastd"},
                          fixed={"fastd_matype": 0}))
def stochrsi(close: np.ndarray, *, period: int, fastk_period: int, fastd_period: int) -> dict[str, np.ndarray]:
    """Stochastic RSI (TA-Lib STOCHRSI: STOCHF on the RSI, %D a simple average)."""
    k, d, rsi_line = np.empty((3, close.size))
    momentum_nb.rsi_nb(close, period, rsi_line)
    momentum_nb.stoch_nb(rsi_line, rsi_line, rsi_line, fastk_period, 1, fastd_period, k, d)
    return {"k": k, "d": d}


@indicator("macd", name="MACD", category="momentum", tier="beginner",
           description="Moving average convergence divergence: fast EMA minus slow EMA, its signal EMA and "
                       "the gap between them.",
           inputs=("close",),
           params=(_period("fast_period", 12, "Bars in the fast EMA.", title="Fast period"),
                   _period("slow_period", 26, "Bars in the slow EMA (swapped with the fast one if shorter).",
                           title="Slow period"),
                   _period("signal_period", 9, "Bars in the EMA of the MACD line.", minimum=1,
                           title="Signal period")),
           outputs=(Output("macd", "line", "fast EMA minus slow EMA, in price units"),
                    Output("signal", "line", "EMA of the MACD line"),
                    Output("histogram", "line", "MACD line minus signal")),
           warmup=lambda fast_period, slow_period, signal_period, **_: (max(fast_period, slow_period)
                                                                        + signal_period - 2),
           talib=TalibRef("MACD", {"fast_period": "fastperiod", "slow_period": "slowperiod",
                                   "signal_period": "signalperiod"},
                          {"macd": "macd", "signal": "macdsignal", "histogram": "macdhist"}))
def macd(close: np.ndarray, *, fast_period: int, slow_period: int, signal_period: int) -> dict[str, np.ndarray]:
    """MACD with TA-Lib's alignment: both EMAs start on bar ``slow - 1`` (see :func:`momentum_nb.macd_nb`)."""
    line, signal, histogram = momentum_nb.macd_nb(close, fast_period, slow_period, signal_period,
                                                  *np.empty((3, close.size)))
    return {"macd": line, "signal": signal, "histogram": histogram}


@indicator("cci", name="Commodity channel index", category="momentum", tier="intermediate",
           description="Lambert's CCI: how far the typical price is from its average, in units of 0.015 times "
                       "its mean deviation.",
           inputs=("high", "low", "close"),
           params=(_period("period", 14, "Bars in the average and the mean deviation."),),
           outputs=(Output("cci", "line", "about ±100 in normal swings; beyond that, a strong move"),),
           warmup=lambda period, **_: period - 1, talib=TalibRef("CCI", {"period": "timeperiod"}))
def cci(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Commodity channel index (TA-Lib CCI)."""
    return {"cci": momentum_nb.cci_nb(high, low, close, period, np.empty(close.size))}


@indicator("mfi", name="Money flow index", category="momentum", tier="intermediate",
           description="A volume-weighted RSI: the share of money flow on rising typical prices, 0 to 100.",
           inputs=("high", "low", "close", "volume"),
           params=(_period("period", 14, "Bars of money flow summed."),),
           outputs=(Output("mfi", "oscillator", "0 (all flow on falling bars) to 100 (all on rising bars)",
                           range=_PERCENT),),
           warmup=lambda period, **_: period, talib=TalibRef("MFI", {"period": "timeperiod"}))
def mfi(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, *,
        period: int) -> dict[str, np.ndarray]:
    """Money flow index (TA-Lib MFI)."""
    return {"mfi": momentum_nb.mfi_nb(high, low, close, volume, period, np.empty(close.size))}


@indicator("roc", name="Rate of change", category="momentum", tier="beginner",
           description="Percent change of the close over the last N bars.", inputs=("close",),
           params=(_period("period", 10, "Bars back the close is compared with.", minimum=1),),
           outputs=(Output("roc", "line", "percent change since N bars ago (0 when that close was 0)"),),
           warmup=lambda period, **_: period, talib=TalibRef("ROC", {"period": "timeperiod"}))
def roc(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Rate of change in percent (TA-Lib ROC)."""
    return {"roc": momentum_nb.roc_nb(close, period, np.empty(close.size))}


@indicator("momentum", name="Momentum", category="momentum", tier="beginner",
           description="The close minus the close N bars ago.", inputs=("close",),
           params=(_period("period", 10, "Bars back the close is compared with.", minimum=1),),
           outputs=(Output("momentum", "line", "change in price units since N bars ago"),),
           warmup=lambda period, **_: period, talib=TalibRef("MOM", {"period": "timeperiod"}))
def momentum(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Momentum (TA-Lib MOM)."""
    return {"momentum": momentum_nb.mom_nb(close, period, np.empty(close.size))}


@indicator("willr", name="Williams %R", category="momentum", tier="beginner",
           description="Where the close sits below the recent highest high, -100 (at the low) to 0 (at the high).",
           inputs=("high", "low", "close"),
           params=(_period("period", 14, "Bars in the high-low range."),),
           outputs=(Output("willr", "oscillator", "-100 at the lowest low of the range, 0 at the highest high",
                           range=(-100.0, 0.0)),),
           warmup=lambda period, **_: period - 1, talib=TalibRef("WILLR", {"period": "timeperiod"}))
def willr(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Williams %R (TA-Lib WILLR)."""
    return {"willr": momentum_nb.willr_nb(high, low, close, period, *np.empty((2, close.size)))}


@indicator("ultosc", name="Ultimate oscillator", category="momentum", tier="intermediate",
           description="Williams' ultimate oscillator: buying pressure over true range on three horizons, "
                       "weighted 4:2:1, 0 to 100.",
           inputs=("high", "low", "close"),
           params=(_period("short_period", 7, "Shortest horizon (weight 4).", minimum=1, title="Short period"),
                   _period("medium_period", 14, "Middle horizon (weight 2).", minimum=1, title="Medium period"),
                   _period("long_period", 28, "Longest horizon (weight 1). The three are sorted, as TA-Lib "
                           "does, so the shortest always weighs most.", minimum=1, title="Long period")),
           outputs=(Output("ultosc", "oscillator", "weighted share of buying pressure in the true range",
                           range=_PERCENT),),
           warmup=lambda short_period, medium_period, long_period, **_: max(short_period, medium_period,
                                                                            long_period),
           talib=TalibRef("ULTOSC", {"short_period": "timeperiod1", "medium_period": "timeperiod2",
                                     "long_period": "timeperiod3"}))
def ultosc(high: np.ndarray, low: np.ndarray, close: np.ndarray, *, short_period: int, medium_period: int,
           long_period: int) -> dict[str, np.ndarray]:
    """Ultimate oscillator (TA-Lib ULTOSC)."""
    return {"ultosc": momentum_nb.ultosc_nb(high, low, close, short_period, medium_period, long_period,
                                            np.empty(close.size))}


@indicator("tsi", name="True strength index", category="momentum", tier="intermediate",
           description="Blau's TSI: the doubly smoothed close-to-close change over the doubly smoothed absolute "
                       "change, -100 to 100.",
           inputs=("close",),
           params=(_period("long_period", 25, "Bars in the first EMA of the changes.", minimum=1,
                           title="Long period"),
                   _period("short_period", 13, "Bars in the second EMA, applied to the first.", minimum=1,
                           title="Short period")),
           outputs=(Output("tsi", "oscillator", "100 x EMA(EMA(change)) / EMA(EMA(|change|)); 0 while flat",
                           range=_CENTRED),),
           warmup=lambda long_period, short_period, **_: long_period + short_period - 1)
def tsi(close: np.ndarray, *, long_period: int, short_period: int) -> dict[str, np.ndarray]:
    """True strength index with SMA-seeded EMAs (as TA-Lib seeds its EMA), first value at bar long + short - 1."""
    rows = np.empty((3, close.size))
    return {"tsi": momentum_nb.tsi_nb(close, long_period, short_period, rows[0], rows[1:])}


@indicator("ao", name="Awesome oscillator", category="momentum", tier="beginner",
           description="Bill Williams' awesome oscillator: 5-bar minus 34-bar simple average of the median price.",
           inputs=("high", "low"),
           params=(_period("fast_period", 5, "Bars in the fast average of the median price.", minimum=1,
                           title="Fast period"),
                   _period("slow_period", 34, "Bars in the slow average of the median price.", minimum=1,
                           title="Slow period")),
           outputs=(Output("ao", "line", "fast minus slow average of (high + low) / 2, in price units"),),
           warmup=lambda fast_period, slow_period, **_: max(fast_period, slow_period) - 1)
def ao(high: np.ndarray, low: np.ndarray, *, fast_period: int, slow_period: int) -> dict[str, np.ndarray]:
    """Awesome oscillator: ``SMA(median, fast) - SMA(median, slow)``."""
    median = (high + low) / 2.0
    fast, slow = np.empty((2, high.size))
    core_nb.sma_nb(median, fast_period, fast)
    core_nb.sma_nb(median, slow_period, slow)
    return {"ao": np.subtract(fast, slow, out=fast)}


@indicator("cmo", name="Chande momentum oscillator", category="momentum", tier="intermediate",
           description="Chande's CMO: smoothed gains minus losses over their sum, -100 to 100 (TA-Lib's "
                       "Wilder-smoothed form).",
           inputs=("close",), params=(_period("period", 14, "Bars in the smoothing of gains and losses."),),
           outputs=(Output("cmo", "oscillator", "-100 (all losses) to 100 (all gains)", range=_CENTRED),),
           warmup=lambda period, **_: period, talib=TalibRef("CMO", {"period": "timeperiod"}))
def cmo(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Chande momentum oscillator as TA-Lib computes it (Wilder smoothing, like its RSI)."""
    return {"cmo": momentum_nb.cmo_nb(close, period, np.empty(close.size))}


@indicator("trix", name="TRIX", category="momentum", tier="advanced",
           description="One-bar percent change of a triple exponential average of the close.", inputs=("close",),
           params=(_period("period", 30, "Bars in each of the three EMAs.", minimum=1),),
           outputs=(Output("trix", "line", "percent change of the triple EMA from the bar before"),),
           warmup=lambda period, **_: 3 * (period - 1) + 1, talib=TalibRef("TRIX", {"period": "timeperiod"}))
def trix(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """TRIX (TA-Lib TRIX)."""
    return {"trix": momentum_nb.trix_nb(close, period, *np.empty((2, close.size)))}


@indicator("fisher", name="Fisher transform", category="momentum", tier="advanced",
           description="Ehlers' Fisher transform: the median price's place in its recent range, stretched so "
                       "turning points stand out.",
           inputs=("high", "low"),
           params=(_period("period", 9, "Bars in the range the median price is placed in."),),
           outputs=(Output("fisher", "line", "Fisher transform of the smoothed position in the range"),
                    Output("trigger", "line", "the Fisher value one bar earlier")),
           warmup=lambda period, **_: period)
def fisher(high: np.ndarray, low: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Ehlers' Fisher transform of ``(high + low) / 2`` (see :func:`momentum_nb.fisher_nb` for the recursion)."""
    line, trigger = momentum_nb.fisher_nb(high, low, period, *np.empty((3, high.size)))
    return {"fisher": line, "trigger": trigger}


@indicator("coppock", name="Coppock curve", category="momentum", tier="advanced",
           description="Weighted average of two rates of change; built for monthly bars (14, 11 and 10 months).",
           inputs=("close",),
           params=(_period("long_roc", 14, "Bars in the longer rate of change.", minimum=1,
                           title="Long ROC period"),
                   _period("short_roc", 11, "Bars in the shorter rate of change.", minimum=1,
                           title="Short ROC period"),
                   _period("wma_period", 10, "Bars in the weighted average of their sum.", minimum=1,
                           title="WMA period")),
           outputs=(Output("coppock", "line", "WMA of ROC(long) + ROC(short), in percent"),),
           warmup=lambda long_roc, short_roc, wma_period, **_: max(long_roc, short_roc) + wma_period - 1)
def coppock(close: np.ndarray, *, long_roc: int, short_roc: int, wma_period: int) -> dict[str, np.ndarray]:
    """Coppock curve: ``WMA(ROC(long) + ROC(short), wma)``, ROC in percent as TA-Lib's."""
    return {"coppock": momentum_nb.coppock_nb(close, long_roc, short_roc, wma_period, *np.empty((2, close.size)))}


@indicator("dpo", name="Detrended price oscillator", category="momentum", tier="intermediate",
           description="The close of N/2 + 1 bars ago minus today's N-bar simple average: price cycles with "
                       "the trend removed.",
           inputs=("close",),
           params=(_period("period", 21, "Bars in the simple average."),),
           outputs=(Output("dpo", "line", "close[t - (N // 2 + 1)] - SMA(close, N)[t], in price units"),),
           warmup=lambda period, **_: max(period - 1, period // 2 + 1),
           confirmation="the value at bar t describes bar t - (N // 2 + 1): the classic centred DPO compares a "
                        "close with an average that ends N // 2 + 1 bars after it, so it is reported here on "
                        "the bar where that average is complete")
def dpo(close: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Causal detrended price oscillator.

    The classic (centred) DPO of bar ``j`` is ``close[j] - SMA(close, N)[j + N // 2 + 1]``:
    plotted at ``j`` it uses closes up to ``N // 2 + 1`` bars in the future, so it
    cannot be known at ``j``. The same number is reported here at bar
    ``t = j + N // 2 + 1``, the first bar at which it is known; this is the value
    TradingView computes for its centred DPO before shifting the plot back.
    """
    return {"dpo": momentum_nb.dpo_nb(close, period, np.empty(close.size))}
