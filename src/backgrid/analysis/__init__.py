"""Analysis of markets and backtests: market regimes (causal labels per bar) and how a run did in each.

>>> from backgrid.analysis import trend_regime
>>> from backgrid.testing import random_bars
>>> trend_regime(random_bars(200)).method
'trend'
"""

from backgrid.analysis.regimes import (
    RegimeError,
    Regimes,
    event_regime,
    regime_stats,
    rolling_rank,
    trades_with_regime,
    trend_regime,
    volatility_regime,
)
from backgrid.analysis.regimes_hmm import hmm_regime

__all__ = ["RegimeError", "Regimes", "event_regime", "hmm_regime", "regime_stats", "rolling_rank",
           "trades_with_regime", "trend_regime", "volatility_regime"]
