import numpy as np
import pandas as pd
import pytest

from backgrid.data.bars import Bars, MultiBars
from backgrid.errors import ColumnError, DataError
from tests.conftest import random_bars


def test_round_trip_through_pandas():
    bars = random_bars(50)
    frame = bars.to_pandas()
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]
    assert str(frame.index.tz) == "UTC"
    again = Bars.from_pandas(frame, symbol=bars.symbol, timeframe="1m", calendar="crypto")
    assert again.equals(bars)


def test_naive_index_is_utc_and_aware_is_converted():
    idx = pd.DatetimeIndex(["2024-01-02 09:30", "2024-01-02 09:31"])
    frame = pd.DataFrame({c: [1.0, 2.0] for c in ("open", "high", "low", "close", "volume")}, index=idx)
    naive = Bars.from_pandas(frame, symbol="X", timeframe="1m")
    aware = Bars.from_pandas(frame.tz_localize("America/New_York"), symbol="X", timeframe="1m")
    assert naive.index[0] == pd.Timestamp("2024-01-02 09:30", tz="UTC")
    assert aware.index[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")


def test_shape_and_type_errors_name_the_column():
    ts = np.arange(3, dtype=np.int64)
    with pytest.raises(ColumnError, match="column 'close' has shape"):
        Bars("X", "1m", ts, np.ones(3), np.ones(3), np.ones(3), np.ones(2), np.ones(3))
    with pytest.raises(ColumnError, match="int64"):
        Bars("X", "1m", ts.astype(float), np.ones(3), np.ones(3), np.ones(3), np.ones(3), np.ones(3))
    with pytest.raises(DataError, match="symbol"):
        Bars(" ", "1m", ts, np.ones(3), np.ones(3), np.ones(3), np.ones(3), np.ones(3))
    frame = pd.DataFrame({"open": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"]))
    with pytest.raises(ColumnError, match="lacks column"):
        Bars.from_pandas(frame, symbol="X", timeframe="1d")


def test_slice_is_half_open_and_marks_cut_end_complete():
    bars = random_bars(10, timeframe="1h")
    part = bars.slice(bars.index[2], bars.index[5])
    assert len(part) == 3
    assert part.ts[0] == bars.ts[2]
    assert part.column("close") is not None
    with pytest.raises(ColumnError, match="split_factor"):
        part.column("split_factor")


def test_close_times_and_repr():
    bars = random_bars(3, timeframe="1h")
    assert (bars.close_times() - bars.ts == 3600 * 10**9).all()
    assert "TEST 1h 3 bars" in repr(bars)


def test_calendar_is_inferred_from_weekend_bars():
    assert random_bars(3000, timeframe="1h", calendar=None).calendar.name == "crypto"  # type: ignore[arg-type]
    weekdays = random_bars(5, timeframe="1d", calendar=None)  # type: ignore[arg-type]  # Mon 2024-01-01 .. Fri
    assert weekdays.calendar.name == "fx"


def test_multibars_align_on_union_with_nan_where_absent():
    a = random_bars(4, timeframe="1h", symbol="A")
    b = random_bars(4, timeframe="1h", symbol="B", start_ns=int(a.ts[2]))
    multi = MultiBars([a, b])
    ts, close = multi.align()
    assert ts.size == 6
    assert np.isnan(close[:2, 1]).all()
    assert np.isnan(close[4:, 0]).all()
    np.testing.assert_array_equal(close[2:, 1], b.close)
    assert list(multi.to_pandas().columns) == ["A", "B"]
    with pytest.raises(KeyError, match="has A, B"):
        multi["C"]


def test_multibars_rejects_mixed_timeframes_and_duplicates():
    with pytest.raises(DataError, match="share one timeframe"):
        MultiBars([random_bars(3, timeframe="1h", symbol="A"), random_bars(3, timeframe="1d", symbol="B")])
    with pytest.raises(DataError, match="twice"):
        MultiBars([random_bars(3, symbol="A"), random_bars(3, symbol="A")])
    with pytest.raises(DataError, match="at least one"):
        MultiBars([])
