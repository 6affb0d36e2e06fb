"""Data sources: the :class:`DataSource` port and its adapters (one module each)."""

from backgrid.data.sources.base import DataSource

__all__ = ["DataSource"]
