"""The store keeps what a series' prices account for (``adjustment``) and refuses to mix kinds in a merge."""

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from backgrid.data.bars import Bars
from backgrid.data.store import DataStore
from backgrid.errors import DataError

HOUR = 3600 * 10**9
T0 = pd.Timestamp("2024-01-01", tz="UTC").value


def hourly(first, n, *, adjustment="raw", source="demo"):
    ts = T0 + np.arange(first, first + n, dtype=np.int64) * HOUR
    close = 100.0 + np.arange(first, first + n)
    return Bars("AAPL", "1h", ts, close, close + 1, close - 1, close, np.full(n, 10.0), calendar="crypto",
                source=source, adjustment=adjustment)


@pytest.fixture
def store(tmp_path):
    return DataStore(tmp_path)


@pytest.mark.parametrize("adjustment", ["raw", "splits", "total"])
def test_adjustment_round_trips(store, adjustment):
    info = store.write(hourly(0, 5, adjustment=adjustment))
    assert info.adjustment == adjustment
    assert store.info("AAPL", "1h").adjustment == adjustment
    assert store.read("AAPL", "1h").adjustment == adjustment


def test_a_file_without_the_key_reads_as_raw(store):
    path = store.write(hourly(0, 5, adjustment="splits")).path
    table = pq.read_table(path)
    meta = json.loads(table.schema.metadata[b"backgrid"])
    del meta["adjustment"]  # as files of older versions were written
    pq.write_table(table.replace_schema_metadata({b"backgrid": json.dumps(meta).encode()}), path)
    assert store.info("AAPL", "1h").adjustment == "raw"
    assert store.read("AAPL", "1h").adjustment == "raw"


def test_merging_the_same_adjustment_keeps_it(store):
    store.write(hourly(0, 5, adjustment="splits"))
    info = store.write(hourly(5, 5, adjustment="splits"), mode="merge")
    assert (info.rows, info.adjustment) == (10, "splits")


def test_merging_another_adjustment_is_refused_and_writes_nothing(store):
    before = store.write(hourly(0, 5, adjustment="raw"))
    with pytest.raises(DataError, match=r"'splits'-adjusted but the stored series is 'raw'-adjusted; nothing was "
                                        r"written"):
        store.write(hourly(5, 5, adjustment="splits"), mode="merge")
    after = store.info("AAPL", "1h")
    assert (after.rows, after.checksum, after.adjustment) == (5, before.checksum, "raw")


def test_a_replace_may_change_the_adjustment(store):
    store.write(hourly(0, 5, adjustment="raw"))
    assert store.write(hourly(0, 5, adjustment="total")).adjustment == "total"


class SplitAdjustedVendor:
    """Serves hours [0, 10) split-adjusted, as Yahoo would."""

    name = "demo"

    def fetch(self, _symbol, _timeframe, *, start=None, end=None):
        return hourly(0, 10, adjustment="splits", source="yfinance").slice(start, end)


def test_a_backfill_from_a_vendor_of_another_kind_is_refused(store):
    before = store.write(hourly(0, 5, adjustment="raw"))
    with pytest.raises(DataError, match=r"yfinance's bars are 'splits'-adjusted but the stored series is 'raw'"):
        store.backfill(SplitAdjustedVendor(), "AAPL", "1h", start=pd.Timestamp(0, tz="UTC"),
                       end=pd.Timestamp(T0 + 10 * HOUR, tz="UTC"))
    assert store.info("AAPL", "1h").checksum == before.checksum
