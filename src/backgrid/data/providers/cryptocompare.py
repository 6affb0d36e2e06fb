"""CryptoCompare: crypto bars from the public ``min-api`` histories, over httpx (the ``cryptocompare`` extra).

The endpoints are ``data/v2/histoday``, ``histohour`` and ``histominute``; a timeframe longer than the
endpoint's unit is asked with ``aggregate`` (``4h`` is ``histohour`` with ``aggregate=4``, ``5m`` is
``histominute`` with ``aggregate=5``). The vendor's aggregated periods start on whole multiples of the
period counted from the Unix epoch (its ``aggregatePredictableTimePeriods``, on by default), which is
backgrid's grid; a bar off that grid is refused as a :class:`~backgrid.errors.ResponseError`.

How the answer is read:

- one request returns at most ``limit + 1`` bars (``limit`` at most 2000) ending at ``toTs``; longer ranges
  are paged backwards, each page's ``toTs`` the earliest time of the page before minus one second, as the
  vendor documents, until the range's start is covered;
- the vendor pads the time before a pair existed with bars whose prices are all zero: they are dropped,
  and a page whose earliest bar is such padding is the last one (there is nothing older to ask for);
- ``volumefrom`` (traded volume in the base currency, BTC of ``BTC/USD``) is the bars' volume;
- times are Unix seconds in UTC; the bar still forming at the time of the request is never returned;
- minute bars reach back 7 days on the free tier (:data:`CAPABILITIES`); an older start is refused before
  any request, and a fetch without a start begins there.

An API key is optional: when the environment variable ``CRYPTOCOMPARE_API_KEY`` is set, it is read at each
fetch and sent as the ``authorization: Apikey ...`` header only; it is never stored on the provider, logged
or written into an error message. Failures are mapped to the :class:`~backgrid.errors.ProviderError` family
(see :mod:`backgrid.data.providers.base`); the vendor also refuses with HTTP 200 and
``{"Response": "Error", "Message": ...}``, which is read the same way.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pandas as pd

from backgrid.data.providers.base import Capabilities, credential, utc_bound, vendor_bars
from backgrid.data.timeframe import Timeframe
from backgrid.errors import (
    CredentialsError,
    ProviderUnavailableError,
    RateLimitError,
    ResponseError,
    SourceError,
)

if TYPE_CHECKING:
    import httpx

    from backgrid.data.bars import Bars

__all__ = ["API", "CAPABILITIES", "KEY_VARIABLE", "CryptoCompareProvider"]

NAME = "cryptocompare"
#: The vendor's base address; the endpoint's name is appended.
API = "https://min-api.cryptocompare.com/data/v2"
#: The environment variable that holds the (optional) API key.
KEY_VARIABLE = "CRYPTOCOMPARE_API_KEY"
MAX_LIMIT = 2000
_ENDPOINTS: Mapping[str, tuple[str, int]] = {  # timeframe -> (endpoint, aggregate)
    "1m": ("histominute", 1), "5m": ("histominute", 5), "15m": ("histominute", 15), "30m": ("histominute", 30),
    "1h": ("histohour", 1), "4h": ("histohour", 4), "1d": ("histoday", 1),
}
_PRICES = ["open", "high", "low", "close"]
_FIELDS = ("time", *_PRICES, "volumefrom")
_PAIR = re.compile(r"([A-Za-z0-9]+)[/-]([A-Za-z0-9]+)")

#: What CryptoCompare serves: 24/7 crypto pairs, minute bars of the last 7 days (free tier), 2000 bars a request.
CAPABILITIES = Capabilities(
    timeframes=tuple(_ENDPOINTS),
    asset_classes=("crypto",),
    history={code: timedelta(days=7) for code, (endpoint, _) in _ENDPOINTS.items() if endpoint == "histominute"},
    max_bars=MAX_LIMIT,
    credentials=(KEY_VARIABLE,),
)


class CryptoCompareProvider:
    """Bars of crypto pairs (``BTC/USD`` or ``BTC-USD``) from CryptoCompare's histories.

    ``client``: an ``httpx.Client`` to send the requests with (kept open; by default one is opened and closed
    for each fetch, with ``timeout`` seconds); ``pause``: seconds slept between two pages (the free tier
    counts calls per second); ``sleep`` and ``clock`` (now, tz-aware) are seams for tests.

    >>> CryptoCompareProvider().capabilities.history["1m"].days
    7
    """

    name: str = NAME
    capabilities: Capabilities = CAPABILITIES

    def __init__(self, *, client: httpx.Client | None = None, timeout: float = 30.0, pause: float = 0.25,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], pd.Timestamp] | None = None) -> None:
        self.client = client
        self.timeout = timeout
        self.pause = pause
        self.sleep = sleep
        self.clock = clock

    def __repr__(self) -> str:
        return f"CryptoCompareProvider(timeout={self.timeout}, pause={self.pause})"

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """The bars of ``symbol`` at ``timeframe`` opened in ``[start, end)``, paged backwards from ``end``."""
        timeframe = Timeframe.parse(timeframe)
        fsym, tsym = _pair(symbol)
        now = self.clock().tz_convert("UTC") if self.clock is not None else pd.Timestamp.now(tz="UTC")
        lo, hi = utc_bound(start), utc_bound(end)
        self.capabilities.check(NAME, symbol, timeframe, lo, now)
        reach = self.capabilities.history.get(str(timeframe))
        if lo is None and reach is not None:
            lo = now - reach
        period = timeframe.seconds
        forming = _seconds_up(now) // period * period  # the open of the bar still forming
        last = forming - 1 if hi is None else min(forming, _seconds_up(hi)) - 1
        endpoint, aggregate = _ENDPOINTS[str(timeframe)]
        query: dict[str, str | int] = {"fsym": fsym, "tsym": tsym, "extraParams": "backgrid"}
        if aggregate > 1:
            query["aggregate"] = aggregate
        http = _httpx()
        key = credential(NAME, KEY_VARIABLE)
        headers = {"authorization": f"Apikey {key}"} if key else {}
        session = nullcontext(self.client) if self.client is not None else http.Client(timeout=self.timeout)
        with session as client:
            request = _Request(http=http, client=client, url=f"{API}/{endpoint}", query=query, headers=headers,
                               symbol=symbol, timeframe=timeframe, now=now)
            pages = self._pages(request, first=0 if lo is None else _seconds_up(lo), last=last)
        rows = pd.concat(pages) if pages else pd.DataFrame({name: [] for name in _FIELDS})
        frame = pd.DataFrame({**{c: rows[c].to_numpy() for c in _PRICES}, "volume": rows["volumefrom"].to_numpy()},
                             index=pd.to_datetime(rows["time"].to_numpy(dtype="int64"), unit="s", utc=True))
        return vendor_bars(frame, provider=NAME, symbol=symbol, timeframe=timeframe, start=lo, end=hi,
                           calendar="crypto")

    def _pages(self, request: _Request, *, first: int, last: int) -> list[pd.DataFrame]:
        """The pages of bars opened in ``[first, last]`` (Unix seconds), newest first, padding dropped."""
        period = request.timeframe.seconds
        pages: list[pd.DataFrame] = []
        to_ts = last
        while to_ts >= first:
            # the page holds limit + 1 bars, from (to_ts's bar - limit periods) to to_ts's bar
            limit = min(MAX_LIMIT, max(1, -(-(to_ts // period * period - first) // period)))
            if to_ts != last:
                self.sleep(self.pause)
            page = request.page(limit=limit, to_ts=to_ts)
            padding = page[_PRICES].eq(0).all(axis=1)
            pages.append(page[~padding.to_numpy()])
            if page.empty or bool(padding.iloc[0]):
                break
            earliest = int(page["time"].iloc[0])
            if earliest > to_ts:
                msg = f"{NAME} answered {request.symbol} with bars from {earliest}, after the asked toTs {to_ts}"
                raise ResponseError(msg, provider=NAME)
            to_ts = earliest - 1
        return pages


@dataclass(frozen=True, kw_only=True, repr=False)  # no repr: the headers hold the key
class _Request:
    """One history request's fixed parts; :meth:`page` sends it for one page and reads the answer."""

    http: ModuleType
    client: httpx.Client
    url: str
    query: Mapping[str, str | int]
    headers: Mapping[str, str]
    symbol: str
    timeframe: Timeframe
    now: pd.Timestamp

    def page(self, *, limit: int, to_ts: int) -> pd.DataFrame:
        """The bars of one page, sorted by time (columns time, open, high, low, close, volumefrom)."""
        http, symbol = self.http, self.symbol
        try:
            response = self.client.get(self.url, params={**self.query, "limit": limit, "toTs": to_ts},
                                       headers=self.headers)
        except http.TimeoutException as exc:
            msg = f"{NAME} did not answer in time for {symbol} ({type(exc).__name__})"
            raise ProviderUnavailableError(msg, provider=NAME) from exc
        except http.TransportError as exc:
            msg = f"{NAME} cannot be reached for {symbol}: {type(exc).__name__} {exc}"
            raise ProviderUnavailableError(msg, provider=NAME) from exc
        status = response.status_code
        if status == 429:
            wait = _retry_after(response.headers.get("retry-after"), self.now)
            msg = f"{NAME} refused {symbol} for its rate limit (HTTP 429, retry after {wait} s)"
            raise RateLimitError(msg, provider=NAME, retry_after=wait)
        if status in {401, 403}:
            msg = f"{NAME} refused the request for {symbol} (HTTP {status}): check the API key in {KEY_VARIABLE}"
            raise CredentialsError(msg, provider=NAME)
        if status >= 500:
            msg = f"{NAME} is unavailable (HTTP {status}) for {symbol}"
            raise ProviderUnavailableError(msg, provider=NAME)
        if status != 200:
            msg = f"{NAME} answered {symbol} with HTTP {status}; expected 200"
            raise ResponseError(msg, provider=NAME)
        try:
            body = response.json()
        except ValueError as exc:
            msg = f"{NAME} answered {symbol} with a body that is not JSON: {exc}"
            raise ResponseError(msg, provider=NAME) from exc
        return self._rows(body)

    def _rows(self, body: Any) -> pd.DataFrame:
        """The bars in a ``{"Response": "Success", "Data": {"Data": [...]}}`` body, or the refusal it states."""
        symbol = self.symbol
        if not isinstance(body, dict):
            msg = f"{NAME} answered {symbol} with JSON {type(body).__name__}; expected an object"
            raise ResponseError(msg, provider=NAME)
        if body.get("Response") == "Error":
            raise _refusal(str(body.get("Message", "")), symbol)
        if body.get("Response") != "Success":
            msg = f"{NAME} answered {symbol} with Response {body.get('Response')!r}; expected 'Success' or 'Error'"
            raise ResponseError(msg, provider=NAME)
        data = body.get("Data")
        rows = data.get("Data") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            msg = f"{NAME} answered {symbol} without the list Data.Data"
            raise ResponseError(msg, provider=NAME)
        period = self.timeframe.seconds
        for number, row in enumerate(rows):
            missing = [name for name in _FIELDS if name not in row] if isinstance(row, dict) else list(_FIELDS)
            if missing:
                msg = f"{NAME} answered {symbol} with bar {number} of a page lacking {', '.join(missing)}"
                raise ResponseError(msg, provider=NAME)
            stamp = row["time"]
            if not isinstance(stamp, int) or isinstance(stamp, bool) or stamp % period:
                msg = (f"{NAME} answered {symbol} with bar {number} at time {stamp!r}; expected whole Unix seconds "
                       f"on the {self.timeframe} grid")
                raise ResponseError(msg, provider=NAME)
        frame = pd.DataFrame([{name: row[name] for name in _FIELDS} for row in rows], columns=list(_FIELDS))
        return frame.sort_values("time", kind="stable", ignore_index=True)


def _refusal(message: str, symbol: str) -> Exception:
    """The error for the vendor's ``{"Response": "Error", "Message": message}``."""
    text = message.lower()
    if "rate limit" in text:
        return RateLimitError(f"{NAME} refused {symbol} for its rate limit: {message}", provider=NAME)
    if "api key" in text:
        return CredentialsError(f"{NAME} refused the API key in {KEY_VARIABLE} for {symbol}: {message}",
                                provider=NAME)
    if "does not exist" in text:
        return SourceError(f"{NAME} has no market {symbol}: {message}")
    return SourceError(f"{NAME} refused {symbol}: {message}")


def _pair(symbol: str) -> tuple[str, str]:
    """``("BTC", "USD")`` of ``BTC/USD`` or ``btc-usd``."""
    match = _PAIR.fullmatch(symbol.strip()) if isinstance(symbol, str) else None
    if match is None:
        msg = f"{NAME} reads a pair such as BTC/USD or BTC-USD; got {symbol!r}"
        raise SourceError(msg)
    return match[1].upper(), match[2].upper()


def _seconds_up(stamp: pd.Timestamp) -> int:
    """Unix seconds of ``stamp``, rounded up (a bound's first whole second at or after it)."""
    return -(-int(stamp.value) // 1_000_000_000)


def _retry_after(value: str | None, now: pd.Timestamp) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date); ``None`` when absent or unreadable."""
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = pd.Timestamp(parsedate_to_datetime(value))
        except (TypeError, ValueError):
            return None
        seconds = ((when if when.tz is not None else when.tz_localize("UTC")) - now).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _httpx() -> ModuleType:
    """The httpx module, imported when a fetch needs it (the ``cryptocompare`` extra)."""
    try:
        import httpx  # noqa: PLC0415  # an extra: only a CryptoCompare fetch needs it
    except ImportError:
        msg = f"{NAME} needs httpx, the 'cryptocompare' extra: pip install 'backgrid[cryptocompare]'"
        raise ProviderUnavailableError(msg, provider=NAME) from None
    return httpx
