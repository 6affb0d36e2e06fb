"""The vendor adapters' shared checks: capabilities, credentials, and a vendor's rows as Bars."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from backgrid.data.providers import Capabilities, credential, vendor_bars
from backgrid.data.timeframe import Timeframe
from backgrid.errors import CredentialsError, ProviderError, ResponseError, SourceError

D1 = Timeframe.parse("1d")


def rows(times: pd.DatetimeIndex, close: list[float] | None = None) -> pd.DataFrame:
    close = close or [float(i + 1) for i in range(len(times))]
    return pd.DataFrame({"open": close, "high": [c + 1 for c in close], "low": [c - 0.5 for c in close],
                         "close": close, "volume": 100.0}, index=times)


def test_times_in_another_zone_become_utc_and_the_range_is_cut() -> None:
    times = pd.date_range("2024-01-02 09:30", periods=4, freq="D", tz="America/New_York")
    bars = vendor_bars(rows(times), provider="v", symbol="AAA", timeframe=D1, start=pd.Timestamp("2024-01-03"),
                       end=pd.Timestamp("2024-01-05 14:30", tz="UTC"))
    assert bars.index.tz is not None
    assert str(bars.index.tz) == "UTC"
    assert list(bars.index) == [pd.Timestamp("2024-01-03 14:30", tz="UTC"), pd.Timestamp("2024-01-04 14:30", tz="UTC")]
    assert bars.close.tolist() == [2.0, 3.0]
    assert bars.source == "v"
    assert bars.symbol == "AAA"


def test_naive_times_are_refused_not_guessed() -> None:
    with pytest.raises(ResponseError, match="no time zone") as info:
        vendor_bars(rows(pd.date_range("2024-01-01", periods=3, freq="D")), provider="v", symbol="A", timeframe=D1)
    assert info.value.provider == "v"
    assert isinstance(info.value, ProviderError)
    assert isinstance(info.value, SourceError)


def test_identical_repeats_are_dropped_and_conflicting_ones_refused() -> None:
    times = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    frame = rows(times)
    twice = pd.concat([frame, frame.iloc[[1]]])
    assert vendor_bars(twice, provider="v", symbol="A", timeframe=D1).close.tolist() == [1.0, 2.0, 3.0]
    clash = frame.iloc[[1]].copy()
    clash["close"] = 9.0
    with pytest.raises(ResponseError, match="two different bars at 2024-01-02"):
        vendor_bars(pd.concat([frame, clash]), provider="v", symbol="A", timeframe=D1)


def test_holes_are_dropped_partial_rows_refused_and_unsorted_rows_sorted() -> None:
    times = pd.date_range("2024-01-01", periods=4, freq="D", tz="UTC")
    frame = rows(times).iloc[::-1].copy()
    frame.loc[times[1], ["open", "high", "low", "close"]] = np.nan
    assert vendor_bars(frame, provider="v", symbol="A", timeframe=D1).close.tolist() == [1.0, 3.0, 4.0]
    frame.loc[times[2], "high"] = np.nan
    with pytest.raises(ResponseError, match="missing some prices at 2024-01-03"):
        vendor_bars(frame, provider="v", symbol="A", timeframe=D1)


def test_missing_columns_text_values_and_an_empty_range() -> None:
    times = pd.date_range("2024-01-01", periods=2, freq="D", tz="UTC")
    with pytest.raises(ResponseError, match="without column\\(s\\) volume"):
        vendor_bars(rows(times).drop(columns="volume"), provider="v", symbol="A", timeframe=D1)
    bad = rows(times).astype(object)
    bad.iloc[0, 0] = "n/a"
    with pytest.raises(ResponseError, match="not numbers"):
        vendor_bars(bad, provider="v", symbol="A", timeframe=D1)
    with pytest.raises(SourceError, match=r"v has no 1d bars of A in \[2025-01-01"):
        vendor_bars(rows(times), provider="v", symbol="A", timeframe=D1, start=pd.Timestamp("2025-01-01"))


def test_capabilities_refuse_a_timeframe_and_a_start_out_of_reach() -> None:
    caps = Capabilities(timeframes=("1m", "1d"), asset_classes=("equity",), history={"1m": timedelta(days=30)})
    now = pd.Timestamp("2024-06-30", tz="UTC")
    caps.check("v", "A", Timeframe.parse("1d"), pd.Timestamp("1990-01-01", tz="UTC"), now)
    with pytest.raises(SourceError, match="does not serve 1h bars \\(of A\\); it serves 1m, 1d"):
        caps.check("v", "A", Timeframe.parse("1h"))
    with pytest.raises(SourceError, match="last 30 days only \\(from 2024-05-31\\)"):
        caps.check("v", "A", Timeframe.parse("1m"), pd.Timestamp("2024-01-01", tz="UTC"), now)


def test_a_required_key_names_its_variable_never_a_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BG_TEST_KEY", raising=False)
    assert credential("v", "BG_TEST_KEY") is None
    with pytest.raises(CredentialsError, match="set the environment variable BG_TEST_KEY"):
        credential("v", "BG_TEST_KEY", required=True)
    monkeypatch.setenv("BG_TEST_KEY", " secret ")
    assert credential("v", "BG_TEST_KEY", required=True) == "secret"
