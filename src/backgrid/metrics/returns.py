"""Metrics of a return series (per-bar simple returns ``r``; ``ppy`` = periods per year).

Conventions follow empyrical: volatility uses the sample standard deviation
(ddof=1), ratios are annualised with ``sqrt(ppy)``, drawdowns are fractions of the
running peak (negative numbers), the risk-free rate is 0.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "annual_return", "annual_volatility", "annual_volatility_compounded", "avg_drawdown", "calmar_ratio",
    "drawdown", "max_drawdown", "max_drawdown_duration", "omega_ratio", "probabilistic_sharpe_ratio",
    "sharpe_ratio", "sortino_ratio", "total_return", "ulcer_index",
]


def total_return(r: np.ndarray) -> float:
    """Compounded return: ``prod(1 + r) - 1``."""
    return float(np.prod(1.0 + r) - 1.0) if r.size else 0.0


def annual_return(r: np.ndarray, ppy: float) -> float:
    """Compound annual growth rate: ``(1 + total_return) ** (ppy / len(r)) - 1``."""
    if not r.size:
        return math.nan
    growth = 1.0 + total_return(r)
    return float(growth ** (ppy / r.size) - 1.0) if growth > 0 else -1.0


def annual_volatility(r: np.ndarray, ppy: float) -> float:
    """``std(r, ddof=1) * sqrt(ppy)``."""
    return float(np.std(r, ddof=1) * math.sqrt(ppy)) if r.size > 1 else math.nan


def annual_volatility_compounded(r: np.ndarray, ppy: float) -> float:
    """Volatility of a year of compounded returns: ``sqrt((var + (1 + g)^2)^ppy - (1 + g)^(2 ppy))``.

    ``g`` is the geometric mean return per period and ``var`` the sample variance;
    this is the standard deviation of ``prod(1 + r_i) - 1`` over ``ppy`` independent
    periods (the definition backtesting.py reports as volatility).
    """
    if r.size < 2:
        return math.nan
    g = (1.0 + total_return(r)) ** (1.0 / r.size) - 1.0
    var = float(np.var(r, ddof=1))
    return float(math.sqrt((var + (1.0 + g) ** 2) ** ppy - (1.0 + g) ** (2.0 * ppy)))


def sharpe_ratio(r: np.ndarray, ppy: float) -> float:
    """``mean(r) / std(r, ddof=1) * sqrt(ppy)`` (risk-free rate 0)."""
    sd = np.std(r, ddof=1) if r.size > 1 else math.nan
    return float(np.mean(r) / sd * math.sqrt(ppy)) if sd and np.isfinite(sd) else math.nan


def sortino_ratio(r: np.ndarray, ppy: float) -> float:
    """``mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(ppy)`` (downside deviation below 0)."""
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) if r.size else math.nan
    return float(np.mean(r) / downside * math.sqrt(ppy)) if downside else math.nan


def drawdown(equity: np.ndarray) -> np.ndarray:
    """``equity / running_max(equity) - 1`` at every bar (0 at new highs, negative below)."""
    return equity / np.maximum.accumulate(equity) - 1.0


def max_drawdown(equity: np.ndarray) -> float:
    """The deepest drawdown, a negative fraction (0 when equity never fell)."""
    return float(drawdown(equity).min()) if equity.size else 0.0


def max_drawdown_duration(equity: np.ndarray) -> int:
    """The most bars spent below a previous peak before regaining it (or to the end)."""
    below = drawdown(equity) < 0
    longest = run = 0
    for flag in below:
        run = run + 1 if flag else 0
        longest = max(longest, run)
    return longest


def avg_drawdown(equity: np.ndarray) -> float:
    """Mean of the deepest point of each drawdown period (negative; 0 when there is none)."""
    dd = drawdown(equity)
    below = dd < 0
    if not below.any():
        return 0.0
    starts = np.flatnonzero(below & ~np.r_[False, below[:-1]])
    ends = np.flatnonzero(below & ~np.r_[below[1:], False]) + 1
    return float(np.mean([dd[a:b].min() for a, b in zip(starts, ends, strict=True)]))


def ulcer_index(equity: np.ndarray) -> float:
    """``sqrt(mean(drawdown^2))``, drawdowns as fractions."""
    return float(math.sqrt(np.mean(drawdown(equity) ** 2))) if equity.size else math.nan


def calmar_ratio(r: np.ndarray, equity: np.ndarray, ppy: float) -> float:
    """``annual_return / -max_drawdown``."""
    mdd = max_drawdown(equity)
    return annual_return(r, ppy) / -mdd if mdd < 0 else math.nan


def omega_ratio(r: np.ndarray, threshold: float = 0.0) -> float:
    """``sum(max(r - t, 0)) / sum(max(t - r, 0))`` with per-period threshold ``t``."""
    loss = float(np.sum(np.maximum(threshold - r, 0.0)))
    return float(np.sum(np.maximum(r - threshold, 0.0)) / loss) if loss > 0 else math.nan


def probabilistic_sharpe_ratio(r: np.ndarray, benchmark_sharpe: float = 0.0) -> float:
    """Probability that the true per-period Sharpe exceeds ``benchmark_sharpe`` (Bailey & López de Prado).

    ``PSR = Phi((SR - SR*) * sqrt(n - 1) / sqrt(1 - skew * SR + (kurt - 1) / 4 * SR^2))`` with the
    per-period (not annualised) ``SR``, skewness and (non-excess) kurtosis of ``r``.
    """
    if r.size < 3:
        return math.nan
    sd = np.std(r, ddof=1)
    if not sd:
        return math.nan
    sr = float(np.mean(r) / sd)
    centred = r - np.mean(r)
    m2 = float(np.mean(centred**2))
    skew = float(np.mean(centred**3)) / m2**1.5  # population moments, as scipy.stats.skew / kurtosis
    kurt = float(np.mean(centred**4)) / m2**2
    denom = 1.0 - skew * sr + (kurt - 1.0) / 4.0 * sr * sr
    if denom <= 0:
        return math.nan
    z = (sr - benchmark_sharpe) * math.sqrt(r.size - 1) / math.sqrt(denom)
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))
