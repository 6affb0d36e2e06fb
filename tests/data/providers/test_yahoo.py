"""The Yahoo Finance adapter, at its seam with yfinance: hand-written frames shaped as yfinance answers them.

yfinance talks to Yahoo through curl_cffi, which no HTTP recorder sees, so the tests hand the adapter a fake
``Ticker`` that answers the frames under ``fixtures/yahoo`` (yfinance's own columns and exchange-time index)
or raises yfinance's own exceptions.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from backgrid.data import adjust
from backgrid.data.providers import Provider
from backgrid.data.providers.yahoo import YahooProvider, _raising, _RaisingTicker, request_plan
from backgrid.data.timeframe import Timeframe
from backgrid.errors import ProviderError, ProviderUnavailableError, RateLimitError, ResponseError, SourceError

yf_exceptions = pytest.importorskip("yfinance.exceptions")
curl_exceptions = pytest.importorskip("curl_cffi.requests.exceptions")

FIXTURES = Path(__file__).parent / "fixtures" / "yahoo"
NEW_YORK = "America/New_York"
US_STOCK = {"instrumentType": "EQUITY", "exchangeName": "NMS", "exchangeTimezoneName": NEW_YORK}
NOW = pd.Timestamp("2024-03-20 12:00", tz="UTC")


def yahoo_frame(name: str, tz: str = NEW_YORK) -> pd.DataFrame:
    """A fixture as yfinance answers it: its columns, an index in the exchange's zone, integer volume."""
    frame = pd.read_csv(FIXTURES / name, index_col=0)
    label = frame.index.name
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True).tz_convert(tz), name=label)
    frame["Volume"] = frame["Volume"].astype(np.int64)
    return frame


def yahoo_rows(times: pd.DatetimeIndex, close: float = 10.0) -> pd.DataFrame:
    """Plain yfinance-shaped bars at ``times`` (no events)."""
    n = len(times)
    return pd.DataFrame({"Open": close, "High": close + 1, "Low": close - 1, "Close": close, "Adj Close": close,
                         "Volume": np.full(n, 1000, dtype=np.int64), "Dividends": 0.0, "Stock Splits": 0.0},
                        index=pd.DatetimeIndex(times, name="Datetime"))


class FakeTicker:
    """A ``yfinance.Ticker`` that answers (or raises) what it is given, in order, and records each request."""

    def __init__(self, *answers: pd.DataFrame | Exception, meta: dict[str, Any] | None = None) -> None:
        self.answers = list(answers)
        self.calls: list[dict[str, Any]] = []
        self.symbols: list[str] = []  # the symbols it was made for
        self.history_metadata = US_STOCK if meta is None else meta

    def make(self, symbol: str) -> FakeTicker:
        self.symbols.append(symbol)
        return self

    def history(self, **params: Any) -> pd.DataFrame:
        self.calls.append(params)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def provider(ticker: FakeTicker, now: pd.Timestamp = NOW) -> YahooProvider:
    return YahooProvider(ticker=ticker.make, clock=lambda: now)


def test_it_is_a_provider_that_declares_yahoos_limits() -> None:
    yahoo = YahooProvider()
    assert isinstance(yahoo, Provider)
    assert yahoo.name == "yfinance"
    caps = yahoo.capabilities
    assert caps.timeframes == ("1m", "5m", "15m", "30m", "1h", "1d", "1w")
    assert set(caps.asset_classes) == {"equity", "etf", "index", "fx", "crypto"}
    assert {tf: d.days for tf, d in caps.history.items()} == {"1m": 30, "5m": 60, "15m": 60, "30m": 60, "1h": 730}
    assert caps.corporate_actions
    assert not caps.credentials


def test_daily_bars_keep_raw_prices_and_map_the_split_and_the_dividend() -> None:
    ticker = FakeTicker(yahoo_frame("xyz_1d_split_dividend.csv"))
    bars = provider(ticker).fetch("XYZ", Timeframe.parse("1d"), start=pd.Timestamp("2024-03-05"),
                                  end=pd.Timestamp("2024-03-14"))
    assert ticker.symbols == ["XYZ"]
    # dates across the DST change (-05:00, then -04:00) are dates: UTC midnight, not 05:00 then 04:00
    dates = ["2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11", "2024-03-12", "2024-03-13"]
    assert list(bars.index) == [pd.Timestamp(d, tz="UTC") for d in dates]
    assert bars.split_factor is not None
    assert bars.dividend is not None
    assert bars.split_factor.tolist() == [1.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0]  # the 2:1 split on 2024-03-11
    assert bars.dividend.tolist() == [0.0, 0.0, 0.125, 0.0, 0.0, 0.0, 0.0]  # ex-dividend on 2024-03-07
    assert bars.close.tolist() == [50.6, 51.0, 50.7, 51.3, 51.8, 52.1, 51.5]  # Close, not Adj Close
    assert bars.open[4] == 51.2
    assert bars.high[4] == 52.0
    assert bars.low[4] == 51.0
    assert bars.volume[4] == 4_300_000.0
    assert bars.source == "yfinance"
    assert bars.adjustment == "splits"  # Yahoo's Open/High/Low/Close are split-adjusted, not dividend-adjusted
    assert bars.calendar.name == "us-equity"
    assert bars.calendar.inferred is None  # Yahoo said so: a stock listed in New York
    assert bars.last_complete
    (call,) = ticker.calls
    assert call["interval"] == "1d"
    assert (str(call["start"]), str(call["end"])) == ("2024-03-05", "2024-03-14")
    assert call["auto_adjust"] is False
    assert call["actions"] is True
    assert call["prepost"] is False
    assert call["repair"] is False


def test_intraday_times_become_utc_across_a_dst_change_and_a_repeated_bar_is_dropped() -> None:
    ticker = FakeTicker(yahoo_frame("xyz_1h_dst.csv"))
    bars = provider(ticker).fetch("XYZ", Timeframe.parse("1h"), start=pd.Timestamp("2024-03-08", tz="UTC"),
                                  end=pd.Timestamp("2024-03-12", tz="UTC"))
    friday = [f"2024-03-08 {h}:30" for h in range(14, 21)]  # 09:30 EST = 14:30 UTC
    monday = [f"2024-03-11 {h}:30" for h in range(13, 20)]  # 09:30 EDT = 13:30 UTC
    assert list(bars.index) == [pd.Timestamp(t, tz="UTC") for t in friday + monday]
    assert bars.close[7] == 101.8
    assert bars.volume[7] == 905_000.0  # the repeated 09:30 bar counted once
    assert bars.calendar.name == "us-equity"
    assert bars.split_factor is not None
    assert set(bars.split_factor.tolist()) == {1.0}
    (call,) = ticker.calls
    assert (call["interval"], call["start"], call["end"]) == ("1h", pd.Timestamp("2024-03-08", tz="UTC"),
                                                              pd.Timestamp("2024-03-12", tz="UTC"))


def test_a_20_day_1m_request_is_asked_for_in_windows_of_7_days() -> None:
    start = pd.Timestamp("2024-02-25 14:30", tz="UTC")
    end = start + pd.Timedelta(days=20)  # before now (2024-03-20 12:00)
    plan = request_plan(Timeframe.parse("1m"), start, end, NOW)
    day = pd.Timedelta(days=1)
    assert [(p["interval"], p["start"], p["end"]) for p in plan] == [
        ("1m", start, start + 7 * day), ("1m", start + 7 * day, start + 14 * day), ("1m", start + 14 * day, end)]


def test_the_windows_answers_are_joined_and_a_bar_on_their_seam_counted_once() -> None:
    start = pd.Timestamp("2024-03-01 14:30", tz="UTC")
    seam = start + pd.Timedelta(days=7)
    first = yahoo_rows(pd.DatetimeIndex([start, seam]).tz_convert(NEW_YORK))  # Yahoo may include the end's bar
    second = yahoo_rows(pd.DatetimeIndex([seam, seam + pd.Timedelta(minutes=1)]).tz_convert(NEW_YORK))
    ticker = FakeTicker(first, second)
    bars = provider(ticker).fetch("XYZ", Timeframe.parse("1m"), start=start, end=start + pd.Timedelta(days=10))
    assert [c["start"] for c in ticker.calls] == [start, seam]
    assert list(bars.index) == [start, seam, seam + pd.Timedelta(minutes=1)]


def test_without_bounds_intraday_starts_a_day_inside_the_reach_and_daily_asks_for_all_history() -> None:
    (one,) = request_plan(Timeframe.parse("5m"), None, None, NOW)
    assert (one["start"], one["end"]) == (NOW - pd.Timedelta(days=59), NOW)
    minutes = request_plan(Timeframe.parse("1m"), None, NOW + pd.Timedelta(days=3), NOW)
    assert minutes[0]["start"] == NOW - pd.Timedelta(days=29)
    assert minutes[-1]["end"] == NOW  # never past now
    assert len(minutes) == 5  # 29 days in windows of 7
    assert request_plan(Timeframe.parse("1w"), None, None, NOW) == [{"interval": "1wk", "period": "max"}]
    (daily,) = request_plan(Timeframe.parse("1d"), None, pd.Timestamp("2024-01-05 14:30", tz="UTC"), NOW)
    assert daily == {"interval": "1d", "period": "max", "end": pd.Timestamp("2024-01-06").date()}


@pytest.mark.parametrize(("timeframe", "start", "match"), [
    ("1m", "2024-02-18", r"1m bars of the last 30 days only \(from 2024-02-19\)"),
    ("15m", "2024-01-19", "15m bars of the last 60 days only"),
    ("1h", "2022-03-19", "1h bars of the last 730 days only"),
    ("4h", "2024-03-19", "does not serve 4h bars"),
])
def test_requests_beyond_yahoos_limits_are_refused_before_any_request(timeframe: str, start: str,
                                                                      match: str) -> None:
    ticker = FakeTicker()
    with pytest.raises(SourceError, match=match) as info:
        provider(ticker).fetch("XYZ", Timeframe.parse(timeframe), start=pd.Timestamp(start, tz="UTC"))
    assert not isinstance(info.value, ProviderError)
    assert ticker.symbols == []
    assert ticker.calls == []


def test_a_start_just_inside_the_reach_is_asked_for() -> None:
    start = NOW - pd.Timedelta(days=29)
    ticker = FakeTicker(*(yahoo_rows(pd.DatetimeIndex([start + pd.Timedelta(days=7 * i)])) for i in range(5)))
    bars = provider(ticker).fetch("XYZ", Timeframe.parse("1m"), start=start)
    assert len(ticker.calls) == 5
    assert len(bars) == 5


def test_no_prices_in_every_window_is_a_source_error_naming_symbol_and_range() -> None:
    missing = yf_exceptions.YFPricesMissingError("ZZZZ", "(1d 2024-03-01 -> 2024-03-08)")
    yahoo = provider(FakeTicker(missing))
    with pytest.raises(SourceError, match=r"no 1d bars of ZZZZ in \[2024-03-01 00:00:00\+00:00, 2024-03-08") as info:
        yahoo.fetch("ZZZZ", Timeframe.parse("1d"), start=pd.Timestamp("2024-03-01"), end=pd.Timestamp("2024-03-08"))
    assert "possibly delisted" in str(info.value)
    assert not isinstance(info.value, ProviderError)


def test_an_empty_frame_is_a_source_error_and_an_empty_window_among_others_is_skipped() -> None:
    empty = pd.DataFrame({c: [] for c in ("Open", "High", "Low", "Close", "Adj Close", "Volume")},
                         index=pd.Index([], name="Date"))  # yfinance's empty_df()
    with pytest.raises(SourceError, match=r"no 1d bars of XYZ in \[\.\.\., \.\.\.\)"):
        provider(FakeTicker(empty)).fetch("XYZ", Timeframe.parse("1d"))
    start = pd.Timestamp("2024-03-01", tz="UTC")
    later = start + pd.Timedelta(days=8)
    ticker = FakeTicker(yf_exceptions.YFPricesMissingError("XYZ", ""), yahoo_rows(pd.DatetimeIndex([later])))
    bars = provider(ticker).fetch("XYZ", Timeframe.parse("1m"), start=start, end=start + pd.Timedelta(days=9))
    assert list(bars.index) == [later]


def test_an_unknown_symbol_stops_at_the_first_request() -> None:
    ticker = FakeTicker(yf_exceptions.YFTzMissingError("NOPE"))
    with pytest.raises(SourceError, match=r"yfinance has no bars of NOPE: \$NOPE: possibly delisted; no timezone"):
        provider(ticker).fetch("NOPE", Timeframe.parse("1m"), start=NOW - pd.Timedelta(days=20))
    assert len(ticker.calls) == 1


@pytest.mark.parametrize(("fault", "error", "match"), [
    (yf_exceptions.YFRateLimitError(), RateLimitError, "too many requests"),
    (curl_exceptions.Timeout("Operation timed out after 10001 milliseconds"), ProviderUnavailableError,
     "could not be reached for XYZ .Timeout: Operation timed out"),
    (curl_exceptions.ConnectionError("Could not resolve host: query2.finance.yahoo.com"), ProviderUnavailableError,
     "could not be reached"),
    (TimeoutError("timed out"), ProviderUnavailableError, "could not be reached"),
    (yf_exceptions.YFDataException("*** YAHOO! FINANCE IS CURRENTLY DOWN! ***"), ProviderUnavailableError,
     "CURRENTLY DOWN"),
    (json.JSONDecodeError("Expecting value", "<html>502 Bad Gateway</html>", 0), ResponseError, "not JSON"),
    (KeyError("exchangeTimezoneName"), ResponseError, "could not read Yahoo's answer for XYZ .KeyError"),
])
def test_yfinance_faults_become_the_provider_errors_a_chain_acts_on(fault: Exception, error: type[ProviderError],
                                                                    match: str) -> None:
    with pytest.raises(error, match=match) as info:
        provider(FakeTicker(fault)).fetch("XYZ", Timeframe.parse("1d"), start=pd.Timestamp("2024-03-01"))
    assert info.value.provider == "yfinance"
    assert info.value.__cause__ is fault
    if isinstance(info.value, RateLimitError):
        assert info.value.retry_after is None  # yfinance does not pass Yahoo's Retry-After on


def test_an_unexpected_error_is_not_disguised() -> None:
    with pytest.raises(ZeroDivisionError):
        provider(FakeTicker(ZeroDivisionError("bug"))).fetch("XYZ", Timeframe.parse("1d"))


def test_malformed_frames_are_response_errors() -> None:
    frame = yahoo_frame("xyz_1d_split_dividend.csv")
    with pytest.raises(ResponseError, match="without column\\(s\\) Stock Splits; found Open"):
        provider(FakeTicker(frame.drop(columns="Stock Splits"))).fetch("XYZ", Timeframe.parse("1d"))
    naive = yahoo_frame("xyz_1h_dst.csv")
    naive.index = naive.index.tz_localize(None)
    with pytest.raises(ResponseError, match="no time zone"):
        provider(FakeTicker(naive)).fetch("XYZ", Timeframe.parse("1h"), start=pd.Timestamp("2024-03-08"))
    with pytest.raises(ResponseError, match="with a dict, not a table"):
        provider(FakeTicker({"chart": None})).fetch("XYZ", Timeframe.parse("1d"))


def test_calendars_follow_what_yahoo_says_the_symbol_is() -> None:
    days = pd.date_range("2024-03-01", periods=10, freq="D", tz="UTC")  # weekends included
    crypto = {"instrumentType": "CRYPTOCURRENCY", "exchangeName": "CCC", "exchangeTimezoneName": "UTC"}
    bars = provider(FakeTicker(yahoo_rows(days), meta=crypto)).fetch("BTC-USD", Timeframe.parse("1d"))
    assert bars.calendar.name == "crypto"
    assert bars.calendar.inferred is None
    weekdays = pd.bdate_range("2024-03-04", periods=5, tz="Europe/London")
    fx = {"instrumentType": "CURRENCY", "exchangeName": "CCY", "exchangeTimezoneName": "Europe/London"}
    bars = provider(FakeTicker(yahoo_rows(weekdays), meta=fx)).fetch("EURUSD=X", Timeframe.parse("1d"))
    assert bars.calendar.inferred is not None  # left to the bars
    toronto = {"instrumentType": "EQUITY", "exchangeName": "TOR", "exchangeTimezoneName": "America/Toronto"}
    bars = provider(FakeTicker(yahoo_rows(weekdays), meta=toronto)).fetch("RY.TO", Timeframe.parse("1d"))
    assert bars.calendar.inferred is not None


def test_a_bar_still_open_now_is_marked_incomplete() -> None:
    today = pd.Timestamp("2024-03-20", tz=NEW_YORK)
    frame = yahoo_rows(pd.DatetimeIndex([today - pd.Timedelta(days=1), today]))
    bars = provider(FakeTicker(frame)).fetch("XYZ", Timeframe.parse("1d"))  # now: 2024-03-20 12:00 UTC
    assert not bars.last_complete
    bars = provider(FakeTicker(frame), now=pd.Timestamp("2024-03-21", tz="UTC")).fetch("XYZ", Timeframe.parse("1d"))
    assert bars.last_complete


def test_the_default_ticker_makes_yfinance_raise_only_while_it_asks() -> None:
    yf = pytest.importorskip("yfinance")
    seen: list[object] = []

    class Inner:
        history_metadata = US_STOCK

        def history(self, **params: Any) -> pd.DataFrame:
            seen.append((yf.config.debug.hide_exceptions, params))
            raise yf_exceptions.YFRateLimitError

    before = yf.config.debug.hide_exceptions
    ticker = _RaisingTicker(yf, Inner())
    with pytest.raises(yf_exceptions.YFRateLimitError):
        ticker.history(interval="1d", period="max")
    assert seen == [(False, {"interval": "1d", "period": "max"})]
    assert yf.config.debug.hide_exceptions == before
    assert ticker.history_metadata is US_STOCK
    with _raising(yf):
        assert yf.config.debug.hide_exceptions is False
    assert yf.config.debug.hide_exceptions == before


def test_a_missing_yfinance_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yfinance", None)  # import yfinance now raises ImportError
    with pytest.raises(SourceError, match=r"needs the yfinance package: pip install 'backgrid\[yfinance\]'"):
        YahooProvider().fetch("XYZ", Timeframe.parse("1d"))


def test_importing_the_adapter_does_not_import_yfinance() -> None:
    code = "import sys, backgrid.data.providers.yahoo; print('yfinance' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert done.stdout.strip() == "False"


def test_the_total_adjusted_view_of_yahoos_bars_is_its_adj_close() -> None:
    times = pd.date_range("2024-03-04", periods=5, freq="B", tz=NEW_YORK, name="Date")
    frame = yahoo_rows(times)
    frame["Close"] = [20.0, 20.5, 20.4, 20.6, 20.2]  # split-adjusted, as Yahoo serves them
    frame["Stock Splits"] = [0.0, 2.0, 0.0, 0.0, 0.0]  # already in Close: nothing more to do for it
    frame["Dividends"] = [0.0, 0.0, 0.0, 0.204, 0.0]
    # Yahoo's rule: closes before the ex-date times 1 - 0.204 / 20.4 = 0.99; the day before is Close - dividend
    frame["Adj Close"] = [20.0 * 0.99, 20.5 * 0.99, 20.4 - 0.204, 20.6, 20.2]
    frame["Open"] = frame["Close"]
    frame["Low"] = frame["Close"] - 1
    frame["High"] = frame["Close"] + 1
    bars = provider(FakeTicker(frame)).fetch("XYZ", Timeframe.parse("1d"), start=pd.Timestamp("2024-03-04"),
                                             end=pd.Timestamp("2024-03-09"))
    np.testing.assert_allclose(adjust(bars, "total").close, frame["Adj Close"].to_numpy(), rtol=1e-12, atol=0)
