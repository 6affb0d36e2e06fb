"""Analysis of backtest results: regimes, insights, benchmarks and run diffs (see the modules)."""
