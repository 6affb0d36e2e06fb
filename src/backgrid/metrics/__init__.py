"""Performance metrics: pure functions of arrays, in a registry with units (see :mod:`.registry`)."""

from backgrid.metrics.columns import column_stats
from backgrid.metrics.registry import METRICS, Metric, compute_stats, periods_per_year

__all__ = ["METRICS", "Metric", "column_stats", "compute_stats", "periods_per_year"]
