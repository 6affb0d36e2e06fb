"""The bars a strategy trades: from the local store, or built from the demo markets and cached there."""

from __future__ import annotations

from collections.abc import Callable

from backgrid.data.bars import Bars
from backgrid.data.sources.demo import DemoSource
from backgrid.data.store import DataStore
from backgrid.data.timeframe import Timeframe
from backgrid.errors import AmbiguousSeriesError, SeriesNotFoundError, SpecError
from backgrid.strategy.spec import Strategy

__all__ = ["market_data"]


def market_data(strategy: Strategy, store: DataStore | None = None,
                progress: Callable[[str], None] | None = None) -> dict[str, Bars]:
    """Bars of each of the strategy's symbols at its timeframe.

    A stored series is read as it is (from ``market.source`` when set); a demo symbol
    (``DEMO-*``) not stored yet is generated once and stored (unless another source is
    asked for); anything else must be imported first.
    """
    from backgrid.data.demo import DEMO_SYMBOLS  # noqa: PLC0415  # the generator's tables load on demand

    store = store or DataStore()
    tf = Timeframe.parse(strategy.market.timeframe)
    source = strategy.market.source
    out = {}
    for symbol in strategy.market.symbols:
        try:
            out[symbol] = store.read(symbol, tf, source=source)
            continue
        except AmbiguousSeriesError as exc:
            raise SpecError([("market.source", str(exc))]) from None
        except SeriesNotFoundError as exc:
            if symbol not in DEMO_SYMBOLS or source not in (None, DemoSource.name):
                msg = (f"{exc.args[0]}; import it with `backgrid data import` "
                       f"(demo symbols: {', '.join(DEMO_SYMBOLS)})")
                raise SpecError([("market.source" if source else "market.symbols", msg)]) from None
        if progress is not None:
            progress(f"building {symbol} {tf} from the demo generator (synthetic; cached in the store)")
        out[symbol] = store.get_or_fetch(DemoSource(), symbol, tf, ttl=None)
    return out
