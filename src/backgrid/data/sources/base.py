"""The port every data source implements: :class:`DataSource`.

A source turns ``(symbol, timeframe, start, end)`` into :class:`~backgrid.data.bars.Bars`.
Adapters (CSV, demo, yfinance, ccxt, ...) implement it; :meth:`backgrid.data.store.DataStore.get_or_fetch`
consumes it. A test fake is a plain class with a ``name`` and a ``fetch`` method; no base class is needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.data.bars import Bars
    from backgrid.data.timeframe import Timeframe

__all__ = ["DataSource"]


@runtime_checkable
class DataSource(Protocol):
    """Something that can fetch bars: a provider adapter, a file loader or a test fake.

    ``name`` identifies the source in the store (``<home>/data/<name>/...``), so it must be
    stable across runs. ``fetch`` returns bars whose open time is in ``[start, end)`` (``None``
    means unbounded) and raises :class:`backgrid.errors.SourceError` when it cannot serve
    the request (unknown symbol, unsupported timeframe or range).
    """

    name: str

    def fetch(
        self,
        symbol: str,
        timeframe: Timeframe,
        *,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> Bars:
        """Return the bars of ``symbol`` at ``timeframe`` opened in ``[start, end)``."""
        ...
