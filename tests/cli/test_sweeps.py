"""Sweeps a laptop survives: the estimate before the run, the refusal, the columnar outputs, the chart."""

from __future__ import annotations

import gc
import json
import re
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.data.sources.demo import demo_bars
from backgrid.engine import backtest
from backgrid.strategy import load, run
from backgrid.strategy.compiler import compile_strategy
from backgrid.strategy.document import override
from backgrid.strategy.footprint import available_memory, estimate, parse_bytes
from backgrid.strategy.library import load_library

runner = CliRunner(env={"COLUMNS": "200"})


def invoke(*args: object):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def payload(html: str) -> dict:
    return json.loads(re.search(r"const data = (\{.*?\});\n", html, re.DOTALL).group(1))


# --- the estimate -----------------------------------------------------------------------------------------------

#: The stated factor: the estimate is never below the measured peak and at most this many times above it.
FACTOR = 2.5


@pytest.mark.slow
@pytest.mark.parametrize(("name", "grid"), [
    ("sma-cross", {"fast": [5, 10, 15, 20, 25, 30], "slow": [60, 80, 100, 120, 140, 160]}),  # signals only
    ("bollinger-reversion", None),  # a per-bar ATR stop: (n, m) floats
])
def test_the_estimate_bounds_the_measured_peak_within_the_stated_factor(name, grid):
    spec = override(load_library(name), symbols=["DEMO-BTC"], timeframe="1h")
    bars = demo_bars("DEMO-BTC", "1h")
    grid = grid or {p.param: p.grid()[:6] for p in spec.parameters[:2]}
    footprint = estimate(spec, bars, grid)
    compile_strategy(spec, bars, grid).run()  # kernels compiled and caches warm before measuring
    gc.collect()
    tracemalloc.start()
    try:
        compile_strategy(spec, bars, grid).run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert footprint.sets == np.prod([len(v) for v in grid.values()])
    assert peak <= footprint.bytes <= FACTOR * peak, (peak, footprint.describe())


def test_the_estimate_is_the_engine_shapes():
    bars = demo_bars("DEMO-SPY", "1d")
    spec = load_library("sma-cross")
    footprint = estimate(spec, bars, {"fast": [5, 10, 20], "slow": [50, 100]})
    n, m = len(bars), 6
    entries = int(compile_strategy(spec, bars, {"fast": [5], "slow": [50]}).kwargs["entries"].to_numpy().sum())
    assert footprint.parts["signals"] == 2 * 2 * n * m  # entries and exits, two copies, one byte a bar
    assert footprint.parts["equity"] == 8 * n * m
    assert footprint.parts["buffers"] == (entries + 1) * (145 + 2 * 96) * m  # TRADE + 2 ORDER rows an entry
    assert footprint.parts["per_bar"] == 0


def test_available_memory_reads_mem_available(tmp_path):
    meminfo = tmp_path / "meminfo"
    meminfo.write_text("MemTotal:  16000000 kB\nMemFree:  1000 kB\nMemAvailable:   8000000 kB\n", encoding="ascii")
    assert available_memory(meminfo) == 8_000_000 * 1024
    assert available_memory(tmp_path / "absent") > 0  # from os.sysconf


def test_sizes_parse_and_a_bad_one_says_what_is_expected():
    assert parse_bytes("1.5G") == 3 * 2**29
    with pytest.raises(ValueError, match=r"expected a size such as 8G, 512M or a number of bytes, got '8 parsecs'"):
        parse_bytes("8 parsecs")


def test_a_sweep_that_will_not_fit_is_refused_with_the_estimate_and_how_to_cut_it():
    result = invoke("run", "sma-cross", "--sweep", "fast=5:50:1", "--sweep", "slow=20:200:1", "--max-memory", "10M")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert "will not fit in memory: 8,326 parameter set(s) on 1,043 bars: about" in message
    assert "10 MiB is available (--max-memory)" in message
    fits = int(re.search(r"at most ([\d,]+) parameter set", message).group(1).replace(",", ""))
    per_set = estimate(load_library("sma-cross"), demo_bars("DEMO-SPY", "1d"),
                       {"fast": list(range(5, 51)), "slow": list(range(20, 201))}).per_set
    assert fits == int(10 * 2**20 // per_set)


def test_a_bad_max_memory_is_a_usage_error():
    result = runner.invoke(app, ["run", "sma-cross", "--max-memory", "lots"])
    assert result.exit_code == 2
    assert "expected a size such as 8G" in result.output


# --- what a sweep writes ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def swept(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("sweep")
    result = invoke("run", "sma-cross", "--sweep", "fast=5,10,20", "--sweep", "slow=50:200:50", "--out", out)
    assert result.exit_code == 0, result.output
    return out, result


def test_sweep_stats_are_csv_and_parquet_with_parameter_names(swept):
    out, _ = swept
    csv = pd.read_csv(out / "stats.csv")
    assert list(csv.columns[:2]) == ["fast", "slow"]
    parquet = pd.read_parquet(out / "stats.parquet")
    pd.testing.assert_frame_equal(parquet[["fast", "slow", "sharpe_ratio", "trades"]],
                                  csv[["fast", "slow", "sharpe_ratio", "trades"]], check_dtype=False)
    assert len(csv) == 12
    assert not (out / "equity.csv").exists()


def test_sweep_equity_is_one_wide_parquet_equal_to_single_runs(swept):
    out, _ = swept
    equity = pd.read_parquet(out / "equity.parquet")
    assert list(equity.columns[:3]) == ["time", "fast=5, slow=50", "fast=5, slow=100"]
    assert equity.shape == (1043, 13)
    single = run(load_library("sma-cross"), demo_bars("DEMO-SPY", "1d"), {"fast": [10], "slow": [150]}).equity
    np.testing.assert_array_equal(equity["fast=10, slow=150"].to_numpy(), single.to_numpy())
    trades = pd.read_parquet(out / "trades.parquet")
    assert list(trades.columns[:2]) == ["fast", "slow"]


def test_the_best_set_and_the_grid_are_recorded(swept):
    out, _ = swept
    stats = pd.read_csv(out / "stats.csv")
    best = stats.loc[stats["sharpe_ratio"].idxmax()]
    fast, slow = int(best["fast"]), int(best["slow"])
    spec = load(out / "strategy.yaml")
    assert (spec.parameter("fast").default, spec.parameter("slow").default) == (fast, slow)
    yaml = (out / "strategy.yaml").read_text(encoding="utf-8")
    assert yaml.startswith("# swept: fast = 5, 10, 20; slow = 50, 100, 150, 200\n")
    summary = (out / "summary.txt").read_text(encoding="utf-8")
    assert f"best of 12 parameter sets by Sharpe ratio: fast={fast}, slow={slow}" in summary
    assert f"SMA({fast}) crosses above SMA({slow})" in summary


def test_the_estimate_goes_to_stderr(swept):
    _, result = swept
    assert "sweep: 12 parameter set(s) on 1,043 bars: about" in result.stderr
    assert "sweep:" not in result.stdout


# --- the chart --------------------------------------------------------------------------------------------------

def test_a_sweep_chart_names_the_strategy_and_set_and_draws_its_indicators(swept):
    out, _ = swept
    html = (out / "chart.html").read_text(encoding="utf-8")
    stats = pd.read_csv(out / "stats.csv")
    best = stats.loc[stats["sharpe_ratio"].idxmax()]
    fast, slow = int(best["fast"]), int(best["slow"])
    assert f"<title>sma-cross — fast={fast}, slow={slow}</title>" in html
    assert "np.int64" not in html
    data = payload(html)
    close = demo_bars("DEMO-SPY", "1d").to_pandas()["close"]
    lines = {o["name"]: o["points"] for o in data["overlays"]}
    assert set(lines) == {"fast", "slow"}
    want = close.rolling(slow).mean().dropna()
    assert len(lines["slow"]) == len(want)
    np.testing.assert_allclose([p["value"] for p in lines["slow"]], want.to_numpy(), rtol=1e-9)
    entries = [m for m in data["markers"] if m["shape"] == "arrowUp"]
    assert entries
    assert {m["text"] for m in entries} == {"entries.long"}
    assert {m["text"] for m in data["markers"] if m["shape"] == "circle"} <= {"signal", "stop_loss", "end"}


def test_the_chart_opens_on_the_whole_run(tmp_path):
    bars = demo_bars("DEMO-BTC", "1h")
    close = bars.to_pandas()["close"]
    result = backtest(bars, entries=close > close.rolling(50).mean(), exits=close < close.rolling(50).mean())
    html = result.plot(tmp_path / "c.html").read_text(encoding="utf-8")
    assert len(payload(html)["candles"]) == len(bars) > 30_000
    # 35k bars fit a page only when bars may be narrower than the library's default of half a pixel
    assert "minBarSpacing: 0.001" in html
    assert "charts.forEach(c => c.timeScale().fitContent())" in html


def test_plot_titles_name_the_swept_parameters(tmp_path):
    bars = demo_bars("DEMO-SPY", "1d")
    close = bars.to_pandas()["close"]
    columns = pd.MultiIndex.from_tuples([(np.int64(40), np.int64(180)), (np.int64(20), np.int64(100))],
                                        names=["fast", "slow"])
    entries = pd.DataFrame({c: close.rolling(int(c[0])).mean() > close.rolling(int(c[1])).mean() for c in columns})
    entries.columns = columns
    result = backtest(bars, entries=entries, exits=~entries)
    html = result.plot(tmp_path / "t.html", column=(20, 100)).read_text(encoding="utf-8")
    assert "<title>backgrid backtest — fast=20, slow=100</title>" in html


def test_writing_a_sweep_shows_progress_on_stderr(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from backgrid.cli import common
    from backgrid.cli.sweeps import write_sweep

    stderr = io.StringIO()
    monkeypatch.setattr(common, "error_console", lambda: Console(file=stderr, force_terminal=True, width=120))
    spec = load_library("sma-cross")
    grid = {"fast": [5, 10], "slow": [50, 100]}
    result = run(spec, demo_bars("DEMO-SPY", "1d"), grid)
    files, best = write_sweep(tmp_path, spec, result, "a sentence", grid)
    assert f"writing {tmp_path}" in stderr.getvalue()
    assert "100%" in stderr.getvalue()
    assert [f.name for f in files] == ["stats.csv", "stats.parquet", "trades.parquet", "equity.parquet",
                                       "summary.txt", "strategy.yaml"]
    assert best == dict(zip(["fast", "slow"], result.stats["sharpe_ratio"].idxmax(), strict=True))


def test_a_one_parameter_sweep_table_is_headed_by_its_name():
    result = invoke("run", "sma-cross", "--sweep", "fast=5,10")
    assert result.exit_code == 0, result.output
    header = next(line for line in result.stdout.splitlines() if "Sharpe" in line)
    assert next(word for word in header.split() if word not in "│┃|") == "fast"


def test_a_higher_timeframe_indicator_is_drawn_as_the_rules_see_it():
    from backgrid.cli.sweeps import overlays
    from backgrid.strategy.market import market_data

    spec = load_library("mtf-trend-filter")
    bars = compile_strategy(spec, market_data(spec)).data
    lines = overlays(spec, bars, {})
    assert set(lines) == {"fast", "slow", "daily"}
    daily = pd.Series(lines["daily"], index=bars.index).dropna()
    closes = (daily.index + pd.Timedelta(hours=1)).floor("1D")  # the day in which each hourly bar closes
    spread = daily.groupby(closes).agg(["min", "max"])
    assert (spread["min"] == spread["max"]).all()  # one value a day: the last closed day's
    # a 50-day EMA is seen from the close of its 50th daily bar (the first, a partial day, counted) on
    first_day = bars.index[0].floor("1D")
    assert daily.index[0] == first_day + pd.Timedelta(days=50) - pd.Timedelta(hours=1)
