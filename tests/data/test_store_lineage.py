"""The store's lineage (which vendor served which bars), vendor conflicts, lazy backfill and refresh."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars
from backgrid.data.providers.chain import ProviderChain
from backgrid.data.store import DataStore, Lineage
from backgrid.errors import DataError, ProviderUnavailableError, SeriesNotFoundError, SourceError

HOUR = 3600 * 10**9
T0 = pd.Timestamp("2024-01-01", tz="UTC")


def at(hours):
    return T0 + pd.Timedelta(hours=hours)


def bars(first, n, *, source, bump=0.0, last_complete=True):
    """Hourly bars from hour ``first``; the close at hour h is 100 + h (+ ``bump``), whoever serves it."""
    hours = np.arange(first, first + n)
    close = 100.0 + hours + bump
    return Bars("BTC/USDT", "1h", T0.value + hours.astype(np.int64) * HOUR, close - 0.5, close + 1, close - 1, close,
                np.full(n, 10.0), calendar="crypto", source=source, last_complete=last_complete)


class Vendor:
    """Serves hours [0, ``until``) of the shared price path; records each request; fails when told."""

    def __init__(self, name, *, until=100, bump=0.0, fail=None):
        self.name = name
        self.until = until
        self.bump = bump
        self.fail = fail
        self.calls = []

    def fetch(self, symbol, _timeframe, *, start=None, end=None):
        self.calls.append((start, end))
        if self.fail is not None and self.fail(start, end):
            msg = f"{self.name}: HTTP 503"
            raise ProviderUnavailableError(msg, provider=self.name)
        lo = 0 if start is None else int((start - T0) / pd.Timedelta(hours=1))
        hi = self.until if end is None else min(self.until, int((end - T0) / pd.Timedelta(hours=1)))
        if hi <= lo:
            msg = f"{self.name} has no 1h bars of {symbol} in [{start}, {end})"
            raise SourceError(msg)
        return bars(lo, hi - lo, source=self.name, bump=self.bump)


@pytest.fixture
def store(tmp_path):
    return DataStore(tmp_path)


def test_a_write_records_its_vendor_and_range(store):
    info = store.write(bars(0, 10, source="demo"))
    assert [(e.vendor, e.start, e.end) for e in info.lineage] == [("demo", at(0), at(9))]
    assert info.lineage[0].fetched_at <= info.updated_at
    assert store.info("BTC/USDT", "1h").lineage == info.lineage  # kept in the footer


def test_lineage_is_kept_across_merges_and_joined_for_one_vendor(store):
    store.write(bars(0, 10, source="demo"))
    store.write(bars(10, 5, source="demo"), mode="merge")  # adjacent: one entry
    info = store.write(bars(20, 5, source="demo"), mode="merge")  # a hole: hours 15..19 are not stored
    assert [(e.vendor, e.start, e.end) for e in info.lineage] == [("demo", at(0), at(14)), ("demo", at(20), at(24))]


def test_a_backfill_through_a_chain_names_each_vendor(store):
    first = Vendor("a", until=20)
    chain = ProviderChain([first, Vendor("b")], name="crypto")
    store.backfill(chain, "BTC/USDT", "1h", start=at(10), end=at(20))
    got = store.backfill(chain, "BTC/USDT", "1h", start=at(0), end=at(40))  # a: 0..9; b: 20..39, a has none
    assert first.calls[-2:] == [(at(0), at(10)), (at(20), at(40))]
    assert got.source == "crypto"
    np.testing.assert_array_equal(got.close, 100.0 + np.arange(40))
    lineage = store.info("BTC/USDT", "1h", "crypto").lineage
    assert [(e.vendor, e.start, e.end) for e in lineage] == [("a", at(0), at(19)), ("b", at(20), at(39))]


def test_a_vendor_that_disagrees_with_another_over_the_overlap_is_refused(store):
    store.write(bars(0, 10, source="a"))
    path = store.info("BTC/USDT", "1h").path
    before = path.read_bytes()
    other = bars(5, 10, source="b", bump=0.5)  # other prices at hours 5..9
    with pytest.raises(DataError, match=r"b's bars disagree with the stored bars of a at 2024-01-01 05:00:00\+00:00 "
                                        r"\(open 105 vs 104.5, high 106.5 vs 106, low 104.5 vs 104, close 105.5 vs 105;"
                                        r" 5 bar\(s\) differ by more than a relative 0.0001\); nothing was written"):
        store._write([other], mode="merge", span=(None, None), key="a")
    assert path.read_bytes() == before


def test_identical_overlaps_between_vendors_merge_and_volume_may_differ(store):
    store.write(bars(0, 10, source="a"))
    same = bars(5, 10, source="b")
    same = Bars(same.symbol, same.timeframe, same.ts, same.open, same.high, same.low, same.close * (1 + 1e-6),
                same.volume * 3, calendar="crypto", source="b")
    info = store._write([same], mode="merge", span=(None, None), key="a")
    assert info.rows == 15
    assert [e.vendor for e in info.lineage] == ["a", "b"]


def test_one_vendor_may_revise_its_own_bars(store):
    store.write(bars(0, 10, source="a"))
    info = store.write(bars(5, 10, source="a", bump=0.5), mode="merge")
    assert info.merge.changed == 5


def test_an_incomplete_last_bar_from_another_vendor_may_change(store):
    store._write([bars(0, 10, source="a", last_complete=False)], mode="replace", span=(None, None), key="chain")
    info = store._write([bars(9, 5, source="b", bump=0.25)], mode="merge", span=(None, None), key="chain")
    assert info.rows == 14


def test_backfill_fetches_only_the_missing_pieces(store):
    vendor = Vendor("v")
    store.backfill(vendor, "BTC/USDT", "1h", start=at(10), end=at(20))
    assert vendor.calls == [(at(10), at(20))]
    inner = store.backfill(vendor, "BTC/USDT", "1h", start=at(12), end=at(18))
    assert len(inner) == 6
    assert len(vendor.calls) == 1  # covered: nothing fetched
    wider = store.backfill(vendor, "BTC/USDT", "1h", start=at(5), end=at(30))
    assert vendor.calls[1:] == [(at(5), at(10)), (at(20), at(30))]
    np.testing.assert_array_equal(wider.ts, T0.value + np.arange(5, 30) * HOUR)
    info = store.info("BTC/USDT", "1h", "v")
    assert (info.span_start, info.span_end) == (at(5), at(30))
    store.backfill(vendor, "BTC/USDT", "1h", start=at(5), end=at(30))
    assert len(vendor.calls) == 3


def test_an_open_ended_backfill_refreshes_only_when_stale(store):
    vendor = Vendor("v", until=20)
    store.backfill(vendor, "BTC/USDT", "1h", start=at(0))
    vendor.until = 25
    store.backfill(vendor, "BTC/USDT", "1h", start=at(0), ttl=timedelta(hours=1))  # fresh: not asked
    assert len(vendor.calls) == 1
    got = store.backfill(vendor, "BTC/USDT", "1h", start=at(0), ttl=timedelta(0))
    assert vendor.calls[-1] == (at(20), None)
    assert len(got) == 25


def test_refresh_appends_the_newest_bars_and_redoes_an_incomplete_last_bar(store):
    store._write([bars(0, 10, source="v", last_complete=False)], mode="replace", span=(None, None))
    vendor = Vendor("v", until=15)
    info = store.refresh(vendor, "BTC/USDT", "1h")
    assert vendor.calls == [(at(9), None)]
    assert info.rows == 15
    assert info.last_complete
    assert [(e.vendor, e.start, e.end) for e in info.lineage] == [("v", at(0), at(14))]
    again = store.refresh(vendor, "BTC/USDT", "1h")  # nothing new: nothing written, nothing lost
    assert vendor.calls[-1] == (at(15), None)
    assert again.rows == 15
    with pytest.raises(SeriesNotFoundError):
        store.refresh(vendor, "ETH/USDT", "1h")


def test_a_failure_mid_backfill_leaves_the_stored_file_untouched(store):
    vendor = Vendor("v")
    store.backfill(vendor, "BTC/USDT", "1h", start=at(10), end=at(20))
    path = store.info("BTC/USDT", "1h", "v").path
    before = sorted((p.name, p.read_bytes()) for p in path.parent.iterdir())
    vendor.fail = lambda start, _end: start == at(20)  # the piece before succeeds, the piece after fails
    with pytest.raises(ProviderUnavailableError, match="HTTP 503"):
        store.backfill(vendor, "BTC/USDT", "1h", start=at(0), end=at(30))
    assert vendor.calls[-2:] == [(at(0), at(10)), (at(20), at(30))]
    assert sorted((p.name, p.read_bytes()) for p in path.parent.iterdir()) == before
    assert len(store.read("BTC/USDT", "1h", verify=True)) == 10


def test_lineage_round_trips_and_old_files_read_as_one_vendor():
    entry = Lineage("a", at(0), at(9), T0.to_pydatetime())
    assert Lineage.from_json(entry.to_json()) == entry
    from backgrid.data.store import _lineage

    meta = {"source": "csv", "first_ts": at(0).value, "last_ts": at(4).value, "updated_at": "2024-02-01T00:00:00+00:00"}
    assert [(e.vendor, e.start, e.end) for e in _lineage(meta)] == [("csv", at(0), at(4))]
    assert _lineage({**meta, "first_ts": None, "last_ts": None}) == []


def test_get_or_fetch_through_a_chain_keeps_the_vendor_in_the_lineage(store):
    chain = ProviderChain([Vendor("a", until=0), Vendor("b")], name="crypto")  # a has nothing: b answers
    got = store.get_or_fetch(chain, "BTC/USDT", "1h", ttl=None, start=at(0), end=at(5))
    assert got.source == "crypto"  # the key it was asked by, as before
    assert [(e.vendor, e.start, e.end) for e in store.info("BTC/USDT", "1h", "crypto").lineage] == [
        ("b", at(0), at(4))]
