"""The Polygon adapter driving massive's real HTTP code (urllib3) against hand-written recorded answers (vcrpy)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import urllib3
import vcr

from backgrid.data.providers import Provider
from backgrid.data.providers.polygon import PolygonProvider, _on_bars
from backgrid.data.timeframe import Timeframe
from backgrid.errors import CredentialsError, ProviderUnavailableError, RateLimitError, ResponseError, SourceError

CASSETTES = vcr.VCR(record_mode="none", cassette_library_dir=str(Path(__file__).parent / "fixtures" / "polygon"))
KEY = "pgFakeKey0123456789abcdef"
JUN6, JUN13 = pd.Timestamp("2024-06-06", tz="UTC"), pd.Timestamp("2024-06-13", tz="UTC")
D1 = Timeframe.parse("1d")


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", KEY)
    monkeypatch.delenv("MASSIVE_API_KEY", raising=False)


def stock(symbol: str) -> Any:
    return PolygonProvider().fetch(symbol, D1, start=JUN6, end=JUN13)


@pytest.mark.usefixtures("key")
def test_two_pages_of_raw_bars_carry_the_split_and_the_dividend_on_their_days() -> None:
    with CASSETTES.use_cassette("stock_actions.yaml") as cassette:
        bars = stock("XYZ")
    assert cassette.play_count == 4  # two pages of bars (next_url followed), the splits, the dividends
    # Polygon's daily bars open at midnight New York time, in epoch milliseconds: 04:00 UTC in June (EDT)
    assert [str(t) for t in bars.index] == [f"2024-06-{d:02d} 04:00:00+00:00" for d in (6, 7, 10, 11, 12)]
    assert bars.open.tolist() == [400.0, 402.0, 101.0, 101.5, 102.75]
    assert bars.high.tolist() == [404.0, 405.0, 102.0, 103.0, 103.25]
    assert bars.low.tolist() == [398.0, 401.0, 100.25, 101.0, 101.5]
    assert bars.close.tolist() == [402.0, 403.5, 101.5, 102.75, 101.75]
    assert bars.volume.tolist() == [51000.0, 47000.0, 210000.0, 198000.0, 176000.0]
    assert bars.split_factor is not None
    assert bars.dividend is not None
    assert bars.split_factor.tolist() == [1.0, 1.0, 4.0, 1.0, 1.0]  # 1 -> 4 executed Monday 10 June
    assert bars.dividend.tolist() == [0.0, 0.25, 0.0, 0.0, 0.0]  # $0.25 ex Friday 7 June
    assert bars.adjustment == "raw"  # adjusted=false: as traded
    assert bars.calendar.name == "us-equity"
    assert bars.source == "polygon"


@pytest.mark.usefixtures("key")
def test_crypto_and_currencies_take_their_calendars_and_no_corporate_actions() -> None:
    with CASSETTES.use_cassette("markets.yaml") as cassette:
        btc = PolygonProvider().fetch("X:BTCUSD", Timeframe.parse("1h"), start=pd.Timestamp("2024-03-09 22:00"),
                                      end=pd.Timestamp("2024-03-10 01:00", tz="UTC"))
        eur = PolygonProvider().fetch("C:EURUSD", D1, start=JUN6, end=pd.Timestamp("2024-06-08", tz="UTC"))
    assert cassette.play_count == 2  # no splits or dividends asked for either
    assert [str(t) for t in btc.index] == ["2024-03-09 22:00:00+00:00", "2024-03-09 23:00:00+00:00",
                                           "2024-03-10 00:00:00+00:00"]
    assert btc.close.tolist() == [68100.0, 68250.0, 68390.0]
    assert btc.calendar.name == "crypto"
    assert btc.split_factor is None
    assert eur.close.tolist() == [1.0891, 1.0801]
    assert eur.calendar.name == "fx"


def test_the_key_comes_from_either_variable_and_is_sent_as_a_header(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POLYGON_API_KEY", raising=False)
    monkeypatch.delenv("MASSIVE_API_KEY", raising=False)
    with pytest.raises(CredentialsError, match="set the environment variable POLYGON_API_KEY \\(or MASSIVE_API_KEY\\)"):
        stock("XYZ")
    monkeypatch.setenv("MASSIVE_API_KEY", KEY)
    asked: list[dict[str, Any]] = []

    def timeout(_pool: urllib3.PoolManager, method: str, url: str, **options: Any) -> urllib3.BaseHTTPResponse:
        asked.append({"method": method, "url": url, **options})
        raise urllib3.exceptions.ReadTimeoutError(None, url, "Read timed out. (read timeout=10.0)")  # type: ignore[arg-type]

    monkeypatch.setattr(urllib3.PoolManager, "request", timeout)
    with pytest.raises(ProviderUnavailableError, match="could not be reached for XYZ: ReadTimeoutError"):
        PolygonProvider().fetch("XYZ", Timeframe.parse("4h"), start=JUN6, end=JUN13)
    (request,) = asked
    assert request["url"] == "https://api.massive.com/v2/aggs/ticker/XYZ/range/4/hour/1717632000000/1718236800000"
    assert request["headers"]["Authorization"] == f"Bearer {KEY}"
    assert KEY not in request["url"]


@pytest.mark.usefixtures("key")
@pytest.mark.parametrize(("symbol", "error", "words"), [
    ("DENY", CredentialsError, r"refused the key for DENY \(HTTP 401\): check POLYGON_API_KEY or MASSIVE_API_KEY"),
    ("PLAN", CredentialsError, r"HTTP 403.*You are not entitled to this data"),
    ("DOWN", ProviderUnavailableError, r"failed to answer DOWN \(HTTP 502\): <html>"),
    ("DENY", CredentialsError, r"\(and that the plan covers this data\): Unknown API Key$"),
    ("ODDX", SourceError, r"cannot serve ODDX \(HTTP 404\): Data not found\.$"),
    ("JUNK", ResponseError, r"malformed JSON"),
    ("NOTS", ResponseError, r"a bar without its time \(t\)"),
    ("NONE", SourceError, r"polygon has no 1d bars of NONE in \[2024-06-06 00:00:00\+00:00, 2024-06-13"),
])
def test_failures_map_to_the_provider_errors_without_the_key(symbol: str, error: type[Exception], words: str) -> None:
    """Each fault's error class and words; the vendor's own words come from its body's ``error``/``message``."""
    with CASSETTES.use_cassette("faults.yaml") as cassette, pytest.raises(error, match=words) as info:
        stock(symbol)
    assert type(info.value) is error
    assert cassette.play_count == 1  # nothing retried
    assert KEY not in str(info.value)
    assert KEY not in repr(info.value)


@pytest.mark.usefixtures("key")
def test_a_rate_limit_is_not_retried_and_carries_retry_after() -> None:
    with CASSETTES.use_cassette("faults.yaml") as cassette, pytest.raises(RateLimitError, match="exceeded") as info:
        stock("RATE")
    assert info.value.retry_after == 12.0
    assert info.value.provider == "polygon"
    assert cassette.play_count == 1  # massive's urllib3 retries (which sleep Retry-After) are off


def test_an_action_lands_on_the_first_bar_that_closes_after_its_new_york_day_begins() -> None:
    hour = 3_600 * 10**9
    opens = pd.DatetimeIndex(["2024-06-07 19:00", "2024-06-10 13:00", "2024-06-10 14:00"], tz="UTC")  # 15:00, 09:00 NY
    closes = opens.as_unit("ns").asi8 + hour
    actions = [("2024-06-08", 2.0), ("2024-06-10", 3.0), ("2024-06-11", 5.0)]  # Saturday -> Monday's first bar
    assert _on_bars(closes, actions, "XYZ", neutral=1.0, join=np.multiply).tolist() == [1.0, 6.0, 1.0]
    with pytest.raises(ResponseError, match="corporate action of XYZ with the date 'soon'"):
        _on_bars(closes, [("soon", 2.0)], "XYZ", neutral=1.0, join=np.multiply)


def test_the_provider_declares_itself_and_a_missing_client_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYGON_API_KEY", KEY)
    provider = PolygonProvider()
    assert isinstance(provider, Provider)
    assert provider.name == "polygon"
    assert provider.capabilities.corporate_actions
    assert KEY not in repr(provider)
    monkeypatch.setitem(sys.modules, "massive", None)
    with pytest.raises(SourceError, match=r"pip install 'backgrid\[polygon\]'"):
        stock("XYZ")
