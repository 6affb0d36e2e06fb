"""Yahoo Finance bars through the ``yfinance`` package (install ``backgrid[yfinance]``).

:class:`YahooProvider` serves stocks, ETFs, indices, currencies and crypto at ``1m`` .. ``1h``, ``1d``
and ``1w``. Yahoo serves intraday bars for a limited past only, and 1-minute bars a week per request:

==========  =========================  ======================
timeframe   served back from now       one request spans
==========  =========================  ======================
``1m``      30 days                    7 days
``5m`` ..   60 days                    60 days
``1h``      730 days                   730 days
``1d``      all history                all history
``1w``      all history                all history
==========  =========================  ======================

A start older than that is refused before any request (:meth:`Capabilities.check`); a longer range is
asked for in consecutive windows. Prices are Yahoo's ``Open``/``High``/``Low``/``Close``
(``auto_adjust=False``: no dividend adjustment; Yahoo itself states that these prices, like its volumes
and dividends, are already adjusted for splits). ``Stock Splits`` becomes ``split_factor`` (yfinance
writes 0 on a bar without a split, backgrid 1.0) and ``Dividends`` becomes ``dividend``: both record
the events and are not to be applied again to these prices: the bars say ``adjustment="splits"``
(the engine pays the dividends, and applies no split).

Times: intraday bars arrive in the exchange's time zone and are converted to UTC; daily and weekly bars
are dates, stamped at UTC midnight of the exchange's date (as backgrid stamps daily files). The calendar
is ``us-equity`` for stocks, ETFs and indices listed in New York time, ``crypto`` for crypto currencies,
and otherwise inferred from the bars. A last bar that has not closed yet is marked
(``last_complete=False``).

Failures map to the :class:`~backgrid.errors.ProviderError` family: no data (an unknown or delisted
symbol, an empty range) is a :class:`~backgrid.errors.SourceError`; yfinance's rate-limit error a
:class:`~backgrid.errors.RateLimitError` (yfinance passes on no ``Retry-After``, so ``retry_after`` is
``None``); a timeout, a lost connection or Yahoo's "currently down" page a
:class:`~backgrid.errors.ProviderUnavailableError`; an answer yfinance cannot read, or a frame without
the expected columns, a :class:`~backgrid.errors.ResponseError`.

The adapter talks to yfinance through one seam, ``ticker``: a function from a symbol to an object with
``history(**params)`` and ``history_metadata``, like ``yfinance.Ticker``. The default makes yfinance
raise its errors (``yfinance.config.debug.hide_exceptions = False`` while a request runs) instead of
logging them and answering an empty frame.
"""

from __future__ import annotations

import importlib
import json
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from types import ModuleType
from typing import Any, Protocol

import pandas as pd

from backgrid.data.bars import Bars
from backgrid.data.providers.base import Capabilities, utc_bound, vendor_bars
from backgrid.data.timeframe import Timeframe
from backgrid.errors import ProviderUnavailableError, RateLimitError, ResponseError, SourceError

__all__ = ["YahooProvider", "YahooTicker", "request_plan"]

NAME = "yfinance"

#: backgrid timeframe -> yfinance ``interval``.
INTERVALS: dict[str, str] = {"1m": "1m", "5m": "5m", "15m": "15m", "30m": "30m", "1h": "1h", "1d": "1d",
                             "1w": "1wk"}
#: How far back Yahoo serves a timeframe (those not named: all history).
REACH: dict[str, timedelta] = {"1m": timedelta(days=30), "5m": timedelta(days=60), "15m": timedelta(days=60),
                               "30m": timedelta(days=60), "1h": timedelta(days=730)}
#: The longest range one request may span (those not named: one request for the whole range).
WINDOW: dict[str, timedelta] = {"1m": timedelta(days=7), "5m": timedelta(days=60), "15m": timedelta(days=60),
                                "30m": timedelta(days=60), "1h": timedelta(days=730)}
#: A request without a start begins this much later than the oldest bar Yahoo serves: Yahoo counts its
#: limits on its own clock, and a start right at the limit can be refused.
SLACK = timedelta(days=1)

CAPABILITIES = Capabilities(timeframes=tuple(INTERVALS), asset_classes=("equity", "etf", "index", "fx", "crypto"),
                            history=REACH, corporate_actions=True)

#: yfinance column -> backgrid column.
_COLUMNS: dict[str, str] = {"Open": "open", "High": "high", "Low": "low", "Close": "close", "Volume": "volume",
                            "Stock Splits": "split_factor", "Dividends": "dividend"}
_SESSION_KINDS = frozenset({"EQUITY", "ETF", "INDEX", "MUTUALFUND"})
_CONFIG_LOCK = threading.Lock()  # yfinance's config is process-wide: one request at a time changes it


class YahooTicker(Protocol):
    """What the adapter uses of a ``yfinance.Ticker``."""

    def history(self, **params: Any) -> pd.DataFrame:
        """Bars as yfinance answers them (``Open`` .. ``Stock Splits``, indexed in the exchange's zone)."""
        ...

    @property
    def history_metadata(self) -> Mapping[str, Any]:
        """What Yahoo said about the symbol with the last answer (``instrumentType``, ``exchangeTimezoneName``)."""
        ...


class YahooProvider:
    """Bars from Yahoo Finance (see the module docstring for limits, adjustments, times and errors).

    ``ticker`` makes the ticker object of a symbol (default: ``yfinance.Ticker``, raising its errors);
    ``clock`` tells the time now (time-zone aware), against which Yahoo's limits are counted; ``timeout`` is each
    request's limit in seconds.

    >>> YahooProvider().capabilities.history["1m"].days
    30
    """

    name = NAME
    capabilities = CAPABILITIES

    def __init__(self, *, ticker: Callable[[str], YahooTicker] | None = None,
                 clock: Callable[[], pd.Timestamp] | None = None, timeout: float = 10.0) -> None:
        self.ticker = ticker
        self.clock = clock
        self.timeout = timeout

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """The bars of ``symbol`` at ``timeframe`` opened in ``[start, end)`` (naive bounds are UTC)."""
        tf = Timeframe.parse(timeframe)
        now = pd.Timestamp.now(tz="UTC") if self.clock is None else self.clock().tz_convert("UTC")
        lo, hi = utc_bound(start), utc_bound(end)
        self.capabilities.check(self.name, symbol, tf, lo, now)
        ticker = (self.ticker or _yfinance_ticker)(symbol)
        frames: list[pd.DataFrame] = []
        calendar: str | None = None
        reason = ""
        for params in request_plan(tf, lo, hi, now):
            frame, why = self._history(ticker, symbol, params)
            reason = reason or why
            if not frame.empty:
                if not frames:
                    calendar = _calendar(ticker.history_metadata)
                frames.append(_rows(frame, symbol, tf))
        if not frames:
            span = f"[{lo if lo is not None else '...'}, {hi if hi is not None else '...'})"
            msg = f"{self.name} has no {tf} bars of {symbol} in {span}" + (f": {reason}" if reason else "")
            raise SourceError(msg)
        bars = vendor_bars(pd.concat(frames), provider=self.name, symbol=symbol, timeframe=tf, start=lo, end=hi,
                           calendar=calendar, adjustment="splits")
        return replace(bars, last_complete=bool(bars.ts[-1] + tf.nanos <= now.value))

    def _history(self, ticker: YahooTicker, symbol: str, params: Mapping[str, Any]) -> tuple[pd.DataFrame, str]:
        """One request's frame, and yfinance's reason when it has no prices (an empty frame then)."""
        try:
            frame = ticker.history(**params, auto_adjust=False, actions=True, prepost=False, repair=False,
                                   timeout=self.timeout)
        except Exception as exc:
            if _yfinance_error(exc, "YFPricesMissingError"):  # none in this window; maybe in the next
                return pd.DataFrame(), str(exc)
            raise _translate(exc, symbol) from exc
        if not isinstance(frame, pd.DataFrame):
            msg = f"{self.name} answered {symbol} with a {type(frame).__name__}, not a table of bars"
            raise ResponseError(msg, provider=self.name)
        return frame, ""


def request_plan(timeframe: Timeframe, start: pd.Timestamp | None, end: pd.Timestamp | None,
                 now: pd.Timestamp) -> list[dict[str, Any]]:
    """The ``history`` parameters of each request for bars opened in ``[start, end)`` (UTC bounds).

    Intraday: consecutive windows of at most :data:`WINDOW` from ``start`` (default: the oldest bar
    Yahoo serves, plus :data:`SLACK`) to ``end`` (at most ``now``). Daily and weekly: one request from
    the start's date (all history without a start) to the end's date rounded up (exclusive, as in
    yfinance), so that a bar dated on the end's day but opened before the end is asked for.

    >>> now = pd.Timestamp("2024-06-30", tz="UTC")
    >>> [(p["start"].day, p["end"].day) for p in request_plan(Timeframe.parse("1m"),
    ...  pd.Timestamp("2024-06-10", tz="UTC"), pd.Timestamp("2024-06-30", tz="UTC"), now)]
    [(10, 17), (17, 24), (24, 30)]
    """
    interval = INTERVALS[str(timeframe)]
    window = WINDOW.get(str(timeframe))
    if window is None:
        params: dict[str, Any] = {"interval": interval}
        if start is None:
            params["period"] = "max"
        else:
            params["start"] = start.floor("D").date()
        if end is not None:
            params["end"] = end.ceil("D").date()
        return [params]
    lo = now - REACH[str(timeframe)] + SLACK if start is None else start
    hi = now if end is None else min(end, now)
    plan = []
    while lo < hi:
        stop = min(lo + window, hi)
        plan.append({"interval": interval, "start": lo, "end": stop})
        lo = stop
    return plan


def _rows(frame: pd.DataFrame, symbol: str, timeframe: Timeframe) -> pd.DataFrame:
    """yfinance's frame in backgrid's columns; daily and weekly dates stamped at UTC midnight."""
    missing = [c for c in _COLUMNS if c not in frame.columns]
    if missing:
        msg = (f"{NAME} answered {symbol} without column(s) {', '.join(missing)}; "
               f"found {', '.join(map(str, frame.columns))}")
        raise ResponseError(msg, provider=NAME)
    rows = frame[list(_COLUMNS)].rename(columns=_COLUMNS)
    rows["split_factor"] = rows["split_factor"].replace(0, 1.0).fillna(1.0)
    rows["dividend"] = rows["dividend"].fillna(0.0)
    index = rows.index
    if not timeframe.is_intraday and isinstance(index, pd.DatetimeIndex) and index.tz is not None:
        rows.index = index.tz_localize(None).normalize().tz_localize("UTC")
    return rows


def _calendar(meta: Mapping[str, Any]) -> str | None:
    """The calendar Yahoo's description of the symbol implies, or ``None`` (infer it from the bars)."""
    kind = str(meta.get("instrumentType") or "").upper()
    if kind == "CRYPTOCURRENCY":
        return "crypto"
    if kind in _SESSION_KINDS and meta.get("exchangeTimezoneName") == "America/New_York":
        return "us-equity"
    return None


def _translate(exc: Exception, symbol: str) -> Exception:
    """The :class:`~backgrid.errors.ProviderError` for a failed yfinance request (``exc`` itself if unknown)."""
    if _yfinance_error(exc, "YFTickerMissingError"):  # no time zone: Yahoo does not know the symbol
        return SourceError(f"{NAME} has no bars of {symbol}: {exc}")
    if _yfinance_error(exc, "YFRateLimitError"):
        return RateLimitError(f"{NAME} refused {symbol}: too many requests ({exc})", provider=NAME)
    if _yfinance_error(exc, "YFDataException"):  # "Yahoo! Finance is currently down" (its error page)
        return ProviderUnavailableError(f"{NAME} could not serve {symbol}: {exc}", provider=NAME)
    return _translate_builtin(exc, symbol)


def _translate_builtin(exc: Exception, symbol: str) -> Exception:
    """The :class:`~backgrid.errors.ProviderError` for a builtin error out of a request (``exc`` if unknown)."""
    what = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, json.JSONDecodeError):  # checked before OSError: curl_cffi's JSON error is both
        return ResponseError(f"{NAME} answered {symbol} with something that is not JSON ({what})", provider=NAME)
    if isinstance(exc, OSError):  # TimeoutError, ConnectionError, curl_cffi's request errors
        return ProviderUnavailableError(f"{NAME} could not be reached for {symbol} ({what})", provider=NAME)
    if isinstance(exc, (KeyError, IndexError, TypeError)):  # yfinance reading an answer that lacks fields
        return ResponseError(f"{NAME} could not read Yahoo's answer for {symbol} ({what})", provider=NAME)
    return exc


def _yfinance_error(exc: Exception, name: str) -> bool:
    """Whether ``exc`` is yfinance's exception ``name`` (looked up only if yfinance raised something)."""
    module = sys.modules.get("yfinance.exceptions")
    return module is not None and isinstance(exc, getattr(module, name))


def _yfinance() -> ModuleType:
    """The yfinance package, imported on first use (a :class:`SourceError` naming the extra if missing)."""
    try:
        return importlib.import_module("yfinance")
    except ImportError as exc:
        msg = f"the Yahoo Finance adapter needs the yfinance package: pip install 'backgrid[yfinance]' ({exc})"
        raise SourceError(msg) from exc


def _yfinance_ticker(symbol: str) -> YahooTicker:
    """``yfinance.Ticker(symbol)``, raising its errors instead of logging them."""
    yf = _yfinance()
    return _RaisingTicker(yf, yf.Ticker(symbol))


class _RaisingTicker:
    """A ``yfinance.Ticker`` whose requests raise (yfinance otherwise logs errors and answers empty)."""

    def __init__(self, yf: ModuleType, ticker: Any) -> None:
        self._yf = yf
        self._ticker = ticker

    def history(self, **params: Any) -> pd.DataFrame:
        """``Ticker.history(**params)`` with yfinance's errors raised."""
        with _raising(self._yf):
            frame: pd.DataFrame = self._ticker.history(**params)
        return frame

    @property
    def history_metadata(self) -> Mapping[str, Any]:
        """``Ticker.history_metadata`` (read from the last answer, no request)."""
        meta: Mapping[str, Any] = self._ticker.history_metadata
        return meta


@contextmanager
def _raising(yf: ModuleType) -> Iterator[None]:
    """Set ``yf.config.debug.hide_exceptions`` to ``False`` for the block, then back."""
    with _CONFIG_LOCK:
        debug = yf.config.debug
        hidden = debug.hide_exceptions
        debug.hide_exceptions = False
        try:
            yield
        finally:
            debug.hide_exceptions = hidden

