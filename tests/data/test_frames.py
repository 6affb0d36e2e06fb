"""Loading pandas and polars frames and Parquet files of any layout."""

import numpy as np
import pandas as pd
import polars as pl
import pytest

from backgrid.data.frames import load_frame, load_parquet
from backgrid.errors import ColumnError, DataError, ValidationError
from tests.conftest import random_bars


def vendor_frame(n=50):
    bars = random_bars(n, timeframe="1h")
    return bars, pd.DataFrame({"Datetime": bars.index.tz_convert("Europe/London"), "Open": bars.open,
                               "High": bars.high, "Low": bars.low, "Close": bars.close, "Vol": bars.volume})


def test_pandas_frame_with_time_column_and_vendor_names():
    bars, frame = vendor_frame()
    loaded, report = load_frame(frame, symbol="TEST", timeframe="1h", calendar="crypto")
    assert report.ok
    assert loaded.equals(bars)


def test_pandas_frame_with_datetime_index():
    bars, frame = vendor_frame()
    loaded, _ = load_frame(frame.set_index("Datetime"), symbol="TEST", timeframe="1h", calendar="crypto")
    assert loaded.equals(bars)


def test_polars_frame():
    bars, frame = vendor_frame()
    loaded, _ = load_frame(pl.from_pandas(frame), symbol="TEST", timeframe="1h", calendar="crypto")
    assert loaded.equals(bars)


def test_frame_problems_are_reported_by_row():
    _, frame = vendor_frame()
    frame.loc[7, "Low"] = frame.loc[7, "High"]
    with pytest.raises(ValidationError, match=r"row 8, column Low: low .* is above"):
        load_frame(frame, symbol="TEST", timeframe="1h")


def test_frame_errors():
    with pytest.raises(DataError, match="expected a pandas or polars DataFrame, got list"):
        load_frame([1, 2], symbol="X", timeframe="1h")
    with pytest.raises(ColumnError, match="missing column"):
        load_frame(pd.DataFrame({"a": [1]}), symbol="X", timeframe="1h")


def test_parquet_file_round_trip(tmp_path):
    bars, frame = vendor_frame()
    frame.to_parquet(tmp_path / "eth.parquet")
    loaded, report = load_parquet(tmp_path / "eth.parquet", timeframe="1h", calendar="crypto")
    assert report.ok
    assert loaded.symbol == "eth"
    assert loaded.source == "parquet"
    np.testing.assert_array_equal(loaded.close, bars.close)


def test_parquet_errors(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_parquet(tmp_path / "none.parquet", timeframe="1h")
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match="not a readable Parquet file"):
        load_parquet(tmp_path / "bad.parquet", timeframe="1h")


def test_parquet_source_serves_a_folder(tmp_path):
    from backgrid.data.sources import DataSource
    from backgrid.data.sources.folder import ParquetSource
    from backgrid.errors import SourceError

    bars, frame = vendor_frame()
    frame.to_parquet(tmp_path / "ETH_1h.parquet")
    source = ParquetSource(tmp_path, calendar="crypto")
    assert isinstance(source, DataSource)
    got = source.fetch("ETH", "1h", end=bars.index[10])  # type: ignore[arg-type]
    np.testing.assert_array_equal(got.close, bars.close[:10])
    with pytest.raises(SourceError, match=r"no \.parquet file for BTC 1h .* it has ETH_1h"):
        source.fetch("BTC", "1h")  # type: ignore[arg-type]


def test_text_times_in_a_frame_get_the_same_notes_as_a_csv():
    frame = pd.DataFrame({"date": ["02/01/2024", "15/01/2024"], "open": [1.0, 1.0], "high": [2.0, 2.0],
                          "low": [0.5, 0.5], "close": [1.5, 1.5], "volume": [1.0, 1.0]})
    with pytest.raises(ValidationError) as info:
        load_frame(frame, symbol="X", timeframe="1d")
    hint = next(f for f in info.value.report.warnings if f.check == "date_format")
    assert "pass date_format='%d/%m/%Y'" in hint.message
    assert load_frame(frame, symbol="X", timeframe="1d", date_format="%d/%m/%Y")[0].ts.size == 2


def test_frames_and_parquet_files_say_what_their_prices_account_for(tmp_path):
    _, frame = vendor_frame()
    assert load_frame(frame, symbol="TEST", timeframe="1h", calendar="crypto")[0].adjustment == "raw"
    assert load_frame(frame, symbol="TEST", timeframe="1h", calendar="crypto",
                      adjustment="total")[0].adjustment == "total"
    frame.to_parquet(tmp_path / "t.parquet")
    assert load_parquet(tmp_path / "t.parquet", timeframe="1h", calendar="crypto",
                        adjustment="splits")[0].adjustment == "splits"
