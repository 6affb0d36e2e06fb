"""backgrid's public test kit: synthetic bars and conformance checks for plugins."""

from backgrid.testing.conformance import ConformanceError, check_indicator
from backgrid.testing.synthetic import random_bars

__all__ = ["ConformanceError", "check_indicator", "random_bars"]
