"""Analysis of backtests: benchmarks, regimes and plain-language insights."""
