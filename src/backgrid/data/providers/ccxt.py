"""Crypto bars from any exchange that ccxt speaks: :class:`CcxtProvider` (the ``ccxt`` extra).

ccxt keeps each exchange's HTTP code, its market list and its throttle; this adapter pages through
``fetch_ohlcv`` and maps ccxt's exceptions to the :class:`~backgrid.errors.ProviderError` family:

- ``RateLimitExceeded``, ``DDoSProtection`` (HTTP 429, 418): :class:`~backgrid.errors.RateLimitError`, with the
  exchange's ``Retry-After`` in seconds;
- ``NetworkError`` (``RequestTimeout``, ``ExchangeNotAvailable``: 5xx, no connection) and the other
  ``OperationFailed`` (an exchange's "internal error, try again"): :class:`~backgrid.errors.ProviderUnavailableError`;
- ``BadResponse`` and rows that are not ``[time, open, high, low, close, volume]``:
  :class:`~backgrid.errors.ResponseError`;
- ``AuthenticationError``: :class:`~backgrid.errors.CredentialsError`, naming the environment variables;
- ``BadSymbol``: :class:`~backgrid.errors.SourceError` naming the symbol; any other ccxt error:
  :class:`~backgrid.errors.ProviderError`.

The module is named after the package it adapts, like its neighbours; its own ``import ccxt`` is absolute
(through :mod:`importlib`, when a provider is made), so it reaches the installed package, never itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import pandas as pd

from backgrid.data.bars import Bars
from backgrid.data.providers.base import Capabilities, credential, utc_bound, vendor_bars
from backgrid.data.timeframe import TIMEFRAMES, Timeframe
from backgrid.errors import (
    CredentialsError,
    DataError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    ResponseError,
    SourceError,
)

__all__ = ["CcxtProvider"]

T = TypeVar("T")

_COLUMNS = ("open", "high", "low", "close", "volume")
_MS_NS = 1_000_000
_QUOTE = 300  # characters of a ccxt message kept in ours (it may carry a whole HTML error page)


class CcxtProvider:
    """Bars of a crypto market on the exchange ``exchange_id`` (``binance``, ``kraken``...), through ccxt.

    ``symbol`` is ccxt's unified symbol (``BTC/USDT``) or the exchange's own id (``BTCUSDT``). A range is
    fetched page by page, ``page_size`` bars a request (by default the most the exchange serves: 1000 on
    binance), each page from just past the last bar of the one before, with ccxt's throttle on
    (``enableRateLimit``), so that the exchange's rate limit holds across pages. Without ``start`` the first
    page is the exchange's own default (its latest bars, on most exchanges); without ``end``, pages run to now.

    ``config`` goes to the ccxt exchange as given (``timeout``, ``options``, proxies...). An API key, which
    public bars do not need, is read from ``CCXT_<EXCHANGE>_API_KEY`` and ``CCXT_<EXCHANGE>_SECRET``.
    Making a provider reads no network: the exchange's markets are loaded by the first :meth:`fetch`.

    >>> provider = CcxtProvider("binance")
    >>> provider.name, provider.capabilities.max_bars, provider.capabilities.timeframes[-2:]
    ('ccxt:binance', 1000, ('1d', '1w'))
    """

    def __init__(self, exchange_id: str = "binance", *, page_size: int | None = None,
                 config: Mapping[str, Any] | None = None) -> None:
        self.name = f"ccxt:{exchange_id}"
        self.exchange_id = exchange_id
        prefix = f"CCXT_{exchange_id.upper()}"
        self.credential_variables = (f"{prefix}_API_KEY", f"{prefix}_SECRET")
        if page_size is not None and (isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1):
            msg = f"page_size must be a positive whole number of bars, got {page_size!r}"
            raise DataError(msg)
        self._exchange = self._connect(dict(config or {}))
        has_ohlcv = bool(self._exchange.has.get("fetchOHLCV"))
        served = (self._exchange.timeframes or {}) if has_ohlcv else {}
        self.capabilities = Capabilities(
            timeframes=tuple(code for code in TIMEFRAMES if code in served),  # ccxt's unified codes are backgrid's
            asset_classes=("crypto",),
            max_bars=page_size if page_size is not None else _page_limit(self._exchange),
            credentials=self.credential_variables,
        )

    def fetch(self, symbol: str, timeframe: Timeframe | str, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """The bars of ``symbol`` at ``timeframe`` opened in ``[start, end)``, times in UTC, on the 24/7 calendar."""
        tf = Timeframe.parse(timeframe)
        if not self.capabilities.timeframes:
            msg = f"{self.name} serves no bars (ccxt has no fetchOHLCV for {self.exchange_id}), so none of {symbol}"
            raise SourceError(msg)
        self.capabilities.check(self.name, symbol, tf)
        lo, hi = utc_bound(start), utc_bound(end)
        rows = self._call(symbol, lambda: self._pages(symbol, tf, lo, hi))
        frame = pd.DataFrame({column: [row[i + 1] for row in rows] for i, column in enumerate(_COLUMNS)},
                             index=pd.to_datetime([row[0] for row in rows], unit="ms", utc=True))
        return vendor_bars(frame, provider=self.name, symbol=symbol, timeframe=tf, start=lo, end=hi,
                           calendar="crypto")

    def _connect(self, config: dict[str, Any]) -> Any:
        """The ccxt exchange, with the API key from the environment (if set)."""
        try:
            ccxt = importlib.import_module("ccxt")
        except ImportError:
            msg = f"{self.name} needs the 'ccxt' extra: pip install 'backgrid[ccxt]'"
            raise ProviderError(msg, provider=self.name) from None
        if self.exchange_id not in ccxt.exchanges:
            msg = f"ccxt has no exchange {self.exchange_id!r}; ccxt.exchanges lists its {len(ccxt.exchanges)} ids"
            raise SourceError(msg)
        key, secret = (credential(self.name, variable) for variable in self.credential_variables)
        keys = {name: value for name, value in (("apiKey", key), ("secret", secret)) if value is not None}
        # the throttle, and the last answer as received (to tell a malformed answer from an empty one), stay on
        kept = {"enableRateLimit": True, "enableLastHttpResponse": True, "enableLastJsonResponse": True}
        return getattr(ccxt, self.exchange_id)({**keys, **config, **kept})

    def _pages(self, symbol: str, tf: Timeframe, lo: pd.Timestamp | None, hi: pd.Timestamp | None) -> list[Any]:
        """The exchange's rows from ``lo`` to ``hi`` (or now), one ``fetch_ohlcv`` a page."""
        since = None if lo is None else lo.value // _MS_NS
        until = (hi if hi is not None else pd.Timestamp.now(tz="UTC")).value // _MS_NS
        rows: list[Any] = []
        newest: int | None = None
        while since is None or since < until:
            page = self._exchange.fetch_ohlcv(symbol, str(tf), since, self.capabilities.max_bars)
            text = self._exchange.last_http_response
            if self._exchange.last_json_response is None and text:  # ccxt reads text that is not JSON as no bars
                msg = f"{self.name} answered {symbol} with text that is not JSON: {text[:_QUOTE]!r}"
                raise ResponseError(msg, provider=self.name)
            if not isinstance(page, list):
                msg = f"{self.name} answered {symbol} with {type(page).__name__} {repr(page)[:_QUOTE]}, not bars"
                raise ResponseError(msg, provider=self.name)
            if not page:
                break
            last = max(self._open_time(symbol, row) for row in page)
            if newest is not None and last <= newest:
                msg = (f"{self.name} answered {symbol} with bars up to {_stamp(last)} when asked from "
                       f"{_stamp(newest + 1)}: its pages do not advance")
                raise ResponseError(msg, provider=self.name)
            rows.extend(page)
            newest = last
            since = last + 1
        return rows

    def _open_time(self, symbol: str, row: Any) -> int:
        """A row's open time in milliseconds, once the row is known to be ``[time, o, h, l, c, v, ...]``."""
        if not isinstance(row, list | tuple) or len(row) < 1 + len(_COLUMNS):
            msg = f"{self.name} answered {symbol} with a row {repr(row)[:_QUOTE]}; expected [time, o, h, l, c, v]"
            raise ResponseError(msg, provider=self.name)
        stamp = row[0]
        if isinstance(stamp, bool) or not isinstance(stamp, int):
            msg = f"{self.name} answered {symbol} with a row whose time {stamp!r} is not milliseconds: {row!r}"
            raise ResponseError(msg, provider=self.name)
        return stamp

    def _call(self, symbol: str, work: Callable[[], T]) -> T:
        """``work()``, with ccxt's exceptions mapped to backgrid's."""
        ccxt = importlib.import_module("ccxt")
        name = self.name
        try:
            return work()
        except (ccxt.RateLimitExceeded, ccxt.DDoSProtection) as exc:
            wait = _retry_after(self._exchange.last_response_headers)
            later = f"; retry after {wait:g} s" if wait is not None else ""
            msg = f"{name} refused the request for {symbol} for its rate{later}: {_quote(exc)}"
            raise RateLimitError(msg, provider=name, retry_after=wait) from exc
        except ccxt.AuthenticationError as exc:
            msg = f"{name} refused the API key: set {' and '.join(self.credential_variables)} ({_quote(exc)})"
            raise CredentialsError(msg, provider=name) from exc
        except ccxt.BadSymbol as exc:
            msg = f"{name} has no market {symbol!r} (ccxt's unified symbols read like 'BTC/USDT'): {_quote(exc)}"
            raise SourceError(msg) from exc
        except ccxt.BadResponse as exc:
            msg = f"{name} answered {symbol} with something that cannot be read: {_quote(exc)}"
            raise ResponseError(msg, provider=name) from exc
        except ccxt.OperationFailed as exc:  # NetworkError (timeouts, 5xx, no connection) and "try again later"
            msg = f"{name} is unavailable ({type(exc).__name__}) for {symbol}: {_quote(exc)}"
            raise ProviderUnavailableError(msg, provider=name) from exc
        except ccxt.BaseError as exc:
            msg = f"{name} could not serve {symbol} ({type(exc).__name__}): {_quote(exc)}"
            raise ProviderError(msg, provider=name) from exc


def _page_limit(exchange: Any) -> int | None:
    """The most bars one ``fetch_ohlcv`` returns on the exchange's spot markets, as ccxt declares it."""
    spot = (exchange.features or {}).get("spot") or {}
    limit = (spot.get("fetchOHLCV") or {}).get("limit")
    return int(limit) if limit else None


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """The ``Retry-After`` header in seconds (``None`` when absent or not a number of seconds)."""
    value = (headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _stamp(millis: int) -> pd.Timestamp:
    """Milliseconds since the epoch as a UTC time."""
    return pd.Timestamp(millis, unit="ms", tz="UTC")


def _quote(exc: Exception) -> str:
    """The start of an exception's message (ccxt's carry the URL and the exchange's whole answer)."""
    text = str(exc)
    return text if len(text) <= _QUOTE else text[:_QUOTE] + "..."
