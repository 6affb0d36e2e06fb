"""What every vendor adapter shares: the capabilities it declares, and one way to turn its answer into Bars.

An adapter (``yahoo``, ``ccxt``, ``alpaca``, ``polygon``, ``cryptocompare``) is a :class:`Provider`: a
:class:`~backgrid.data.sources.base.DataSource` (``name``, ``fetch``) that also says what it can serve
(:class:`Capabilities`). It keeps the vendor's own HTTP or client code and maps failures to the
:class:`~backgrid.errors.ProviderError` family, so that a fallback chain knows what to do next:

- :class:`~backgrid.errors.RateLimitError` (HTTP 429, with the vendor's ``Retry-After``): wait or move on;
- :class:`~backgrid.errors.ProviderUnavailableError` (5xx, timeout, no connection): try the next vendor;
- :class:`~backgrid.errors.ResponseError` (malformed JSON, missing fields, bars it contradicts): next vendor;
- :class:`~backgrid.errors.CredentialsError` (a key missing or refused): names the environment variable;
- :class:`~backgrid.errors.SourceError` itself: the vendor cannot serve this request (unknown symbol, a
  timeframe or range it does not have, an empty range).

:func:`vendor_bars` is the one place a vendor's rows become :class:`~backgrid.data.bars.Bars`: times to
UTC, sorted, duplicates dropped when identical and refused when they disagree, the request's range cut
out, an empty answer refused. Credentials come from the environment (:func:`credential`) and are never
logged or stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
import pandas as pd

from backgrid.data.bars import OHLCV, OPTIONAL_COLUMNS, Bars
from backgrid.data.timeframe import Timeframe
from backgrid.errors import CredentialsError, ResponseError, SourceError

if TYPE_CHECKING:
    from backgrid.data.calendar import Calendar

__all__ = ["Capabilities", "Provider", "credential", "utc_bound", "vendor_bars"]


@dataclass(frozen=True)
class Capabilities:
    """What a vendor serves: timeframes, asset classes, how far back, how much per request, which keys.

    ``history`` maps a timeframe to how far back from now the vendor serves it (a timeframe not in it has
    no limit); ``max_bars`` is the most bars one request returns (the adapter pages through longer
    ranges); ``credentials`` are the environment variables the adapter reads, ``credentials_required``
    whether it cannot work without them.
    """

    timeframes: tuple[str, ...]
    asset_classes: tuple[str, ...]
    history: Mapping[str, timedelta] = field(default_factory=dict)
    max_bars: int | None = None
    credentials: tuple[str, ...] = ()
    credentials_required: bool = False
    corporate_actions: bool = False

    def check(self, provider: str, symbol: str, timeframe: Timeframe, start: pd.Timestamp | None = None,
              now: pd.Timestamp | None = None) -> None:
        """Refuse (:class:`SourceError`) a timeframe the vendor lacks, or a start older than it serves."""
        if str(timeframe) not in self.timeframes:
            msg = f"{provider} does not serve {timeframe} bars (of {symbol}); it serves {', '.join(self.timeframes)}"
            raise SourceError(msg)
        reach = self.history.get(str(timeframe))
        if reach is not None and start is not None:
            now = pd.Timestamp.now(tz="UTC") if now is None else now
            oldest = now - reach
            if start < oldest:
                msg = (f"{provider} serves {timeframe} bars of the last {reach.days} days only "
                       f"(from {oldest:%Y-%m-%d}); asked from {start:%Y-%m-%d} for {symbol}")
                raise SourceError(msg)


@runtime_checkable
class Provider(Protocol):
    """A vendor adapter: a data source (``name``, ``fetch``) that declares its :class:`Capabilities`."""

    name: str
    capabilities: Capabilities

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """The bars of ``symbol`` at ``timeframe`` opened in ``[start, end)``."""
        ...


def credential(provider: str, variable: str, *, required: bool = False) -> str | None:
    """The value of environment variable ``variable`` (``None`` when unset or empty).

    ``required``: a missing value is a :class:`CredentialsError` that names the variable (never its value).
    """
    value = os.environ.get(variable, "").strip() or None
    if value is None and required:
        msg = f"{provider} needs an API key: set the environment variable {variable}"
        raise CredentialsError(msg, provider=provider)
    return value


def vendor_bars(frame: pd.DataFrame, *, provider: str, symbol: str, timeframe: Timeframe,  # what a series is
                start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
                calendar: Calendar | str | None = None, adjustment: str = "raw") -> Bars:
    """A vendor's rows as :class:`Bars` of ``symbol`` from source ``provider``, opened in ``[start, end)``.

    ``frame`` is indexed by the bars' open times, time-zone aware (a vendor answering in New York time is
    converted, never guessed: naive times are a :class:`ResponseError`), with columns ``open``, ``high``,
    ``low``, ``close``, ``volume`` and optionally ``split_factor`` and ``dividend``. Rows are sorted; a
    repeated time is dropped when its values are the same and refused when they differ; rows whose prices
    are all missing (a vendor's hole) are dropped, a row with some prices missing is refused. An empty
    result is a :class:`SourceError` that names the range. ``adjustment`` says what the vendor's prices
    already account for (``"raw"``: as traded; Yahoo's are ``"splits"``; see :mod:`backgrid.data.bars`).
    """
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex):
        msg = f"{provider} answered {symbol} without bar times (index {type(index).__name__})"
        raise ResponseError(msg, provider=provider)
    if index.tz is None:
        msg = f"{provider} answered {symbol} with times that carry no time zone"
        raise ResponseError(msg, provider=provider)
    missing = [c for c in OHLCV if c not in frame.columns]
    if missing:
        msg = f"{provider} answered {symbol} without column(s) {', '.join(missing)}"
        raise ResponseError(msg, provider=provider)
    keep = [c for c in (*OHLCV, *OPTIONAL_COLUMNS) if c in frame.columns]
    try:
        data = frame[keep].astype(np.float64)
    except (TypeError, ValueError) as exc:
        msg = f"{provider} answered {symbol} with values that are not numbers: {exc}"
        raise ResponseError(msg, provider=provider) from exc
    data.index = index.tz_convert("UTC").as_unit("ns")
    data = data.sort_index(kind="stable")
    prices = data[["open", "high", "low", "close"]]
    holes = prices.isna().all(axis=1)
    partial = prices.isna().any(axis=1) & ~holes
    if partial.any():
        at = data.index[int(partial.to_numpy().argmax())]
        msg = f"{provider} answered {symbol} with a bar missing some prices at {at}"
        raise ResponseError(msg, provider=provider)
    data = data[~holes.to_numpy()]
    repeated = data.index.duplicated(keep="first")
    if repeated.any():
        clash = data[data.index.duplicated(keep=False)].groupby(level=0).nunique(dropna=False).gt(1).any(axis=1)
        if clash.any():
            at = clash.index[int(clash.to_numpy().argmax())]
            msg = f"{provider} answered {symbol} with two different bars at {at}"
            raise ResponseError(msg, provider=provider)
        data = data[~repeated]
    lo, hi = utc_bound(start), utc_bound(end)
    if lo is not None:
        data = data[data.index >= lo]
    if hi is not None:
        data = data[data.index < hi]
    if data.empty:
        span = f"[{lo if lo is not None else '...'}, {hi if hi is not None else '...'})"
        msg = f"{provider} has no {timeframe} bars of {symbol} in {span}"
        raise SourceError(msg)
    return Bars.from_pandas(data, symbol=symbol, timeframe=timeframe, source=provider, calendar=calendar,
                            adjustment=adjustment)


def utc_bound(stamp: pd.Timestamp | date | None) -> pd.Timestamp | None:
    """A request's bound in UTC (a date or a time; a naive one is read as UTC; ``None`` stays ``None``)."""
    if stamp is None:
        return None
    stamp = pd.Timestamp(stamp)
    return stamp.tz_convert("UTC") if stamp.tz is not None else stamp.tz_localize("UTC")
