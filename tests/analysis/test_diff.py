"""``backgrid diff``: two run folders compared, each finding checked against the runs themselves."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from backgrid import indicators
from backgrid.analysis import diff_runs
from backgrid.cli.main import app
from backgrid.data.sources.demo import demo_bars
from backgrid.engine import Result
from backgrid.errors import ResultFileError

runner = CliRunner()


def _run(out: Path, *args: object) -> Path:
    outcome = runner.invoke(app, ["run", "sma-cross", *map(str, args), "--out", str(out)], catch_exceptions=False)
    assert outcome.exit_code == 0, outcome.output
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    return {"base": _run(root / "base"), "again": _run(root / "again"),
            "fast": _run(root / "fast", "--sweep", "fast=20"),
            "short": _run(root / "short", "--to", "2023-06-01")}


def _crosses_above(fast: pd.Series, slow: pd.Series) -> np.ndarray:
    """Independent of the compiler: above now, at or below on the bar before."""
    return ((fast > slow) & (fast.shift() <= slow.shift())).to_numpy()


def test_a_run_against_itself_is_the_same(runs):
    found = diff_runs(runs["base"], runs["again"])
    assert found.same
    assert found.document == []
    assert found.config == []
    assert found.versions == []
    assert found.positions is None
    assert found.signals is None
    assert found.signals_note is None
    trades = Result.load(runs["base"] / "result.npz").trades
    assert found.trades["matched"] == found.trades["identical"] == len(trades)
    assert (found.stats["difference"].dropna() == 0).all()
    assert "the runs are the same" in found.render()
    assert max(len(line) for line in found.render().splitlines()) <= 80  # many trades: still 80 columns


def test_another_parameter_is_found_with_the_first_bar_and_the_indicator_values_there(runs):
    found = diff_runs(runs["base"], runs["fast"])
    assert not found.same
    assert found.document == [("parameters[0].default", 10, 20)]
    bars = demo_bars("DEMO-SPY", "1d")
    fast10, fast20, slow = (indicators.compute("sma", bars, period=p)["sma"] for p in (10, 20, 50))
    below10, below20 = (((f < slow) & (f.shift() >= slow.shift())).to_numpy() for f in (fast10, fast20))
    entries = _crosses_above(fast10, slow) != _crosses_above(fast20, slow)
    exits = below10 != below20
    first = int(np.flatnonzero(entries | exits)[0])
    assert found.signals is not None
    assert found.signals.bar == first
    assert found.signals.time == bars.index[first]
    assert found.signals.indicators["fast"] == (fast10.iloc[first], fast20.iloc[first])
    assert found.signals.indicators["slow"] == (slow.iloc[first], slow.iloc[first])
    held_a = Result.load(runs["base"] / "result.npz").positions()["units"].to_numpy()
    held_b = Result.load(runs["fast"] / "result.npz").positions()["units"].to_numpy()
    assert found.positions is not None
    assert found.positions.bar == int(np.flatnonzero(held_a != held_b)[0])
    assert found.positions.bar > found.signals.bar  # an order decided at a close is held from the next one


def test_trades_are_matched_one_to_one_and_their_changes_named(runs, tmp_path):
    costly = _run(tmp_path / "costly", "--cash", 20_000)
    found = diff_runs(runs["base"], costly)
    assert found.config == [("cash", 10_000.0, 20_000.0)]
    assert found.signals is None
    assert found.signals_note is None
    a = Result.load(runs["base"] / "result.npz").trades
    assert found.trades["matched"] == len(a)
    assert not found.trades["only_a"]
    assert not found.trades["only_b"]
    assert all("size" in row["fields"] and "pnl" in row["fields"] for row in found.trades["changed"])
    assert found.positions is not None
    assert found.positions.bar == int(a["entry_idx"].iloc[0])


def test_other_data_is_named_and_signals_are_not_compared_on_other_bars(runs):
    found = diff_runs(runs["base"], runs["short"])
    (row,) = found.data
    assert not row["same"]
    assert row["bars"][0] == 1043
    assert row["bars"][1] < 1043
    assert found.signals is None
    assert found.signals_note == "signals not compared: the runs have other bars"
    assert "OTHER DATA" in found.render()


def test_the_cli_prints_text_within_80_columns_and_exact_json(runs):
    text = runner.invoke(app, ["diff", str(runs["base"]), str(runs["fast"])], catch_exceptions=False)
    assert text.exit_code == 0
    assert max(len(line) for line in text.output.splitlines()) <= 80
    assert "parameters[0].default" in text.output
    data = runner.invoke(app, ["diff", str(runs["base"]), str(runs["fast"]), "--json"], catch_exceptions=False)
    payload = json.loads(data.output)
    found = diff_runs(runs["base"], runs["fast"])
    assert payload == json.loads(json.dumps(found.to_dict()))
    sharpe = next(row for row in payload["stats"] if row["metric"] == "sharpe_ratio")
    assert sharpe["b"] - sharpe["a"] == sharpe["difference"]


def test_a_folder_that_is_not_a_run_is_refused(runs, tmp_path):
    with pytest.raises(ResultFileError, match=r"has no run\.json"):
        diff_runs(runs["base"], tmp_path)
    outcome = runner.invoke(app, ["diff", str(runs["base"]), str(tmp_path)])
    assert outcome.exit_code == 1
    assert "it is not a run folder" in outcome.output
    (tmp_path / "run.json").write_text((runs["base"] / "run.json").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ResultFileError, match=r"has no result\.npz: run it again with --out"):
        diff_runs(runs["base"], tmp_path)
