"""The watch list (backgrid.data.watch): kept in the store's home, refreshed only where the ttl has run out."""

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.data.store import DataStore
from backgrid.data.timeframe import Timeframe
from backgrid.data.watch import format_ttl, parse_ttl
from backgrid.errors import DataError, ProviderUnavailableError, SourceError, StoreError

T0 = pd.Timestamp("2024-01-01", tz="UTC")
HOUR = 3600 * 10**9


class Vendor:
    """Serves hours [0, ``until``) of a line (close 100 + hour) under ``name``; records each request."""

    def __init__(self, name, until=10, fail=False):
        self.name, self.until, self.fail = name, until, fail
        self.calls = []

    def fetch(self, symbol, timeframe, *, start=None, end=None):
        self.calls.append((symbol, start, end))
        if self.fail:
            msg = f"{self.name}: HTTP 503"
            raise ProviderUnavailableError(msg, provider=self.name)
        hours = np.arange(self.until)
        close = 100.0 + hours
        bars = Bars(symbol, timeframe, T0.value + hours * HOUR, close, close + 1, close - 1, close,
                    np.full(self.until, 5.0), calendar="crypto", source=self.name)
        bars = bars.slice(start, end)
        if not len(bars):
            msg = f"{self.name} has no bars of {symbol} in [{start}, {end})"
            raise SourceError(msg)
        return bars


@pytest.fixture
def store(tmp_path):
    return DataStore(tmp_path)


def sources_of(*vendors):
    by_name = {v.name: v for v in vendors}
    return by_name.__getitem__


def test_ttl_text_round_trips():
    assert parse_ttl("30m") == timedelta(minutes=30)
    assert parse_ttl("2w") == timedelta(days=14)
    assert [format_ttl(timedelta(hours=h)) for h in (1, 24, 36, 168)] == ["1h", "1d", "36h", "1w"]
    with pytest.raises(DataError, match=r"ttl must be a whole number and a unit.* got '1mo'"):
        parse_ttl("1mo")


def test_watches_are_kept_in_the_home_and_a_second_watch_changes_the_ttl(store):
    store.watch("BTC/USDT", "1h", "ccxt:binance", ttl="6h")
    store.watch("AAPL", "1d")  # nothing stored: the asset class the symbol suggests; ttl one bar
    store.watch("BTC/USDT", "1h", "ccxt:binance", ttl=timedelta(hours=2))
    assert [(w.symbol, w.timeframe.code, w.provider, w.ttl) for w in store.watched()] == [
        ("AAPL", "1d", "equity", timedelta(days=1)), ("BTC/USDT", "1h", "ccxt:binance", timedelta(hours=2))]
    saved = json.loads((store.home / "watch.json").read_text(encoding="utf-8"))
    assert saved["watches"][0] == {"symbol": "AAPL", "timeframe": "1d", "provider": "equity",
                                   "ttl_seconds": 86_400, "refreshed_at": None}
    assert DataStore(store.home).watched() == store.watched()  # another process reads the same list


def test_watching_a_stored_vendor_series_defaults_to_its_source(store):
    store.write(Vendor("yfinance").fetch("SPY", Timeframe.parse("1h")))
    assert store.watch("SPY", "1h").provider == "yfinance"


def test_bad_watches_are_refused(store):
    with pytest.raises(SourceError, match=r"unknown provider 'nope'"):
        store.watch("X", "1h", "nope")
    with pytest.raises(DataError, match=r"ttl must be positive"):
        store.watch("X", "1h", "crypto", ttl=timedelta(0))
    assert store.watched() == []


def test_unwatch_removes_what_matches(store):
    store.watch("A", "1h", "crypto")
    store.watch("A", "1d", "crypto")
    store.watch("B", "1h", "crypto")
    assert store.unwatch("A", "1d") == 1
    assert store.unwatch("Z") == 0
    assert store.unwatch("A") == 1
    assert [w.symbol for w in store.watched()] == ["B"]


def test_only_series_whose_ttl_ran_out_are_refreshed(store):
    vendor = Vendor("crypto", until=10)
    store.watch("NEW", "1h", "crypto", ttl="1h")  # nothing stored: fetched whole
    store.watch("OLD", "1h", "crypto", ttl="1h")
    store.watch("FRESH", "1h", "crypto", ttl="1d")
    store.write(vendor.fetch("OLD", Timeframe.parse("1h"), end=T0 + pd.Timedelta(hours=5)))
    store.write(vendor.fetch("FRESH", Timeframe.parse("1h"), end=T0 + pd.Timedelta(hours=5)))
    vendor.calls.clear()
    later = datetime.now(UTC) + timedelta(hours=2)  # OLD (1h) has expired, FRESH (1d) has not
    results = {r.watch.symbol: r for r in store.refresh_watched(now=later, sources=sources_of(vendor))}
    assert {s: (r.status, r.added) for s, r in results.items()} == {
        "NEW": ("refreshed", 10), "OLD": ("refreshed", 5), "FRESH": ("fresh", 0)}  # OLD had hours 0..4 of 10
    assert vendor.calls == [("NEW", None, None), ("OLD", T0 + pd.Timedelta(hours=5), None)]  # after the last bar
    assert len(store.read("OLD", "1h")) == 10
    assert {w.symbol: w.refreshed_at for w in store.watched()} == {"NEW": later, "OLD": later, "FRESH": None}


def test_a_refresh_that_finds_nothing_new_still_counts_for_the_ttl(store):
    vendor = Vendor("crypto", until=5)
    store.write(vendor.fetch("OLD", Timeframe.parse("1h")))
    store.watch("OLD", "1h", "crypto", ttl="1h")
    soon = datetime.now(UTC) + timedelta(hours=2)
    (first,) = store.refresh_watched(now=soon, sources=sources_of(vendor))
    assert (first.status, first.added) == ("refreshed", 0)  # the vendor has no newer bars: no file written
    (again,) = store.refresh_watched(now=soon + timedelta(minutes=30), sources=sources_of(vendor))
    assert again.status == "fresh"  # refreshed 30 minutes ago


def test_a_failing_vendor_is_reported_and_the_others_refresh(store):
    down, up = Vendor("crypto", fail=True), Vendor("fx")
    store.watch("A", "1h", "crypto")
    store.watch("B", "1h", "fx")
    results = store.refresh_watched(sources=sources_of(down, up))
    assert [(r.watch.symbol, r.status, r.added) for r in results] == [("A", "failed", 0), ("B", "refreshed", 10)]
    assert "crypto: HTTP 503" in (results[0].error or "")
    assert [w.refreshed_at is None for w in store.watched()] == [True, False]
    assert [i.symbol for i in store.list()] == ["B"]  # nothing half-written for A


def test_a_damaged_watch_list_is_a_store_error_naming_it(store):
    (store.home / "watch.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(StoreError, match=r"cannot read the watch list .*watch.json"):
        store.watched()
