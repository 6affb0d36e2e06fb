"""backgrid's public test kit: synthetic bars, conformance checks for plugins, a PostgreSQL schema of one's own."""

from backgrid.testing.conformance import ConformanceError, check_indicator
from backgrid.testing.postgres import postgres_schema
from backgrid.testing.synthetic import random_bars

__all__ = ["ConformanceError", "check_indicator", "postgres_schema", "random_bars"]
