"""Interactive HTML charts (TradingView Lightweight Charts, inlined so the files work offline)."""

from backgrid.charts.backtest import backtest_chart

__all__ = ["backtest_chart"]
