"""The Alpaca adapter driving alpaca-py's real HTTP code against hand-written recorded answers (vcrpy)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
import vcr

from backgrid.data.providers import Provider
from backgrid.data.providers.alpaca import AlpacaProvider
from backgrid.data.timeframe import Timeframe
from backgrid.errors import CredentialsError, ProviderUnavailableError, RateLimitError, ResponseError, SourceError

CASSETTES = vcr.VCR(record_mode="none", cassette_library_dir=str(Path(__file__).parent / "fixtures" / "alpaca"))
KEY, SECRET = "AKFAKEKEYID0001", "fakeSecretValue9876"
JAN2, JAN6 = pd.Timestamp("2024-01-02", tz="UTC"), pd.Timestamp("2024-01-06", tz="UTC")
D1 = Timeframe.parse("1d")


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)


def stock(symbol: str) -> Any:
    return AlpacaProvider().fetch(symbol, D1, start=JAN2, end=JAN6)


@pytest.mark.usefixtures("keys")
def test_two_pages_of_stock_bars_join_with_rfc3339_times_in_utc() -> None:
    with CASSETTES.use_cassette("stock_pages.yaml") as cassette:
        bars = stock("XYZ")
    assert cassette.play_count == 2  # the second page was asked with the first page's next_page_token
    assert [str(t) for t in bars.index] == ["2024-01-02 05:00:00+00:00", "2024-01-03 05:00:00+00:00",
                                            "2024-01-04 05:00:00+00:00", "2024-01-05 05:00:00+00:00"]
    assert bars.open.tolist() == [100.5, 101.25, 103.0, 102.0]
    assert bars.high.tolist() == [102.0, 103.5, 104.0, 102.5]
    assert bars.low.tolist() == [99.75, 100.0, 101.5, 98.0]
    assert bars.close.tolist() == [101.25, 103.0, 102.0, 98.5]
    assert bars.volume.tolist() == [1200.0, 1500.0, 900.0, 2100.0]
    assert bars.source == "alpaca"
    assert bars.calendar.name == "us-equity"
    assert bars.split_factor is None  # Alpaca's bars carry no corporate actions (raw prices)
    assert bars.adjustment == "raw"


def test_crypto_needs_no_key_and_keeps_the_24_7_calendar(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALPACA_API_KEY", raising=False)
    monkeypatch.delenv("ALPACA_SECRET_KEY", raising=False)
    with CASSETTES.use_cassette("crypto.yaml"):
        bars = AlpacaProvider().fetch("BTC/USD", Timeframe.parse("1h"), start=pd.Timestamp("2024-03-09 22:00"),
                                      end=pd.Timestamp("2024-03-09 20:00", tz="America/New_York"))
    assert [t.hour for t in bars.index] == [22, 23, 0]  # Saturday night into Sunday: 24/7
    assert bars.close.tolist() == [68100.0, 68250.5, 68390.0]
    assert bars.volume.tolist() == [1.52, 0.98, 2.25]
    assert bars.calendar.name == "crypto"


def test_a_stock_without_keys_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ALPACA_API_KEY", raising=False)
    with pytest.raises(CredentialsError, match="set the environment variable ALPACA_API_KEY") as info:
        stock("XYZ")
    assert info.value.provider == "alpaca"


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(("symbol", "error", "words"), [
    ("DENY", CredentialsError, r"refused the key .*HTTP 401.*ALPACA_API_KEY and ALPACA_SECRET_KEY.*not authorized"),
    ("PLAN", CredentialsError, r"HTTP 403.*does not permit querying recent SIP data"),
    ("DOWN", ProviderUnavailableError, r"failed to answer DOWN \(HTTP 500\)"),
    ("JUNK", ResponseError, r"malformed JSON"),
    ("ODD", ResponseError, r"unexpected shape: The data in response does not match any known keys"),
    ("GAPS", ResponseError, r"a bar lacking a field or time: KeyError\('l'\)"),
    ("NONE", SourceError, r"alpaca has no 1d bars of NONE in \[2024-01-02 00:00:00\+00:00, 2024-01-06"),
])
def test_failures_map_to_the_provider_errors_without_the_keys(symbol: str, error: type[Exception],
                                                              words: str) -> None:
    with CASSETTES.use_cassette("stock_faults.yaml"), pytest.raises(error, match=words) as info:
        stock(symbol)
    assert type(info.value) is error
    for text in (str(info.value), repr(info.value)):
        assert KEY not in text
        assert SECRET not in text


@pytest.mark.usefixtures("keys")
def test_a_rate_limit_is_not_retried_and_carries_retry_after() -> None:
    with (CASSETTES.use_cassette("stock_faults.yaml") as cassette,
          pytest.raises(RateLimitError, match="HTTP 429") as info):
        stock("RATE")
    assert info.value.retry_after == 7.0
    assert cassette.play_count == 1  # alpaca-py's own retry (3 sleeps of 3 s) is off


@pytest.mark.usefixtures("keys")
@pytest.mark.parametrize(("code", "sent"), [("1m", "1Min"), ("5m", "5Min"), ("15m", "15Min"), ("30m", "30Min"),
                                            ("1h", "1Hour"), ("4h", "4Hour"), ("1d", "1Day"), ("1w", "1Week")])
def test_timeframes_are_sent_in_alpaca_terms_and_no_connection_is_unavailable(
        monkeypatch: pytest.MonkeyPatch, code: str, sent: str) -> None:
    asked: list[dict[str, Any]] = []

    def unreachable(_session: requests.Session, method: str, url: str, **options: Any) -> requests.Response:
        asked.append({"method": method, "url": url, **options})
        msg = "Max retries exceeded (Failed to establish a new connection)"
        raise requests.ConnectionError(msg)

    monkeypatch.setattr(requests.Session, "request", unreachable)
    with pytest.raises(ProviderUnavailableError, match="could not be reached for XYZ: ConnectionError"):
        AlpacaProvider(feed="sip").fetch("XYZ", Timeframe.parse(code), start=JAN2, end=JAN6)
    (request,) = asked
    assert request["method"] == "GET"
    assert request["url"] == "https://data.alpaca.markets/v2/stocks/bars"
    assert str(request["params"]["timeframe"]) == sent  # requests sends its str()
    assert request["params"]["feed"] == "sip"
    assert request["params"]["adjustment"] == "raw"
    assert request["headers"]["APCA-API-KEY-ID"] == KEY  # sent as a header, never in the URL


def test_the_provider_declares_itself_and_refuses_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALPACA_API_KEY", KEY)
    monkeypatch.setenv("ALPACA_SECRET_KEY", SECRET)
    provider = AlpacaProvider()
    assert isinstance(provider, Provider)
    assert provider.name == "alpaca"
    assert provider.capabilities.timeframes == ("1m", "5m", "15m", "30m", "1h", "4h", "1d", "1w")
    assert SECRET not in repr(provider)
    assert KEY not in repr(provider)
    with pytest.raises(SourceError, match="no stock feed 'nasdaq'; expected one of iex, sip"):
        AlpacaProvider(feed="nasdaq").fetch("XYZ", D1, start=JAN2, end=JAN6)


def test_a_missing_alpaca_py_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "alpaca.data.historical", None)
    with pytest.raises(SourceError, match=r"pip install 'backgrid\[alpaca\]'"):
        AlpacaProvider().fetch("BTC/USD", D1)
