"""Several vendors behind one :class:`~backgrid.data.sources.base.DataSource`: :class:`ProviderChain`, the registry.

A chain asks its vendors in order and returns the first answer, its bars' ``source`` naming the vendor that
answered. What makes it move on:

- :class:`~backgrid.errors.RateLimitError`: the vendor's bucket is held for its ``retry_after``; next vendor;
- :class:`~backgrid.errors.ProviderUnavailableError`, :class:`~backgrid.errors.ResponseError`: a failure (counted
  by the vendor's circuit breaker); next vendor;
- an open circuit breaker, or a bucket that would make it wait longer than ``max_wait``: next vendor, unasked;
- :class:`~backgrid.errors.SourceError` itself (the vendor cannot serve this timeframe or range): next vendor,
  the breaker untouched;
- :class:`~backgrid.errors.CredentialsError`: skipped, and the final error says which key to set.

When no vendor answers, a :class:`~backgrid.errors.SourceError` lists every vendor's reason; it is a
:class:`~backgrid.errors.ProviderUnavailableError` (try again later) when any vendor failed, rather than
refused.

The registry :data:`PROVIDERS` maps names (``yfinance``, ``ccxt:<exchange>``, ``alpaca``, ``polygon``,
``cryptocompare``) to lazy factories: an adapter module is imported when its vendor is first used.
:func:`default_chain` builds the chain of an asset class. Its order comes, first found wins, from

1. the environment: ``BACKGRID_PROVIDERS_CRYPTO=cryptocompare,ccxt:binance`` (one variable per asset class);
2. ``$BACKGRID_HOME/providers.toml`` (``~/.backgrid`` without ``BACKGRID_HOME``)::

       [chains]
       crypto = ["ccxt:kraken", "yfinance"]

       [limits.polygon]          # requests a second, and how many at once
       rate = 1.0
       burst = 5

3. :data:`DEFAULT_CHAINS`.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import time
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from backgrid.data.providers.limits import CircuitBreaker, Clock, Limit, Sleep, TokenBucket
from backgrid.errors import (
    CredentialsError,
    DataError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    SourceError,
)

if TYPE_CHECKING:
    import pandas as pd

    from backgrid.data.bars import Bars
    from backgrid.data.providers.base import Provider
    from backgrid.data.sources.base import DataSource
    from backgrid.data.timeframe import Timeframe

__all__ = ["DEFAULT_CHAINS", "PROVIDERS", "ProviderChain", "ProviderSpec", "chain_of", "chain_order", "default_chain",
           "guess_asset_class", "limit_of", "make_provider", "vendor_source"]

#: The vendors asked for each asset class, in order.
DEFAULT_CHAINS: Mapping[str, tuple[str, ...]] = {
    "crypto": ("cryptocompare", "ccxt:binance", "yfinance"),
    "equity": ("polygon", "alpaca", "yfinance"),
    "fx": ("yfinance",),
}


@dataclass(frozen=True)
class ProviderSpec:
    """A vendor in the registry: where its adapter lives, and what to show before it is imported.

    ``targets`` are ``module:Class`` strings, the first whose module exists is used; ``requires`` is the
    vendor's own library (what its extra installs); ``credentials`` the environment variables it reads,
    ``limit`` its default request rate (the vendor's documented free-tier limit, or a polite one).
    """

    name: str
    targets: tuple[str, ...]
    requires: str
    asset_classes: tuple[str, ...]
    limit: Limit
    credentials: tuple[str, ...] = ()

    def target(self) -> str | None:
        """The first ``module:Class`` whose module exists (``None`` when the adapter is not there)."""
        for target in self.targets:
            module = target.partition(":")[0]
            if importlib.util.find_spec(module) is not None:
                return target
        return None

    def installed(self) -> bool:
        """True when the adapter and the vendor's library are both importable."""
        return self.target() is not None and importlib.util.find_spec(self.requires) is not None

    def factory(self) -> Callable[..., Provider]:
        """The adapter class (importing its module now); :class:`SourceError` when it is not there."""
        target = self.target()
        if target is None:
            msg = f"the {self.name} adapter is not available (none of {', '.join(self.targets)} exists)"
            raise SourceError(msg)
        module, _, cls = target.partition(":")
        try:
            loaded = importlib.import_module(module)
        except ImportError as exc:
            msg = (f"the {self.name} adapter needs {self.requires}, which is not installed "
                   f"(pip install 'backgrid[{self.name}]'): {exc}")
            raise SourceError(msg) from exc
        factory: Callable[..., Provider] = getattr(loaded, cls)
        return factory


_PKG = "backgrid.data.providers"
#: Every vendor by name; ``ccxt`` stands for ``ccxt:<exchange>`` (any exchange id ccxt knows).
PROVIDERS: dict[str, ProviderSpec] = {
    "yfinance": ProviderSpec("yfinance", (f"{_PKG}.yahoo:YahooProvider",), "yfinance",
                             ("equity", "fx", "crypto"), Limit(1.0, 2)),
    "ccxt": ProviderSpec("ccxt", (f"{_PKG}.ccxt:CcxtProvider", f"{_PKG}.exchange:CcxtProvider"), "ccxt",
                         ("crypto",), Limit(5.0, 5)),
    "alpaca": ProviderSpec("alpaca", (f"{_PKG}.alpaca:AlpacaProvider",), "alpaca", ("equity", "crypto"),
                           Limit(200 / 60, 10), ("ALPACA_API_KEY", "ALPACA_SECRET_KEY")),
    "polygon": ProviderSpec("polygon", (f"{_PKG}.polygon:PolygonProvider",), "massive", ("equity", "fx", "crypto"),
                            Limit(5 / 60, 5), ("POLYGON_API_KEY",)),
    "cryptocompare": ProviderSpec("cryptocompare", (f"{_PKG}.cryptocompare:CryptoCompareProvider",), "httpx",
                                  ("crypto",), Limit(10.0, 10), ("CRYPTOCOMPARE_API_KEY",)),
}


def _spec(name: str) -> tuple[ProviderSpec, dict[str, Any]]:
    """The registry entry of ``name`` and the arguments its factory takes (``ccxt:binance``: the exchange)."""
    base, _, exchange = name.partition(":")
    spec = PROVIDERS.get(base)
    if spec is None or (base == "ccxt") != bool(exchange):
        known = ", ".join("ccxt:<exchange>" if n == "ccxt" else n for n in PROVIDERS)
        msg = f"unknown provider {name!r}; known providers: {known}"
        raise SourceError(msg)
    return spec, ({"exchange_id": exchange} if exchange else {})


def make_provider(name: str) -> Provider:
    """The adapter registered as ``name`` (``yfinance``, ``ccxt:binance``...), its module imported now."""
    spec, arguments = _spec(name)
    return spec.factory()(**arguments)


def _settings() -> dict[str, Any]:
    home = Path(os.environ.get("BACKGRID_HOME") or "~/.backgrid").expanduser()
    path = home / "providers.toml"
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read the provider settings {path}: {exc}"
        raise DataError(msg) from exc


def chain_order(asset_class: str) -> tuple[str, ...]:
    """The vendors of ``asset_class`` in order: from the environment, the settings file or the defaults."""
    if asset_class not in DEFAULT_CHAINS:
        msg = f"unknown asset class {asset_class!r}; expected one of {', '.join(DEFAULT_CHAINS)}"
        raise DataError(msg)
    variable = f"BACKGRID_PROVIDERS_{asset_class.upper()}"
    told = os.environ.get(variable, "").strip()
    if told:
        order: Sequence[Any] = [n.strip() for n in told.split(",") if n.strip()]
    else:
        order = _settings().get("chains", {}).get(asset_class, DEFAULT_CHAINS[asset_class])
    if not isinstance(order, Sequence) or isinstance(order, str) or not all(isinstance(n, str) for n in order):
        msg = f"the chain of {asset_class} must be a list of provider names, got {order!r}"
        raise DataError(msg)
    for name in order:
        _spec(name)  # an unknown name is an error now, not at the first fetch
    return tuple(order)


def limit_of(name: str) -> Limit:
    """The request rate of vendor ``name``: the settings file's ``[limits.<name>]``, else the registry's."""
    spec = PROVIDERS[name] if name in PROVIDERS else _spec(name)[0]  # "ccxt" alone: every exchange's default
    told = _settings().get("limits", {}).get(name) or _settings().get("limits", {}).get(spec.name)
    if told is None:
        return spec.limit
    try:
        return Limit(float(told["rate"]), int(told.get("burst", 1)))
    except (KeyError, TypeError, ValueError) as exc:
        msg = f"[limits.{name}] in providers.toml needs rate (requests a second) and burst; got {told!r}"
        raise DataError(msg) from exc


def chain_of(names: Sequence[str], *, name: str | None = None, clock: Clock = time.monotonic,
             sleep: Sleep = time.sleep) -> ProviderChain:
    """A chain of registry vendors ``names`` in order, each with its bucket and breaker, adapters made lazily.

    ``name`` defaults to the one vendor's name, or the names joined with ``+``.
    """
    for vendor in names:
        _spec(vendor)
    providers = [_Lazy(vendor) for vendor in names]
    limits = {vendor: TokenBucket(limit_of(vendor), clock=clock, sleep=sleep) for vendor in names}
    breakers = {vendor: CircuitBreaker(clock=clock) for vendor in names}
    return ProviderChain(providers, name=name, limits=limits, breakers=breakers)


def default_chain(asset_class: str, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> ProviderChain:
    """The chain of ``asset_class`` (``crypto``, ``equity``, ``fx``), named after it, its vendors made lazily."""
    return chain_of(chain_order(asset_class), name=asset_class, clock=clock, sleep=sleep)


def vendor_source(name: str) -> ProviderChain:
    """The chain a stored source name stands for: an asset class's chain (``crypto``), else the one vendor.

    A name that is neither (``csv``, ``demo``) is a :class:`~backgrid.errors.SourceError`: no vendor serves it.
    """
    return default_chain(name) if name in DEFAULT_CHAINS else chain_of([name])


def guess_asset_class(symbol: str) -> str:
    """The asset class a symbol's spelling suggests: ``crypto`` for a pair (``BTC/USDT``), ``fx`` for Yahoo's
    currencies (``EURUSD=X``), else ``equity`` (``AAPL``)."""
    if "/" in symbol:
        return "crypto"
    return "fx" if symbol.upper().endswith("=X") else "equity"


class _Lazy:
    """A registry vendor whose adapter is imported and built at its first fetch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._provider: Provider | None = None

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """Fetch from the adapter, building it first."""
        if self._provider is None:
            self._provider = make_provider(self.name)
        return self._provider.fetch(symbol, timeframe, start=start, end=end)


class ProviderChain:
    """Vendors asked in order until one answers (see the module docstring); a ``DataSource`` itself.

    ``limits`` and ``breakers`` map a vendor's ``name`` to its :class:`TokenBucket` and :class:`CircuitBreaker`
    (a vendor without one is not limited or not broken); ``max_wait`` is the longest the chain sleeps for a
    vendor's bucket before it asks the next vendor instead. ``name`` is what the store files the series under
    (default: the vendors' names joined with ``+``).
    """

    def __init__(self, providers: Sequence[DataSource], *, name: str | None = None,
                 limits: Mapping[str, TokenBucket] | None = None,
                 breakers: Mapping[str, CircuitBreaker] | None = None, max_wait: float = 30.0) -> None:
        self.providers = list(providers)
        self.name = name or "+".join(p.name for p in self.providers)
        self.limits = dict(limits or {})
        self.breakers = dict(breakers or {})
        self.max_wait = max_wait

    def fetch(self, symbol: str, timeframe: Timeframe, *, start: pd.Timestamp | None = None,
              end: pd.Timestamp | None = None) -> Bars:
        """The bars of the first vendor that serves them; ``source`` names that vendor."""
        if not self.providers:
            msg = f"the provider chain {self.name!r} has no vendors to ask for {symbol!r}"
            raise SourceError(msg)
        reasons: list[str] = []
        failed = False
        for provider in self.providers:
            vendor = provider.name
            breaker, bucket = self.breakers.get(vendor), self.limits.get(vendor)
            unasked = self._hold_back(vendor)
            if unasked is not None:
                reasons.append(f"{vendor}: not asked, {unasked}")
                failed = True
                continue
            try:
                bars = provider.fetch(symbol, timeframe, start=start, end=end)
            except CredentialsError as exc:
                reasons.append(f"{vendor}: skipped, {exc}")
                continue
            except RateLimitError as exc:
                if bucket is not None:
                    bucket.honour(exc)
                reasons.append(f"{vendor}: rate limited ({exc})")
                failed = True
                continue
            except ProviderError as exc:  # unavailable or malformed
                if breaker is not None:
                    breaker.record_failure()
                reasons.append(f"{vendor}: {exc}")
                failed = True
                continue
            except SourceError as exc:  # cannot serve this: no fault of the vendor
                if breaker is not None:
                    breaker.record_success()  # it answered; a probe that refuses still proves it is up
                reasons.append(f"{vendor}: {exc}")
                continue
            if breaker is not None:
                breaker.record_success()
            return bars if bars.source == vendor else replace(bars, source=vendor)
        lines = "\n".join(f"  {reason}" for reason in reasons)
        msg = f"no vendor of {self.name!r} served {symbol!r} {timeframe}:\n{lines}"
        if failed:
            raise ProviderUnavailableError(msg, provider=self.name)
        raise SourceError(msg)

    def _hold_back(self, vendor: str) -> str | None:
        """Why ``vendor`` is not asked now (its breaker is open, its bucket too slow), else take its token."""
        breaker, bucket = self.breakers.get(vendor), self.limits.get(vendor)
        if breaker is not None and not breaker.allow():
            return f"failing lately (asked again in {breaker.retry_in():.0f} s)"
        if bucket is not None:
            wait = bucket.wait_time()
            if wait > self.max_wait:
                return f"rate limited for another {wait:.0f} s"
            bucket.acquire()
        return None
