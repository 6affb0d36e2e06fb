"""Robustness of a backtest's statistics: plain functions of arrays and numbers (no engine calls).

- :mod:`.sharpe`: Probabilistic and Deflated Sharpe ratios, minimum track record and backtest lengths;
- :mod:`.pbo`: Probability of Backtest Overfitting by combinatorially symmetric cross-validation;
- :mod:`.montecarlo`: trade shuffles, trade bootstraps and block bootstraps of returns;
- :mod:`.checks`: checks that re-run a strategy (random entries, jitter, costs, resampled prices, PBO of a search);
- :mod:`.report`: all of them for one strategy and parameter set.
"""

from backgrid.robustness.checks import (
    cost_stress,
    jitter,
    plateau,
    random_entries,
    resampled_paths,
    trials_pbo,
)
from backgrid.robustness.montecarlo import (
    BlockBootstrapResult,
    BootstrapResult,
    ShuffleResult,
    block_bootstrap,
    bootstrap_trades,
    shuffle_trades,
)
from backgrid.robustness.pbo import PBOResult, pbo
from backgrid.robustness.report import RobustnessReport, report
from backgrid.robustness.sharpe import (
    dsr,
    expected_max_sharpe,
    min_backtest_length,
    min_track_record_length,
    psr,
    sharpe,
)

__all__ = [
    "BlockBootstrapResult",
    "BootstrapResult",
    "PBOResult",
    "RobustnessReport",
    "ShuffleResult",
    "block_bootstrap",
    "bootstrap_trades",
    "cost_stress",
    "dsr",
    "expected_max_sharpe",
    "jitter",
    "min_backtest_length",
    "min_track_record_length",
    "pbo",
    "plateau",
    "psr",
    "random_entries",
    "report",
    "resampled_paths",
    "sharpe",
    "shuffle_trades",
    "trials_pbo",
]
