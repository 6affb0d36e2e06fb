"""Alpaca market data through alpaca-py: US stock bars (IEX feed by default, raw prices) and crypto bars.

A symbol with a slash (``BTC/USD``) is crypto (24/7 calendar, no key needed); any other is a US stock
(``us-equity`` calendar; ``ALPACA_API_KEY`` and ``ALPACA_SECRET_KEY`` required). alpaca-py pages through
long ranges itself (it follows ``next_page_token`` until the vendor returns none). Its own retries (429 and
504, a fixed sleep that ignores the vendor's wait) are turned off: waiting or moving on is the fallback
chain's decision, made from the :class:`~backgrid.errors.RateLimitError` this adapter raises.

Install with ``pip install 'backgrid[alpaca]'``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from backgrid.data.calendar import CRYPTO, US_EQUITY
from backgrid.data.providers._http import redact, retry_after, status_error
from backgrid.data.providers.base import Capabilities, credential, utc_bound, vendor_bars
from backgrid.data.timeframe import Timeframe
from backgrid.errors import ProviderUnavailableError, ResponseError, SourceError

if TYPE_CHECKING:
    from alpaca.common.exceptions import APIError

    from backgrid.data.bars import Bars

__all__ = ["AlpacaProvider"]

NAME = "alpaca"
KEY_VARIABLE = "ALPACA_API_KEY"
SECRET_VARIABLE = "ALPACA_SECRET_KEY"  # noqa: S105  # the variable's name, not a secret
#: backgrid timeframe -> (amount, alpaca TimeFrameUnit member name).
_TIMEFRAMES: dict[str, tuple[int, str]] = {
    "1m": (1, "Minute"), "5m": (5, "Minute"), "15m": (15, "Minute"), "30m": (30, "Minute"),
    "1h": (1, "Hour"), "4h": (4, "Hour"), "1d": (1, "Day"), "1w": (1, "Week"),
}
CAPABILITIES = Capabilities(
    timeframes=tuple(_TIMEFRAMES), asset_classes=("equity", "crypto"), max_bars=10_000,
    credentials=(KEY_VARIABLE, SECRET_VARIABLE), credentials_required=True,
)


@dataclass
class AlpacaProvider:
    """Bars from Alpaca's market-data API; ``feed`` is the stock feed (``iex`` is free, ``sip`` needs a plan).

    Stock prices are raw (``adjustment=raw``): backgrid applies splits and dividends itself.
    """

    feed: str = "iex"
    name: str = field(default=NAME, init=False)
    capabilities: Capabilities = field(default=CAPABILITIES, init=False, repr=False)

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """The bars of ``symbol`` at ``timeframe`` opened in ``[start, end)``."""
        timeframe = Timeframe.parse(timeframe)
        lo, hi = utc_bound(start), utc_bound(end)
        self.capabilities.check(NAME, symbol, timeframe, lo)
        crypto = "/" in symbol
        rows = self._bars(symbol, timeframe, lo, hi, crypto=crypto)
        return vendor_bars(_frame(rows, symbol), provider=NAME, symbol=symbol, timeframe=timeframe, start=lo,
                           end=hi, calendar=CRYPTO if crypto else US_EQUITY)

    def _bars(self, symbol: str, timeframe: Timeframe, start: pd.Timestamp | None, end: pd.Timestamp | None, *,
              crypto: bool) -> list[dict[str, Any]]:
        """Alpaca's raw bar records of ``symbol`` (every page), failures mapped to the ProviderError family."""
        sdk = _sdk()
        import requests  # noqa: PLC0415  # alpaca-py's HTTP client, present whenever alpaca-py is

        key = credential(NAME, KEY_VARIABLE, required=not crypto)
        secret = credential(NAME, SECRET_VARIABLE, required=not crypto)
        if key is None or secret is None:  # crypto without a (complete) key pair: anonymous
            key = secret = None
        amount, unit = _TIMEFRAMES[str(timeframe)]
        window: dict[str, Any] = {
            "symbol_or_symbols": symbol, "start": None if start is None else start.to_pydatetime(),
            "end": None if end is None else end.to_pydatetime(),
            "timeframe": sdk.TimeFrame(amount, getattr(sdk.TimeFrameUnit, unit)),
        }
        client: Any
        if crypto:
            client = sdk.CryptoHistoricalDataClient(api_key=key, secret_key=secret, raw_data=True)
            call = lambda: client.get_crypto_bars(sdk.CryptoBarsRequest(**window))  # noqa: E731
        else:
            feed = _feed(sdk, self.feed)
            client = sdk.StockHistoricalDataClient(api_key=key, secret_key=secret, raw_data=True)
            call = lambda: client.get_stock_bars(  # noqa: E731
                sdk.StockBarsRequest(**window, feed=feed, adjustment=sdk.Adjustment.RAW))
        # The constructor reads 0 retries as "the default, 3"; the attribute is the only way to say none.
        client._retry = 0  # noqa: SLF001
        try:
            answer = call()
        except sdk.APIError as exc:
            raise _api_error(exc, symbol, key, secret) from None
        except requests.JSONDecodeError:  # before RequestException, of which it is one
            msg = f"{NAME} answered {symbol} with malformed JSON"
            raise ResponseError(msg, provider=NAME) from None
        except requests.RequestException as exc:
            msg = f"{NAME} could not be reached for {symbol}: {type(exc).__name__}"
            raise ProviderUnavailableError(msg, provider=NAME) from None
        except (ValueError, TypeError, AttributeError) as exc:  # an answer without a "bars" member, or not a map
            msg = f"{NAME} answered {symbol} with an unexpected shape: {redact(str(exc), key, secret)}"
            raise ResponseError(msg, provider=NAME) from None
        rows = answer.get(symbol, [])
        if not isinstance(rows, list):
            msg = f"{NAME} answered {symbol} with bars that are not a list ({type(rows).__name__})"
            raise ResponseError(msg, provider=NAME)
        return rows


class _SDK:
    """The parts of alpaca-py this adapter uses, imported on first use."""

    def __init__(self) -> None:
        # alpaca.data imports its streaming client too, which imports websockets.legacy (deprecated there)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="websockets.*")
            from alpaca.common.exceptions import APIError  # noqa: PLC0415
            from alpaca.data.enums import Adjustment, DataFeed  # noqa: PLC0415
            from alpaca.data.historical import CryptoHistoricalDataClient, StockHistoricalDataClient  # noqa: PLC0415
            from alpaca.data.requests import CryptoBarsRequest, StockBarsRequest  # noqa: PLC0415
            from alpaca.data.timeframe import TimeFrame, TimeFrameUnit  # noqa: PLC0415

        self.APIError = APIError
        self.Adjustment = Adjustment
        self.DataFeed = DataFeed
        self.CryptoHistoricalDataClient = CryptoHistoricalDataClient
        self.StockHistoricalDataClient = StockHistoricalDataClient
        self.CryptoBarsRequest = CryptoBarsRequest
        self.StockBarsRequest = StockBarsRequest
        self.TimeFrame = TimeFrame
        self.TimeFrameUnit = TimeFrameUnit


def _sdk() -> _SDK:
    """alpaca-py, or a clear error naming the extra that installs it."""
    try:
        return _SDK()
    except ImportError as exc:
        msg = "the alpaca provider needs alpaca-py: pip install 'backgrid[alpaca]'"
        raise SourceError(msg) from exc


def _feed(sdk: _SDK, feed: str) -> Any:
    """alpaca-py's DataFeed called ``feed`` (``iex``, ``sip``, ...), or a SourceError listing them."""
    try:
        return sdk.DataFeed(feed)
    except ValueError:
        known = ", ".join(f.value for f in sdk.DataFeed)
        msg = f"alpaca has no stock feed {feed!r}; expected one of {known}"
        raise SourceError(msg) from None


def _api_error(exc: APIError, symbol: str, key: str | None, secret: str | None) -> SourceError:
    """alpaca-py's APIError (an HTTP status and the vendor's body) as a ProviderError."""
    response = exc.response
    wait = retry_after(response.headers.get("Retry-After")) if response is not None else None
    return status_error(NAME, symbol, exc.status_code, redact(str(exc), key, secret), wait=wait,
                        variables=f"{KEY_VARIABLE} and {SECRET_VARIABLE}")


def _frame(rows: list[dict[str, Any]], symbol: str) -> pd.DataFrame:
    """Alpaca's bar records (``t`` RFC 3339, ``o h l c v``) as a frame indexed by UTC open times."""
    try:
        times = pd.to_datetime([row["t"] for row in rows], utc=True, format="ISO8601")
        data = {column: [row[key] for row in rows] for column, key in
                (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c"), ("volume", "v"))}
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"{NAME} answered {symbol} with a bar lacking a field or time: {exc!r}"
        raise ResponseError(msg, provider=NAME) from None
    return pd.DataFrame(data, index=pd.DatetimeIndex(times))

