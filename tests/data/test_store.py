"""Tests for the local Parquet store (backgrid.data.store)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backgrid.data.bars import Bars, checksum
from backgrid.data.calendar import CALENDARS, Calendar
from backgrid.data.sources import DataSource
from backgrid.data.store import DataStore, SeriesCache, SeriesInfo, _decode_name, _encode_name
from backgrid.data.timeframe import TIMEFRAMES, Timeframe
from backgrid.errors import AmbiguousSeriesError, DataError, SeriesNotFoundError, SourceError, StoreError

HOUR = 3600 * 10**9
T0 = pd.Timestamp("2024-01-01", tz="UTC").value

WORKER = Path(__file__).with_name("_store_worker.py")
_spec = importlib.util.spec_from_file_location("_store_worker", WORKER)
assert _spec is not None
assert _spec.loader is not None
worker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(worker)


def make_bars(symbol="BTC/USDT", n=48, *, source="demo", timeframe="1h", start=T0, step=HOUR, **options):
    ts = start + np.arange(n, dtype=np.int64) * step
    close = 100 + np.arange(n, dtype=np.float64)
    options.setdefault("calendar", "crypto")
    return Bars(symbol=symbol, timeframe=timeframe, ts=ts, open=close - 0.5, high=close + 1, low=close - 1,
                close=close, volume=np.full(n, 10.0), source=source, **options)


def bitwise_equal(a: Bars, b: Bars) -> bool:
    if a.columns != b.columns or not np.array_equal(a.ts, b.ts):
        return False
    return all(np.array_equal(a.column(c).view(np.uint64), b.column(c).view(np.uint64)) for c in a.columns)


def same_series(a: Bars, b: Bars) -> bool:
    return (bitwise_equal(a, b) and (a.symbol, a.timeframe, a.calendar, a.source, a.synthetic, a.last_complete)
            == (b.symbol, b.timeframe, b.calendar, b.source, b.synthetic, b.last_complete))


@pytest.fixture
def store(tmp_path: Path) -> DataStore:
    return DataStore(tmp_path)


class FakeSource:
    """A data source serving 100 hourly bars from T0, counting its calls."""

    def __init__(self, name="fake", *, timeframe="1h", symbol=None):
        self.name = name
        self.calls: list[tuple[str, Timeframe, pd.Timestamp | None, pd.Timestamp | None]] = []
        self._timeframe = timeframe
        self._symbol = symbol

    def fetch(self, symbol, timeframe, *, start=None, end=None):
        self.calls.append((symbol, timeframe, start, end))
        full = make_bars(self._symbol or symbol, 100, source=self.name, timeframe=self._timeframe)
        return full.slice(start, end)


# -- names ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "encoded"), [
    ("BTC/USDT", "BTC%2FUSDT"), ("AAPL", "AAPL"), ("a\\b:c", "a%5Cb%3Ac"), ("..", "%2E%2E"),
    (".x.y", "%2Ex.y"), ("100%", "100%25"), ("^GSPC", "^GSPC"), ("EUR=X", "EUR=X"),
])
def test_encode_name_examples(name, encoded):
    assert _encode_name(name) == encoded
    assert _decode_name(encoded) == name


@given(st.text(st.characters(codec="utf-8")))
def test_encode_name_round_trips_and_is_path_safe(name):
    encoded = _encode_name(name)
    assert _decode_name(encoded) == name
    assert not any(c in encoded for c in '/\\:<>"|?*')
    assert not encoded.startswith(".")
    assert all(ord(c) >= 0x20 and ord(c) != 0x7F for c in encoded)


# -- layout and home --------------------------------------------------------------------------------
def test_write_lays_out_source_symbol_timeframe(store, tmp_path):
    info = store.write(make_bars())
    assert info.path == tmp_path / "data" / "demo" / "BTC%2FUSDT" / "1h.parquet"
    assert info.path.is_file()
    assert sorted(p.name for p in info.path.parent.iterdir()) == [".1h.parquet.lock", "1h.parquet"]


def test_home_defaults_to_env_then_user_home(monkeypatch, tmp_path):
    monkeypatch.setenv("BACKGRID_HOME", str(tmp_path / "env"))
    assert DataStore().home == tmp_path / "env"
    monkeypatch.delenv("BACKGRID_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert DataStore().home == tmp_path / "user" / ".backgrid"
    assert DataStore("~/x").home == tmp_path / "user" / "x"
    assert not (tmp_path / "user").exists()  # the constructor only stores the path


# -- round trip -------------------------------------------------------------------------------------
finite_or_inf = st.floats(allow_nan=False, width=64)
names = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(str.strip)


@st.composite
def any_bars(draw):
    n = draw(st.integers(0, 20))
    stamps = draw(st.lists(st.integers(-(2**63) + 1, 2**63 - 1), min_size=n, max_size=n, unique=True))

    def column():
        return np.array(draw(st.lists(finite_or_inf, min_size=n, max_size=n)), dtype=np.float64)

    return Bars(
        symbol=draw(names), timeframe=draw(st.sampled_from(TIMEFRAMES)), ts=np.array(sorted(stamps), dtype=np.int64),
        open=column(), high=column(), low=column(), close=column(), volume=column(),
        split_factor=column() if draw(st.booleans()) else None, dividend=column() if draw(st.booleans()) else None,
        calendar=draw(st.sampled_from(sorted(CALENDARS))), source=draw(names),
        synthetic=draw(st.booleans()), last_complete=draw(st.booleans()),
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(any_bars())
def test_write_then_read_round_trips_bit_identically(bars):
    with tempfile.TemporaryDirectory() as home:
        store = DataStore(home)
        written = store.write(bars)
        back = store.read(bars.symbol, bars.timeframe, verify=True)
        assert same_series(back, bars)
        info = store.info(bars.symbol, bars.timeframe, bars.source)
        assert info == written
        assert (info.symbol, info.timeframe, info.source, info.calendar) == (
            bars.symbol, bars.timeframe, bars.source, bars.calendar.name)
        assert (info.synthetic, info.last_complete, info.rows) == (bars.synthetic, bars.last_complete, len(bars))
        assert info.columns == ("ts", *bars.columns)
        assert info.first_ts == (pd.Timestamp(int(bars.ts[0]), tz="UTC") if len(bars) else None)
        assert info.last_ts == (pd.Timestamp(int(bars.ts[-1]), tz="UTC") if len(bars) else None)
        assert info.checksum == checksum({"ts": bars.ts, **{c: bars.column(c) for c in bars.columns}})
        assert info.checksum == bars.fingerprint()
        assert info.size_bytes == info.path.stat().st_size
        assert store.list() == [info]


def test_round_trip_keeps_nan_payloads_and_signed_zeros(store):
    bars = make_bars(n=6)
    odd = np.array([0x7FF8000000000001, 0xFFF0000000000123, 0, 1 << 63, 1, 0x7FF0000000000000], dtype=np.uint64)
    bars = Bars("X", "1h", bars.ts, odd.view(np.float64), bars.high, bars.low, bars.close, bars.volume,
                calendar="crypto")
    store.write(bars)
    assert bitwise_equal(store.read("X", "1h", verify=True), bars)


def test_info_reports_write_time_and_freshness(store):
    before = datetime.now(UTC)
    info = store.write(make_bars())
    assert before <= info.updated_at <= datetime.now(UTC)
    assert info.is_fresh(None)
    assert info.is_fresh(timedelta(minutes=5))
    assert not info.is_fresh(timedelta(minutes=5), now=info.updated_at + timedelta(minutes=6))
    assert info.is_fresh(timedelta(minutes=5), now=info.updated_at.replace(tzinfo=None) + timedelta(minutes=4))
    assert store.is_fresh("BTC/USDT", "1h", ttl=timedelta(hours=1))
    assert not store.is_fresh("BTC/USDT", "1h", ttl=timedelta(hours=1), now=datetime.now(UTC) + timedelta(hours=2))
    assert not store.is_fresh("ETH/USDT", "1h", ttl=None)


# -- reading ranges and sources ---------------------------------------------------------------------
def test_read_slices_half_open_ranges(store):
    bars = make_bars(n=48, last_complete=False)
    store.write(bars)
    window = store.read("BTC/USDT", "1h", start="2024-01-01 05:00", end=pd.Timestamp("2024-01-01 10:00", tz="UTC"))
    assert window.equals(bars.slice("2024-01-01 05:00", "2024-01-01 10:00"))
    assert len(window) == 5
    assert window.last_complete  # the cut-off bar is followed by others
    assert not store.read("BTC/USDT", "1h", start="2024-01-02").last_complete
    assert len(store.read("BTC/USDT", "1h", start="2030-01-01")) == 0


def test_read_returns_read_only_views(store):
    store.write(make_bars())
    bars = store.read("BTC/USDT", "1h")
    assert not bars.close.flags.writeable
    assert bars.ts.dtype == np.int64


def test_read_without_source_picks_the_only_one_or_lists_them(store):
    store.write(make_bars(source="demo"))
    assert store.read("BTC/USDT", "1h").source == "demo"
    store.write(make_bars(source="ccxt/binance"))
    with pytest.raises(AmbiguousSeriesError, match=r"ccxt/binance, demo.*source="):
        store.read("BTC/USDT", "1h")
    with pytest.raises(AmbiguousSeriesError):
        store.info("BTC/USDT", "1h")
    assert store.read("BTC/USDT", "1h", source="ccxt/binance").source == "ccxt/binance"
    assert issubclass(AmbiguousSeriesError, DataError)


def test_missing_series_names_what_the_store_has(store):
    store.write(make_bars(source="demo", timeframe="1h"))
    store.write(make_bars(source="demo", timeframe="1d", step=24 * HOUR))
    with pytest.raises(SeriesNotFoundError, match=r"'BTC/USDT' 4h from source 'ccxt'.*demo 1d, demo 1h") as caught:
        store.read("BTC/USDT", "4h", source="ccxt")
    assert isinstance(caught.value, KeyError)
    assert isinstance(caught.value, StoreError)
    with pytest.raises(SeriesNotFoundError, match=r"'ETH/USDT' 1h from any source.*nothing for 'ETH/USDT'"):
        store.read("ETH/USDT", "1h")
    with pytest.raises(SeriesNotFoundError):
        store.info("ETH/USDT", "1h", "demo")


# -- merging ----------------------------------------------------------------------------------------
def test_merge_unions_and_new_rows_win(store):
    store.write(make_bars(n=10, last_complete=True))
    newer = make_bars(n=10, start=T0 + 5 * HOUR, last_complete=False, synthetic=True)
    newer = Bars(newer.symbol, newer.timeframe, newer.ts, newer.open, newer.high, newer.low, newer.close * 2,
                 newer.volume, calendar="crypto", source="demo", last_complete=False)
    info = store.write(newer, mode="merge")
    back = store.read("BTC/USDT", "1h", verify=True)
    assert info.rows == len(back) == 15
    np.testing.assert_array_equal(back.ts, T0 + np.arange(15) * HOUR)
    np.testing.assert_array_equal(back.close[:5], 100 + np.arange(5))
    np.testing.assert_array_equal(back.close[5:], 2 * (100 + np.arange(10)))
    assert not back.last_complete  # the newer series holds the last bar


def test_merge_inserts_in_the_middle_and_fills_optional_columns(store):
    evens = make_bars(n=10, step=2 * HOUR, dividend=np.full(10, 0.5), synthetic=True)
    odds = make_bars(n=10, start=T0 + HOUR, step=2 * HOUR, split_factor=np.full(10, 2.0), last_complete=False)
    store.write(evens)
    store.write(odds, mode="merge")
    back = store.read("BTC/USDT", "1h")
    np.testing.assert_array_equal(back.ts, T0 + np.arange(20) * HOUR)
    assert back.columns[-2:] == ("split_factor", "dividend")
    np.testing.assert_array_equal(back.split_factor, np.tile([1.0, 2.0], 10))
    np.testing.assert_array_equal(back.dividend, np.tile([0.5, 0.0], 10))
    assert back.synthetic
    assert not back.last_complete


def test_merge_into_nothing_is_a_write(store):
    bars = make_bars()
    store.write(bars, mode="merge")
    assert same_series(store.read("BTC/USDT", "1h"), bars)


def test_merge_keeps_old_last_complete_when_new_rows_are_older(store):
    store.write(make_bars(n=10, start=T0 + 10 * HOUR, last_complete=False))
    store.write(make_bars(n=10), mode="merge")
    assert not store.read("BTC/USDT", "1h").last_complete


# -- write validation and atomicity -----------------------------------------------------------------
def test_write_rejects_bad_input(store):
    bars = make_bars(n=3)
    unsorted = Bars("X", "1h", bars.ts[::-1].copy(), bars.open, bars.high, bars.low, bars.close, bars.volume,
                    calendar="crypto")
    with pytest.raises(DataError, match=r"strictly increasing; row 1"):
        store.write(unsorted)
    custom = make_bars(calendar=Calendar("lse", "session", tz="Europe/London"))
    with pytest.raises(DataError, match=r"calendar 'lse'.*crypto"):
        store.write(custom)
    with pytest.raises(DataError, match=r"mode must be"):
        store.write(bars, mode="append")  # type: ignore[arg-type]
    assert store.list() == []


@pytest.mark.parametrize("error", [OSError("disk full"), KeyboardInterrupt()])
def test_failed_write_leaves_old_file_and_no_temporary(store, monkeypatch, error):
    old = make_bars(n=10)
    info = store.write(old)

    def failing_write(_table, where, **_options):
        where.write(b"PAR1 partial")
        raise error

    monkeypatch.setattr(pq, "write_table", failing_write)
    with pytest.raises(type(error)) as caught:
        store.write(make_bars(n=20))
    if isinstance(error, OSError):
        assert isinstance(caught.value, StoreError)
        assert str(info.path) in str(caught.value)
    monkeypatch.undo()
    assert sorted(p.name for p in info.path.parent.iterdir()) == [".1h.parquet.lock", "1h.parquet"]
    assert same_series(store.read("BTC/USDT", "1h", verify=True), old)


# -- damaged files ----------------------------------------------------------------------------------
def test_truncated_file_raises_store_error_naming_it(store):
    path = store.write(make_bars(n=500)).path
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    for call in (lambda: store.read("BTC/USDT", "1h"), lambda: store.info("BTC/USDT", "1h"), store.list):
        with pytest.raises(StoreError, match="damaged") as caught:
            call()
        assert str(path) in str(caught.value)


def test_garbage_file_raises_store_error(store):
    path = store.write(make_bars()).path
    path.write_bytes(b"this is not parquet at all" * 10)
    with pytest.raises(StoreError, match=str(path).replace("\\", "\\\\")):
        store.read("BTC/USDT", "1h")


def test_foreign_parquet_file_raises_store_error(store):
    path = store.write(make_bars()).path
    pq.write_table(pa.table({"ts": [1, 2], "close": [1.0, 2.0]}), path)
    with pytest.raises(StoreError, match="not written by DataStore"):
        store.read("BTC/USDT", "1h")
    with pytest.raises(StoreError, match="not written by DataStore"):
        store.info("BTC/USDT", "1h")


def test_verify_detects_changed_data(store):
    path = store.write(make_bars()).path
    table = pq.read_table(path)
    close = pa.array(table.column("close").to_numpy() + 1.0)
    pq.write_table(table.set_column(table.column_names.index("close"), "close", close), path)
    store.read("BTC/USDT", "1h")  # without verify the change goes unnoticed
    with pytest.raises(StoreError, match=r"checksum mismatch in .*1h\.parquet"):
        store.read("BTC/USDT", "1h", verify=True)


def test_metadata_that_disagrees_with_the_path_is_an_error(store):
    path = store.write(make_bars(symbol="ETH/USDT")).path
    target = store.data_dir / "demo" / "BTC%2FUSDT" / "1h.parquet"
    target.parent.mkdir()
    path.replace(target)
    with pytest.raises(StoreError, match=r"holds 'ETH/USDT' 1h; expected 'BTC/USDT'"):
        store.read("BTC/USDT", "1h")


# -- list and delete --------------------------------------------------------------------------------
def test_list_is_sorted_and_filtered(store):
    store.write(make_bars("ETH/USDT", source="demo"))
    store.write(make_bars("BTC/USDT", source="demo", timeframe="1d", step=24 * HOUR))
    store.write(make_bars("BTC/USDT", source="demo", timeframe="1h"))
    store.write(make_bars("BTC/USDT", source="ccxt"))
    (store.data_dir / "demo" / "BTC%2FUSDT" / "notes.txt").write_text("ignored")
    keys = [(i.source, i.symbol, str(i.timeframe)) for i in store.list()]
    assert keys == [("ccxt", "BTC/USDT", "1h"), ("demo", "BTC/USDT", "1h"), ("demo", "BTC/USDT", "1d"),
                    ("demo", "ETH/USDT", "1h")]
    assert [i.source for i in store.list(symbol="BTC/USDT")] == ["ccxt", "demo", "demo"]
    assert [i.symbol for i in store.list(source="demo", symbol="ETH/USDT")] == ["ETH/USDT"]
    assert store.list(source="nope") == []
    assert all(isinstance(i, SeriesInfo) for i in store.list())
    assert DataStore(store.home / "empty").list() == []


def test_delete_counts_and_cleans_up(store):
    store.write(make_bars(source="demo", timeframe="1h"))
    store.write(make_bars(source="demo", timeframe="1d", step=24 * HOUR))
    store.write(make_bars(source="ccxt"))
    store.write(make_bars("ETH/USDT", source="demo"))
    assert store.delete("BTC/USDT", "1d") == 1
    assert store.delete("BTC/USDT", source="ccxt") == 1
    assert not (store.data_dir / "ccxt").exists()
    assert store.delete("BTC/USDT") == 1
    assert not (store.data_dir / "demo" / "BTC%2FUSDT").exists()
    assert store.delete("BTC/USDT") == 0
    assert [i.symbol for i in store.list()] == ["ETH/USDT"]
    store.write(make_bars())  # writing again after a delete works
    assert len(store.read("BTC/USDT", "1h")) == 48


# -- get_or_fetch -----------------------------------------------------------------------------------
def test_fake_source_satisfies_the_port():
    assert isinstance(FakeSource(), DataSource)
    assert not isinstance(object(), DataSource)


def test_get_or_fetch_caches_until_stale(store):
    source = FakeSource()
    first = store.get_or_fetch(source, "BTC/USDT", "1h", ttl=timedelta(hours=1))
    second = store.get_or_fetch(source, "BTC/USDT", "1h", ttl=timedelta(hours=1))
    assert len(source.calls) == 1
    assert source.calls[0] == ("BTC/USDT", Timeframe("1h"), None, None)
    assert same_series(first, second)
    assert len(first) == 100
    assert first.source == "fake"
    store.get_or_fetch(source, "BTC/USDT", "1h", ttl=timedelta(0))
    assert len(source.calls) == 2
    store.get_or_fetch(source, "BTC/USDT", "1h", ttl=None)
    assert len(source.calls) == 2


def test_get_or_fetch_refetches_what_the_cache_does_not_cover(store):
    source = FakeSource()
    day = pd.Timestamp("2024-01-02", tz="UTC")
    bars = store.get_or_fetch(source, "BTC/USDT", "1h", ttl=None, start="2024-01-02", end="2024-01-03")
    assert len(bars) == 24
    assert source.calls[0][2:] == (day, day + pd.Timedelta(days=1))
    inner = store.get_or_fetch(source, "BTC/USDT", "1h", ttl=None, start="2024-01-02 06:00", end="2024-01-02 12:00")
    assert len(inner) == 6
    assert len(source.calls) == 1
    assert store.info("BTC/USDT", "1h").span_start == day
    everything = store.get_or_fetch(source, "BTC/USDT", "1h", ttl=None)
    assert len(everything) == 100
    assert len(source.calls) == 2
    again = store.get_or_fetch(source, "BTC/USDT", "1h", ttl=None, start="2024-01-01 10:00")
    assert len(again) == 90
    assert len(source.calls) == 2


def test_get_or_fetch_replaces_a_damaged_cache(store):
    source = FakeSource()
    path = store.write(make_bars(source="fake", n=5)).path
    path.write_bytes(b"garbage")
    bars = store.get_or_fetch(source, "BTC/USDT", "1h", ttl=None)
    assert len(source.calls) == 1
    assert same_series(store.read("BTC/USDT", "1h", verify=True), bars)


def test_get_or_fetch_stores_under_the_requested_key(store):
    source = FakeSource("fake", symbol="btc-usdt")
    bars = store.get_or_fetch(source, "BTC/USDT", "1h", ttl=None)
    assert bars.symbol == "BTC/USDT"
    assert [(i.source, i.symbol) for i in store.list()] == [("fake", "BTC/USDT")]


def test_get_or_fetch_rejects_a_wrong_timeframe(store):
    with pytest.raises(SourceError, match=r"'fake' returned 'BTC/USDT' at 1d; expected 1h"):
        store.get_or_fetch(FakeSource(timeframe="1d"), "BTC/USDT", "1h", ttl=None)
    assert store.list() == []


# -- concurrency with real processes ----------------------------------------------------------------
def _start_workers(stack: ExitStack, home: Path, role: str, workers: int, count: int) -> list[subprocess.Popen]:
    procs = []
    for w in range(workers):
        proc = stack.enter_context(subprocess.Popen(
            [sys.executable, str(WORKER), str(home), role, str(w), str(count)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
        procs.append(proc)
    for proc in procs:  # wait until every worker has imported everything, then release them together
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n", proc.communicate(timeout=30)[1]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return procs


def _finish(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        assert out == "done\n"


@pytest.mark.slow
def test_concurrent_replaces_are_never_torn(tmp_path):
    writers, versions = 3, 40
    store = DataStore(tmp_path)
    store.write(worker.make_version(9, 0))
    seen: set[int] = set()

    def check() -> int:
        bars = store.read(worker.SYMBOL, "1m", source=worker.SOURCE, verify=True)
        vid = int(bars.volume[0])
        assert same_series(bars, worker.make_version(*divmod(vid, worker.VERSION_STRIDE)))
        seen.add(vid)
        return vid

    reads = 0
    with ExitStack() as stack:
        procs = _start_workers(stack, tmp_path, "replace", writers, versions)
        deadline = time.monotonic() + 60
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            check()
            reads += 1
        _finish(procs)
    assert divmod(check(), worker.VERSION_STRIDE)[1] == versions - 1  # the last write of some writer
    assert reads > 0
    assert len(seen) >= 2
    leftovers = [p.name for p in store.info(worker.SYMBOL, "1m").path.parent.iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


@pytest.mark.slow
def test_concurrent_merges_keep_every_row(tmp_path):
    workers = 4
    store = DataStore(tmp_path)
    with ExitStack() as stack:
        procs = _start_workers(stack, tmp_path, "merge", workers, workers)
        deadline = time.monotonic() + 60
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            try:
                seen = store.read(worker.SYMBOL, "1m", verify=True)
            except SeriesNotFoundError:
                continue  # no merge has finished yet
            np.testing.assert_array_equal(seen.close, (seen.ts - worker.BASE) // worker.MINUTE)
        _finish(procs)
    total = workers * worker.CHUNKS * worker.CHUNK_ROWS
    bars = store.read(worker.SYMBOL, "1m", source=worker.SOURCE, verify=True)
    np.testing.assert_array_equal(bars.ts, worker.BASE + np.arange(total, dtype=np.int64) * worker.MINUTE)
    np.testing.assert_array_equal(bars.close, np.arange(total, dtype=np.float64))
    np.testing.assert_array_equal(bars.volume, np.arange(total, dtype=np.float64) * 10)


# -- what a write says ------------------------------------------------------------------------------
def test_merge_counts_overlapping_and_changed_rows(store):
    store.write(make_bars(n=10))  # hours 0..9, close 100..109
    full = make_bars(n=14)  # the same values where the two overlap
    close = full.close[6:].copy()  # hours 6..13
    close[[0, 2]] += 0.25  # hours 6 and 8 differ from the stored bars
    newer = Bars(full.symbol, full.timeframe, full.ts[6:], full.open[6:], full.high[6:] + 0.25, full.low[6:],
                 close, full.volume[6:], calendar="crypto", source="demo")
    info = store.write(newer, mode="merge")
    # added: hours 10..13; overlapping: 6..9; changed: 6 and 8 (high and close), 7 and 9 only in high
    assert (info.merge.added, info.merge.overlapping, info.merge.changed) == (4, 4, 4)
    assert "4 new row(s); 4 row(s) at times already stored, 4 of them with different values" in info.merge.describe()
    assert store.info("BTC/USDT", "1h").merge == info.merge  # kept in the footer
    unchanged = Bars(full.symbol, full.timeframe, full.ts[8:], full.open[8:], full.high[8:], full.low[8:],
                     full.close[8:], full.volume[8:], calendar="crypto", source="demo")
    store.write(make_bars(n=10))
    again = store.write(unchanged, mode="merge").merge  # hours 8..13 over 0..9, values equal
    assert (again.added, again.overlapping, again.changed) == (4, 2, 0)
    assert store.write(newer).merge is None  # a replace is no merge


def test_inferred_calendar_round_trips_with_its_reason(store):
    weekdays = make_bars(n=5, timeframe="1d", step=24 * HOUR, calendar=None)  # Mon 2024-01-01 .. Fri
    assert weekdays.calendar.inferred is not None
    info = store.write(weekdays)
    back = store.read("BTC/USDT", "1d")
    assert back.calendar == weekdays.calendar
    assert back.calendar.inferred == weekdays.calendar.inferred
    assert info.calendar_inferred == weekdays.calendar.inferred.reason
    store.write(make_bars())  # a calendar given, not inferred
    assert store.read("BTC/USDT", "1h").calendar.inferred is None
    assert store.info("BTC/USDT", "1h").calendar_inferred is None


def test_a_missing_timeframe_suggests_resampling_a_lower_one(store):
    store.write(make_bars(source="demo", timeframe="1h"))
    store.write(make_bars(source="demo", timeframe="15m", step=HOUR // 4))
    with pytest.raises(SeriesNotFoundError, match=r"backgrid data resample BTC/USDT --from 1h --to 4h`"):
        store.read("BTC/USDT", "4h")
    with pytest.raises(SeriesNotFoundError) as nothing_lower:
        store.read("BTC/USDT", "5m")
    assert "resample" not in str(nothing_lower.value)  # 5m cannot be built from 15m or 1h


def test_the_ambiguity_error_names_options_that_exist(store):
    store.write(make_bars(source="demo"))
    store.write(make_bars(source="csv"))
    with pytest.raises(AmbiguousSeriesError, match=r"--source on the command line, market.source in a strategy"):
        store.read("BTC/USDT", "1h")


# -- the cache of decoded series --------------------------------------------------------------------
def test_a_cached_store_decodes_a_series_once_and_serves_it_again(tmp_path):
    cache = SeriesCache(max_bytes=2**20)
    store = DataStore(tmp_path, cache=cache)
    store.write(make_bars(n=48))
    first, second = store.read("BTC/USDT", "1h"), store.read("BTC/USDT", "1h", start=T0 + 24 * HOUR)
    assert (cache.misses, cache.hits) == (1, 1)
    assert same_series(first, DataStore(tmp_path).read("BTC/USDT", "1h"))  # what an uncached store reads
    assert bitwise_equal(second, first.slice(T0 + 24 * HOUR, None))
    assert cache.bytes == 48 * 6 * 8  # ts and OHLCV, 8 bytes each


@pytest.mark.parametrize("mode", ["replace", "merge"])
def test_a_cached_series_written_again_is_read_anew(tmp_path, mode):
    store = DataStore(tmp_path, cache=SeriesCache(max_bytes=2**20))
    store.write(make_bars(n=48))
    store.read("BTC/USDT", "1h")
    newer = make_bars(n=60)
    newer = Bars(symbol=newer.symbol, timeframe=newer.timeframe, ts=newer.ts, open=newer.open, high=newer.high,
                 low=newer.low, close=newer.close * 2, volume=newer.volume, source=newer.source, calendar="crypto")
    store.write(newer, mode=mode)
    again = store.read("BTC/USDT", "1h")
    assert len(again) == 60
    assert np.array_equal(again.close, newer.close)


def test_the_cache_evicts_the_least_recently_read_and_keeps_no_series_larger_than_itself(tmp_path):
    size = 48 * 6 * 8
    cache = SeriesCache(max_bytes=2 * size)
    store = DataStore(tmp_path, cache=cache)
    for symbol in ("A", "B", "C"):
        store.write(make_bars(symbol, n=48))
    store.read("A", "1h")
    store.read("B", "1h")
    store.read("A", "1h")  # A read last: B is the least recently read
    store.read("C", "1h")  # evicts B
    assert cache.bytes == 2 * size
    hits = cache.hits
    store.read("A", "1h")
    store.read("C", "1h")
    assert cache.hits == hits + 2
    store.read("B", "1h")
    assert cache.hits == hits + 2  # B was decoded again
    store.write(make_bars("BIG", n=200))
    store.read("BIG", "1h")
    store.read("BIG", "1h")
    assert cache.hits == hits + 2  # too large to keep
    assert cache.bytes <= 2 * size
