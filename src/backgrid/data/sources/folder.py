"""Sources backed by a folder of files, one per symbol (and optionally per timeframe)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from backgrid.data.timeframe import Timeframe
from backgrid.errors import SourceError

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.data.bars import Bars

__all__ = ["FolderSource", "ParquetSource"]


class FolderSource(ABC):
    """Files named ``<SYMBOL>_<timeframe><suffix>`` or ``<SYMBOL><suffix>`` in one folder.

    Subclasses set ``name`` and ``suffix`` and implement :meth:`load`.
    """

    name: ClassVar[str]
    suffix: ClassVar[str]

    def __init__(self, folder: str | Path, **options: Any) -> None:
        self.folder = Path(folder)
        self.options = options

    @abstractmethod
    def load(self, path: Path, symbol: str, timeframe: Timeframe) -> Bars:
        """Load and validate one file."""

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """Load ``symbol`` at ``timeframe`` from the folder, cut to ``[start, end)``."""
        tf = Timeframe.parse(timeframe)
        for candidate in (self.folder / f"{symbol}_{tf}{self.suffix}", self.folder / f"{symbol}{self.suffix}"):
            if candidate.is_file():
                return self.load(candidate, symbol, tf).slice(start, end)
        have = sorted(p.stem for p in self.folder.glob(f"*{self.suffix}"))
        msg = (f"no {self.suffix} file for {symbol} {tf} in {self.folder}; "
               f"it has {', '.join(have) or f'no {self.suffix} files'}")
        raise SourceError(msg)


class ParquetSource(FolderSource):
    """A folder of Parquet files of any column layout (``options`` go to :func:`~backgrid.load_parquet`)."""

    name = "parquet"
    suffix = ".parquet"

    def load(self, path: Path, symbol: str, timeframe: Timeframe) -> Bars:
        """Load one file with :func:`~backgrid.data.frames.load_parquet`."""
        from backgrid.data.frames import load_parquet  # noqa: PLC0415  # frames imports pyarrow lazily too

        return load_parquet(path, symbol=symbol, timeframe=timeframe, **self.options)[0]
