"""What ``backgrid run`` does about data the store lacks: offer to fetch it, fetch it with ``--fetch``, or say how.

A symbol not stored is fetched through the chain that ``backgrid data fetch`` would use: ``market.source``
(``--source``) when it names a vendor or an asset class, else the asset class the symbol's spelling suggests
(:func:`~backgrid.data.providers.chain.guess_asset_class`). A stored series from a vendor is backfilled with
``--fetch``: only the pieces of the asked range that the store lacks are fetched
(:meth:`~backgrid.data.store.DataStore.backfill`). Demo symbols are left to the demo generator, and series of
other sources (``csv``) to the store as they are.
"""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING

import typer

from backgrid.cli.common import progress

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.data.providers.chain import ProviderChain
    from backgrid.data.store import DataStore
    from backgrid.data.timeframe import Timeframe
    from backgrid.strategy.spec import Market

__all__ = ["fetch_missing"]


def interactive() -> bool:
    """True when someone at a terminal can answer a question (standard input is a terminal)."""
    return sys.stdin.isatty()


def fetch_missing(market: Market, *, fetch: bool, store: DataStore | None = None) -> None:
    """Make the store hold what ``market`` trades, fetching from vendors as the module docstring says.

    Without ``fetch``, a symbol not stored is fetched when the user agrees (on a terminal), else it is a
    :class:`~backgrid.errors.SeriesNotFoundError` naming the command that fetches it.
    """
    from backgrid.data.demo import DEMO_SYMBOLS  # noqa: PLC0415  # keep `backgrid --help` fast
    from backgrid.data.providers.base import utc_bound  # noqa: PLC0415
    from backgrid.data.providers.chain import guess_asset_class, vendor_source  # noqa: PLC0415
    from backgrid.data.store import DataStore  # noqa: PLC0415
    from backgrid.data.timeframe import Timeframe  # noqa: PLC0415
    from backgrid.errors import AmbiguousSeriesError, SeriesNotFoundError, SourceError  # noqa: PLC0415

    store = store or DataStore()
    tf = Timeframe.parse(market.timeframe)
    start, end = utc_bound(market.start), utc_bound(market.end)  # a date or a time, naive meaning UTC
    for symbol in market.symbols:
        try:
            stored = store.info(symbol, tf, market.source)
        except AmbiguousSeriesError:
            continue  # the run says which sources to pick from
        except SeriesNotFoundError:
            if symbol in DEMO_SYMBOLS and market.source in (None, "demo"):
                continue
            name = market.source or guess_asset_class(symbol)
            try:
                chain = vendor_source(name)
            except SourceError:
                continue  # not a vendor: the run's own error says how to import it
            if not fetch and not _agreed(symbol, tf, chain):
                msg = (f"{symbol!r} {tf} is not in the store at {store.home}; fetch it with "
                       f"`{_fetch_command(symbol, name, tf, start, end)}` or run again with --fetch, "
                       "or import it with `backgrid data import`")
                raise SeriesNotFoundError(msg) from None
            _backfill(store, chain, symbol, tf, start, end)
            continue
        if fetch:
            try:
                chain = vendor_source(stored.source)
            except SourceError:
                continue  # imported or generated: nothing to fetch it from
            _backfill(store, chain, symbol, tf, start, end)


def _agreed(symbol: str, tf: Timeframe, chain: ProviderChain) -> bool:
    if not interactive():
        return False
    vendors = " -> ".join(p.name for p in chain.providers)
    return typer.confirm(f"{symbol} {tf} is not in the store; fetch it from {chain.name} ({vendors})?", err=True)


def _backfill(store: DataStore, chain: ProviderChain, symbol: str, tf: Timeframe, start: pd.Timestamp | None,
              end: pd.Timestamp | None) -> None:
    with progress(f"fetching what the store lacks of {symbol} {tf} from {chain.name}"):
        store.backfill(chain, symbol, tf, start=start, end=end)


def _fetch_command(symbol: str, name: str, tf: Timeframe, start: pd.Timestamp | None,
                   end: pd.Timestamp | None) -> str:
    from backgrid.data.providers.chain import DEFAULT_CHAINS  # noqa: PLC0415

    words = ["backgrid data fetch", shlex.quote(symbol), "--asset-class" if name in DEFAULT_CHAINS else "--provider",
             name, "--timeframe", str(tf)]
    words += [f"--from {_day_or_time(start)}"] if start is not None else []
    words += [f"--to {_day_or_time(end)}"] if end is not None else []
    return " ".join(words)


def _day_or_time(stamp: pd.Timestamp) -> str:
    return f"{stamp:%Y-%m-%d}" if stamp == stamp.normalize() else f"{stamp:%Y-%m-%dT%H:%M}"

