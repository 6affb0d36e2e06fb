"""The ccxt adapter against binance's recorded HTTP answers, played through ccxt's own code (no network).

Each cassette under ``fixtures/ccxt`` holds the klines answers of one case; :class:`AfterMarkets` plays
binance's market lists (which ccxt loads first) ahead of them, so that every case runs ccxt's real
``load_markets`` and ``fetch_ohlcv`` over ``requests``, which vcrpy intercepts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import ccxt
import numpy as np
import pandas as pd
import pytest
import vcr
from vcr.persisters.filesystem import FilesystemPersister

from backgrid.data.providers import Provider
from backgrid.data.providers.ccxt import CcxtProvider
from backgrid.data.store import DataStore
from backgrid.errors import (
    CredentialsError,
    DataError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    ResponseError,
    SourceError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ccxt"
MARKETS = FIXTURES / "binance_markets.yaml"
JAN1 = pd.Timestamp("2024-01-01", tz="UTC")
SEVEN_HOURS = JAN1 + pd.Timedelta(hours=7)
HOUR_MS = 3_600_000


class AfterMarkets:
    """A vcrpy persister: binance's market lists, then the cassette's own interactions; it never records."""

    @staticmethod
    def load_cassette(cassette_path: str, serializer: Any) -> tuple[list[Any], list[Any]]:
        requests, responses = FilesystemPersister.load_cassette(MARKETS, serializer)
        more_requests, more_responses = FilesystemPersister.load_cassette(cassette_path, serializer)
        return [*requests, *more_requests], [*responses, *more_responses]

    @staticmethod
    def save_cassette(cassette_path: str, _cassette_dict: Any, _serializer: Any) -> None:
        msg = f"cassettes are written by hand; nothing records {cassette_path}"
        raise AssertionError(msg)


PLAYER = vcr.VCR(record_mode="none", cassette_library_dir=str(FIXTURES))
PLAYER.register_persister(AfterMarkets)


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("CCXT_BINANCE_API_KEY", "CCXT_BINANCE_SECRET"):
        monkeypatch.delenv(variable, raising=False)


def fetch(cassette: str, *, start: pd.Timestamp = JAN1, end: pd.Timestamp = SEVEN_HOURS,
          provider: CcxtProvider | None = None) -> Any:
    provider = provider or CcxtProvider("binance", page_size=3)
    with PLAYER.use_cassette(cassette) as tape:
        bars = provider.fetch("BTC/USDT", "1h", start=start, end=end)
    assert tape.all_played
    return bars, tape


def test_three_pages_each_from_past_the_last_bar_become_utc_bars(monkeypatch: pytest.MonkeyPatch) -> None:
    throttled: list[object] = []
    monkeypatch.setattr(ccxt.binance, "throttle", lambda _self, cost=None: throttled.append(cost))
    bars, tape = fetch("binance_klines_pages.yaml")
    klines = [r for r in tape.requests if r.path == "/api/v3/klines"]
    starts = [int(dict(r.query)["startTime"]) for r in klines]
    assert starts == [1704067200000, 1704067200000 + 2 * HOUR_MS + 1, 1704067200000 + 4 * HOUR_MS + 1]
    assert {dict(r.query)["limit"] for r in klines} == {"3"}
    assert len(throttled) == len(tape.requests) == 6  # ccxt's throttle before each request: 3 market lists, 3 pages
    # 00:00 ... 06:00: the repeated 04:00 bar once, 07:00 (past the end asked) cut
    expected_ns = [(1704067200 + 3600 * h) * 10**9 for h in range(7)]
    assert bars.ts.tolist() == expected_ns
    assert str(bars.index.tz) == "UTC"
    assert bars.index[0] == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert bars.open.tolist() == [42283.58, 42475.23, 42613.57, 42581.09, 42330.50, 42399.98, 42297.74]
    assert bars.high.tolist() == [42554.57, 42775.00, 42638.41, 42586.64, 42399.99, 42432.74, 42386.26]
    assert bars.low.tolist() == [42261.02, 42431.65, 42500.00, 42230.08, 42209.46, 42270.10, 42275.27]
    assert bars.close.tolist() == [42475.23, 42613.56, 42581.10, 42330.49, 42399.99, 42297.74, 42379.23]
    np.testing.assert_array_equal(bars.volume, [1271.68108, 1196.37856, 685.2198, 794.80391, 715.9384,
                                                573.22012, 489.54117])
    assert bars.source == "ccxt:binance"
    assert bars.symbol == "BTC/USDT"
    assert bars.calendar.name == "crypto"
    assert bars.adjustment == "raw"  # no corporate actions


def test_the_store_keeps_a_source_name_with_a_colon() -> None:
    store = DataStore()
    with PLAYER.use_cassette("binance_klines_pages.yaml"):
        bars = store.get_or_fetch(CcxtProvider("binance", page_size=3), "BTC/USDT", "1h", ttl=None,
                                  start=JAN1, end=SEVEN_HOURS)
    stored = store.read("BTC/USDT", "1h", source="ccxt:binance")
    assert stored.ts.tolist() == bars.ts.tolist()
    assert stored.source == "ccxt:binance"


@pytest.mark.parametrize(("cassette", "error", "text"), [
    ("binance_klines_429.yaml", RateLimitError, "for its rate; retry after 7 s"),
    ("binance_klines_500.yaml", ProviderUnavailableError, r"unavailable \(ExchangeNotAvailable\)"),
    ("binance_klines_401.yaml", CredentialsError, "set CCXT_BINANCE_API_KEY and CCXT_BINANCE_SECRET"),
    ("binance_klines_malformed.yaml", ResponseError, "with text that is not JSON: '\\[\\[1704067200000"),
])
def test_http_failures_become_the_provider_errors(cassette: str, error: type[ProviderError], text: str) -> None:
    with pytest.raises(error, match=text) as info:
        fetch(cassette)
    assert info.value.provider == "ccxt:binance"
    if isinstance(info.value, RateLimitError):
        assert info.value.retry_after == 7.0


def test_an_empty_answer_is_a_source_error_naming_the_range() -> None:
    start = pd.Timestamp("2010-01-01", tz="UTC")
    with pytest.raises(SourceError, match=r"ccxt:binance has no 1h bars of BTC/USDT in \[2010-01-01 00:00:00\+00:00"):
        fetch("binance_klines_empty.yaml", start=start, end=start + pd.Timedelta(days=1))


def test_an_unknown_symbol_is_a_source_error_naming_it() -> None:
    provider = CcxtProvider("binance")
    with PLAYER.use_cassette("binance_markets.yaml"), pytest.raises(SourceError, match="no market 'NOPE/USDT'") as info:
        provider.fetch("NOPE/USDT", "1d", start=JAN1)
    assert not isinstance(info.value, ProviderError)  # the exchange answered; it does not have the market


def test_pages_that_do_not_advance_are_refused_not_followed(monkeypatch: pytest.MonkeyPatch) -> None:
    """An exchange that ignores ``since`` answers the same bars again; the loop stops with a ResponseError."""
    calls: list[int | None] = []

    def same_bars(_self: object, _symbol: str, _timeframe: str, since: int | None, _limit: int | None) -> list[Any]:
        calls.append(since)
        return [[1704067200000, 1.0, 2.0, 0.5, 1.5, 10.0], [1704070800000, 1.5, 2.5, 1.0, 2.0, 11.0]]

    monkeypatch.setattr(ccxt.binance, "fetch_ohlcv", same_bars)
    with pytest.raises(ResponseError, match=r"up to 2024-01-01 01:00:00\+00:00 when asked from .*do not advance"):
        CcxtProvider("binance").fetch("BTC/USDT", "1h", start=JAN1, end=JAN1 + pd.Timedelta(days=1))
    assert calls == [1704067200000, 1704070800001]


def test_without_a_start_the_first_page_is_the_exchanges_default(monkeypatch: pytest.MonkeyPatch) -> None:
    pages = [[[1704067200000, 1.0, 2.0, 0.5, 1.5, 10.0]], []]
    calls: list[int | None] = []

    def next_page(_self: object, _symbol: str, _timeframe: str, since: int | None, _limit: int | None) -> list[Any]:
        calls.append(since)
        return pages.pop(0)

    monkeypatch.setattr(ccxt.binance, "fetch_ohlcv", next_page)
    bars = CcxtProvider("binance").fetch("BTC/USDT", "1h", end=JAN1 + pd.Timedelta(days=1))
    assert calls == [None, 1704067200001]
    assert bars.close.tolist() == [1.5]


@pytest.mark.parametrize("boundary_close", [1.5, 9.0])
def test_a_bar_repeated_across_pages_is_kept_once_or_refused(monkeypatch: pytest.MonkeyPatch,
                                                             boundary_close: float) -> None:
    """ccxt drops binance's rows before ``since``; an exchange that repeats the boundary bar meets vendor_bars."""
    pages = [[[1704067200000, 1.0, 2.0, 0.5, 1.5, 10.0]],
             [[1704067200000, 1.0, 2.0, 0.5, boundary_close, 10.0], [1704070800000, 1.5, 2.5, 1.0, 2.0, 11.0]], []]
    monkeypatch.setattr(ccxt.binance, "fetch_ohlcv", lambda *_args: pages.pop(0))
    provider = CcxtProvider("binance")
    if boundary_close == 1.5:
        assert provider.fetch("BTC/USDT", "1h", start=JAN1, end=SEVEN_HOURS).close.tolist() == [1.5, 2.0]
    else:
        with pytest.raises(ResponseError, match=r"two different bars at 2024-01-01 00:00:00\+00:00"):
            provider.fetch("BTC/USDT", "1h", start=JAN1, end=SEVEN_HOURS)
    assert pages == []


@pytest.mark.parametrize(("page", "text"), [
    ([[1704067200000, 1.0, 2.0]], "with a row \\[1704067200000, 1.0, 2.0\\]; expected"),
    ([["2024-01-01", 1.0, 2.0, 0.5, 1.5, 10.0]], "with a row whose time '2024-01-01' is not milliseconds"),
    (["x"], "with a row 'x'"),
    ({"error": "x"}, "with dict {'error': 'x'}, not bars"),
])
def test_answers_that_are_not_ohlcv_rows_are_response_errors(monkeypatch: pytest.MonkeyPatch, page: Any,
                                                             text: str) -> None:
    monkeypatch.setattr(ccxt.binance, "fetch_ohlcv", lambda *_args: page)
    with pytest.raises(ResponseError, match=f"ccxt:binance answered BTC/USDT {text}"):
        CcxtProvider("binance").fetch("BTC/USDT", "1h", start=JAN1)


@pytest.mark.parametrize(("raised", "error", "text"), [
    (ccxt.RateLimitExceeded, RateLimitError, "refused the request for BTC/USDT for its rate: binance busy"),
    (ccxt.RequestTimeout, ProviderUnavailableError, r"unavailable \(RequestTimeout\) for BTC/USDT: binance busy"),
    (ccxt.OnMaintenance, ProviderUnavailableError, r"unavailable \(OnMaintenance\)"),
    (ccxt.OperationFailed, ProviderUnavailableError, r"unavailable \(OperationFailed\)"),
    (ccxt.NullResponse, ResponseError, "answered BTC/USDT with something that cannot be read: binance busy"),
    (ccxt.NotSupported, ProviderError, r"could not serve BTC/USDT \(NotSupported\): binance busy"),
])
def test_ccxt_exceptions_map_to_the_provider_errors(monkeypatch: pytest.MonkeyPatch, raised: type[Exception],
                                                    error: type[ProviderError], text: str) -> None:
    def fail(*_args: object) -> list[Any]:
        msg = "binance busy"
        raise raised(msg)

    monkeypatch.setattr(ccxt.binance, "fetch_ohlcv", fail)
    with pytest.raises(error, match=text) as info:
        CcxtProvider("binance").fetch("BTC/USDT", "1h", start=JAN1)
    assert type(info.value) is error
    assert info.value.provider == "ccxt:binance"
    if isinstance(info.value, RateLimitError):
        assert info.value.retry_after is None  # no answer, so no Retry-After


def test_capabilities_come_from_the_exchange() -> None:
    binance = CcxtProvider()
    assert isinstance(binance, Provider)
    assert binance.name == "ccxt:binance"
    assert binance.capabilities.timeframes == ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")
    assert binance.capabilities.max_bars == 1000
    assert binance.capabilities.asset_classes == ("crypto",)
    assert not binance.capabilities.credentials_required
    coinbase = CcxtProvider("coinbase")  # ccxt's coinbase: 1m 5m 15m 30m 1h 2h 6h 1d, 300 candles a request
    assert coinbase.capabilities.timeframes == ("1m", "5m", "15m", "30m", "1h", "1d")
    assert coinbase.capabilities.max_bars == 300
    with pytest.raises(SourceError, match="ccxt:coinbase does not serve 4h bars"):
        coinbase.fetch("BTC/USD", "4h", start=JAN1)  # refused before any request (none could be played)
    bitflyer = CcxtProvider("bitflyer")  # ccxt has no fetchOHLCV for bitflyer
    assert bitflyer.capabilities.timeframes == ()
    with pytest.raises(SourceError, match=r"ccxt:bitflyer serves no bars .*so none of BTC/JPY"):
        bitflyer.fetch("BTC/JPY", "1d")


def test_the_throttle_stays_on_and_keys_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CCXT_BINANCE_API_KEY", "k")
    monkeypatch.setenv("CCXT_BINANCE_SECRET", "s")
    provider = CcxtProvider("binance", config={"enableRateLimit": False, "timeout": 5000})
    exchange = provider._exchange
    assert exchange.enableRateLimit is True
    assert (exchange.apiKey, exchange.secret, exchange.timeout) == ("k", "s", 5000)


def test_bad_settings_and_a_missing_package_are_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SourceError, match="ccxt has no exchange 'nope'"):
        CcxtProvider("nope")
    with pytest.raises(DataError, match="page_size must be a positive whole number of bars, got 0"):
        CcxtProvider(page_size=0)
    monkeypatch.setitem(sys.modules, "ccxt", None)
    with pytest.raises(ProviderError, match=r"needs the 'ccxt' extra: pip install 'backgrid\[ccxt\]'"):
        CcxtProvider("binance")


def test_importing_the_adapter_does_not_import_ccxt() -> None:
    code = "import sys, backgrid.data.providers.ccxt; print('ccxt' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
