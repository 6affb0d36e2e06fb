"""Market regimes: a causal label per bar (trend, volatility, event windows; the HMM is in :mod:`.regimes_hmm`).

Every label is knowable at its bar: the label and confidence of bar ``t`` use bars ``0..t`` only, so appending
bars never changes a past label (the suite checks this for every method). A :class:`Regimes` holds the labels as
``codes`` (int8, ``-1`` = unknown, during a warm-up) into ``names``, and a ``confidence`` in ``[0, 1]`` per bar
(NaN while unknown).

- :func:`trend_regime` — Wilder's ADX (backgrid's TA-Lib-exact ``adx``) and the slope of an SMA (``sma``),
  ``slope_t = sma_t - sma_{t - slope_bars}``: ``bull`` when ``adx >= adx_threshold`` and ``slope > 0``,
  ``bear`` when ``adx >= adx_threshold`` and ``slope < 0``, ``range`` otherwise (a weak trend, or a flat SMA).
  Confidence: ``min(1, |adx - adx_threshold| / adx_threshold)``: 0 at the threshold (trending or ranging is a
  coin toss there), 1 at an ADX of 0 or of twice the threshold and beyond.
- :func:`volatility_regime` — the ATR in percent of the close (``natr``) or the realised volatility of log
  returns (``hist_vol``) over ``window`` bars, ranked among its trailing ``lookback`` values, itself included;
  ties take their average rank: ``rank = (below + (equal + 1) / 2) / lookback`` in ``(0, 1]`` (pandas'
  ``rolling(...).rank(pct=True)``). ``low`` when ``rank <= low``, ``high`` when ``rank > high``, ``normal``
  between. Confidence: the distance to the nearest threshold over the widest distance the label allows:
  ``(low - rank) / low``, ``(rank - high) / (1 - high)``, ``min(rank - low, high - rank) / ((high - low) / 2)``.
- :func:`event_regime` — user-defined windows (a crisis, an event), each a list of inclusive ``(start, end)``
  dates; confidence 1.

:func:`regime_stats` and :func:`trades_with_regime` read a backtest through the regimes. The regime a trade
entered in is the one known when its entry was decided: an order filled at bar ``t``'s open was decided at bar
``t - 1``'s close (with ``fill="same_close"``, at bar ``t``'s close).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backgrid.analysis.kernels import regimes_nb
from backgrid.data.bars import Bars
from backgrid.errors import AnalysisError, IndicatorError
from backgrid.indicators import compute_arrays
from backgrid.metrics import periods_per_year
from backgrid.metrics import returns as rt
from backgrid.metrics import trades as tr

if TYPE_CHECKING:
    from backgrid.engine.result import Result

__all__ = ["Regimes", "decision_bars", "event_regime", "regime_stats", "rolling_rank", "trades_with_regime",
           "trend_regime", "volatility_regime"]

UNKNOWN = -1
_MEASURES = {"atr_percent": "natr", "realised": "hist_vol"}


def _categorical(codes: np.ndarray, names: Sequence[str]) -> pd.Categorical[str]:
    """Labels of ``codes`` into ``names``, missing where a code is -1."""
    return pd.Categorical.from_codes(np.asarray(codes, dtype=np.int64), categories=pd.Index(list(names)))


@dataclass(frozen=True)
class Regimes:
    """One label per bar: ``codes`` into ``names`` (``-1`` = unknown) and a ``confidence`` in ``[0, 1]``.

    ``params`` are the settings that made it; ``info`` what a method reports about itself (the HMM: its fits).
    """

    method: str
    names: tuple[str, ...]
    codes: np.ndarray
    confidence: np.ndarray
    index: pd.DatetimeIndex
    params: Mapping[str, Any] = field(default_factory=dict)
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.index.size
        if self.codes.shape != (n,) or self.confidence.shape != (n,):
            msg = (f"codes and confidence need one value per bar ({n}), got {self.codes.shape} and "
                   f"{self.confidence.shape}")
            raise AnalysisError(msg)
        if len(self.names) > np.iinfo(np.int8).max:
            msg = f"names: at most {np.iinfo(np.int8).max} regimes fit int8 codes, got {len(self.names)}"
            raise AnalysisError(msg)
        object.__setattr__(self, "codes", np.asarray(self.codes, dtype=np.int8))
        object.__setattr__(self, "confidence", np.asarray(self.confidence, dtype=np.float64))
        self.codes.flags.writeable = False
        self.confidence.flags.writeable = False

    def __len__(self) -> int:
        return self.index.size

    def __repr__(self) -> str:
        known = self.codes >= 0
        shares = ", ".join(f"{name} {np.mean(self.codes[known] == k):.0%}" for k, name in enumerate(self.names))
        return f"<Regimes {self.method}: {self.index.size} bars, {int(known.sum())} known ({shares})>"

    @property
    def labels(self) -> pd.Series:
        """The labels as a categorical Series on the bars' index (NaN while unknown)."""
        return pd.Series(_categorical(self.codes, self.names), index=self.index, name=self.method)

    def at(self, positions: Sequence[int] | np.ndarray) -> pd.DataFrame:
        """The regime and its confidence at bar ``positions`` (0-based, ``0 <= p < len``), one row each."""
        p = np.asarray(positions, dtype=np.int64)
        if p.size and (p.min() < 0 or p.max() >= self.index.size):
            msg = f"positions must lie in [0, {self.index.size}), got {p.min()} to {p.max()}"
            raise AnalysisError(msg)
        return pd.DataFrame({"regime": _categorical(self.codes[p], self.names),
                             "confidence": self.confidence[p]}, index=pd.Index(p, name="bar"))


def _positive_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        msg = f"{name} must be an int >= {minimum}, got {value!r}"
        raise AnalysisError(msg)
    return int(value)


def _hlc(bars: Bars) -> dict[str, np.ndarray]:
    if not isinstance(bars, Bars):
        msg = f"bars must be backgrid Bars (see Bars.from_pandas), got {type(bars).__name__}"
        raise AnalysisError(msg)
    return {"high": bars.high, "low": bars.low, "close": bars.close}


def _indicator(id: str, inputs: dict[str, np.ndarray], option: str, **params: Any) -> np.ndarray:  # noqa: A002
    """Indicator ``id``'s output of the same name; a parameter out of its range is named by our ``option``."""
    try:
        return compute_arrays(id, inputs, **params)[id]
    except IndicatorError as error:
        msg = f"{option}: {error}"
        raise AnalysisError(msg) from error


def trend_regime(bars: Bars, *, adx_period: int = 14, sma_period: int = 50, slope_bars: int = 10,
                 adx_threshold: float = 25.0) -> Regimes:
    """Bull, bear or range at each bar from the ADX and the slope of an SMA (see the module docstring).

    >>> from backgrid.testing import random_bars
    >>> trend_regime(random_bars(300)).names
    ('bull', 'bear', 'range')
    """
    inputs = _hlc(bars)
    slope_bars = _positive_int("slope_bars", slope_bars)
    if not (isinstance(adx_threshold, int | float) and 0 < adx_threshold < 100):
        msg = f"adx_threshold must be a number in (0, 100), got {adx_threshold!r}"
        raise AnalysisError(msg)
    adx = _indicator("adx", inputs, "adx_period", period=adx_period)
    sma = _indicator("sma", inputs, "sma_period", period=sma_period)
    slope = np.full(sma.size, np.nan)
    slope[slope_bars:] = sma[slope_bars:] - sma[:-slope_bars]
    trending = adx >= adx_threshold
    codes = np.where(trending & (slope > 0), 0, np.where(trending & (slope < 0), 1, 2)).astype(np.int8)
    unknown = np.isnan(adx) | np.isnan(slope)
    codes[unknown] = UNKNOWN
    confidence = np.minimum(1.0, np.abs(adx - adx_threshold) / adx_threshold)
    confidence[unknown] = np.nan
    return Regimes("trend", ("bull", "bear", "range"), codes, confidence, bars.index,
                   params={"adx_period": adx_period, "sma_period": sma_period, "slope_bars": slope_bars,
                           "adx_threshold": float(adx_threshold)})


def rolling_rank(x: np.ndarray, lookback: int) -> np.ndarray:
    """Percentile rank of each value among its trailing ``lookback`` values, itself included (average ties).

    NaN until ``lookback`` values follow the leading NaNs; values after those must be finite.

    >>> rolling_rank(np.array([3.0, 1.0, 2.0, 2.0]), 3).tolist()
    [nan, nan, 0.6666666666666666, 0.8333333333333334]
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    finite = np.isfinite(x)
    start = int(np.argmax(finite)) if finite.any() else x.size
    if not finite[start:].all():
        msg = f"values must be finite after the warm-up (from position {start}); found a NaN or inf later"
        raise AnalysisError(msg)
    rank: np.ndarray = regimes_nb.rolling_rank_nb(x, _positive_int("lookback", lookback, 2), start, np.empty(x.size))
    return rank


def volatility_regime(bars: Bars, *, measure: str = "atr_percent", window: int = 14, lookback: int = 252,
                      low: float = 1 / 3, high: float = 2 / 3) -> Regimes:
    """Low, normal or high volatility at each bar: its rank among the trailing ``lookback`` values.

    ``measure``: ``"atr_percent"`` (the ATR over ``window`` bars in percent of the close) or ``"realised"``
    (the standard deviation of ``window`` log returns). See the module docstring for the rank and confidence.

    >>> from backgrid.testing import random_bars
    >>> regimes = volatility_regime(random_bars(400), lookback=100)
    >>> regimes.names, int((regimes.codes == -1).sum())
    (('low', 'normal', 'high'), 113)
    """
    inputs = _hlc(bars)
    if measure not in _MEASURES:
        msg = f"measure must be one of {', '.join(map(repr, _MEASURES))}, got {measure!r}"
        raise AnalysisError(msg)
    if not (isinstance(low, int | float) and isinstance(high, int | float) and 0 < low < high < 1):
        msg = f"low and high must be numbers with 0 < low < high < 1, got low={low!r}, high={high!r}"
        raise AnalysisError(msg)
    extra = ({"periods_per_year": periods_per_year(bars.timeframe.nanos, bars.calendar)}
             if measure == "realised" else {})
    value = _indicator(_MEASURES[measure], inputs, "window", period=window, **extra)
    rank = rolling_rank(value, lookback)
    codes = np.where(rank <= low, 0, np.where(rank > high, 2, 1)).astype(np.int8)
    confidence = np.where(codes == 0, (low - rank) / low,
                          np.where(codes == 2, (rank - high) / (1 - high),
                                   np.minimum(rank - low, high - rank) / ((high - low) / 2)))
    unknown = np.isnan(rank)
    codes[unknown] = UNKNOWN
    return Regimes("volatility", ("low", "normal", "high"), codes, confidence, bars.index,
                   params={"measure": measure, "window": window, "lookback": lookback, "low": float(low),
                           "high": float(high)})


def _timestamp(value: Any, name: str, what: str) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError) as error:
        msg = f"window {name!r}: {what} {value!r} is not a date or time ({error})"
        raise AnalysisError(msg) from None
    if pd.isna(stamp):
        msg = f"window {name!r}: {what} is missing"
        raise AnalysisError(msg)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def event_regime(index_or_bars: Bars | pd.DatetimeIndex,
                 windows: Mapping[str, Sequence[tuple[Any, Any]]], *, default: str = "normal") -> Regimes:
    """Label the bars inside user windows (``{"covid": [("2020-02-20", "2020-04-30")]}``), ``default`` elsewhere.

    Each window is an inclusive ``(start, end)``: a date without a time covers that whole day (pandas' partial
    date indexing, ``"2020-04-30"`` ends at the day's last bar). Times without a zone are UTC. Where windows
    overlap, the one named first in ``windows`` wins. Every bar is known; confidence is 1.

    >>> from backgrid.testing import random_bars
    >>> event_regime(random_bars(48), {"spike": [("2024-01-01 10:00", "2024-01-01 12:00")]}).codes[9:14].tolist()
    [0, 1, 1, 1, 0]
    """
    index = index_or_bars.index if isinstance(index_or_bars, Bars) else index_or_bars
    if not isinstance(index, pd.DatetimeIndex) or not index.is_monotonic_increasing:
        msg = "index_or_bars must be Bars or a sorted DatetimeIndex"
        raise AnalysisError(msg)
    if index.tz is None:
        index = index.tz_localize("UTC")
    names = (default, *windows)
    if len(set(names)) < len(names):
        msg = f"window names must differ from each other and from default={default!r}, got {list(windows)}"
        raise AnalysisError(msg)
    codes = np.zeros(index.size, dtype=np.int8)
    for code, name in reversed(list(enumerate(names[1:], start=1))):  # the first named is written last: it wins
        for pair in windows[name]:
            if isinstance(pair, str) or not isinstance(pair, Sequence) or len(pair) != 2:
                msg = f"window {name!r}: each window is a (start, end) pair, got {pair!r}"
                raise AnalysisError(msg)
            start, end = pair
            first, last = _timestamp(start, name, "start"), _timestamp(end, name, "end")
            if first > last:
                msg = f"window {name!r}: start {start!r} is after end {end!r}"
                raise AnalysisError(msg)
            strings = isinstance(start, str), isinstance(end, str)
            bounds: tuple[Any, ...] = tuple(raw if is_text else stamp for raw, is_text, stamp
                           in zip((start, end), strings, (first, last), strict=True))
            codes[index.slice_indexer(*bounds)] = code
    return Regimes("event", names, codes, np.ones(index.size), index,
                   params={"windows": {k: [tuple(map(str, w)) for w in v] for k, v in windows.items()},
                           "default": default})


def _account(result: Result, regimes: Regimes, column: Any) -> tuple[int, pd.DataFrame]:
    if not regimes.index.equals(result.index):
        msg = (f"regimes and result must be on the same bars: regimes have {regimes.index.size} bars "
               f"({regimes.index[:1].tolist()}...), the result {result.index.size}")
        raise AnalysisError(msg)
    ledger = result.ledger(column)  # checks the column; equity and exposure at every close
    return (0 if column is None else list(result.columns).index(column)), ledger


def decision_bars(result: Result, entry_idx: np.ndarray) -> np.ndarray:
    """The bar at whose close each entry was decided: the fill bar's, or the one before (-1: before the data)."""
    same_close = result.config is not None and result.config.fill == "same_close"
    return entry_idx if same_close else entry_idx - 1


def _codes_at(regimes: Regimes, bars: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inside = bars >= 0
    codes = np.full(bars.size, UNKNOWN, dtype=np.int64)
    confidence = np.full(bars.size, np.nan)
    codes[inside] = regimes.codes[bars[inside]]
    confidence[inside] = regimes.confidence[bars[inside]]
    return codes, confidence


def trades_with_regime(result: Result, regimes: Regimes, *, column: Any = None) -> pd.DataFrame:
    """``result.trades`` (of ``column``, default the first) with ``regime`` and ``regime_confidence`` at entry.

    The regime is the one known when the entry was decided, at the close before the fill bar (``entry_idx -
    1``; with ``fill="same_close"``, the fill bar's own close): the label of the fill bar itself may use that
    bar's close, which the decision could not see. A limit or stop entry gets the regime of the close before it
    filled. A trade decided before the first bar, or while the regime was unknown, has a missing regime.
    """
    position, _ = _account(result, regimes, column)
    trades = result.trades
    if not result.single:
        label = result.columns[position]  # a sweep's label may be a tuple, which == would compare element-wise
        trades = trades[[c == label for c in trades["column"]]].reset_index(drop=True)
    codes, confidence = _codes_at(regimes, decision_bars(result, trades["entry_idx"].to_numpy()))
    return trades.assign(regime=_categorical(codes, regimes.names),
                         regime_confidence=confidence)


def regime_stats(result: Result, regimes: Regimes, *, column: Any = None) -> pd.DataFrame:
    """One row per regime (and ``unknown`` when some bars are): how ``column`` of ``result`` did in it.

    A close in a regime brings into it the position held at that close and the return of the next bar (the
    return earned by that position, decided on what the close showed). Columns:

    - ``time_spent``: share of all bars with the regime's label; ``bars``: how many;
    - ``return``: ``prod(1 + r) - 1`` over those next-bar equity returns ``r = equity_t / equity_{t-1} - 1``;
    - ``sharpe_ratio``: ``mean(r) / std(r, ddof=1) * sqrt(periods_per_year)`` of the same returns;
    - ``trades``: trades whose entry was decided at a close of the regime (see :func:`trades_with_regime`);
      ``win_rate``: share of those that closed with ``pnl > 0``;
    - ``exposure``: share of the regime's closes with a position open (as the ``exposure`` metric counts it).
    """
    position, ledger = _account(result, regimes, column)
    equity = ledger["equity"].to_numpy()
    cash = float(result.params["cash"][position])
    returns = equity / np.r_[cash, equity[:-1]] - 1.0
    nxt = np.r_[returns[1:], np.nan]  # the return of the bar after each close
    held = ledger["exposure"].to_numpy() != 0.0  # gross: a long and a short that cancel still hold
    records = result.records[result.records["col"] == position]
    trade_codes, _ = _codes_at(regimes, decision_bars(result, records["entry_idx"]))
    ppy = result.stats_input(column).ppy  # the run's own annualisation
    codes = regimes.codes.astype(np.int64)
    groups = list(enumerate(regimes.names)) + ([(UNKNOWN, "unknown")] if (codes == UNKNOWN).any() else [])
    rows = {}
    for code, name in groups:
        mine = codes == code
        r = nxt[mine & ~np.isnan(nxt)]
        entered = records[trade_codes == code]
        closed = entered[~entered["open"]]
        rows[name] = {"time_spent": float(mine.mean()) if mine.size else math.nan, "bars": int(mine.sum()),
                      "return": float(np.prod(1.0 + r) - 1.0), "sharpe_ratio": rt.sharpe_ratio(r, ppy),
                      "trades": int(entered.size), "win_rate": tr.win_rate(closed["pnl"]),
                      "exposure": float(held[mine].mean()) if mine.any() else math.nan}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("regime")
