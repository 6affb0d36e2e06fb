"""The provider chain: which vendor answers, what each failure does, the registry and its settings."""

import numpy as np
import pandas as pd
import pytest

from backgrid.data.providers import chain as chain_module
from backgrid.data.providers.base import Capabilities, vendor_bars
from backgrid.data.providers.chain import (
    DEFAULT_CHAINS,
    PROVIDERS,
    ProviderChain,
    chain_order,
    default_chain,
    limit_of,
    make_provider,
)
from backgrid.data.providers.limits import CircuitBreaker, Limit, TokenBucket
from backgrid.data.sources import DataSource
from backgrid.data.timeframe import Timeframe
from backgrid.errors import (
    CredentialsError,
    DataError,
    ProviderUnavailableError,
    RateLimitError,
    ResponseError,
    SourceError,
)

H1 = Timeframe("1h")
START = pd.Timestamp("2024-03-10 00:00", tz="UTC")
END = START + pd.Timedelta(hours=6)


def frame(tz="UTC", n=6, repeat=False):
    index = pd.date_range(START, periods=n, freq="h").tz_convert(tz)
    close = 100 + np.arange(n, dtype=float)
    data = pd.DataFrame({"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 1.0},
                        index=index)
    return pd.concat([data, data.iloc[[2]]]) if repeat else data


class Fake:
    """A vendor that answers ``frame()`` or raises the error it was given, counting its calls."""

    capabilities = Capabilities(timeframes=("1h",), asset_classes=("crypto",))

    def __init__(self, name, error=None, **frame_options):
        self.name = name
        self.error = error
        self.frame_options = frame_options
        self.calls = 0

    def fetch(self, symbol, timeframe, *, start=None, end=None):
        self.calls += 1
        if self.error is not None:
            raise self.error
        return vendor_bars(frame(**self.frame_options), provider=self.name, symbol=symbol, timeframe=timeframe,
                           start=start, end=end, calendar="crypto")


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def fetch(chain):
    return chain.fetch("BTC/USDT", H1, start=START, end=END)


def test_the_chain_is_a_data_source_and_the_first_vendor_answers():
    first, second = Fake("a"), Fake("b")
    chain = ProviderChain([first, second])
    assert isinstance(chain, DataSource)
    assert chain.name == "a+b"
    bars = fetch(chain)
    assert bars.source == "a"
    assert (first.calls, second.calls) == (1, 0)
    np.testing.assert_array_equal(bars.close, 100 + np.arange(6.0))


@pytest.mark.parametrize(("error", "said"), [
    (ProviderUnavailableError("HTTP 500 from a", provider="a"), "a: HTTP 500 from a"),
    (ProviderUnavailableError("a timed out after 10 s", provider="a"), "a: a timed out"),
    (ResponseError("a answered malformed JSON", provider="a"), "a: a answered malformed JSON"),
    (RateLimitError("a said 429", provider="a", retry_after=20), "a: rate limited (a said 429)"),
    (SourceError("a has no 1h bars of BTC/USDT in [...)"), "a: a has no 1h bars"),
    (CredentialsError("a needs an API key: set the environment variable A_KEY", provider="a"),
     "a: skipped, a needs an API key: set the environment variable A_KEY"),
])
def test_each_failure_moves_on_to_the_next_vendor(error, said):
    chain = ProviderChain([Fake("a", error), Fake("b")])
    assert fetch(chain).source == "b"
    with pytest.raises(SourceError) as caught:
        fetch(ProviderChain([Fake("a", error), Fake("c", SourceError("c does not serve 1h"))]))
    assert said in str(caught.value)
    assert "c: c does not serve 1h" in str(caught.value)
    failure = isinstance(error, ProviderUnavailableError | ResponseError | RateLimitError)
    assert isinstance(caught.value, ProviderUnavailableError) is failure  # a refusal is not "try later"


def test_the_final_error_lists_every_vendor_in_order():
    chain = ProviderChain([Fake("a", ProviderUnavailableError("HTTP 503", provider="a")),
                           Fake("b", ResponseError("no 'Data' field", provider="b")),
                           Fake("c", RateLimitError("HTTP 429", provider="c"))], name="crypto")
    with pytest.raises(ProviderUnavailableError) as caught:
        fetch(chain)
    assert str(caught.value).splitlines() == [
        "no vendor of 'crypto' served 'BTC/USDT' 1h:", "  a: HTTP 503", "  b: no 'Data' field",
        "  c: rate limited (HTTP 429)"]
    assert caught.value.provider == "crypto"


def test_a_429_holds_that_vendor_for_its_retry_after_then_asks_it_again():
    clock = Clock()
    limited = Fake("a", RateLimitError("429", provider="a", retry_after=60))
    backup = Fake("b")
    chain = ProviderChain([limited, backup], max_wait=5,
                          limits={"a": TokenBucket(Limit(10, 10), clock=clock, sleep=clock.sleep)})
    assert fetch(chain).source == "b"
    limited.error = None
    assert fetch(chain).source == "b"  # held for a minute: not asked
    assert limited.calls == 1
    with pytest.raises(SourceError, match="a: not asked, rate limited for another 60 s"):
        fetch(ProviderChain([limited], limits=chain.limits, max_wait=5))
    clock.now += 56  # four seconds left: within max_wait, the chain sleeps them
    assert fetch(chain).source == "a"
    assert clock.now == pytest.approx(60.1)  # the hold, then one token at 10 a second


def test_an_open_breaker_skips_the_vendor_and_a_refusal_does_not_trip_it():
    clock = Clock()
    down = Fake("a", ProviderUnavailableError("HTTP 500", provider="a"))
    breaker = CircuitBreaker(failures=2, cooldown=30, clock=clock)
    chain = ProviderChain([down, Fake("b")], breakers={"a": breaker})
    fetch(chain)
    fetch(chain)
    assert breaker.state == "open"
    fetch(chain)
    assert down.calls == 2  # not asked while open
    clock.now += 30
    down.error = None
    assert fetch(chain).source == "a"  # the probe succeeds
    assert breaker.state == "closed"
    down.error = SourceError("a does not serve 1m")
    for _ in range(5):
        fetch(chain)
    assert breaker.state == "closed"


def test_the_chain_keeps_utc_and_drops_identical_repeats():
    chain = ProviderChain([Fake("ny", tz="America/New_York", repeat=True)])
    bars = fetch(chain)
    assert bars.index.tz is not None
    assert str(bars.index.tz) == "UTC"
    assert bars.index[0] == START
    assert len(bars) == 6


def test_an_empty_range_is_a_refusal_and_the_next_vendor_answers():
    early = Fake("a")
    chain = ProviderChain([early, Fake("b")])
    with pytest.raises(SourceError, match=r"a: a has no 1h bars of BTC/USDT") as caught:
        chain.fetch("BTC/USDT", H1, start=END + pd.Timedelta(days=1), end=END + pd.Timedelta(days=2))
    assert not isinstance(caught.value, ProviderUnavailableError)


def test_a_chain_without_vendors_says_so():
    with pytest.raises(SourceError, match="has no vendors"):
        fetch(ProviderChain([], name="empty"))


# -- the registry -----------------------------------------------------------------------------------
def test_the_default_chains():
    assert DEFAULT_CHAINS["crypto"] == ("cryptocompare", "ccxt:binance", "yfinance")
    assert DEFAULT_CHAINS["equity"] == ("polygon", "alpaca", "yfinance")
    assert DEFAULT_CHAINS["fx"] == ("yfinance",)
    assert chain_order("crypto") == DEFAULT_CHAINS["crypto"]
    chain = default_chain("equity")
    assert chain.name == "equity"
    assert [p.name for p in chain.providers] == ["polygon", "alpaca", "yfinance"]
    assert set(chain.limits) == set(chain.breakers) == {"polygon", "alpaca", "yfinance"}


def test_the_order_comes_from_the_environment_then_the_settings_file(monkeypatch, backgrid_home):
    (backgrid_home / "providers.toml").write_text(
        '[chains]\ncrypto = ["ccxt:kraken", "yfinance"]\n[limits.polygon]\nrate = 1.0\nburst = 3\n', encoding="utf-8")
    assert chain_order("crypto") == ("ccxt:kraken", "yfinance")
    assert chain_order("equity") == DEFAULT_CHAINS["equity"]
    assert limit_of("polygon") == Limit(1.0, 3)
    assert limit_of("ccxt:kraken") == PROVIDERS["ccxt"].limit
    monkeypatch.setenv("BACKGRID_PROVIDERS_CRYPTO", "yfinance, cryptocompare")
    assert chain_order("crypto") == ("yfinance", "cryptocompare")


def test_bad_settings_are_clear(monkeypatch, backgrid_home):
    with pytest.raises(DataError, match="unknown asset class 'bonds'"):
        chain_order("bonds")
    monkeypatch.setenv("BACKGRID_PROVIDERS_FX", "oanda")
    with pytest.raises(SourceError, match=r"unknown provider 'oanda'; known providers: yfinance, ccxt:<exchange>"):
        chain_order("fx")
    (backgrid_home / "providers.toml").write_text("[chains\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"cannot read the provider settings .*providers.toml"):
        chain_order("equity")
    (backgrid_home / "providers.toml").write_text("[limits.yfinance]\nburst = 2\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"\[limits.yfinance\] in providers.toml needs rate"):
        limit_of("yfinance")
    with pytest.raises(SourceError, match="unknown provider 'ccxt'"):
        make_provider("ccxt")  # an exchange is needed


def test_adapters_are_imported_only_when_used(monkeypatch):
    imported = []
    monkeypatch.setattr(chain_module.importlib, "import_module", imported.append)
    default_chain("crypto")
    assert imported == []


def test_a_missing_adapter_is_a_clear_refusal(monkeypatch):
    spec = PROVIDERS["polygon"]
    monkeypatch.setitem(PROVIDERS, "polygon", type(spec)(spec.name, ("backgrid.data.providers.nowhere:X",),
                                                          spec.requires, spec.asset_classes, spec.limit))
    assert not PROVIDERS["polygon"].installed()
    with pytest.raises(SourceError, match=r"the polygon adapter is not available"):
        make_provider("polygon")
    chain = ProviderChain([chain_module._Lazy("polygon"), Fake("b")])
    assert fetch(chain).source == "b"


def test_a_registered_adapter_is_built_with_its_exchange(monkeypatch):
    made = {}

    class Exchange(Fake):
        def __init__(self, *, exchange_id):
            super().__init__(f"ccxt:{exchange_id}")
            made["exchange"] = exchange_id

    monkeypatch.setattr(chain_module.ProviderSpec, "factory", lambda _self: Exchange)
    provider = make_provider("ccxt:kraken")
    assert made == {"exchange": "kraken"}
    assert fetch(ProviderChain([provider])).source == "ccxt:kraken"


@pytest.mark.parametrize("name", ["yfinance", "ccxt:binance", "alpaca", "polygon", "cryptocompare"])
def test_every_registered_name_builds_its_real_adapter(name):
    """The registry's module:Class strings and arguments match the adapters as written (no request is made)."""
    provider = make_provider(name)
    assert provider.name == name
    assert provider.capabilities.timeframes
    spec = chain_module.PROVIDERS[name.partition(":")[0]]
    assert spec.installed()
