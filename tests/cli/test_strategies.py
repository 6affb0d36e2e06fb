"""``backgrid run`` and ``backgrid strategies``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from backgrid.cli.main import app
from backgrid.cli.strategies import _format
from backgrid.data.sources.demo import demo_bars
from backgrid.strategy import run
from backgrid.strategy.library import library_names, load_library

runner = CliRunner(env={"COLUMNS": "200"})


def invoke(*args: object) -> object:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_run_writes_every_output_and_matches_the_library_run(tmp_path: Path) -> None:
    result = invoke("run", "sma-cross", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "Go long DEMO-SPY on 1d when SMA(10) crosses above SMA(50)" in result.output
    assert "SYNTHETIC" in result.output
    for name in ("stats.csv", "trades.csv", "equity.csv", "summary.txt", "strategy.yaml", "chart.html"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    trades = pd.read_csv(tmp_path / "out" / "trades.csv")
    want = run(load_library("sma-cross"), demo_bars("DEMO-SPY", "1d")).trades
    assert trades["pnl"].to_numpy().tolist() == want["pnl"].to_numpy().tolist()
    stats = pd.read_csv(tmp_path / "out" / "stats.csv", index_col=0)["value"]
    assert abs(stats["final_equity"] - (10_000 + want["pnl"].sum())) < 1e-6  # the open trade is marked
    assert re.search(r"^trades,\d+$", (tmp_path / "out" / "stats.csv").read_text(encoding="utf-8"), re.MULTILINE)
    assert "lightweight" in (tmp_path / "out" / "chart.html").read_text(encoding="utf-8").lower()


def test_counts_print_as_whole_numbers() -> None:
    assert _format("trades", 12_345) == "12,345"
    assert _format("total_return", 0.1234) == "12.34%"
    assert _format("sharpe_ratio", 1.23456) == "1.235"


def test_run_with_overrides_and_a_sweep(tmp_path: Path) -> None:
    result = invoke("run", "sma-cross", "--symbol", "DEMO-BTC", "--from", "2022-01-01", "--to", "2024-01-01",
                    "--cash", 5000, "--sweep", "fast=5,10", "--sweep", "slow=30:60:30", "--out", tmp_path)
    assert result.exit_code == 0, result.output
    stats = pd.read_csv(tmp_path / "stats.csv", index_col=[0, 1])
    assert stats.shape[0] == 4
    assert (stats["start_equity"] == 5000).all()
    assert "DEMO-BTC" in (tmp_path / "summary.txt").read_text(encoding="utf-8")


def test_run_errors_are_clear() -> None:
    missing = runner.invoke(app, ["run", "sma-crosss"])
    assert missing.exit_code == 1
    assert "did you mean 'sma-cross'?" in missing.output
    bad = runner.invoke(app, ["run", "sma-cross", "--sweep", "fst=1"])
    assert bad.exit_code == 1
    assert "did you mean 'fast'" in bad.output
    zero = runner.invoke(app, ["run", "sma-cross", "--sweep", "fast=5:20:0"])
    assert zero.exit_code == 1
    assert "--sweep fast: the step of start:stop:step must be > 0, got 0" in " ".join(zero.output.split())
    unknown = runner.invoke(app, ["run", "sma-cross", "--symbol", "NOPE"])
    assert unknown.exit_code == 1
    assert "import it with `backgrid data import`" in unknown.output


def test_list_show_validate_schema(tmp_path: Path) -> None:
    listed = invoke("strategies", "list")
    for name in library_names():
        assert name in listed.output
    shown = invoke("strategies", "show", "macd-trend")
    assert shown.output.startswith("# Go long DEMO-BTC on 1d when MACD")
    assert "schema_version: 3" in shown.output
    path = tmp_path / "mine.json"
    path.write_text(invoke("strategies", "show", "supertrend", "--json").stdout, encoding="utf-8")
    checked = invoke("strategies", "validate", path)
    assert checked.exit_code == 0, checked.output
    assert "✓" in checked.output
    schema = json.loads(invoke("strategies", "schema").output)
    assert schema["title"] == "backgrid strategy (schema_version 3)"
    assert "entries" in schema["required"]


def test_run_says_why_it_cannot_trade() -> None:
    # a window shorter than SMA(50)'s warm-up: the statistics are all zero, and the warning says why
    result = CliRunner(env={"COLUMNS": "200"}).invoke(app, ["run", "sma-cross", "--from", "2024-01-01",
                                                            "--to", "2024-02-01"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "warning: the rules' warm-up covers all 23 bars of the data: no rule can fire" in result.stderr
    assert "warning" not in result.stdout
