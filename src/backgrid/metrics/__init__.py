"""Performance metrics: pure functions of arrays, in a registry with units (see :mod:`.registry`)."""

from backgrid.metrics.registry import METRICS, Metric, compute_stats, periods_per_year

__all__ = ["METRICS", "Metric", "compute_stats", "periods_per_year"]
