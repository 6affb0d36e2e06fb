"""The CryptoCompare adapter against hand-written answers in the shape of the vendor's documented histories.

The pages under ``fixtures/cryptocompare`` follow ``data/v2/histoday`` / ``histohour``: ``Data.Data`` a list
of ``{time, high, low, open, volumefrom, volumeto, close}``, ``Data.TimeFrom`` / ``TimeTo``. respx stands in
for the vendor, so each request's parameters and headers are checked as sent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import respx

from backgrid.data.providers import Provider
from backgrid.data.providers.cryptocompare import API, KEY_VARIABLE, CryptoCompareProvider
from backgrid.data.sources.base import DataSource
from backgrid.data.timeframe import Timeframe
from backgrid.errors import (
    CredentialsError,
    ProviderError,
    ProviderUnavailableError,
    RateLimitError,
    ResponseError,
    SourceError,
)

FIXTURES = Path(__file__).parent / "fixtures" / "cryptocompare"
HOST = "min-api.cryptocompare.com"
D1 = Timeframe.parse("1d")
NOW = pd.Timestamp("2024-06-01 12:00", tz="UTC")
JAN = {day: 1_704_067_200 + (day - 1) * 86_400 for day in range(1, 11)}  # 2024-01-<day> 00:00 UTC, Unix seconds
KEY = "s3cr3t-k3y-0123"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def body(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A successful answer holding ``rows`` (the documented envelope)."""
    times = [row["time"] for row in rows if "time" in row] or [0]
    return {"Response": "Success", "Message": "", "HasWarning": False, "Type": 100, "RateLimit": {},
            "Data": {"Aggregated": False, "TimeFrom": min(times), "TimeTo": max(times), "Data": rows}}


def bar(time: int, price: float = 100.0) -> dict[str, Any]:
    return {"time": time, "high": price + 2, "low": price - 1, "open": price, "volumefrom": 10.0,
            "volumeto": 10.0 * price, "close": price + 1}


def refusal(message: str) -> dict[str, Any]:
    return {"Response": "Error", "Message": message, "HasWarning": False, "Type": 99, "RateLimit": {}, "Data": {}}


@pytest.fixture
def vendor():
    with respx.mock(assert_all_mocked=True, assert_all_called=False) as mock:
        yield mock


@pytest.fixture(autouse=True)
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_VARIABLE, raising=False)


def provider(sleeps: list[float] | None = None, **options: Any) -> CryptoCompareProvider:
    taken = sleeps if sleeps is not None else []
    return CryptoCompareProvider(sleep=taken.append, clock=lambda: NOW, **options)


def params(route: respx.Route) -> list[dict[str, str]]:
    return [dict(call.request.url.params) for call in route.calls]


def test_it_is_a_provider_and_a_data_source() -> None:
    cc = CryptoCompareProvider()
    assert isinstance(cc, Provider)
    assert isinstance(cc, DataSource)
    assert cc.name == "cryptocompare"
    assert cc.capabilities.timeframes == ("1m", "5m", "15m", "30m", "1h", "4h", "1d")
    assert cc.capabilities.max_bars == 2000
    assert cc.capabilities.credentials == (KEY_VARIABLE,)
    assert not cc.capabilities.credentials_required


def test_three_pages_are_walked_back_with_to_ts_and_read_by_hand(vendor: respx.MockRouter) -> None:
    route = vendor.get(host=HOST, path="/data/v2/histoday").mock(side_effect=[
        httpx.Response(200, json=fixture(f"histoday_btc_usd_page{n}")) for n in (1, 2, 3)])
    sleeps: list[float] = []
    bars = provider(sleeps, pause=0.5).fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-01", tz="UTC"),
                                             end=pd.Timestamp("2024-01-10", tz="UTC"))
    sent = params(route)
    # end is exclusive: the first toTs is the last second before 2024-01-10; each next one the page's earliest - 1;
    # limit + 1 bars reach back to the start: 8 days from 2024-01-09, 5 from 2024-01-06, 2 from 2024-01-03
    assert [p["toTs"] for p in sent] == [str(JAN[10] - 1), str(JAN[7] - 1), str(JAN[4] - 1)]
    assert [p["limit"] for p in sent] == ["8", "5", "2"]
    assert all(p["fsym"] == "BTC" and p["tsym"] == "USD" and "aggregate" not in p for p in sent)
    assert sleeps == [0.5, 0.5]  # a pause between pages, none before the first
    assert len(bars) == 9
    assert bars.ts[0] == 1_704_067_200_000_000_000  # 2024-01-01 00:00 UTC in nanoseconds
    assert list(bars.index) == list(pd.date_range("2024-01-01", "2024-01-09", freq="D", tz="UTC"))
    assert (bars.open[0], bars.high[0], bars.low[0], bars.close[0]) == (42280.5, 44190.75, 42170.3, 44170.4)
    assert bars.volume[0] == 18101.25  # volumefrom (BTC), not volumeto (USD)
    assert (bars.open[-1], bars.close[-1], bars.volume[-1]) == (46980.1, 46120.6, 41234.01)
    assert bars.source == "cryptocompare"
    assert bars.symbol == "BTC/USD"
    assert bars.calendar.name == "crypto"
    assert bars.adjustment == "raw"  # no corporate actions


def test_zero_padding_before_a_listing_is_dropped_and_ends_the_walk(vendor: respx.MockRouter) -> None:
    route = vendor.get(host=HOST, path="/data/v2/histoday").mock(
        return_value=httpx.Response(200, json=fixture("histoday_new_usd_listing")))
    clock = pd.Timestamp("2024-01-05 12:00", tz="UTC")
    bars = CryptoCompareProvider(clock=lambda: clock).fetch("new-usd", D1)
    assert route.call_count == 1  # padding at the page's start: nothing older exists
    # no start: as many as one page holds; no end: up to the last second before today's bar, still forming
    assert params(route)[0] == {"fsym": "NEW", "tsym": "USD", "limit": "2000", "toTs": str(JAN[5] - 1),
                                "extraParams": "backgrid"}
    assert list(bars.index) == [pd.Timestamp("2024-01-03", tz="UTC"), pd.Timestamp("2024-01-04", tz="UTC")]
    assert bars.close.tolist() == [1.1, 1.2]
    assert bars.volume.tolist() == [120000.0, 95000.5]


def test_a_page_of_padding_only_ends_the_walk(vendor: respx.MockRouter) -> None:
    route = vendor.get(host=HOST, path="/data/v2/histoday").mock(side_effect=[
        httpx.Response(200, json=fixture("histoday_btc_usd_page1")),
        httpx.Response(200, json=body([{**bar(JAN[d]), "open": 0, "high": 0, "low": 0, "close": 0} for d in (5, 6)]))])
    bars = CryptoCompareProvider(clock=lambda: pd.Timestamp("2024-01-10 12:00", tz="UTC"), sleep=lambda _: None).fetch(
        "BTC/USD", D1)
    assert [p["toTs"] for p in params(route)] == [str(JAN[10] - 1), str(JAN[7] - 1)]
    assert list(bars.index) == list(pd.date_range("2024-01-07", "2024-01-09", freq="D", tz="UTC"))


def test_a_four_hour_request_is_histohour_aggregated_by_four(vendor: respx.MockRouter) -> None:
    route = vendor.get(host=HOST, path="/data/v2/histohour").mock(
        return_value=httpx.Response(200, json=fixture("histohour_eth_btc_4h")))
    bars = provider().fetch("ETH-BTC", Timeframe.parse("4h"), start=pd.Timestamp("2024-01-01", tz="UTC"),
                            end=pd.Timestamp("2024-01-01 08:00", tz="UTC"))
    # the last 4h bar before 08:00 opens at 04:00; one more period back reaches 00:00
    assert params(route) == [{"fsym": "ETH", "tsym": "BTC", "limit": "1", "toTs": str(JAN[1] + 8 * 3600 - 1),
                              "aggregate": "4", "extraParams": "backgrid"}]
    assert list(bars.index) == [pd.Timestamp("2024-01-01 00:00", tz="UTC"), pd.Timestamp("2024-01-01 04:00", tz="UTC")]
    assert bars.close.tolist() == [0.05377, 0.05366]
    assert bars.volume.tolist() == [5120.4, 4380.25]


def test_five_minutes_are_histominute_aggregated_by_five(vendor: respx.MockRouter) -> None:
    start = NOW - pd.Timedelta(minutes=10)
    times = [int(start.timestamp()) + 300 * i for i in range(2)]
    route = vendor.get(host=HOST, path="/data/v2/histominute").mock(
        return_value=httpx.Response(200, json=body([bar(t) for t in times])))
    bars = provider().fetch("BTC/USD", Timeframe.parse("5m"), start=start)
    assert params(route)[0]["aggregate"] == "5"
    assert params(route)[0]["toTs"] == str(int(NOW.timestamp()) - 1)  # the 12:00 bar is still forming
    assert bars.ts.tolist() == [t * 10**9 for t in times]


def test_a_bar_off_the_timeframe_grid_is_refused(vendor: respx.MockRouter) -> None:
    vendor.get(host=HOST, path="/data/v2/histohour").mock(
        return_value=httpx.Response(200, json=body([bar(JAN[1] + 2 * 3600)])))
    with pytest.raises(ResponseError, match="time 1704074400; expected whole Unix seconds on the 4h grid"):
        provider().fetch("ETH/BTC", Timeframe.parse("4h"), start=pd.Timestamp("2024-01-01", tz="UTC"),
                         end=pd.Timestamp("2024-01-01 08:00", tz="UTC"))


def test_minute_bars_reach_back_seven_days_only() -> None:
    with pytest.raises(SourceError, match="last 7 days only"):
        provider().fetch("BTC/USD", Timeframe.parse("1m"), start=NOW - pd.Timedelta(days=8))


def test_minute_bars_without_a_start_begin_seven_days_back(vendor: respx.MockRouter) -> None:
    oldest = int(NOW.timestamp()) - 7 * 86_400
    route = vendor.get(host=HOST, path="/data/v2/histominute").mock(
        return_value=httpx.Response(200, json=body([bar(oldest + 60 * i) for i in range(60)])))
    bars = provider().fetch("BTC/USD", Timeframe.parse("1m"), end=pd.Timestamp(oldest + 3600, unit="s", tz="UTC"))
    # the hour's last bar opens at oldest + 59 min; 59 periods back from it is the oldest minute served
    assert params(route) == [{"fsym": "BTC", "tsym": "USD", "limit": "59", "toTs": str(oldest + 3599),
                              "extraParams": "backgrid"}]
    assert bars.ts[0] == oldest * 10**9
    assert len(bars) == 60


def test_an_identical_bar_repeated_at_a_page_boundary_is_kept_once(vendor: respx.MockRouter) -> None:
    newer, older = fixture("histoday_btc_usd_page1"), fixture("histoday_btc_usd_page2")
    older["Data"]["Data"].append(newer["Data"]["Data"][0])  # the vendor repeats 2024-01-07 on the older page
    vendor.get(host=HOST, path="/data/v2/histoday").mock(side_effect=[
        httpx.Response(200, json=newer), httpx.Response(200, json=older)])
    bars = provider().fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-04", tz="UTC"),
                            end=pd.Timestamp("2024-01-10", tz="UTC"))
    assert list(bars.index) == list(pd.date_range("2024-01-04", "2024-01-09", freq="D", tz="UTC"))
    assert bars.close[3] == 43950.75


def test_a_repeated_bar_that_disagrees_is_refused(vendor: respx.MockRouter) -> None:
    newer, older = fixture("histoday_btc_usd_page1"), fixture("histoday_btc_usd_page2")
    older["Data"]["Data"].append({**newer["Data"]["Data"][0], "close": 1.0})
    vendor.get(host=HOST, path="/data/v2/histoday").mock(side_effect=[
        httpx.Response(200, json=newer), httpx.Response(200, json=older)])
    with pytest.raises(ResponseError, match="two different bars at 2024-01-07"):
        provider().fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-04", tz="UTC"),
                         end=pd.Timestamp("2024-01-10", tz="UTC"))


def test_a_page_that_does_not_go_back_is_refused(vendor: respx.MockRouter) -> None:
    vendor.get(host=HOST, path="/data/v2/histoday").mock(return_value=httpx.Response(200, json=body([bar(JAN[9])])))
    with pytest.raises(ResponseError, match="after the asked toTs"):
        provider().fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-01", tz="UTC"),
                         end=pd.Timestamp("2024-01-05", tz="UTC"))


FAULTS = [
    pytest.param(httpx.Response(429, headers={"Retry-After": "30"}), RateLimitError, "HTTP 429", id="429"),
    pytest.param(httpx.Response(200, json=refusal("You are over your rate limit please upgrade your account!")),
                 RateLimitError, "rate limit please upgrade", id="200-rate-limit"),
    pytest.param(httpx.Response(200, json=refusal("cccagg_or_exchange market does not exist for this coin pair "
                                                  "(XYZ-USD)")), SourceError, "no market XYZ/USD", id="no-market"),
    pytest.param(httpx.Response(200, json=refusal("toTs param is not an integer")), SourceError,
                 "refused XYZ/USD: toTs param", id="other-refusal"),
    pytest.param(httpx.Response(200, json=refusal("You need a valid auth key or api key to access this endpoint")),
                 CredentialsError, "CRYPTOCOMPARE_API_KEY", id="200-api-key"),
    pytest.param(httpx.Response(401, json=refusal("unauthorized")), CredentialsError,
                 "HTTP 401.*CRYPTOCOMPARE_API_KEY", id="401"),
    pytest.param(httpx.Response(500), ProviderUnavailableError, "unavailable \\(HTTP 500\\)", id="500"),
    pytest.param(httpx.Response(503, text="upstream down"), ProviderUnavailableError, "HTTP 503", id="503"),
    pytest.param(httpx.ReadTimeout("read timed out"), ProviderUnavailableError, "did not answer in time.*ReadTimeout",
                 id="timeout"),
    pytest.param(httpx.ConnectError("[Errno 111] Connection refused"), ProviderUnavailableError,
                 "cannot be reached for XYZ/USD: ConnectError", id="connect"),
    pytest.param(httpx.Response(404, text="not here"), ResponseError, "HTTP 404; expected 200", id="404"),
    pytest.param(httpx.Response(200, text="<html>oops</html>"), ResponseError, "not JSON", id="not-json"),
    pytest.param(httpx.Response(200, json=[1, 2]), ResponseError, "JSON list; expected an object", id="json-list"),
    pytest.param(httpx.Response(200, json={"Data": {}}), ResponseError, "Response None", id="no-response"),
    pytest.param(httpx.Response(200, json={"Response": "Success", "Data": {"TimeFrom": 0}}), ResponseError,
                 "without the list Data.Data", id="no-rows"),
    pytest.param(httpx.Response(200, json=body([{k: v for k, v in bar(JAN[1]).items() if k != "volumefrom"}])),
                 ResponseError, "bar 0 of a page lacking volumefrom", id="missing-field"),
    pytest.param(httpx.Response(200, json=body([{**bar(JAN[1]), "time": "2024-01-01"}])), ResponseError,
                 "time '2024-01-01'", id="text-time"),
    pytest.param(httpx.Response(200, json=body([{**bar(JAN[1]), "close": "n/a"}])), ResponseError,
                 "not numbers", id="text-price"),
    pytest.param(httpx.Response(200, json=body([])), SourceError, "no 1d bars of XYZ/USD", id="empty"),
]


@pytest.mark.parametrize(("answer", "error", "match"), FAULTS)
def test_every_fault_is_mapped_and_the_key_never_shows(vendor: respx.MockRouter, monkeypatch: pytest.MonkeyPatch,
                                                       answer: Any, error: type[Exception], match: str) -> None:
    monkeypatch.setenv(KEY_VARIABLE, KEY)
    route = vendor.get(host=HOST, path="/data/v2/histoday").mock(side_effect=[answer])
    cc = provider()
    with pytest.raises(error, match=match) as info:
        cc.fetch("XYZ/USD", D1, start=pd.Timestamp("2024-01-01", tz="UTC"), end=pd.Timestamp("2024-01-03", tz="UTC"))
    assert route.calls.last.request.headers["authorization"] == f"Apikey {KEY}"
    assert type(info.value) is error
    shown = f"{info.value} {info.value!r} {info.value.args} {cc!r}"
    assert KEY not in shown
    if isinstance(info.value, ProviderError):
        assert info.value.provider == "cryptocompare"


def test_retry_after_is_read_in_seconds_or_as_an_http_date(vendor: respx.MockRouter) -> None:
    vendor.get(host=HOST, path="/data/v2/histoday").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "30"}),
        httpx.Response(429, headers={"Retry-After": "Sat, 01 Jun 2024 12:01:30 GMT"}),  # 90 s after NOW
        httpx.Response(429, headers={"Retry-After": "soon"}),
        httpx.Response(429)])
    waits = []
    for _ in range(4):
        with pytest.raises(RateLimitError) as info:
            provider().fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-01", tz="UTC"),
                             end=pd.Timestamp("2024-01-03", tz="UTC"))
        waits.append(info.value.retry_after)
    assert waits == [30.0, 90.0, None, None]


def test_without_a_key_no_authorization_header_is_sent(vendor: respx.MockRouter) -> None:
    route = vendor.get(host=HOST, path="/data/v2/histoday").mock(
        return_value=httpx.Response(200, json=fixture("histoday_btc_usd_page3")))
    provider().fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-01", tz="UTC"),
                     end=pd.Timestamp("2024-01-04", tz="UTC"))
    assert "authorization" not in route.calls.last.request.headers


def test_an_injected_client_is_used_and_left_open(vendor: respx.MockRouter) -> None:
    vendor.get(host=HOST, path="/data/v2/histoday").mock(
        return_value=httpx.Response(200, json=fixture("histoday_btc_usd_page3")))
    seen: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [seen.append]}) as client:
        provider(client=client).fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-01", tz="UTC"),
                                      end=pd.Timestamp("2024-01-04", tz="UTC"))
        assert not client.is_closed
    assert [str(r.url).split("?")[0] for r in seen] == [f"{API}/histoday"]


def test_symbols_and_timeframes_it_cannot_serve_are_refused_before_any_request() -> None:
    for symbol in ("BTCUSD", "BTC/USD/EUR", "", "BTC/"):
        with pytest.raises(SourceError, match="a pair such as BTC/USD or BTC-USD"):
            provider().fetch(symbol, D1)
    with pytest.raises(SourceError, match="does not serve 1w bars"):
        provider().fetch("BTC/USD", Timeframe.parse("1w"))


def test_an_empty_range_sends_nothing() -> None:
    with pytest.raises(SourceError, match="no 1d bars of BTC/USD"):
        provider().fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-05", tz="UTC"),
                         end=pd.Timestamp("2024-01-05", tz="UTC"))


def test_without_httpx_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)  # an import of httpx now fails as if it were not installed
    with pytest.raises(ProviderUnavailableError, match=r"pip install 'backgrid\[cryptocompare\]'"):
        provider().fetch("BTC/USD", D1, start=pd.Timestamp("2024-01-01", tz="UTC"))
