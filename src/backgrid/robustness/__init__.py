"""Robustness of a backtest's statistics: plain functions of arrays and numbers (no engine calls).

- :mod:`.sharpe`: Probabilistic and Deflated Sharpe ratios, minimum track record and backtest lengths;
- :mod:`.pbo`: Probability of Backtest Overfitting by combinatorially symmetric cross-validation;
- :mod:`.montecarlo`: trade shuffles, trade bootstraps and block bootstraps of returns.
"""

from backgrid.robustness.montecarlo import (
    BlockBootstrapResult,
    BootstrapResult,
    ShuffleResult,
    block_bootstrap,
    bootstrap_trades,
    shuffle_trades,
)
from backgrid.robustness.pbo import PBOResult, pbo
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
    "ShuffleResult",
    "block_bootstrap",
    "bootstrap_trades",
    "dsr",
    "expected_max_sharpe",
    "min_backtest_length",
    "min_track_record_length",
    "pbo",
    "psr",
    "sharpe",
    "shuffle_trades",
]
