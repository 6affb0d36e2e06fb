"""The CLI, run in-process through typer's runner against a temporary home."""

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backgrid import __version__
from backgrid.cli.main import app
from backgrid.data.store import DataStore
from tests.data.test_csv import MALFORMED

FIXTURES = Path(__file__).parents[1] / "data" / "fixtures"
runner = CliRunner(env={"COLUMNS": "200"})  # wide enough that tables are not truncated


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def store_state(home: Path):
    return sorted((p.relative_to(home), p.stat().st_size, p.read_bytes()) for p in home.rglob("*") if p.is_file())


def test_version_and_help():
    assert invoke("--version").stdout.strip() == f"backgrid {__version__}"
    out = invoke("--help").stdout
    for command in ("data", "demo"):
        assert command in out
    assert "import" in invoke("data", "--help").stdout


def test_import_list_show_resample_delete():
    result = invoke("data", "import", FIXTURES / "formats" / "tradingview_btc_1h.csv", "--symbol", "BTCUSD",
                    "--timeframe", "1h")
    assert result.exit_code == 0, result.output
    assert "ignored column(s) MA" in result.output
    listed = invoke("data", "list").stdout
    assert "BTCUSD" in listed
    assert "csv" in listed
    shown = invoke("data", "show", "BTCUSD")
    assert shown.exit_code == 0, shown.output
    assert "verified" in shown.stdout
    assert "no problems found" in shown.stdout
    resampled = invoke("data", "resample", "BTCUSD", "--from", "1h", "--to", "4h")
    assert resampled.exit_code == 0, resampled.output
    bars = DataStore().read("BTCUSD", "4h")
    assert len(bars) == 1
    assert bars.last_complete  # the four hourly bars 00:00..03:00 cover the 4h bin to 04:00
    assert "last bar incomplete" not in resampled.stdout
    invoke("data", "resample", "BTCUSD", "--from", "1h", "--to", "1d")
    assert "last bar incomplete" in invoke("data", "list").stdout
    assert "deleted 3 series" in invoke("data", "delete", "BTCUSD").stdout
    assert "is empty" in invoke("data", "list").stdout


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_import_fails_clearly_and_leaves_the_store_alone(name, backgrid_home):
    invoke("data", "import", FIXTURES / "formats" / "yahoo_aapl_1d.csv", "--symbol", "KEEP", "--timeframe", "1d")
    before = store_state(backgrid_home)
    timeframe, options, _, parts = MALFORMED[name]
    extra = [part for key in ("tz", "decimal") if key in options for part in (f"--{key}", options[key])]
    result = runner.invoke(app, ["data", "import", str(FIXTURES / "malformed" / name), "--symbol", "KEEP",
                                 "--timeframe", timeframe, *extra])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)  # no traceback
    text = re.sub(r"\s+", " ", result.output)
    for part in parts:
        assert re.sub(r"\s+", " ", part) in text
    assert store_state(backgrid_home) == before


def test_fix_flag_repairs_and_imports():
    result = invoke("data", "import", FIXTURES / "malformed" / "11_duplicate_timestamp.csv", "--symbol", "X",
                    "--timeframe", "1d", "--fix", "duplicate_timestamp")
    assert result.exit_code == 0, result.output
    assert "fixed" in result.output
    assert len(DataStore().read("X", "1d")) == 2


def test_bad_options_are_clear():
    result = runner.invoke(app, ["data", "import", str(FIXTURES / "formats" / "yahoo_aapl_1d.csv"), "-s", "X",
                                 "-t", "2h"])
    assert result.exit_code == 1
    assert "timeframe '2h' is not supported" in result.output
    result = runner.invoke(app, ["data", "show", "NOPE"])
    assert result.exit_code == 1
    assert "no series for 'NOPE'" in result.output


def test_home_option_points_the_store_elsewhere(tmp_path):
    other = tmp_path / "other"
    result = invoke("--home", other, "data", "import", FIXTURES / "formats" / "yahoo_aapl_1d.csv", "-s", "A",
                    "-t", "1d")
    assert result.exit_code == 0, result.output
    assert list(other.rglob("*.parquet"))


def test_demo_job_builds_validates_and_stores():
    result = invoke("demo", "--symbol", "DEMO-SPY", "--timeframe", "1h", "--timeframe", "1d")
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    assert "validation DEMO-SPY 1h: ok" in result.output
    assert "Go long DEMO-SPY on 1d when SMA(10) crosses above SMA(50)" in result.output
    assert "sharpe_ratio" in result.output
    infos = DataStore().list(source="demo")
    assert {str(i.timeframe) for i in infos} == {"1h", "1d"}
    assert all(i.synthetic for i in infos)


def test_indicators_list_and_show():
    listed = invoke("indicators", "list")
    assert listed.exit_code == 0, listed.output
    assert "moving average" in listed.stdout
    assert "beginner" in listed.stdout
    shown = invoke("indicators", "show", "rsi")
    assert "an integer in [2, 1000]" in shown.stdout
    assert "warm-up with defaults: 14 bars" in shown.stdout
    assert '"id": "rsi"' in invoke("indicators", "show", "rsi", "--json").stdout
    assert '"categories"' in invoke("indicators", "list", "--json").stdout
    missing = runner.invoke(app, ["indicators", "show", "rsl"])
    assert missing.exit_code == 1
    assert "did you mean rsi" in missing.output
