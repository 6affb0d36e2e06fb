"""Metrics of a return series (per-bar simple returns ``r``; ``ppy`` = periods per year).

Conventions follow empyrical (``empyrical-reloaded``, checked in ``tests/metrics``):
volatility uses the sample standard deviation (ddof=1), ratios are annualised with
``sqrt(ppy)``, drawdowns are fractions of the running peak (negative numbers), the
risk-free rate is 0. Drawdowns of an equity curve take the value held before the
first bar (``start``, the starting cash) as the first peak, as a drawdown computed
from the returns does. Where empyrical answers ``inf`` (a ratio over a zero
deviation), these functions answer NaN: the ratio is undefined, and an infinite
score would rank first in a parameter sweep.

Percentiles are historical, by linear interpolation between order statistics (:func:`quantile`:
numpy's default ``"linear"`` method, Hyndman & Fan's type 7), as empyrical's ``np.percentile``.
Benchmark-relative metrics take the active return ``r - b`` against the benchmark's per-bar
returns ``b``, bar for bar.

Every function is vectorised over bars (no Python loop over the series), so a
sweep can call it once per column cheaply.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "TAIL", "annual_return", "annual_volatility", "annual_volatility_compounded", "avg_drawdown", "calmar_ratio",
    "capture_ratio", "compound", "conditional_value_at_risk", "down_capture", "drawdown", "information_ratio",
    "max_drawdown", "max_drawdown_duration", "omega_ratio", "probabilistic_sharpe_ratio", "quantile", "sharpe_ratio",
    "sortino_ratio", "tail_ratio", "total_return", "tracking_error", "ulcer_index", "ulcer_performance_index",
    "up_capture", "value_at_risk",
]

#: the tail of the distribution the value at risk, expected shortfall and tail ratio look at: 5 %
TAIL = 0.05


def total_return(r: np.ndarray) -> float:
    """Compounded return: ``prod(1 + r) - 1`` (0 for no returns)."""
    return float(np.prod(1.0 + r) - 1.0) if r.size else 0.0


def compound(growth: float, times: float) -> float:
    """``growth ** times - 1``: the return of ``times`` repeats of a growth factor ``growth >= 0``.

    ``+inf`` when the power overflows a float (a short run on minute bars can
    annualise to ``1.1 ** 5256``), never an exception or a warning.
    """
    try:
        return float(float(growth) ** float(times)) - 1.0
    except OverflowError:
        return math.inf


def annual_return(r: np.ndarray, ppy: float) -> float:
    """Compound annual growth over the bars: ``(1 + total_return) ** (ppy / len(r)) - 1``.

    A run that lost everything (growth ``<= 0``) answers -1 (empyrical: -1 at exactly 0,
    NaN below it).
    """
    if not r.size:
        return math.nan
    growth = 1.0 + total_return(r)
    return compound(growth, ppy / r.size) if growth > 0 else -1.0


def annual_volatility(r: np.ndarray, ppy: float) -> float:
    """``std(r, ddof=1) * sqrt(ppy)`` (NaN for fewer than two returns)."""
    return float(np.std(r, ddof=1) * math.sqrt(ppy)) if r.size > 1 else math.nan


def annual_volatility_compounded(r: np.ndarray, ppy: float) -> float:
    """Volatility of a year of compounded returns: ``sqrt((var + (1 + g)^2)^ppy - (1 + g)^(2 ppy))``.

    ``g`` is the geometric mean return per period and ``var`` the sample variance;
    this is the standard deviation of ``prod(1 + r_i) - 1`` over ``ppy`` independent
    periods (the definition backtesting.py reports as volatility). Computed as
    ``a^(ppy/2) * sqrt(1 - (b/a)^ppy)`` with ``a = var + (1 + g)^2``, ``b = (1 + g)^2``,
    which neither overflows nor cancels when both powers are huge. NaN when the run
    lost everything.
    """
    growth = 1.0 + total_return(r)
    if r.size < 2 or growth <= 0:
        return math.nan
    b = growth ** (2.0 / r.size)
    a = float(np.var(r, ddof=1)) + b
    return float(math.sqrt(-math.expm1(ppy * math.log(b / a)))) * (compound(a, ppy / 2.0) + 1.0)


def _constant(r: np.ndarray) -> bool:
    """True when every return is the same (the deviation is 0, whatever rounding says)."""
    return bool(r.max() == r.min())


def sharpe_ratio(r: np.ndarray, ppy: float) -> float:
    """``mean(r) / std(r, ddof=1) * sqrt(ppy)`` (risk-free rate 0).

    NaN for fewer than two returns or constant returns (empyrical: ``±inf``).
    """
    if r.size < 2 or _constant(r):
        return math.nan
    return float(np.mean(r) / np.std(r, ddof=1) * math.sqrt(ppy))


def sortino_ratio(r: np.ndarray, ppy: float, required_return: float = 0.0) -> float:
    """``mean(r - t) / sqrt(mean(min(r - t, 0)^2)) * sqrt(ppy)``, ``t`` = ``required_return`` per bar.

    The downside deviation averages over every bar, not only the losing ones
    (Sortino & Price; empyrical's ``downside_risk``). NaN for fewer than two
    returns or when no return is below ``t`` (empyrical: ``inf``).
    """
    if r.size < 2:
        return math.nan
    excess = r - required_return
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    return float(np.mean(excess) / downside * math.sqrt(ppy)) if downside else math.nan


def drawdown(equity: np.ndarray, start: float | None = None) -> np.ndarray:
    """``equity / running_max - 1`` at every bar (0 at new highs, negative below).

    ``start`` is the value before the first bar (the starting cash): it is the
    first peak, so a loss on the very first bar is a drawdown.
    """
    peak = np.maximum.accumulate(equity)
    if start is not None:
        np.maximum(peak, start, out=peak)
    return np.asarray(equity / peak - 1.0)


def max_drawdown(equity: np.ndarray, start: float | None = None) -> float:
    """The deepest drawdown, ``min(drawdown)``: a negative fraction (0 when equity never fell)."""
    return float(drawdown(equity, start).min()) if equity.size else 0.0


def max_drawdown_duration(equity: np.ndarray, start: float | None = None) -> int:
    """The most consecutive bars that closed below a previous peak (0 when equity never fell).

    This counts the bars under water; backtesting.py's duration runs from the
    peak's bar to the recovery bar, one more for a drawdown that recovered.
    """
    starts, ends = _runs(drawdown(equity, start) < 0)
    return int((ends - starts).max()) if starts.size else 0


def _runs(flags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First index and one past the last index of every run of True in ``flags``."""
    edges = np.diff(np.concatenate(([0], flags.view(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def avg_drawdown(equity: np.ndarray, start: float | None = None) -> float:
    """Mean of the deepest point of each drawdown period (negative; 0 when there is none).

    A period is a run of bars below the peak; it ends when equity regains the peak
    or at the last bar.
    """
    dd = drawdown(equity, start)
    starts, _ = _runs(dd < 0)
    # between periods dd is 0, so each slice [start_i, start_i+1) has the period's minimum
    return float(np.minimum.reduceat(dd, starts).mean()) if starts.size else 0.0


def ulcer_index(equity: np.ndarray, start: float | None = None) -> float:
    """``sqrt(mean(drawdown^2))`` over the bars, drawdowns as fractions (0 for no bars)."""
    return float(math.sqrt(np.mean(drawdown(equity, start) ** 2))) if equity.size else 0.0


def calmar_ratio(r: np.ndarray, ppy: float) -> float:
    """``annual_return / -max_drawdown``, the drawdown of ``prod(1 + r)`` from 1 (NaN without a drawdown)."""
    if not r.size:
        return math.nan
    mdd = max_drawdown(np.cumprod(1.0 + r), 1.0)
    ratio = annual_return(r, ppy) / -mdd if mdd < 0 else math.nan
    return ratio if math.isfinite(ratio) else math.nan


def omega_ratio(r: np.ndarray, threshold: float = 0.0) -> float:
    """``sum(max(r - t, 0)) / sum(max(t - r, 0))`` with a per-bar threshold ``t``.

    empyrical takes an annual ``required_return`` R and uses ``t = (1 + R) ** (1 / ppy) - 1``.
    NaN for fewer than two returns or no return below ``t``.
    """
    if r.size < 2:
        return math.nan
    excess = r - threshold
    loss = -float(np.minimum(excess, 0.0).sum())
    return float(np.maximum(excess, 0.0).sum()) / loss if loss > 0 else math.nan


def probabilistic_sharpe_ratio(r: np.ndarray, benchmark_sharpe: float = 0.0) -> float:
    """Probability that the true per-bar Sharpe ratio exceeds ``benchmark_sharpe`` (Bailey & López de Prado).

    ``PSR = Phi((SR - SR*) * sqrt(n - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2))`` with the
    per-bar (not annualised) ``SR = mean / std(ddof=1)``, and the skewness and (non-excess) kurtosis
    of ``r`` from population moments (``scipy.stats.skew``, ``kurtosis(fisher=False)``).
    NaN for fewer than three returns or constant returns.
    """
    if r.size < 3 or _constant(r):
        return math.nan
    mean = float(np.mean(r))
    centred = r - mean
    c2 = centred * centred  # products, not powers: numpy's pow is many times slower for cubes
    m2 = float(np.mean(c2))
    sr = mean / math.sqrt(m2 * r.size / (r.size - 1))
    skew = float(np.mean(c2 * centred)) / m2**1.5
    kurt = float(np.mean(c2 * c2)) / m2**2
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if denom <= 0:
        return math.nan
    z = (sr - benchmark_sharpe) * math.sqrt(r.size - 1) / math.sqrt(denom)
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


def ulcer_performance_index(r: np.ndarray, equity: np.ndarray, ppy: float, start: float | None = None) -> float:
    """Martin's ulcer performance index: ``annual_return(r) / ulcer_index(equity, start)`` (risk-free rate 0).

    ``r`` are the returns of ``equity`` (the first against ``start``). quantstats divides the total
    compounded return instead, by an ulcer index averaged over ``n - 1`` bars. NaN when equity never fell
    (ulcer index 0) or the ratio is not finite.
    """
    ulcer = ulcer_index(equity, start)
    if not r.size or not ulcer:
        return math.nan
    ratio = annual_return(r, ppy) / ulcer
    return ratio if math.isfinite(ratio) else math.nan


def quantile(r: np.ndarray, q: float) -> float:
    """The ``q`` quantile (0..1) of ``r``: ``s[k] + (h - k) * (s[k + 1] - s[k])``, ``h = q (n - 1)``, ``k = floor(h)``.

    ``s`` is ``r`` sorted (``s[k + 1]`` is ``s[k]`` at the last value). NaN for no values or any NaN
    (``np.percentile``: NaN too).
    """
    n = r.size
    if not n or np.isnan(r).any():
        return math.nan
    h = q * (n - 1)
    k = int(h)
    hi = min(k + 1, n - 1)
    s = np.partition(r, (k, hi))  # only the two order statistics are needed
    return float(s[k] + (s[hi] - s[k]) * (h - k))


def value_at_risk(r: np.ndarray, cutoff: float = TAIL) -> float:
    """Historical value at risk per bar: the ``cutoff`` quantile of the returns (:func:`quantile`), a loss < 0.

    empyrical's ``value_at_risk`` (``np.percentile(r, 100 * cutoff)``); quantstats' ``value_at_risk`` is
    parametric (a normal distribution's quantile). NaN for no returns or any NaN.
    """
    return quantile(r, cutoff)


def conditional_value_at_risk(r: np.ndarray, cutoff: float = TAIL) -> float:
    """Expected shortfall per bar: the mean of the ``k + 1`` lowest returns, ``k = floor(cutoff (n - 1))``.

    These are the returns at or below the value at risk, a tie at the cut counted only up to ``k + 1``
    values (empyrical's ``conditional_value_at_risk``; quantstats' historical one takes every tie). NaN for
    no returns or any NaN (empyrical drops NaNs).
    """
    n = r.size
    if not n or np.isnan(r).any():
        return math.nan
    k = int(cutoff * (n - 1))
    cut = np.partition(r, k)[k]
    below = r[r < cut]
    # the lowest k + 1 in a fixed order (bar order, then the cut's value): a partition's order is arbitrary
    return float(np.mean(np.concatenate((below, np.full(k + 1 - below.size, cut)))))


def tail_ratio(r: np.ndarray, cutoff: float = TAIL) -> float:
    """``|quantile(r, 1 - cutoff)| / |quantile(r, cutoff)|``: the right tail's size over the left's.

    NaN when the ``cutoff`` quantile is 0 (empyrical: ``inf``) or undefined.
    """
    left = quantile(r, cutoff)
    if not left or math.isnan(left):
        return math.nan
    return abs(quantile(r, 1.0 - cutoff)) / abs(left)


def information_ratio(r: np.ndarray, b: np.ndarray, ppy: float) -> float:
    """The Sharpe ratio of the active returns: ``mean(r - b) / std(r - b, ddof=1) * sqrt(ppy)``.

    Annualised as :func:`sharpe_ratio` is: empyrical's ``excess_sharpe`` and quantstats'
    ``information_ratio`` are per bar (this over ``sqrt(ppy)``). NaN for fewer than two bars or a constant
    active return (quantstats: 0).
    """
    return sharpe_ratio(r - b, ppy)


def tracking_error(r: np.ndarray, b: np.ndarray, ppy: float) -> float:
    """The annualised volatility of the active returns: ``std(r - b, ddof=1) * sqrt(ppy)`` (NaN below two bars)."""
    return annual_volatility(r - b, ppy)


def capture_ratio(r: np.ndarray, b: np.ndarray, ppy: float) -> float:
    """``annual_return(r) / annual_return(b)``, each compounded over its own bars (empyrical's ``capture``).

    NaN without bars, when the benchmark's annual return is 0, or for a ratio that is not finite: also where
    a product of the returns overflows a float (the up bars of a few hundred thousand intraday bars can
    compound past 1e308), as the column kernel's product does.
    """
    with np.errstate(over="ignore"):  # an overflowed product is an infinite growth: the ratio is NaN below
        theirs = annual_return(b, ppy)
        mine = annual_return(r, ppy)
    if not theirs:
        return math.nan
    ratio = mine / theirs
    return ratio if math.isfinite(ratio) else math.nan


def up_capture(r: np.ndarray, b: np.ndarray, ppy: float) -> float:
    """:func:`capture_ratio` over the bars where the benchmark rose (``b > 0``), empyrical's ``up_capture``."""
    up = b > 0
    return capture_ratio(r[up], b[up], ppy)


def down_capture(r: np.ndarray, b: np.ndarray, ppy: float) -> float:
    """:func:`capture_ratio` over the bars where the benchmark fell (``b < 0``), empyrical's ``down_capture``.

    Below 0 when the returns rose on those bars; the lower, the better.
    """
    down = b < 0
    return capture_ratio(r[down], b[down], ppy)
