"""Data sources: the :class:`DataSource` port and its adapters (one module each)."""

from backgrid.data.sources.base import DataSource
from backgrid.data.sources.folder import FolderSource, ParquetSource

__all__ = ["DataSource", "FolderSource", "ParquetSource"]
