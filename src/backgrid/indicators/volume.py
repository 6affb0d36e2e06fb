"""Volume: lines that weigh price moves by the volume traded, and where that volume sat."""

from __future__ import annotations

from typing import Literal

import numpy as np

from backgrid.data.calendar import Calendar
from backgrid.indicators.kernels import core_nb, volume_nb
from backgrid.indicators.periods import period_ids
from backgrid.indicators.spec import Output, Param, TalibRef, indicator

_HLCV = ("high", "low", "close", "volume")


def _typical_price(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    typical: np.ndarray = (high + low + close) / 3.0
    return typical


@indicator("obv", name="On-balance volume", category="volume", tier="beginner",
           description="A running total of volume: added on up closes, subtracted on down closes.",
           inputs=("close", "volume"),
           outputs=(Output("obv", "line", "running volume total, starting at the first bar's volume"),),
           warmup=lambda **_: 0, talib=TalibRef("OBV"))
def obv(close: np.ndarray, volume: np.ndarray) -> dict[str, np.ndarray]:
    """On-balance volume (as TA-Lib: the first bar counts its whole volume)."""
    return {"obv": volume_nb.obv_nb(close, volume, np.empty(close.size))}


@indicator("ad", name="Accumulation/distribution line", category="volume", tier="intermediate",
           description="Running total of volume weighted by where each bar closes in its range (-1 low .. +1 high).",
           inputs=_HLCV, outputs=(Output("ad", "line", "running sum of money-flow volume"),),
           warmup=lambda **_: 0, talib=TalibRef("AD"))
def ad(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray) -> dict[str, np.ndarray]:
    """Chaikin's accumulation/distribution line; a bar with no range adds nothing."""
    return {"ad": volume_nb.ad_nb(high, low, close, volume, np.empty(close.size))}


@indicator("adosc", name="Chaikin oscillator", category="volume", tier="intermediate",
           description="Fast EMA minus slow EMA of the accumulation/distribution line.",
           inputs=_HLCV,
           params=(Param.int("fast", 3, min=2, max=1000, title="Fast period", help="Bars in the fast EMA."),
                   Param.int("slow", 10, min=2, max=1000, title="Slow period", help="Bars in the slow EMA.")),
           outputs=(Output("adosc", "line", "momentum of the A/D line"),),
           warmup=lambda fast, slow, **_: max(fast, slow) - 1,
           talib=TalibRef("ADOSC", {"fast": "fastperiod", "slow": "slowperiod"}))
def adosc(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, *, fast: int,
          slow: int) -> dict[str, np.ndarray]:
    """Chaikin oscillator; both EMAs start from the first A/D value, as TA-Lib's."""
    return {"adosc": volume_nb.adosc_nb(high, low, close, volume, fast, slow, np.empty(close.size))}


@indicator("cmf", name="Chaikin money flow", category="volume", tier="intermediate",
           description="Money-flow volume over the last N bars divided by their volume, from -1 to +1.",
           inputs=_HLCV,
           params=(Param.int("period", 20, min=1, max=5000, title="Period", help="Bars summed."),),
           outputs=(Output("cmf", "oscillator", "-1 (closes at the lows) to +1 (closes at the highs)",
                           range=(-1.0, 1.0)),),
           warmup=lambda period, **_: period - 1)
def cmf(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, *,
        period: int) -> dict[str, np.ndarray]:
    """Chaikin money flow: sum of money-flow volume / sum of volume over ``period`` bars (0 when no volume)."""
    rows = np.empty((3, close.size))
    return {"cmf": volume_nb.cmf_nb(high, low, close, volume, period, rows[0], rows[1:])}


@indicator("vwap", name="Anchored VWAP", category="volume", tier="beginner",
           description="Volume-weighted average price since the start of each session, week or month, with bands.",
           inputs=("high", "low", "close", "volume", "ts", "calendar"),
           params=(Param.choice("anchor", "session", ("session", "week", "month"), title="Anchor",
                                help="The VWAP restarts at the first bar of each period (in the market's time zone)."),
                   Param.flag("bands", default=True, title="Bands",
                              help="Draw bands a number of standard deviations around the VWAP."),
                   Param.float("band_stdev", 1.0, min=0.1, max=10.0, title="Band width",
                               help="Band distance in volume-weighted standard deviations of the typical price.")),
           outputs=(Output("vwap", "price", "volume-weighted typical price since the period began"),
                    Output("upper", "price", "VWAP plus the band width (NaN with bands off)", sparse=True),
                    Output("lower", "price", "VWAP minus the band width (NaN with bands off)", sparse=True)),
           warmup=lambda **_: 0)
def vwap(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, *, ts: np.ndarray,
         calendar: Calendar, anchor: Literal["session", "week", "month"], bands: bool,
         band_stdev: float) -> dict[str, np.ndarray]:
    """Anchored VWAP of the typical price (H+L+C)/3.

    Until the period has traded any volume the VWAP is the bar's typical price.
    """
    ids = period_ids(ts, calendar, anchor)
    line, upper, lower = np.empty((3, close.size))
    volume_nb.vwap_nb(_typical_price(high, low, close), volume, ids, line, upper)  # upper: the deviation for now
    if not bands:
        upper[:] = np.nan
    upper *= band_stdev
    np.subtract(line, upper, out=lower)
    np.add(line, upper, out=upper)
    return {"vwap": line, "upper": upper, "lower": lower}


@indicator("volume_profile", name="Volume profile", category="volume", tier="advanced",
           description="Where the last N bars traded their volume: point of control and value area.",
           inputs=_HLCV,
           params=(Param.int("period", 100, min=2, max=5000, title="Window", help="Bars in the profile."),
                   Param.int("bins", 24, min=2, max=500, title="Price bins",
                             help="Equal price bins between the window's lowest low and highest high."),
                   Param.float("value_area", 70.0, min=1.0, max=100.0, step=1.0, title="Value area %",
                               help="Share of the window's volume the value area holds.")),
           outputs=(Output("poc", "price", "point of control: middle of the bin with the most volume"),
                    Output("vah", "price", "value area high: top of the value area"),
                    Output("val", "price", "value area low: bottom of the value area")),
           warmup=lambda period, **_: period - 1)
def volume_profile(high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, *, period: int,
                   bins: int, value_area: float) -> dict[str, np.ndarray]:
    """Rolling volume profile.

    Approximation: bars carry no intrabar detail, so each bar's whole volume is
    put in the bin of its typical price (H+L+C)/3. The point of control is the
    fullest bin (the lowest on ties); the value area grows from it one bin at a
    time towards the fuller neighbour (upwards on ties) until it holds
    ``value_area`` percent of the window's volume.
    """
    poc, vah, val, lowest, highest, window_volume = np.empty((6, close.size))
    core_nb.rolling_extreme_nb(low, period, -1.0, lowest)
    core_nb.rolling_extreme_nb(high, period, 1.0, highest)
    core_nb.rolling_sum_nb(volume, period, window_volume)
    volume_nb.volume_profile_nb(_typical_price(high, low, close), volume, window_volume, lowest, highest, period,
                                bins, value_area / 100.0, poc, vah, val)
    return {"poc": poc, "vah": vah, "val": val}


@indicator("force_index", name="Force index", category="volume", tier="intermediate",
           description="Elder's force index: EMA of the close-to-close change times volume.",
           inputs=("close", "volume"),
           params=(Param.int("period", 13, min=1, max=5000, title="Period", help="Bars in the EMA."),),
           outputs=(Output("force_index", "line", "smoothed price change × volume"),),
           warmup=lambda period, **_: period)
def force_index(close: np.ndarray, volume: np.ndarray, *, period: int) -> dict[str, np.ndarray]:
    """Force index: EMA (seeded by the SMA of the first N values) of ``(close - previous close) * volume``."""
    out, raw = np.empty((2, close.size))
    raw[:1] = np.nan
    np.subtract(close[1:], close[:-1], out=raw[1:])
    raw[1:] *= volume[1:]
    return {"force_index": core_nb.ema_nb(raw, period, out)}


@indicator("eom", name="Ease of movement", category="volume", tier="advanced",
           description="How far the bar's midpoint moves per unit of volume, averaged over N bars.",
           inputs=("high", "low", "volume"),
           params=(Param.int("period", 14, min=1, max=5000, title="Period", help="Bars in the average."),
                   Param.float("scale", 1e6, min=1.0, max=1e12, step=1000.0, title="Volume scale",
                               help="Volume is divided by this so the values are readable.")),
           outputs=(Output("eom", "line", "SMA of midpoint move / ((volume / scale) / (high - low))"),),
           warmup=lambda period, **_: period)
def eom(high: np.ndarray, low: np.ndarray, volume: np.ndarray, *, period: int,
        scale: float) -> dict[str, np.ndarray]:
    """Ease of movement; bars with no range or no volume count as 0."""
    out, raw = np.empty((2, high.size))
    return {"eom": core_nb.sma_nb(volume_nb.ease_of_movement_nb(high, low, volume, scale, raw), period, out)}
