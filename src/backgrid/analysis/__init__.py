"""Analysis of backtests: market regimes (causal labels per bar), benchmarks, plain-language insights, run diffs.

>>> from backgrid.analysis import trend_regime
>>> from backgrid.testing import random_bars
>>> trend_regime(random_bars(200)).method
'trend'
"""

from backgrid.analysis.attribution import attribute_trades, explain
from backgrid.analysis.benchmarks import benchmark_stats, buy_and_hold, sma_cross_baseline, warmup
from backgrid.analysis.compare import compare
from backgrid.analysis.diff import RunDiff, diff_runs
from backgrid.analysis.insights import RULES, Insight, insights, stored_insights
from backgrid.analysis.readings import readings
from backgrid.analysis.regimes import (
    Regimes,
    event_regime,
    regime_stats,
    rolling_rank,
    trades_with_regime,
    trend_regime,
    volatility_regime,
)
from backgrid.analysis.regimes_hmm import hmm_regime

__all__ = ["RULES", "Insight", "Regimes", "RunDiff", "attribute_trades", "benchmark_stats", "buy_and_hold", "compare",
           "diff_runs", "event_regime", "explain", "hmm_regime", "insights", "readings", "regime_stats",
           "rolling_rank", "sma_cross_baseline", "stored_insights", "trades_with_regime", "trend_regime",
           "volatility_regime", "warmup"]
