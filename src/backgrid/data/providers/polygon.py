"""Polygon (now Massive) aggregates through the ``massive`` client: stocks, crypto (``X:BTCUSD``), fx (``C:EURUSD``).

Stock bars are raw (``adjusted=false``) and carry the corporate actions: each split (``split_to /
split_from`` as ``split_factor``) and each cash dividend (``cash_amount`` as ``dividend``) lands on the
first bar that closes after the action's date begins in New York (the daily bar of that date, the weekly
bar holding it, the first intraday bar of that day). massive pages through long answers itself (it follows
``next_url``). Its retries are turned off (waiting or moving on is the fallback chain's decision), and since
its ``BadResponse`` keeps only the body, the adapter keeps each answer's status and ``Retry-After`` itself.

The key comes from ``POLYGON_API_KEY`` (or ``MASSIVE_API_KEY``). Install with ``pip install 'backgrid[polygon]'``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from backgrid.data.calendar import CRYPTO, FX, US_EQUITY
from backgrid.data.providers._http import redact, retry_after, status_error
from backgrid.data.providers.base import Capabilities, credential, utc_bound, vendor_bars
from backgrid.data.timeframe import Timeframe
from backgrid.errors import CredentialsError, ProviderUnavailableError, ResponseError, SourceError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from backgrid.data.bars import Bars
    from backgrid.data.calendar import Calendar

__all__ = ["PolygonProvider"]

NAME = "polygon"
KEY_VARIABLES = ("POLYGON_API_KEY", "MASSIVE_API_KEY")
#: backgrid timeframe -> Polygon's (multiplier, timespan).
_TIMEFRAMES: dict[str, tuple[int, str]] = {
    "1m": (1, "minute"), "5m": (5, "minute"), "15m": (15, "minute"), "30m": (30, "minute"),
    "1h": (1, "hour"), "4h": (4, "hour"), "1d": (1, "day"), "1w": (1, "week"),
}
CAPABILITIES = Capabilities(
    timeframes=tuple(_TIMEFRAMES), asset_classes=("equity", "crypto", "fx"), max_bars=50_000,
    credentials=KEY_VARIABLES, credentials_required=True, corporate_actions=True,
)
_NEW_YORK = "America/New_York"


@dataclass
class PolygonProvider:
    """Bars from Polygon's aggregates API, with splits and cash dividends on stock bars."""

    name: str = field(default=NAME, init=False)
    capabilities: Capabilities = field(default=CAPABILITIES, init=False, repr=False)

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """The bars of ``symbol`` at ``timeframe`` opened in ``[start, end)``."""
        timeframe = Timeframe.parse(timeframe)
        lo, hi = utc_bound(start), utc_bound(end)
        self.capabilities.check(NAME, symbol, timeframe, lo)
        key = _key()
        client = _client(key)
        first = pd.Timestamp(0, tz="UTC") if lo is None else lo
        last = pd.Timestamp.now(tz="UTC") if hi is None else hi
        multiplier, timespan = _TIMEFRAMES[str(timeframe)]
        aggs = _call(client, key, symbol, lambda: client.list_aggs(
            symbol, multiplier, timespan, int(first.value // 1_000_000), int(last.value // 1_000_000),
            adjusted=False, sort="asc", limit=50_000))
        frame = _frame(aggs, symbol).sort_index(kind="stable")
        calendar = _calendar(symbol)
        if calendar is US_EQUITY and not frame.empty:
            window = {"gte": f"{first:%Y-%m-%d}", "lte": f"{last:%Y-%m-%d}"}
            splits = _call(client, key, symbol, lambda: client.list_splits(
                ticker=symbol, execution_date_gte=window["gte"], execution_date_lte=window["lte"], limit=1000))
            dividends = _call(client, key, symbol, lambda: client.list_dividends(
                ticker=symbol, ex_dividend_date_gte=window["gte"], ex_dividend_date_lte=window["lte"], limit=1000))
            closes = pd.DatetimeIndex(frame.index).as_unit("ns").asi8 + timeframe.nanos
            frame["split_factor"] = _on_bars(closes, ((s.execution_date, _ratio(s, symbol)) for s in splits),
                                             symbol, neutral=1.0, join=np.multiply)
            frame["dividend"] = _on_bars(closes, ((d.ex_dividend_date, _amount(d, symbol)) for d in dividends),
                                         symbol, neutral=0.0, join=np.add)
        return vendor_bars(frame, provider=NAME, symbol=symbol, timeframe=timeframe, start=lo, end=hi,
                           calendar=calendar)


def _calendar(symbol: str) -> Calendar:
    """The market of a Polygon ticker: ``X:`` crypto (24/7), ``C:`` currencies (fx), else a US stock."""
    if symbol.startswith("X:"):
        return CRYPTO
    if symbol.startswith("C:"):
        return FX
    return US_EQUITY


def _key() -> str:
    """The API key from the first of the variables set, or a CredentialsError naming them."""
    for variable in KEY_VARIABLES:
        value = credential(NAME, variable)
        if value is not None:
            return value
    msg = f"{NAME} needs an API key: set the environment variable {KEY_VARIABLES[0]} (or {KEY_VARIABLES[1]})"
    raise CredentialsError(msg, provider=NAME)


class _Malformed(Exception):  # noqa: N818  # internal signal, never leaves this module
    """A body that is not JSON (not a ValueError, so that massive does not read it as "no results")."""


class _StrictJSON:
    """massive's ``custom_json``: massive answers an undecodable body with an empty list; this refuses it."""

    @staticmethod
    def loads(text: str) -> Any:
        """``json.loads``, raising :class:`_Malformed` for a body that is not JSON."""
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _Malformed(str(exc)) from None


class _KeepStatus:
    """massive's urllib3 pool, keeping the last answer: massive's ``BadResponse`` keeps the body only."""

    def __init__(self, pool: Any) -> None:
        self.pool = pool
        self.last: Any = None

    def request(self, method: str, url: str, **options: Any) -> Any:
        """Send through the pool, and remember the answer."""
        self.last = self.pool.request(method, url, **options)
        return self.last


def _client(key: str) -> Any:
    """A massive REST client for one fetch, retries off, answers' statuses kept, bad JSON refused."""
    try:
        from massive import RESTClient  # type: ignore[import-untyped]  # noqa: PLC0415  # massive has no py.typed
    except ImportError as exc:
        msg = "the polygon provider needs the massive client: pip install 'backgrid[polygon]'"
        raise SourceError(msg) from exc
    client = RESTClient(api_key=key, retries=0, custom_json=_StrictJSON, connection_pool_kw={"retries": False})
    client.client = _KeepStatus(client.client)
    return client


def _call(client: Any, key: str, symbol: str, request: Callable[[], Iterable[Any]]) -> list[Any]:
    """Every record (every page) of one massive request, failures mapped to the ProviderError family."""
    import urllib3  # noqa: PLC0415  # massive's HTTP client, present whenever massive is
    from massive.exceptions import BadResponse  # type: ignore[import-untyped]  # noqa: PLC0415

    try:
        return list(request())
    except BadResponse as exc:
        answer = client.client.last
        status = None if answer is None else answer.status
        wait = None if answer is None else retry_after(answer.headers.get("Retry-After"))
        raise status_error(NAME, symbol, status, redact(_said(str(exc)), key), wait=wait,
                           variables=" or ".join(KEY_VARIABLES)) from None
    except _Malformed as exc:
        msg = f"{NAME} answered {symbol} with malformed JSON: {exc}"
        raise ResponseError(msg, provider=NAME) from None
    except urllib3.exceptions.HTTPError as exc:  # no connection, a timeout, a broken answer
        msg = f"{NAME} could not be reached for {symbol}: {type(exc).__name__}"
        raise ProviderUnavailableError(msg, provider=NAME) from None
    except (TypeError, AttributeError, KeyError) as exc:  # records that are not maps
        msg = f"{NAME} answered {symbol} with an unexpected shape: {type(exc).__name__}"
        raise ResponseError(msg, provider=NAME) from None


def _said(body: str) -> str:
    """The vendor's own words from an error body (``error`` or ``message``), else the body."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    if isinstance(answer, dict):
        return str(answer.get("error") or answer.get("message") or body)
    return body


def _frame(aggs: list[Any], symbol: str) -> pd.DataFrame:
    """massive's ``Agg`` records (``timestamp`` in epoch milliseconds) as a frame indexed by UTC open times."""
    if any(agg.timestamp is None for agg in aggs):
        msg = f"{NAME} answered {symbol} with a bar without its time (t)"
        raise ResponseError(msg, provider=NAME)
    times = pd.to_datetime([int(agg.timestamp) for agg in aggs], unit="ms", utc=True)
    data = {column: [np.nan if getattr(agg, column) is None else getattr(agg, column) for agg in aggs]
            for column in ("open", "high", "low", "close", "volume")}
    return pd.DataFrame(data, index=pd.DatetimeIndex(times))


def _ratio(split: Any, symbol: str) -> float:
    """A split's price ratio, ``split_to / split_from`` (4.0 for a 4-for-1)."""
    ratio_from, ratio_to = split.split_from, split.split_to
    if not ratio_from or not ratio_to or ratio_from <= 0 or ratio_to <= 0:
        msg = f"{NAME} answered a split of {symbol} on {split.execution_date} without a usable ratio"
        raise ResponseError(msg, provider=NAME)
    return float(ratio_to) / float(ratio_from)


def _amount(dividend: Any, symbol: str) -> float:
    """A dividend's cash per share."""
    if dividend.cash_amount is None or dividend.cash_amount < 0:
        msg = f"{NAME} answered a dividend of {symbol} on {dividend.ex_dividend_date} without a cash amount"
        raise ResponseError(msg, provider=NAME)
    return float(dividend.cash_amount)


def _on_bars(closes: np.ndarray, actions: Iterable[tuple[str | None, float]], symbol: str, *, neutral: float,
             join: np.ufunc) -> np.ndarray:
    """A column with each ``(date, value)`` joined onto the first bar closing after that New York date begins."""
    column = np.full(len(closes), neutral)
    for day, value in actions:
        try:
            begins = pd.Timestamp(str(day)).tz_localize(_NEW_YORK).value
        except (TypeError, ValueError):
            msg = f"{NAME} answered a corporate action of {symbol} with the date {day!r}"
            raise ResponseError(msg, provider=NAME) from None
        at = int(np.searchsorted(closes, begins, side="right"))
        if at < len(closes):
            column[at] = join(column[at], value)
    return column
