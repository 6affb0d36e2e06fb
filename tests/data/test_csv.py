"""CSV layouts, and the malformed-file fixtures: each refused with a message naming line and column."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backgrid.data.sources.csv import CSVSource, detect_format, load_csv
from backgrid.errors import ColumnError, DataError, SourceError, ValidationError

FIXTURES = Path(__file__).parent / "fixtures"


def utc(text):
    return pd.Timestamp(text, tz="UTC").value


@pytest.mark.parametrize(("name", "fmt", "timeframe", "options", "first_ts", "first_close", "rows"), [
    ("yahoo_aapl_1d.csv", "yahoo", "1d", {}, "2024-01-02", 185.639999, 5),
    ("tradingview_btc_1h.csv", "tradingview", "1h", {}, "2024-01-01 00:00", 42475.23, 4),
    ("tradingview_iso_1h.csv", "tradingview", "1h", {}, "2024-01-01 00:00", 42475.23, 3),
    ("binance_btcusdt_1m.csv", "binance", "1m", {}, "2024-01-01 00:00", 42298.61, 3),
    ("binance_us_1m.csv", "binance", "1m", {}, "2025-01-01 00:00", 93610.93, 2),
    ("mt4_eurusd_1h.csv", "metatrader", "1h", {}, "2024-01-02 00:00", 1.10401, 3),
    ("mt5_eurusd_1h.csv", "metatrader", "1h", {}, "2024-01-02 00:00", 1.10401, 3),
    ("generic_local_tz_1h.csv", "generic", "1h", {"tz": "America/New_York"}, "2024-03-08 14:00", 100.5, 3),
    ("generic_semicolon_5m.csv", "generic", "5m",
     {"date_format": "%d/%m/%Y %H:%M", "tz": "Europe/Berlin",
      "columns": {"ts": "Zeit", "open": "Eroeffnung", "high": "Hoch", "low": "Tief", "close": "Schluss",
                  "volume": "Umsatz"}}, "2024-01-02 08:00", 100.5, 3),
])
def test_layouts_load(name, fmt, timeframe, options, first_ts, first_close, rows):
    path = FIXTURES / "formats" / name
    assert detect_format(path.read_text(encoding="utf-8").splitlines()[0]) == fmt
    bars, report = load_csv(path, timeframe=timeframe, **options)
    assert report.ok
    assert len(bars) == rows
    assert bars.ts[0] == utc(first_ts)
    assert bars.close[0] == first_close
    assert bars.source == "csv"
    assert bars.symbol == path.stem


def test_local_times_cross_dst_to_the_right_utc_instant():
    bars, _ = load_csv(FIXTURES / "formats" / "generic_local_tz_1h.csv", timeframe="1h", tz="America/New_York")
    assert bars.ts[2] == utc("2024-03-11 13:00")  # 09:00 EDT, after the spring change


def test_yahoo_adj_close_is_dropped_and_tradingview_extras_noted():
    bars, report = load_csv(FIXTURES / "formats" / "yahoo_aapl_1d.csv", timeframe="1d")
    assert bars.columns == ("open", "high", "low", "close", "volume")
    assert not report.findings
    _, tv = load_csv(FIXTURES / "formats" / "tradingview_btc_1h.csv", timeframe="1h")
    assert [f.check for f in tv.warnings] == ["unknown_column"]
    assert "MA" in tv.warnings[0].message


def test_volume_can_be_declared_absent():
    bars, _ = load_csv(FIXTURES / "malformed" / "25_no_volume.csv", timeframe="1h", columns={"volume": None})
    assert bars.volume.tolist() == [0.0]


#: fixture -> (timeframe, options, exception, every substring its message must contain)
MALFORMED = {
    "01_missing_close_column.csv": ("1d", {}, ColumnError, ["missing column(s) close", "found Date, Open"]),
    "02_unparsable_date.csv": ("1d", {}, ValidationError, ["line 3", "column Date", "'2024-13-45'"]),
    "03_empty_close.csv": ("1d", {}, ValidationError, ["line 4", "column Close", "missing or not a number"]),
    "04_text_in_open.csv": ("1d", {}, ValidationError, ["line 2", "column Open"]),
    "05_infinite_volume.csv": ("1d", {}, ValidationError, ["line 3", "column Volume"]),
    "06_negative_close.csv": ("1d", {}, ValidationError, ["line 3", "column Close", "close is -10.8, must be > 0"]),
    "07_zero_open.csv": ("1d", {}, ValidationError, ["line 3", "column Open", "open is 0"]),
    "08_high_below_close.csv": ("1d", {}, ValidationError, ["line 3", "column High", "high 10.6 is below"]),
    "09_low_above_open.csv": ("1d", {}, ValidationError, ["line 3", "column Low", "low 10.6 is above"]),
    "10_negative_volume.csv": ("1d", {}, ValidationError, ["line 3", "column Volume", "volume is -120"]),
    "11_duplicate_timestamp.csv": ("1d", {}, ValidationError, ["line 4", "column Date", "repeats an earlier row"]),
    "12_unsorted.csv": ("1d", {}, ValidationError, ["line 4", "column Date", "time goes backwards"]),
    "13_minutes_labelled_hourly.csv": ("1h", {}, ValidationError,
                                       ["line 3", "column timestamp", "closer to the previous bar"]),
    "14_ragged_row.csv": ("1d", {}, DataError, ["line 4 has 8 fields, expected 6"]),
    "15_empty_file.csv": ("1d", {}, DataError, ["the file is empty"]),
    "16_header_only.csv": ("1d", {}, DataError, ["header but no data rows"]),
    "17_duplicate_column.csv": ("1d", {}, ColumnError, ["more than once"]),
    "18_binance_bad_time.csv": ("1m", {}, ValidationError, ["line 2", "column open time", "'not-a-time'"]),
    "19_metatrader_impossible_date.csv": ("1h", {}, ValidationError, ["line 2", "'2024.02.30 01:00'"]),
    "20_nonexistent_local_time.csv": ("1h", {"tz": "America/New_York"}, ValidationError,
                                      ["line 3", "'2024-03-10 02:00'", "DST"]),
    "21_yahoo_null_row.csv": ("1d", {}, ValidationError, ["line 3", "column Open", "open, high, low, close, volume"]),
    "22_decimal_comma.csv": ("1d", {"decimal": "."}, ValidationError, ["line 2", "column Open"]),
    "23_mt5_missing_close.csv": ("1h", {}, ColumnError, ["missing column(s) close", "<TICKVOL>"]),
    "24_not_utf8.csv": ("1d", {}, DataError, ["not UTF-8"]),
    "25_no_volume.csv": ("1h", {}, ColumnError, ["missing column(s) volume", "columns={'volume': None}"]),
}


def test_every_malformed_fixture_is_listed():
    assert sorted(p.name for p in (FIXTURES / "malformed").glob("*.csv")) == sorted(MALFORMED)
    assert len(MALFORMED) >= 20


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_gets_a_precise_error(name):
    timeframe, options, error, parts = MALFORMED[name]
    with pytest.raises(error) as info:
        load_csv(FIXTURES / "malformed" / name, timeframe=timeframe, **options)
    text = str(info.value)
    assert name in text  # every message names the file
    for part in parts:
        assert part in text


def test_lenient_policy_repairs_what_it_can():
    bars, report = load_csv(FIXTURES / "malformed" / "11_duplicate_timestamp.csv", timeframe="1d", policy="lenient")
    assert len(bars) == 2
    assert bars.close[-1] == 10.9
    assert report.findings[0].severity == "fixed"


def test_unknown_format_and_missing_file():
    with pytest.raises(DataError, match="CSV format 'excel' is unknown"):
        load_csv(FIXTURES / "formats" / "yahoo_aapl_1d.csv", timeframe="1d", format="excel")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="no such file"):
        load_csv(FIXTURES / "nope.csv", timeframe="1d")
    with pytest.raises(ColumnError, match="columns= maps 'close' to 'Last'"):
        load_csv(FIXTURES / "formats" / "yahoo_aapl_1d.csv", timeframe="1d", columns={"close": "Last"})
    with pytest.raises(ColumnError, match="unknown key"):
        load_csv(FIXTURES / "formats" / "yahoo_aapl_1d.csv", timeframe="1d", columns={"adj": "Adj Close"})


def test_csv_source_finds_files_by_symbol(tmp_path):
    src = (FIXTURES / "formats" / "yahoo_aapl_1d.csv").read_text(encoding="utf-8")
    (tmp_path / "AAPL_1d.csv").write_text(src, encoding="utf-8")
    source = CSVSource(tmp_path)
    bars = source.fetch("AAPL", "1d", start=pd.Timestamp("2024-01-03", tz="UTC"))  # type: ignore[arg-type]
    assert bars.symbol == "AAPL"
    assert len(bars) == 4
    with pytest.raises(SourceError, match=r"no \.csv file for MSFT 1d .* it has AAPL_1d"):
        source.fetch("MSFT", "1d")  # type: ignore[arg-type]


def test_large_generic_file_round_trips(tmp_path):
    n = 5000
    ts = pd.date_range("2024-01-01", periods=n, freq="1min", tz="UTC")
    close = np.round(100 + np.cumsum(np.random.default_rng(1).normal(0, 0.1, n)), 4)
    frame = pd.DataFrame({"timestamp": ts.strftime("%Y-%m-%d %H:%M:%S"), "open": close, "high": close + 0.5,
                          "low": close - 0.5, "close": close, "volume": 1.0})
    frame.to_csv(tmp_path / "big.csv", index=False)
    bars, report = load_csv(tmp_path / "big.csv", timeframe="1m")
    assert report.ok
    np.testing.assert_array_equal(bars.close, close)
    assert bars.ts[-1] == ts[-1].value


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


EUROPEAN = "Datum;Open;High;Low;Close;Volume\n2024-01-02;10,5;11,25;9,75;10,5;100\n2024-01-03;10,5;11;9;10,75;200\n"


def test_a_european_csv_is_read_and_says_what_was_detected(tmp_path):
    bars, report = load_csv(_write(tmp_path, "eu.csv", EUROPEAN), timeframe="1d")
    assert bars.high.tolist() == [11.25, 11.0]
    assert bars.close.tolist() == [10.5, 10.75]
    assert any(line.startswith("semicolon-separated columns") for line in report.inferred)
    assert any(line.startswith("decimal commas") for line in report.inferred)
    assert "inferred: decimal commas" in report.describe()


def test_separator_and_decimal_can_be_given(tmp_path):
    path = _write(tmp_path, "pipe.csv", EUROPEAN.replace(";", "|"))
    bars, report = load_csv(path, timeframe="1d", sep="|", decimal=",")
    assert bars.low.tolist() == [9.75, 9.0]
    assert not any("separated" in line or "decimal" in line for line in report.inferred)  # told, not guessed
    with pytest.raises(DataError, match=r"decimal must be '\.' or ',', got ':'"):
        load_csv(path, timeframe="1d", sep="|", decimal=":")


def test_a_decimal_comma_is_not_guessed_when_points_are_present(tmp_path):
    mixed = EUROPEAN.replace("11,25", "11.25")  # one cell with a point: the commas are not decimals
    with pytest.raises(ValidationError, match="column Open"):
        load_csv(_write(tmp_path, "mixed.csv", mixed), timeframe="1d")


def test_mixed_offsets_are_named(tmp_path):
    text = ("time,open,high,low,close,volume\n2024-03-30T10:00:00+01:00,1,2,0.5,1.5,10\n"
            "2024-03-31T10:00:00+02:00,1,2,0.5,1.5,10\n2024-04-01T10:00:00+02:00,1,2,0.5,1.5,10\n")
    with pytest.raises(ValidationError) as info:
        load_csv(_write(tmp_path, "dst.csv", text), timeframe="1d")
    offsets = [f for f in info.value.report.findings if f.check == "mixed_offsets"]
    assert len(offsets) == 1
    assert "2 different UTC offsets (+01:00, +02:00); the offset first changes at line 3" in offsets[0].message
    assert "1d bars are not a whole number of days apart in UTC" in offsets[0].message


def test_times_with_and_without_an_offset_are_named(tmp_path):
    text = ("time,open,high,low,close,volume\n2024-01-02T10:00:00Z,1,2,0.5,1.5,10\n"
            "2024-01-03 10:00:00,1,2,0.5,1.5,10\n")
    _, report = load_csv(_write(tmp_path, "half.csv", text), timeframe="1d", tz="UTC")
    assert [f.check for f in report.warnings] == ["mixed_offsets"]
    assert "some none, first at line 3; those without one are read as UTC time" in report.warnings[0].message


@pytest.mark.parametrize(("dates", "fmt"), [
    (["02/01/2024", "15/01/2024"], "%d/%m/%Y"),
    (["01/02/2024", "01/15/2024"], "%m/%d/%Y"),
    (["02.01.2024 09:30", "03.01.2024 09:30"], "%d.%m.%Y %H:%M"),
    (["02-01-2024", "03-01-2025"], "%d-%m-%Y"),  # a year after a dash is no UTC offset (-2024, -2025)
])
def test_day_month_dates_suggest_a_date_format(tmp_path, dates, fmt):
    rows = "".join(f"{d},1,2,0.5,1.5,10\n" for d in dates)
    path = _write(tmp_path, "dm.csv", "Date,Open,High,Low,Close,Volume\n" + rows)
    with pytest.raises(ValidationError) as info:
        load_csv(path, timeframe="1d")
    assert [f.check for f in info.value.report.warnings] == ["date_format"]
    hint = info.value.report.warnings[0]
    assert f"pass date_format={fmt!r} (--date-format '{fmt}')" in hint.message
    bars, _ = load_csv(path, timeframe="1d", date_format=fmt)  # and the suggestion reads the file
    assert len(bars) == 2


def test_a_huge_bad_cell_is_quoted_short(tmp_path):
    garbage = "x" * 2_000_000
    path = _write(tmp_path, "junk.csv", f"Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,0.5,1.5,10\n"
                                        f"{garbage},1,2,0.5,1.5,10\n")
    with pytest.raises(ValidationError) as info:
        load_csv(path, timeframe="1d")
    text = str(info.value)
    assert f"'{'x' * 60}...' (2,000,000 characters)" in text
    assert len(text) < 2000


def test_a_yahoo_stock_gets_the_us_equity_calendar_and_says_it_was_inferred():
    bars, report = load_csv(FIXTURES / "formats" / "yahoo_aapl_1d.csv", timeframe="1d")
    assert bars.calendar.name == "us-equity"
    assert report.inferred[0].startswith("calendar us-equity inferred (a guess): daily bars on weekdays only, "
                                         "from a Yahoo Finance file")
    given, told = load_csv(FIXTURES / "formats" / "yahoo_aapl_1d.csv", timeframe="1d", calendar="us-equity")
    assert given.calendar.inferred is None
    assert told.inferred == ()


def test_hourly_us_stock_bars_without_a_calendar_are_us_equity_and_the_report_warns(tmp_path):
    days = pd.bdate_range("2024-03-04", periods=10)  # across the DST change of 2024-03-10
    stamps = [pd.Timestamp(f"{d.date()} 09:30", tz="America/New_York") + pd.Timedelta(hours=h)
              for d in days for h in range(7)]
    rows = "".join(f"{s.isoformat()},100,101,99,100.5,1000\n" for s in stamps)
    bars, report = load_csv(_write(tmp_path, "spy.csv", "time,open,high,low,close,volume\n" + rows), timeframe="1h")
    assert bars.calendar.name == "us-equity"
    assert bars.calendar.inferred.confidence == "high"
    assert report.inferred[0].startswith("calendar us-equity inferred (fairly sure): 100% of the bars open between "
                                         "09:30 and 16:00 New York time, on weekdays (10 day(s))")
    assert report.inferred[1].startswith("warning: annualised metrics (volatility, Sharpe, ...) assume the "
                                         "us-equity calendar")
    assert not report.findings  # offsets that follow DST place intraday bars right: no mixed_offsets note


def test_prices_are_raw_unless_the_caller_says_what_they_account_for():
    path = FIXTURES / "formats" / "yahoo_aapl_1d.csv"
    assert load_csv(path, timeframe="1d")[0].adjustment == "raw"
    assert load_csv(path, timeframe="1d", adjustment="splits")[0].adjustment == "splits"
    with pytest.raises(DataError, match=r"adjustment must be one of raw, splits, total, got 'adjusted'"):
        load_csv(path, timeframe="1d", adjustment="adjusted")
