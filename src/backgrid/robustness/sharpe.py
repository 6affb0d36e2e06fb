"""How much a Sharpe ratio can be trusted: PSR, DSR, MinTRL, MinBTL and the expected maximum of N Sharpes.

Conventions: every Sharpe ratio here is **per period** (``mean / std(ddof=1)`` of the per-period returns,
risk-free rate 0, not annualised), as in the papers' formulas; ``n`` is the number of returns ``T``; the
kurtosis is **raw** (a normal distribution has 3, not 0) and the skewness and kurtosis come from population
moments (``scipy.stats.skew``, ``scipy.stats.kurtosis(fisher=False)``). These are the conventions of
:func:`backgrid.metrics.returns.probabilistic_sharpe_ratio`, and :func:`psr` on a returns array answers what
it does (to rounding); unlike it, :func:`psr` raises for fewer than 3 returns instead of answering NaN, and
takes the moments or annualised inputs as well as returns.

Inputs in annual units: pass ``periods_per_year`` (``ppy``) and every Sharpe-like number given as an argument
(``sharpe``, ``benchmark``) is read as annualised and converted with ``SR / sqrt(ppy)``, and a variance of
Sharpe ratios (``trials_variance``) with ``V / ppy``. A Sharpe computed from ``returns`` is per period
already and is never converted.

References:
    Bailey, D. H. & López de Prado, M. (2012). The Sharpe ratio efficient frontier. Journal of Risk 15(2).
    Bailey, D. H. & López de Prado, M. (2014). The deflated Sharpe ratio: correcting for selection bias,
    backtest overfitting and non-normality. Journal of Portfolio Management 40(5).
    Bailey, D. H., Borwein, J. M., López de Prado, M. & Zhu, Q. J. (2014). Pseudo-mathematics and financial
    charlatanism: the effects of backtest overfitting on out-of-sample performance. Notices of the AMS 61(5).
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from backgrid.errors import RobustnessError

__all__ = [
    "EULER_GAMMA",
    "dsr",
    "expected_max_sharpe",
    "min_backtest_length",
    "min_track_record_length",
    "psr",
    "sharpe",
]

#: The Euler–Mascheroni constant γ of the expected-maximum approximation.
EULER_GAMMA = 0.5772156649015329

_NORMAL = NormalDist()


def _phi(z: float) -> float:
    """Standard normal CDF."""
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def _phi_inv(p: float) -> float:
    """Standard normal quantile (Wichura's AS241, full double precision)."""
    return _NORMAL.inv_cdf(p)


def _as_returns(returns: object, name: str = "returns") -> np.ndarray:
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1:
        msg = f"{name} must be a 1-D array of per-period returns; got shape {r.shape}"
        raise RobustnessError(msg)
    if not np.all(np.isfinite(r)):
        msg = f"{name} must be finite; found NaN or inf"
        raise RobustnessError(msg)
    return r


def sharpe(returns: np.ndarray) -> float:
    """Per-period Sharpe ratio ``mean(r) / std(r, ddof=1)`` (risk-free rate 0, not annualised).

    NaN for fewer than two returns or constant returns (the ratio is undefined).

    >>> round(sharpe(np.array([0.01, -0.02, 0.03, 0.0])), 6)
    0.240192
    """
    r = _as_returns(returns)
    if r.size < 2 or r.max() == r.min():
        return math.nan
    return float(np.mean(r) / np.std(r, ddof=1))


def _moments(r: np.ndarray) -> tuple[float, int, float, float]:
    """Per-period Sharpe (ddof=1), T, skewness and raw kurtosis (population moments) of ``r``."""
    mean = float(np.mean(r))
    centred = r - mean
    c2 = centred * centred
    m2 = float(np.mean(c2))
    sr = mean / math.sqrt(m2 * r.size / (r.size - 1))
    return sr, r.size, float(np.mean(c2 * centred)) / m2**1.5, float(np.mean(c2 * c2)) / m2**2


def _scale(periods_per_year: float | None) -> float:
    """``sqrt(ppy)``, the divisor that takes an annualised Sharpe to a per-period one (1 without ``ppy``)."""
    if periods_per_year is None:
        return 1.0
    if not (isinstance(periods_per_year, int | float) and math.isfinite(periods_per_year) and periods_per_year > 0):
        msg = f"periods_per_year must be a positive number; got {periods_per_year!r}"
        raise RobustnessError(msg)
    return math.sqrt(periods_per_year)


def _resolve(returns: np.ndarray | None, *, sharpe_: float | None, n: int | None, skew: float | None,
             kurtosis: float | None, scale: float, need_n: bool = True) -> tuple[float, int, float, float]:
    """The per-period ``(SR, T, skew, raw kurtosis)`` from either ``returns`` or the moments given."""
    if returns is not None:
        given = [name for name, value in (("sharpe", sharpe_), ("n", n), ("skew", skew), ("kurtosis", kurtosis))
                 if value is not None]
        if given:
            msg = f"pass either returns or the moments, not both; got returns and {', '.join(given)}"
            raise RobustnessError(msg)
        r = _as_returns(returns)
        if r.size < 3:
            msg = f"returns must hold at least 3 values for skewness and kurtosis; got {r.size}"
            raise RobustnessError(msg)
        if r.max() == r.min():
            return math.nan, r.size, math.nan, math.nan
        return _moments(r)
    if sharpe_ is None:
        msg = "sharpe is required when returns is not given"
        raise RobustnessError(msg)
    if not math.isfinite(sharpe_):
        msg = f"sharpe must be finite; got {sharpe_!r}"
        raise RobustnessError(msg)
    if need_n and (n is None or isinstance(n, bool) or int(n) != n or n < 2):
        msg = f"n (the number of returns) must be an integer of at least 2; got {n!r}"
        raise RobustnessError(msg)
    skew_ = 0.0 if skew is None else float(skew)
    kurt_ = 3.0 if kurtosis is None else float(kurtosis)
    if not (math.isfinite(skew_) and math.isfinite(kurt_)):
        msg = f"skew and kurtosis must be finite; got {skew_!r} and {kurt_!r}"
        raise RobustnessError(msg)
    if kurt_ < 1.0 + skew_ * skew_:
        # every distribution has kurtosis >= 1 + skew² (raw); an excess kurtosis passed by mistake often lands here
        msg = (f"kurtosis must be the raw kurtosis (3 for a normal), at least 1 + skew² = "
               f"{1.0 + skew_ * skew_:g}; got {kurt_:g} (an excess kurtosis?)")
        raise RobustnessError(msg)
    return float(sharpe_) / scale, int(n) if n is not None else 0, skew_, kurt_


def _sr_variance_factor(sr: float, skew: float, kurtosis: float) -> float:
    """``1 - γ3·SR + (γ4 - 1)/4·SR²``: T - 1 times the variance of the Sharpe estimator (Mertens; Bailey & LdP)."""
    return 1.0 - skew * sr + (kurtosis - 1.0) / 4.0 * sr * sr


def _psr(sr: float, n: int, skew: float, kurtosis: float, benchmark: float) -> float:
    if math.isnan(sr):
        return math.nan
    factor = _sr_variance_factor(sr, skew, kurtosis)
    if factor <= 0:  # only at kurtosis == 1 + skew², a two-point distribution: the estimator has no spread
        return math.nan
    return _phi((sr - benchmark) * math.sqrt(n - 1) / math.sqrt(factor))


def psr(returns: np.ndarray | None = None, *, sharpe: float | None = None, n: int | None = None,
        skew: float | None = None, kurtosis: float | None = None, benchmark: float = 0.0,
        periods_per_year: float | None = None) -> float:
    """Probabilistic Sharpe Ratio: the probability that the true Sharpe ratio exceeds ``benchmark``.

    ``PSR = Φ((SR - SR*) · sqrt(T - 1) / sqrt(1 - γ3·SR + (γ4 - 1)/4 · SR²))`` with the per-period Sharpe
    ``SR``, the benchmark ``SR*``, ``T`` returns, skewness ``γ3`` and **raw** kurtosis ``γ4``
    (Bailey & López de Prado 2012, eq. 8).

    Args:
        returns: per-period returns (at least 3); or give ``sharpe`` and ``n`` instead.
        sharpe: the observed Sharpe ratio (per period; annualised when ``periods_per_year`` is given).
        n: the number of returns ``T`` behind ``sharpe``.
        skew: skewness of the returns (default 0, with the moments).
        kurtosis: raw kurtosis of the returns (default 3, a normal's, with the moments).
        benchmark: ``SR*``, in the same units as ``sharpe``.
        periods_per_year: read ``sharpe`` and ``benchmark`` as annualised (divided by ``sqrt(ppy)``).

    Returns:
        A probability in [0, 1]; NaN for constant returns.

    >>> round(psr(sharpe=0.1, n=101), 6)  # Φ(0.1 · 10 / sqrt(1 + (3 - 1)/4 · 0.01))
    0.840741
    """
    scale = _scale(periods_per_year)
    sr, t, g3, g4 = _resolve(returns, sharpe_=sharpe, n=n, skew=skew, kurtosis=kurtosis, scale=scale)
    return _psr(sr, t, g3, g4, benchmark / scale)


def expected_max_sharpe(n_trials: int, variance: float) -> float:
    """Expected maximum of ``n_trials`` Sharpe ratios whose true value is 0, with variance ``variance`` across trials.

    ``E[max SR] ≈ sqrt(V) · ((1 - γ) · Φ⁻¹(1 - 1/N) + γ · Φ⁻¹(1 - 1/(N·e)))``, γ the Euler–Mascheroni
    constant (Bailey & López de Prado 2014, eq. 2; the asymptotic expected maximum of N i.i.d. normals).
    It is in the units of ``sqrt(variance)``: pass a per-period variance for a per-period answer. The
    approximation is a little above the exact expectation for small N (about 2 % at N = 10, 1 % at N = 100).

    >>> round(expected_max_sharpe(100, 1.0), 4)
    2.5306
    """
    if isinstance(n_trials, bool) or int(n_trials) != n_trials or n_trials < 2:
        msg = f"n_trials must be an integer of at least 2; got {n_trials!r}"
        raise RobustnessError(msg)
    if not (math.isfinite(variance) and variance >= 0):
        msg = f"variance must be a finite number >= 0; got {variance!r}"
        raise RobustnessError(msg)
    return math.sqrt(variance) * _max_of_normals(int(n_trials))


def _max_of_normals(n: int) -> float:
    return (1.0 - EULER_GAMMA) * _phi_inv(1.0 - 1.0 / n) + EULER_GAMMA * _phi_inv(1.0 - 1.0 / (n * math.e))


def dsr(returns: np.ndarray | None = None, *, sharpe: float | None = None, n: int | None = None,
        skew: float | None = None, kurtosis: float | None = None, n_trials: int, trials_variance: float,
        periods_per_year: float | None = None) -> float:
    """Deflated Sharpe Ratio: the PSR against the Sharpe ratio the best of ``n_trials`` would show by luck alone.

    ``DSR = PSR(SR* = E[max SR])`` with ``E[max SR] = sqrt(V) · ((1 - γ)Φ⁻¹(1 - 1/N) + γΦ⁻¹(1 - 1/(N·e)))``,
    ``N`` = ``n_trials`` and ``V`` = ``trials_variance``, the variance of the trials' Sharpe ratios
    (Bailey & López de Prado 2014, eq. 2 and 3).

    Args:
        returns: per-period returns of the selected strategy; or give ``sharpe`` and ``n``.
        sharpe: its observed Sharpe ratio (per period; annualised when ``periods_per_year`` is given).
        n: the number of returns ``T``.
        skew: skewness of the returns (default 0).
        kurtosis: raw kurtosis of the returns (default 3).
        n_trials: how many (independent) configurations were tried, at least 2.
        trials_variance: variance of their Sharpe ratios (per period; annualised with ``periods_per_year``,
            then divided by ``ppy``).
        periods_per_year: read ``sharpe`` and ``trials_variance`` as annualised.

    >>> round(dsr(sharpe=2.5, n=1250, skew=-3, kurtosis=10, n_trials=100, trials_variance=0.5,
    ...           periods_per_year=250), 4)  # the worked example of the paper
    0.9004
    """
    scale = _scale(periods_per_year)
    if not (math.isfinite(trials_variance) and trials_variance >= 0):
        msg = f"trials_variance must be a finite number >= 0; got {trials_variance!r}"
        raise RobustnessError(msg)
    sr, t, g3, g4 = _resolve(returns, sharpe_=sharpe, n=n, skew=skew, kurtosis=kurtosis, scale=scale)
    return _psr(sr, t, g3, g4, expected_max_sharpe(n_trials, trials_variance / scale**2))


def min_track_record_length(returns: np.ndarray | None = None, *, sharpe: float | None = None,
                            skew: float | None = None, kurtosis: float | None = None, benchmark: float = 0.0,
                            alpha: float = 0.05, periods_per_year: float | None = None) -> float:
    """Minimum Track Record Length: how many returns make ``SR > benchmark`` significant at level ``alpha``.

    ``MinTRL = 1 + (1 - γ3·SR + (γ4 - 1)/4 · SR²) · (Φ⁻¹(1 - α) / (SR - SR*))²``, per-period Sharpe ratios,
    raw kurtosis (Bailey & López de Prado 2012, eq. 11). A track record of exactly MinTRL returns has
    ``PSR = 1 - α``.

    Returns:
        The number of returns (periods; divide by ``ppy`` for years); ``inf`` when ``SR <= SR*`` (no length
        suffices), NaN for constant returns.

    >>> round(min_track_record_length(sharpe=0.1), 2)  # 1 + 1.005 · (1.6449 / 0.1)², Φ⁻¹(0.95) = 1.6449
    272.91
    """
    if not 0.0 < alpha < 1.0:
        msg = f"alpha must be in (0, 1); got {alpha!r}"
        raise RobustnessError(msg)
    scale = _scale(periods_per_year)
    sr, _, g3, g4 = _resolve(returns, sharpe_=sharpe, n=None, skew=skew, kurtosis=kurtosis, scale=scale,
                             need_n=False)
    if math.isnan(sr):
        return math.nan
    edge = sr - benchmark / scale
    if edge <= 0:
        return math.inf
    return 1.0 + _sr_variance_factor(sr, g3, g4) * (_phi_inv(1.0 - alpha) / edge) ** 2


def min_backtest_length(n_trials: int, target_sharpe_annual: float) -> float:
    """Minimum Backtest Length, in years: the history below which the best of ``n_trials`` skill-less configurations
    is expected to show an annualised Sharpe of ``target_sharpe_annual``.

    ``MinBTL ≈ ((1 - γ)Φ⁻¹(1 - 1/N) + γΦ⁻¹(1 - 1/(N·e)))² / SR²`` (Bailey, Borwein, López de Prado & Zhu 2014,
    "Pseudo-mathematics and financial charlatanism", Theorem 2): with less history than this, an in-sample
    Sharpe of ``SR`` is what N trials of noise would give.

    >>> round(min_backtest_length(45, 1.0), 2)  # the paper: about 45 trials for 5 years at SR 1
    5.0
    """
    if not (math.isfinite(target_sharpe_annual) and target_sharpe_annual > 0):
        msg = f"target_sharpe_annual must be a positive number; got {target_sharpe_annual!r}"
        raise RobustnessError(msg)
    return expected_max_sharpe(n_trials, 1.0) ** 2 / target_sharpe_annual**2
